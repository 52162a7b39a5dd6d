// The language server answering inside the editor, through VS Code's own
// provider commands: completion, hover and diagnostics on the fixture files.
// Diagnostics run last so that the broken file is on screen for the
// launcher's screenshot.

import { strict as assert } from "node:assert";
import * as vscode from "vscode";
import type { StatecraftApi } from "../../../client/src/extension";
import { describeDiagnostic, EXTENSION_ID, open, positionAt, statecraftDiagnostics } from "./workspace";

const label = (item: vscode.CompletionItem) =>
  typeof item.label === "string" ? item.label : item.label.label;

const hoverText = (hovers: vscode.Hover[]) =>
  hovers
    .flatMap((h) => h.contents)
    .map((c) => (typeof c === "string" ? c : c.value))
    .join("\n");

describe("language server", () => {
  before(async () => {
    // Activation does not wait for the language server; its features answer once it is ready.
    const api = await vscode.extensions.getExtension<StatecraftApi>(EXTENSION_ID)?.activate();
    assert.ok(api, "the extension is installed");
    await api.languageServerReady;
  });

  it("completes the declared tools between the brackets of tools: []", async () => {
    const doc = await open("draft.agent");
    const list = await vscode.commands.executeCommand<vscode.CompletionList>(
      "vscode.executeCompletionItemProvider",
      doc.uri,
      positionAt(doc, "tools: ["),
    );
    // The editor adds words of the file (Text) and the contributed snippets; the server's items are the rest.
    const fromServer = list.items.filter(
      (i) => i.kind !== vscode.CompletionItemKind.Text && i.kind !== vscode.CompletionItemKind.Snippet,
    );
    assert.deepEqual(fromServer.map(label).sort(), ["lookup_order", "refund"]);
  });

  it("explains a declaration keyword on hover", async () => {
    const doc = await open("main.agent");
    const hovers = await vscode.commands.executeCommand<vscode.Hover[]>(
      "vscode.executeHoverProvider",
      doc.uri,
      positionAt(doc, "agent support", "start").translate(0, 2),
    );
    const text = hoverText(hovers);
    assert.match(text, /\*\*agent\*\*/);
    assert.match(text, /An agent: instructions, backend, tools/);
  });

  it("publishes the broken file's diagnostics with their codes", async () => {
    const doc = await open("broken.agent");
    const ds = await statecraftDiagnostics(doc.uri, (d) => d.length > 0);
    assert.deepEqual(ds.map(describeDiagnostic).sort(), ["out-of-range@6:15", "unknown-reference@7:24"]);
    assert.ok(ds.every((d) => d.severity === vscode.DiagnosticSeverity.Error));
    assert.match(
      ds.find((d) => describeDiagnostic(d).startsWith("unknown-reference"))!.message,
      /cancel_order/,
    );
  });
});
