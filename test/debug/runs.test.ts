// The debugger's run control against the built adapter: the done-when of the
// debugger on the example project (a breakpoint on a tool, an approval, an
// edited input found in the session log), limits and failed model calls as
// stops, pause, restart, and running without stopping (noDebug).

import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { FIXTURES, lineOf, onlyLog, ROOT, Session, sessionLogs, SHOP, tempWorkspace } from "./harness";
import { parseLog } from "../../server/runtime/sessionLog";
import { waitFor } from "../helpers/waitFor";

const EXAMPLE = path.join(ROOT, "examples", "support");
const LIMITS = path.join(FIXTURES, "limits.agent");

describe("debug adapter: run control", function () {
  this.timeout(60_000);
  let s: Session;
  let ws: string;

  beforeEach(async () => {
    ws = tempWorkspace();
    s = new Session();
    await s.start();
  });

  afterEach(async () => {
    await s.stop();
    fs.rmSync(ws, { recursive: true, force: true });
  });

  const lookups = (extra: Record<string, unknown> = {}) => ({
    program: SHOP,
    script: path.join(FIXTURES, "lookups.script.json"),
    inputs: ["Where is A1?", "And A2?"],
    cwd: ws,
    ...extra,
  });

  it("the example project: a breakpoint on refund stops before the call; the edited amount is refunded and logged", async () => {
    const tools = path.join(EXAMPLE, "tools.agent");
    const [bps] = await s.launch(
      {
        program: path.join(EXAMPLE, "main.agent"),
        agent: "support",
        script: path.join(EXAMPLE, "demo.script.json"),
        user: { id: "ada", name: "Ada" },
        inputs: [
          "Hi, I'm Ada. Where is my order A1003?",
          "Please refund 40 USD on order A1001, it arrived damaged.",
        ],
        cwd: ws,
      },
      { [tools]: [{ line: lineOf(tools, "tool refund {") }] },
    );
    assert.equal(bps[0].verified, true);
    await s.expectStop("approval needed");
    await s.repl("approve");
    await s.expectStop("step");
    await s.dc.continueRequest({ threadId: 1 });
    const frames = await s.expectStop("breakpoint");
    assert.equal(frames[0].source?.path, tools);
    assert.equal(frames[0].line, lineOf(tools, "tool refund {"));
    const { fields, ref } = await s.pendingInput();
    assert.deepEqual(fields, { order_id: '"A1001"', amount: "40", reason: '"arrived damaged"' });
    await s.dc.setVariableRequest({ variablesReference: ref, name: "amount", value: "25" });
    await s.dc.continueRequest({ threadId: 1 });
    await s.waitTerminated();
    const log = onlyLog(ws);
    const edit = log.find((e) => e.type === "manual.edit");
    assert.ok(edit?.type === "manual.edit");
    assert.deepEqual([edit.tool, edit.field, edit.before, edit.after], ["refund", "amount", 40, 25]);
    const result = log.find((e) => e.type === "tool.result" && e.tool === "refund");
    assert.ok(result?.type === "tool.result");
    assert.deepEqual(result.output, {
      refund_id: "RF-A1001-2500",
      order_id: "A1001",
      amount: 25,
      status: "issued",
    });
  });

  it("limits stop the run with the policy line in the frame; a failed model call stops as an exception", async () => {
    await s.launch({
      program: LIMITS,
      script: path.join(FIXTURES, "limits.script.json"),
      inputs: ["Look up A1 and A2", "And again?"],
      cwd: ws,
    });
    const stop = await s.nextStop();
    assert.equal(stop.body.reason, "limit reached");
    assert.match(stop.body.text ?? "", /max_tool_calls \(1\) reached/);
    const frames = await s.frames();
    assert.equal(frames[0].line, lineOf(LIMITS, "max_tool_calls: 1"));
    const info = await s.dc.exceptionInfoRequest({ threadId: 1 });
    assert.match(info.body.description ?? "", /max_tool_calls/);
    await s.dc.continueRequest({ threadId: 1 });
    const turns = await s.nextStop();
    assert.equal(turns.body.reason, "limit reached");
    assert.match(turns.body.text ?? "", /max_turns \(1\) reached/);
    assert.equal((await s.frames())[0].line, lineOf(LIMITS, "max_turns: 1"));
    await s.dc.continueRequest({ threadId: 1 });
    await s.waitTerminated();

    await s.stop();
    s = new Session();
    await s.start();
    await s.launch(lookups({ inputs: ["Where is A1?", "And A2?", "And A3?"], cwd: tempWorkspace() }));
    const failed = await s.nextStop();
    assert.equal(failed.body.reason, "exception");
    assert.match(failed.body.text ?? "", /only plays back scripted replies/);
    await s.dc.continueRequest({ threadId: 1 });
    await s.waitTerminated();
  });

  it("pause stops while the agent waits for a message; restart begins a new session and ends the old one", async () => {
    await s.launch({ program: SHOP, script: path.join(FIXTURES, "lookups.script.json"), cwd: ws });
    await waitFor("the console to ask for the next message", () =>
      s.output.includes("Type the next user message"),
    );
    await s.dc.pauseRequest({ threadId: 1 });
    const paused = await s.expectStop("pause");
    assert.equal(paused[0].name, "waiting for a user message");
    await s.dc.continueRequest({ threadId: 1 });
    await s.repl("/end");
    await s.waitTerminated();

    await s.stop();
    const ws2 = tempWorkspace();
    s = new Session();
    await s.start();
    await s.launch(lookups({ cwd: ws2 }), {
      [SHOP]: [{ line: lineOf(SHOP, 'order_id: string "The order id"') }],
    });
    await s.expectStop("breakpoint");
    await s.dc.restartRequest({});
    await s.expectStop("breakpoint");
    assert.equal((await s.pendingInput()).fields.order_id, '"A1"');
    const logs = sessionLogs(ws2);
    assert.equal(logs.length, 2);
    const ends = logs.map((f) => parseLog(fs.readFileSync(f, "utf8")).events.at(-1));
    assert.deepEqual(
      ends.filter((e) => e?.type === "session.end").map((e) => e?.type === "session.end" && e.status),
      ["stopped"],
      "the first run ended stopped; the second is still running",
    );
    await s.dc.disconnectRequest({});
  });

  it("an adapter ended by SIGTERM (the editor closing) still ends the session log stopped", async () => {
    await s.launch(lookups(), { [SHOP]: [{ line: lineOf(SHOP, 'order_id: string "The order id"') }] });
    await s.expectStop("breakpoint");
    const adapter = (s.dc as unknown as { _adapterProcess: import("node:child_process").ChildProcess })
      ._adapterProcess;
    const exited = new Promise((resolve) => adapter.once("exit", resolve));
    adapter.kill("SIGTERM");
    await exited;
    const log = onlyLog(ws);
    const end = log.at(-1);
    assert.equal(end?.type === "session.end" && end.status, "stopped");
    assert.equal(
      log.some((e) => e.type === "tool.result"),
      false,
    );
    // afterEach disconnects a live adapter; this one is gone.
    s = new Session();
    await s.start();
  });

  it("noDebug runs to the end without stopping, breakpoints or not", async () => {
    await s.launch(lookups({ noDebug: true }), {
      [SHOP]: [{ line: lineOf(SHOP, 'order_id: string "The order id"') }],
    });
    await s.waitTerminated();
    const log = onlyLog(ws);
    assert.equal(log.filter((e) => e.type === "tool.result").length, 2);
    const end = log.at(-1);
    assert.equal(end?.type === "session.end" && end.status, "ok");
    assert.doesNotMatch(s.output, /stopped/);
  });
});
