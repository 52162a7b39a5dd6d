// The Session Explorer on the fixture workspace's recorded sessions
// (test/editor/fixtures/workspace/.statecraft/sessions/, recorded with
// `statecraft run` on main.agent): the tree with its turns and snapshot
// nodes, snapshot documents and their diff, Compare Sessions, the context
// window view, a session growing live, and Export as Test checked by running
// `statecraft test` on what it wrote. Screenshots of the explorer, a snapshot
// diff and the context window view go to test-results/editor/.

import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as vscode from "vscode";
import { screenshot } from "./screenshot";
import { EXTENSION_ID, fixture } from "./workspace";

/** Three turns: order lookup; lookup and refund of A1001; thanks. */
const SESSION = "20261126-054358-2de7c7";
/** The same first turn, then a different second turn (no refund) and no third. */
const OTHER = "20261126-054735-54f02d";

interface Child {
  id: string;
  kind: string;
  label: string;
  description?: string;
  contextValue?: string;
}

const children = (id?: string) =>
  vscode.commands.executeCommand<Child[]>("statecraft.sessions.internal.children", id);

async function child(parent: string | undefined, match: (c: Child) => boolean, what: string): Promise<Child> {
  const list = await children(parent);
  const found = list.find(match);
  assert.ok(
    found,
    `${what} not under ${parent ?? "the root"}; there: ${list.map((c) => c.label).join(" | ")}`,
  );
  return found;
}

/** The session's node, found from the root down as the view finds it. */
async function sessionNode(id: string): Promise<Child> {
  const [source] = await children();
  assert.ok(source, "the Session Explorer shows no source");
  return child(source.id, (c) => c.kind === "session" && c.id.endsWith(`/${id}`), `session ${id}`);
}

const activeTabInput = () => vscode.window.tabGroups.activeTabGroup.activeTab?.input;

describe("session explorer", () => {
  before(async () => {
    await vscode.extensions.getExtension(EXTENSION_ID)?.activate();
    await vscode.commands.executeCommand("workbench.action.closeAllEditors");
  });

  it("shows a recorded session with its turns, events and Context / Memory snapshot nodes", async () => {
    await vscode.commands.executeCommand("workbench.view.extension.statecraft");
    const [source, ...others] = await children();
    assert.equal(others.length, 0, "one workspace folder, no runtime configured: one source");
    assert.equal(source.kind, "source");
    assert.equal(source.label, "workspace");

    const session = await sessionNode(SESSION);
    assert.equal(session.label, "support");
    assert.match(String(session.description), /^stateless · ok · 3 turns · /);
    assert.equal(session.contextValue, "statecraft.session.folder");

    const turns = await children(session.id);
    assert.deepEqual(
      turns.map((t) => t.label),
      [
        "Turn 1: Where is my order A1003?",
        "Turn 2: Please refund 40 USD on order A1001, it arrived damaged.",
        "Turn 3: Thanks!",
      ],
    );
    const turn2 = await children(turns[1].id);
    assert.deepEqual(
      turn2.map((c) => c.label),
      [
        "Context",
        "Memory",
        "Model call 1",
        "Tool lookup_order",
        "Policy: allow lookup_order",
        "Model call 2",
        "Tool refund",
        "Policy: allow refund",
        "Model call 3",
      ],
    );
    assert.match(String(turn2[0].description), /^482 tokens of 128,000 · 3 calls$/);
    assert.equal(turn2[1].description, "empty");
    assert.match(String(turn2.find((c) => c.label === "Tool refund")?.description), /^ok · \d+ ms · /);
    assert.equal(turn2[0].id, `snapshot:${source.id.slice("source:".length)}/${SESSION}/2/context`);

    assert.equal(
      await vscode.commands.executeCommand("statecraft.sessions.internal.reveal", SESSION, 2),
      true,
    );
    // Room for the descriptions (status, tokens, bytes) in the pictures of this suite.
    // (The focused part is the one that grows.)
    await vscode.commands.executeCommand("statecraft.sessions.focus");
    for (let i = 0; i < 4; i++) await vscode.commands.executeCommand("workbench.action.increaseViewWidth");
    await screenshot("explorer");
  });

  it("opens a turn's context snapshot as a read-only document, and its memory snapshot", async () => {
    const uri = await vscode.commands.executeCommand<string>("statecraft.sessions.openSnapshot", {
      sessionId: SESSION,
      turn: 2,
      which: "context",
    });
    const doc = vscode.window.activeTextEditor?.document;
    assert.ok(doc, "no editor opened");
    assert.equal(doc.uri.toString(), uri);
    assert.equal(doc.uri.scheme, "statecraft-snapshot");
    const text = doc.getText();
    for (const expected of [
      "# Context · turn 2",
      "backend local_dev (stateless, local)",
      "| history | 289 |",
      "| **total** | **482** (0.38% of the window) |",
      "| 3 | 2,190 | 482 |",
      "### 6. user\n\nPlease refund 40 USD on order A1001, it arrived damaged.",
      '### 9. assistant\n\n→ call refund (call_4) {"order_id":"A1001","amount":40,"reason":"arrived damaged"}',
      "## Tools (2)",
      "### lookup_order",
    ])
      assert.ok(text.includes(expected), `the context snapshot lacks ${JSON.stringify(expected)}:\n${text}`);

    await vscode.commands.executeCommand("statecraft.sessions.openSnapshot", {
      sessionId: SESSION,
      turn: 1,
      which: "memory",
    });
    const memory = vscode.window.activeTextEditor?.document.getText() ?? "";
    assert.ok(memory.startsWith("# Memory · turn 1"), memory);
    assert.ok(memory.includes("the agent declares no memory"), memory);
  });

  it("diffs a turn's context with the previous turn's", async () => {
    const { left, right } = await vscode.commands.executeCommand<{ left: string; right: string }>(
      "statecraft.sessions.compareWithPreviousTurn",
      { sessionId: SESSION, turn: 2, which: "context" },
    );
    const input = activeTabInput();
    assert.ok(input instanceof vscode.TabInputTextDiff, "the active tab is not a diff");
    assert.equal(input.original.toString(), left);
    assert.equal(input.modified.toString(), right);
    assert.match(left, /\/turn-1\/context\.md/);
    assert.match(right, /\/turn-2\/context\.md/);
    const [before, after] = await Promise.all(
      [input.original, input.modified].map(async (u) =>
        (await vscode.workspace.openTextDocument(u)).getText(),
      ),
    );
    assert.ok(before.includes("| **total** | **283**"), before);
    assert.ok(after.includes("| **total** | **482**"), after);
    await screenshot("snapshot-diff");
  });

  it("compares two sessions and names the turn where they diverge", async () => {
    const result = await vscode.commands.executeCommand<{ message: string; divergence: { turn: number } }>(
      "statecraft.sessions.compareSessions",
      { sessionId: SESSION, otherSessionId: OTHER },
    );
    assert.equal(result.divergence.turn, 2);
    assert.match(result.message, /^Sessions diverge at turn 2, line \d+: /);
    assert.ok(result.message.includes('model calls refund {"order_id":"A1001"'), result.message);
    const input = activeTabInput();
    assert.ok(input instanceof vscode.TabInputTextDiff, "the active tab is not a diff");
    assert.match(input.original.path, new RegExp(`/${SESSION}/session\\.md$`));
    assert.match(input.modified.path, new RegExp(`/${OTHER}/session\\.md$`));
  });

  it("shows the context window view for a session", async () => {
    await vscode.commands.executeCommand("workbench.action.closeAllEditors");
    const rendered = await vscode.commands.executeCommand<{ sessionId: string; turns: number }>(
      "statecraft.sessions.showContextWindow",
      { sessionId: SESSION },
    );
    assert.deepEqual(rendered, { sessionId: SESSION, turns: 3 });
    const input = activeTabInput();
    assert.ok(input instanceof vscode.TabInputWebview, "the active tab is not a webview");
    assert.match(input.viewType, /statecraft\.contextWindow$/);
    await vscode.commands.executeCommand("notifications.clearAll");
    await screenshot("context-window");
  });

  it("follows a session while its log grows", async () => {
    // A session written line by line, as a running `statecraft run` writes it.
    const lines = fs
      .readFileSync(fixture(`.statecraft/sessions/${SESSION}.jsonl`).fsPath, "utf8")
      .trimEnd()
      .split("\n");
    const id = "20991231-235959-000001";
    const file = fixture(`.statecraft/sessions/${id}.jsonl`).fsPath;
    const turnEnds = lines.map((l, i) => (l.includes('"type":"turn.end"') ? i : -1)).filter((i) => i >= 0);
    try {
      fs.writeFileSync(file, lines.slice(0, turnEnds[0] + 1).join("\n") + "\n");
      await vscode.commands.executeCommand("statecraft.sessions.internal.whenTurns", id, 1);
      // Half a line first: the reader waits for the rest.
      const rest = lines.slice(turnEnds[0] + 1, turnEnds[1] + 1).join("\n") + "\n";
      fs.appendFileSync(file, rest.slice(0, 40));
      fs.appendFileSync(file, rest.slice(40));
      await vscode.commands.executeCommand("statecraft.sessions.internal.whenTurns", id, 2);
      const node = await sessionNode(id);
      assert.match(String(node.description), /^stateless · unfinished · 2 turns/);
      assert.equal((await children(node.id)).length, 2);
    } finally {
      fs.rmSync(file, { force: true });
    }
  });

  describe("Export as Test", () => {
    let original: string | undefined;
    const agentFile = () => fixture("main.agent");

    after(async () => {
      // Later suites see the fixture as it was.
      if (original === undefined) return;
      const doc = await vscode.workspace.openTextDocument(agentFile());
      const edit = new vscode.WorkspaceEdit();
      edit.replace(doc.uri, new vscode.Range(0, 0, doc.lineCount, 0), original);
      await vscode.workspace.applyEdit(edit);
      await doc.save();
    });

    it("writes a test block into the agent's file that `statecraft test` passes", async () => {
      original = fs.readFileSync(agentFile().fsPath, "utf8");
      const result = await vscode.commands.executeCommand<{ uri: string; name: string; turns: number }>(
        "statecraft.sessions.exportTest",
        { sessionId: SESSION },
      );
      assert.equal(result.uri, agentFile().toString());
      assert.equal(result.name, `session ${SESSION}`);
      assert.equal(result.turns, 3);
      const written = fs.readFileSync(agentFile().fsPath, "utf8");
      assert.ok(written.startsWith(original), "the export changed what was already in the file");
      const block = written.slice(original.length);
      for (const step of [
        `test "session ${SESSION}" {`,
        'model calls refund { order_id: "A1001", amount: 40, reason: "arrived damaged" }',
        'tool refund returns { refund_id: "RF-A1001-4000", order_id: "A1001", amount: 40, status: "issued" }',
        'send "Please refund 40 USD on order A1001, it arrived damaged."',
        "expect tool refund called with",
        "expect turns == 3",
      ])
        assert.ok(block.includes(step), `the exported test lacks ${JSON.stringify(step)}:\n${block}`);

      const cli = path.join(vscode.extensions.getExtension(EXTENSION_ID)!.extensionPath, "dist", "cli.js");
      const workspace = path.dirname(agentFile().fsPath);
      const { code, out } = await new Promise<{ code: number; out: string }>((resolve) =>
        execFile(
          process.execPath,
          [cli, "test", "main.agent", "--test", result.name],
          { cwd: workspace, env: { ...process.env, ELECTRON_RUN_AS_NODE: "1" } },
          (error, stdout, stderr) =>
            resolve({ code: error ? Number(error.code ?? 1) : 0, out: `${stdout}${stderr}` }),
        ),
      );
      assert.equal(code, 0, `statecraft test failed on the exported test:\n${out}`);
      assert.match(out, /1 passed, 0 failed/);
    });
  });
});
