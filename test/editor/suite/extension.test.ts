// The extension as VS Code sees it: found by its id, activated, and every
// command it contributes has a handler.

import { strict as assert } from "node:assert";
import * as vscode from "vscode";
import { EXTENSION_ID } from "./workspace";

describe("extension", () => {
  it("activates", async () => {
    const extension = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(extension, `${EXTENSION_ID} is not installed in the editor`);
    await extension.activate();
    assert.equal(extension.isActive, true);
  });

  it("registers every command it contributes, among them statecraft.restartLanguageServer", async () => {
    const contributed = (
      vscode.extensions.getExtension(EXTENSION_ID)?.packageJSON as {
        contributes: { commands: { command: string }[] };
      }
    ).contributes.commands.map((c) => c.command);
    assert.ok(contributed.includes("statecraft.restartLanguageServer"));
    const registered = new Set(await vscode.commands.getCommands(true));
    assert.deepEqual(
      contributed.filter((c) => !registered.has(c)),
      [],
      "contributed commands without a handler",
    );
  });
});
