// Running agents from the editor, end to end: Set API Key puts a key in SecretStorage, Select
// Backend changes the status bar, Run Agent opens the chat terminal running the real CLI against
// the fake OpenAI server (the real `openai` SDK on the wire), and Start Local Runtime runs
// `statecraft serve` for a stateful run. Each run's session file is read back from the workspace.

import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import * as vscode from "vscode";
import { FakeOpenAIServer } from "../../fakes/openaiServer";
import { screenshot } from "./screenshot";
import { EXTENSION_ID, fixture, open } from "./workspace";

interface RunHandle {
  terminal: vscode.Terminal;
  pty: { transcript: string; end(): void; onDidWrite: vscode.Event<string> };
  done: Promise<{ code: number | null; sessionId?: string; sessionFile?: string }>;
}

interface RunningState {
  backendStatus: string;
  runtime: { state: string; url?: string; port?: number; message?: string };
  runtimeStatus: string;
}

const KEY_VARIABLE = "STATECRAFT_EDITOR_TEST_OPENAI_KEY";
const KEY = "sk-editor-test-4f1c";

const state = () => vscode.commands.executeCommand<RunningState>("statecraft.internal.runningState");

async function writeFixture(name: string, text: string): Promise<vscode.Uri> {
  const uri = fixture(name);
  await vscode.workspace.fs.writeFile(uri, Buffer.from(text));
  return uri;
}

/** The recorded events of a session file the CLI named (relative to the workspace folder). */
function readSession(file: string): { type: string; [k: string]: unknown }[] {
  const full = path.isAbsolute(file) ? file : path.join(fixture(".").fsPath, file);
  return fs
    .readFileSync(full, "utf8")
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as { type: string });
}

function sessionText(file: string): string {
  return fs.readFileSync(path.isAbsolute(file) ? file : path.join(fixture(".").fsPath, file), "utf8");
}

/** Runs Run Agent with one message, ends the session after it and waits for the CLI to exit. */
async function runOnce(args: Record<string, string>): Promise<{ handle: RunHandle; sessionFile: string }> {
  const handle = await vscode.commands.executeCommand<RunHandle | undefined>("statecraft.runAgent", args);
  assert.ok(handle, "Run Agent returned no run (see the Statecraft log)");
  handle.pty.end();
  const outcome = await handle.done;
  assert.equal(outcome.code, 0, `the run failed; terminal:\n${handle.pty.transcript}`);
  assert.ok(outcome.sessionFile, `no session reported; terminal:\n${handle.pty.transcript}`);
  return { handle, sessionFile: outcome.sessionFile };
}

/** Resolves once the run's terminal shows text matching `pattern` (checked on every write). */
function untilShown(handle: RunHandle, pattern: RegExp, deadlineMs = 30_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const settle = (error?: Error) => {
      clearTimeout(deadline);
      subscription.dispose();
      if (error) reject(error);
      else resolve();
    };
    const check = () => {
      if (pattern.test(handle.pty.transcript)) settle();
    };
    const subscription = handle.pty.onDidWrite(check);
    const deadline = setTimeout(
      () => settle(new Error(`the terminal never showed ${pattern}; it shows:\n${handle.pty.transcript}`)),
      deadlineMs,
    );
    check();
  });
}

describe("running agents", () => {
  let fake: FakeOpenAIServer;
  let openaiAgent: vscode.Uri;

  before(async () => {
    await vscode.extensions.getExtension(EXTENSION_ID)?.activate();
    fake = await FakeOpenAIServer.start({ apiKey: KEY });
    // The agent's own backend is the offline one: only Select Backend's choice reaches the fake.
    openaiAgent = await writeFixture(
      "run-openai.agent",
      `// Written by run.test.ts: a stateless backend on the fake OpenAI server.
import "main.agent"

backend fake_openai {
  kind: stateless
  provider: openai
  model: "gpt-4.1-mini"
  endpoint: "${fake.openaiURL}"
  api_key: env("${KEY_VARIABLE}")
}

agent concierge {
  backend: local_dev
  instructions: "Greet the customer."
}
`,
    );
  });

  after(async () => {
    await fake?.close();
    await vscode.commands.executeCommand("statecraft.stopLocalRuntime");
  });

  it("Set API Key stores a backend's key under its env(...) name", async () => {
    const stored = await vscode.commands.executeCommand<string>("statecraft.setApiKey", {
      env: KEY_VARIABLE,
      value: KEY,
    });
    assert.equal(stored, KEY_VARIABLE);
  });

  it("Select Backend shows the picked backend and its kind in the status bar", async () => {
    await open("run-openai.agent");
    await vscode.commands.executeCommand("statecraft.selectBackend", {
      uri: openaiAgent.toString(),
      backend: "",
    });
    assert.equal((await state()).backendStatus, "$(server) local_dev · stateless");
    const picked = await vscode.commands.executeCommand<{ name: string; kind: string }>(
      "statecraft.selectBackend",
      { uri: openaiAgent.toString(), backend: "fake_openai" },
    );
    assert.equal(picked?.name, "fake_openai");
    assert.equal((await state()).backendStatus, "$(server) fake_openai · stateless");
  });

  it("Run Agent streams the fake OpenAI server's reply into a chat terminal and records the session", async () => {
    fake.script({ kind: "text", text: "Welcome to Acme, how can I help you today?", chunks: 4 });
    const { handle, sessionFile } = await runOnce({
      uri: openaiAgent.toString(),
      agent: "concierge",
      input: "Hello",
    });
    assert.match(handle.pty.transcript, /you> Hello\n/);
    assert.match(handle.pty.transcript, /Welcome to Acme, how can I help you today\?/);
    // The key went from SecretStorage to the CLI's environment to the SDK's Authorization header.
    assert.equal(fake.journal.length, 1);
    assert.equal(fake.journal[0].auth, "bearer");
    const events = readSession(sessionFile);
    const start = events[0] as { type: string; backend?: { name?: string; kind?: string } };
    assert.equal(start.type, "session.start");
    assert.deepEqual([start.backend?.name, start.backend?.kind], ["fake_openai", "stateless"]);
    assert.ok(events.some((e) => e.type === "turn.end"));
    assert.equal(events.at(-1)?.type, "session.end");
    assert.ok(!sessionText(sessionFile).includes(KEY), "the API key must not enter the session log");
    await screenshot("run-terminal");
    handle.terminal.dispose();
  });

  it("Run Agent's terminal asks for approvals, and what the user types there answers them", async function () {
    this.timeout(60_000);
    const handle = await vscode.commands.executeCommand<RunHandle | undefined>("statecraft.runAgent", {
      uri: fixture("approvals.agent").toString(),
      agent: "cashier",
      input: "Please refund order A1001",
      script: fixture("approvals.script.json").fsPath,
    });
    assert.ok(handle, "Run Agent returned no run (see the Statecraft log)");
    await untilShown(handle, /Approve issue_refund \{"order_id":"A1001","amount":40\}\? \[y\/N\] $/);
    // Typed into the terminal as a user would: VS Code hands the text to the Pseudoterminal.
    handle.terminal.sendText("y");
    await untilShown(handle, /Your refund has been requested\.\n/);
    handle.pty.end();
    const outcome = await handle.done;
    assert.equal(outcome.code, 0, handle.pty.transcript);
    const events = readSession(outcome.sessionFile!);
    const approval = events.find((e) => e.type === "approval") as
      { approved?: boolean; tool?: string } | undefined;
    assert.deepEqual([approval?.tool, approval?.approved], ["issue_refund", true]);
    const result = events.find((e) => e.type === "tool.result") as
      { ok?: boolean; output?: unknown } | undefined;
    assert.deepEqual([result?.ok, result?.output], [true, { status: "issued" }]);
    handle.terminal.dispose();
  });

  it("Start Local Runtime runs statecraft serve, and a stateful run goes through it", async function () {
    this.timeout(90_000);
    const started = await vscode.commands.executeCommand<RunningState["runtime"]>(
      "statecraft.startLocalRuntime",
      {
        port: 0,
      },
    );
    assert.equal(started?.state, "running", `runtime: ${JSON.stringify(started)}`);
    const url = started.url!;
    assert.equal((await state()).runtimeStatus, `$(vm-running) runtime: ${url.replace("http://", "")}`);
    const statefulAgent = await writeFixture(
      "run-stateful.agent",
      `// Written by run.test.ts: a stateful backend on the runtime Start Local Runtime started.
backend runtime_local {
  kind: stateful
  provider: local
  endpoint: "${url}"
}

agent keeper {
  backend: runtime_local
  instructions: "Remember what the customer says."
}
`,
    );
    await open("run-stateful.agent");
    await vscode.commands.executeCommand("statecraft.selectBackend", {
      uri: statefulAgent.toString(),
      backend: "",
    });
    assert.equal((await state()).backendStatus, "$(server) runtime_local · stateful");
    const { handle, sessionFile } = await runOnce({
      uri: statefulAgent.toString(),
      agent: "keeper",
      input: "Hi",
      script: fixture("running.script.json").fsPath,
    });
    assert.match(handle.pty.transcript, /Hello from the scripted model\./);
    const start = readSession(sessionFile)[0] as { type: string; backend?: { kind?: string } };
    assert.equal(start.backend?.kind, "stateful");
    handle.terminal.dispose();

    await vscode.commands.executeCommand("statecraft.stopLocalRuntime");
    const stopped = await state();
    assert.equal(stopped.runtime.state, "stopped");
    assert.equal(stopped.runtimeStatus, "$(debug-disconnect) runtime: stopped");
  });
});
