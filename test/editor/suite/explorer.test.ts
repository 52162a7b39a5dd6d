// The Session Explorer on the fixture workspace's recorded sessions
// (test/editor/fixtures/workspace/.statecraft/sessions/, recorded with
// `statecraft run` on main.agent): the tree with its turns and snapshot
// nodes, snapshot documents and their diff, Compare Sessions, the context
// window view, a session growing live, and Export as Test checked by running
// `statecraft test` on what it wrote. Screenshots of the explorer, a snapshot
// diff and the context window view go to test-results/editor/.

import { strict as assert } from "node:assert";
import { execFile, spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
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

/** The extension's own CLI (dist/cli.js). */
const cli = () => path.join(vscode.extensions.getExtension(EXTENSION_ID)!.extensionPath, "dist", "cli.js");

/** Runs the CLI to its end in `cwd`. */
function run(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile(
      process.execPath,
      [cli(), ...args],
      { cwd, env: { ...process.env, ELECTRON_RUN_AS_NODE: "1" }, maxBuffer: 16 << 20 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

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
    // Room for the descriptions in this suite's pictures. The headless page has no focused part,
    // so the command resizes the editor part: narrowing it widens the side bar.
    for (let i = 0; i < 6; i++) await vscode.commands.executeCommand("workbench.action.decreaseViewWidth");
    // Earlier suites leave the panel (test results, terminals) and notifications open.
    await vscode.commands.executeCommand("workbench.action.closePanel");
    await vscode.commands.executeCommand("notifications.clearAll");
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
    // Give the chart back the room the explorer's picture took from the editor.
    for (let i = 0; i < 3; i++) await vscode.commands.executeCommand("workbench.action.increaseViewWidth");
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

  it("replays a session exactly through the CLI", async function () {
    this.timeout(60_000);
    const result = await vscode.commands.executeCommand<{ code: number; output: string }>(
      "statecraft.sessions.replay",
      { sessionId: SESSION, mode: "exact" },
    );
    assert.equal(result.code, 0, result.output);
    assert.match(result.output, new RegExp(`exact replay of ${SESSION}: 6 model requests in 3 turns match`));
  });

  it("forks a session after a turn into a new session that appears in the explorer", async function () {
    this.timeout(60_000);
    const result = await vscode.commands.executeCommand<{ code: number; sessionId?: string; stderr: string }>(
      "statecraft.sessions.fork",
      {
        sessionId: SESSION,
        turn: 1,
        input: "And order A1002?",
        reply: "Order A1002 was delivered.",
        approve: "none",
        backend: "local_dev",
      },
    );
    assert.equal(result.code, 0, result.stderr);
    assert.ok(result.sessionId, `no new session named in: ${result.stderr}`);
    try {
      await vscode.commands.executeCommand("statecraft.sessions.internal.whenTurns", result.sessionId, 1);
      const fork = await sessionNode(result.sessionId);
      assert.match(String(fork.description), /^stateless · ok · 1 turn · /);
      // A fork's turns continue its parent's numbering.
      assert.deepEqual(
        (await children(fork.id)).map((t) => t.label),
        ["Turn 2: And order A1002?"],
      );
    } finally {
      fs.rmSync(fixture(`.statecraft/sessions/${result.sessionId}.jsonl`).fsPath, { force: true });
    }
  });

  describe("a configured stateful runtime", function () {
    // `statecraft serve` starts an embedded PostgreSQL (PGlite), which takes a while on a busy machine.
    this.timeout(120_000);
    const RUNTIME = "e1-runtime";
    const TOKEN = "e1-token-not-a-real-secret";
    const REMOTE_SESSION = "e1-remote-1";
    const SOURCE = `runtime:${RUNTIME}`;
    let server: ChildProcess | undefined;
    let exited: Promise<unknown> | undefined;
    let dir: string | undefined;

    before(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "statecraft-explorer-runtime-"));
      fs.writeFileSync(path.join(dir, "auth.json"), JSON.stringify({ [TOKEN]: "ada" }));
      const workspace = fixture("").fsPath;
      const env = { ...process.env, ELECTRON_RUN_AS_NODE: "1" };
      server = spawn(
        process.execPath,
        [
          cli(),
          "serve",
          "--port",
          "0",
          "--data",
          path.join(dir, "data"),
          "--auth",
          path.join(dir, "auth.json"),
        ],
        { cwd: workspace, env, stdio: ["ignore", "pipe", "pipe"] },
      );
      exited = new Promise((resolve) => server!.once("exit", resolve));
      const url = await new Promise<string>((resolve, reject) => {
        let out = "";
        const onData = (chunk: Buffer) => {
          out += chunk.toString();
          const m = /listening on (http:\/\/\S+)/.exec(out);
          if (m) resolve(m[1]);
        };
        server!.stdout!.on("data", onData);
        server!.stderr!.on("data", onData);
        void exited!.then(() => reject(new Error(`statecraft serve exited before listening:\n${out}`)));
      });
      // One session on the runtime: a turn of the fixture agent, on the scripted local model.
      const definition = JSON.parse(
        await run(["compile", "main.agent", "--agent", "support"], workspace).then((r) => r.stdout),
      ) as unknown;
      const response = await fetch(`${url}/invocations`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${TOKEN}`,
          "content-type": "application/json",
          "x-amzn-bedrock-agentcore-runtime-session-id": REMOTE_SESSION,
        },
        body: JSON.stringify({
          input: "Where is my order A1003?",
          definition,
          user: { id: "ada" },
          source: "main.agent",
          script: [{ reply: "Order A1003 has shipped." }],
        }),
      });
      const stream = await response.text();
      assert.equal(response.status, 200, stream);
      assert.match(stream, /event: done\ndata: \{"turn":1,"status":"ok"\}/);
      await vscode.workspace
        .getConfiguration("statecraft")
        .update("runtimes", [{ name: RUNTIME, url }], vscode.ConfigurationTarget.Workspace);
    });

    after(async () => {
      await vscode.workspace
        .getConfiguration("statecraft")
        .update("runtimes", undefined, vscode.ConfigurationTarget.Workspace);
      await vscode.commands.executeCommand("statecraft.setApiKey", { runtime: RUNTIME, value: "" });
      server?.kill("SIGTERM");
      await exited;
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    it("says the token is missing, then lists its sessions with their turns and snapshots", async () => {
      await vscode.commands.executeCommand("statecraft.sessions.internal.whenSource", SOURCE, true);
      await child(undefined, (c) => c.id === `source:${SOURCE}`, "the runtime");
      const [error] = await children(`source:${SOURCE}`);
      assert.match(error.label, /401 .*Set API Key.*statecraft\.runtime\.e1-runtime/);

      // The token E2's Set API Key stores, under the key the explorer reads.
      await vscode.commands.executeCommand("statecraft.setApiKey", { runtime: RUNTIME, value: TOKEN });
      await vscode.commands.executeCommand("statecraft.sessions.internal.whenTurns", REMOTE_SESSION, 1);
      const source = await child(undefined, (c) => c.id === `source:${SOURCE}`, "the runtime");
      assert.equal(source.label, RUNTIME);
      const session = await child(source.id, (c) => c.kind === "session", "the runtime's session");
      assert.equal(session.label, "support");
      assert.equal(session.contextValue, "statecraft.session.runtime");
      assert.match(String(session.description), /^stateless · idle · 1 turn · /);
      const turns = await children(session.id);
      assert.deepEqual(
        turns.map((t) => t.label),
        ["Turn 1: Where is my order A1003?"],
      );
      const [context, memory] = await children(turns[0].id);
      assert.deepEqual([context.label, memory.label], ["Context", "Memory"]);

      await vscode.commands.executeCommand("statecraft.sessions.openSnapshot", {
        sourceId: SOURCE,
        sessionId: REMOTE_SESSION,
        turn: 1,
        which: "context",
      });
      const text = vscode.window.activeTextEditor?.document.getText() ?? "";
      assert.ok(text.startsWith("# Context · turn 1"), text);
      assert.ok(text.includes("### 2. user\n\nWhere is my order A1003?"), text);
    });
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

      const { code, stdout, stderr } = await run(
        ["test", "main.agent", "--test", result.name],
        path.dirname(agentFile().fsPath),
      );
      assert.equal(code, 0, `statecraft test failed on the exported test:\n${stdout}${stderr}`);
      assert.match(stdout + stderr, /1 passed, 0 failed/);
    });
  });
});
