// The `test` blocks in VS Code's Testing view: discovered from the fixture workspace, run through
// VS Code's own Testing service (testing.runAll calls the extension's run profile, which spawns
// `statecraft test --reporter json`), a failure reported at the failing expectation's line, and
// the Run Test lens command running one test.

import { strict as assert } from "node:assert";
import * as vscode from "vscode";
import { screenshot } from "./screenshot";
import { EXTENSION_ID, fixture, open, positionAt } from "./workspace";

interface TestOutcome {
  id: string;
  name: string;
  state: "passed" | "failed" | "errored" | "skipped";
  failures: { message: string; line: number }[];
  sessionFile?: string;
}

interface Walkthrough {
  steps: { media: { markdown: string } }[];
}

const PASSING = "greets the customer";
const FAILING = "expects a refund that never happens";

describe("Testing view", () => {
  const file = () => fixture("tested.agent");
  const id = (name: string) => `${file().toString()}#${name}`;

  before(async () => {
    await vscode.extensions.getExtension(EXTENSION_ID)?.activate();
  });

  it("discovers the test blocks of the workspace's .agent files", async () => {
    const ids = await vscode.commands.executeCommand<string[]>("statecraft.internal.discoverTests");
    assert.ok(ids.includes(id(PASSING)), `discovered: ${ids.join(", ")}`);
    assert.ok(ids.includes(id(FAILING)), `discovered: ${ids.join(", ")}`);
  });

  it("runs them from the Testing view: one passes, one fails at its expectation's line", async function () {
    this.timeout(60_000);
    const doc = await open("tested.agent");
    const expectLine = positionAt(doc, "expect tool refund called", "start").line + 1;
    const ended = vscode.commands.executeCommand<TestOutcome[]>("statecraft.internal.nextTestRun");
    await vscode.commands.executeCommand("workbench.view.testing.focus");
    await vscode.commands.executeCommand("testing.runAll");
    const outcomes = await ended;
    const mine = outcomes.filter((o) => o.id.startsWith(`${file().toString()}#`));
    const byName = new Map(mine.map((o) => [o.name, o]));
    assert.equal(byName.get(PASSING)?.state, "passed", JSON.stringify(mine));
    const failed = byName.get(FAILING);
    assert.equal(failed?.state, "failed", JSON.stringify(mine));
    assert.deepEqual(
      failed.failures.map((f) => f.line),
      [expectLine],
    );
    assert.match(failed.failures[0].message, /expected refund to be called/);
    await screenshot("testing-view");
  });

  it("Run Test runs the one test its lens sits above", async function () {
    this.timeout(60_000);
    const outcomes = await vscode.commands.executeCommand<TestOutcome[]>("statecraft.runTest", {
      uri: file().toString(),
      test: PASSING,
    });
    assert.deepEqual(
      outcomes.map((o) => [o.name, o.state]),
      [[PASSING, "passed"]],
    );
    assert.ok(outcomes[0].sessionFile, "each test run is recorded as a session");
  });

  it("runs what the editor shows: unsaved edits are saved first", async function () {
    this.timeout(60_000);
    const doc = await open("tested.agent");
    const start = positionAt(doc, 'contains "Hello"', "start").translate(0, 'contains "'.length);
    const range = new vscode.Range(start, start.translate(0, "Hello".length));
    const replace = async (text: string) => {
      const edit = new vscode.WorkspaceEdit();
      edit.replace(doc.uri, range, text);
      assert.ok(await vscode.workspace.applyEdit(edit));
    };
    await replace("Goodbye");
    assert.ok(doc.isDirty);
    try {
      const outcomes = await vscode.commands.executeCommand<TestOutcome[]>("statecraft.runTest", {
        uri: file().toString(),
        test: PASSING,
      });
      assert.equal(outcomes[0]?.state, "failed", JSON.stringify(outcomes));
      assert.match(outcomes[0].failures[0].message, /contain "Goodbye"/);
      assert.equal(doc.isDirty, false);
    } finally {
      await replace("Hello");
      await doc.save();
    }
  });

  it("Open the Example (the walkthrough's first step) copies the example, whose tests pass", async function () {
    this.timeout(90_000);
    const main = await vscode.commands.executeCommand<vscode.Uri>("statecraft.openExample");
    assert.equal(main?.toString(), fixture("statecraft-example/main.agent").toString());
    assert.equal(vscode.window.activeTextEditor?.document.uri.toString(), main.toString());
    const examples = vscode.Uri.joinPath(main, "../tests.agent");
    const outcomes = await vscode.commands.executeCommand<TestOutcome[]>("statecraft.runTests", {
      uri: examples.toString(),
    });
    assert.ok(outcomes.length >= 5, `ran ${outcomes.length} tests`);
    assert.deepEqual(
      outcomes
        .filter((o) => o.state !== "passed")
        .map((o) => `${o.name}: ${o.state} ${JSON.stringify(o.failures)}`),
      [],
    );
  });

  it("has every Getting Started walkthrough step's page in the extension", async () => {
    const extension = vscode.extensions.getExtension(EXTENSION_ID)!;
    const { walkthroughs } = (extension.packageJSON as { contributes: { walkthroughs: Walkthrough[] } })
      .contributes;
    const pages = walkthroughs.flatMap((w) => w.steps.map((s) => s.media.markdown));
    assert.ok(pages.length >= 5);
    for (const page of pages)
      await vscode.workspace.fs.stat(vscode.Uri.joinPath(extension.extensionUri, page));
  });
});
