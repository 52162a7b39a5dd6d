// The agent debugger over the Debug Adapter Protocol, against the built
// adapter (`node dist/cli.js dap`): breakpoints on spec lines, stepping by
// event, the state in Variables, edits recorded in the session log, approvals
// from the Debug Console, replay, cancellation. Needs `npm run build` first.

import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type { SessionEvent } from "../../server/protocol/events";
import { FIXTURES, lineOf, onlyLog, ROOT, Session, SHOP, tempWorkspace } from "./harness";
import { waitFor } from "../helpers/waitFor";

const SCRIPT = (name: string) => path.join(FIXTURES, `${name}.script.json`);
const TOOL_LOOKUP = lineOf(SHOP, 'order_id: string "The order id"');
const TOOL_REFUND_LINE = lineOf(SHOP, "amount: number");

describe("debug adapter (statecraft dap)", function () {
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
    script: SCRIPT("lookups"),
    inputs: ["Where is A1?", "And A2?"],
    cwd: ws,
    ...extra,
  });

  it("stops on a tool breakpoint before the call, with the input in Variables and the frame on the tool", async () => {
    const [bps] = await s.launch(lookups(), { [SHOP]: [{ line: TOOL_LOOKUP }] });
    assert.equal(bps[0].verified, true);
    const frames = await s.expectStop("breakpoint");
    assert.match(frames[0].name, /lookup_order about to run/);
    assert.equal(frames[0].source?.path, SHOP);
    assert.equal(frames[0].line, lineOf(SHOP, "tool lookup_order {"));
    assert.deepEqual(
      frames.map((f) => f.name.split(":")[0]),
      ["lookup_order about to run", "turn 1", "agent shop"],
    );
    assert.equal(frames[2].line, lineOf(SHOP, "agent shop {"));
    assert.deepEqual((await s.pendingInput()).fields, { order_id: '"A1"' });
    // Nothing ran yet: the log has the call and the policy's decision, not a result.
    const before = onlyLog(ws).map((e) => e.type);
    assert.ok(before.includes("tool.call") && !before.includes("tool.result"), before.join(" "));
    await s.dc.continueRequest({ threadId: 1 });
    await s.expectStop("breakpoint");
    assert.deepEqual((await s.pendingInput()).fields, { order_id: '"A2"' });
    await s.dc.continueRequest({ threadId: 1 });
    await s.waitTerminated();
    const end = onlyLog(ws).at(-1);
    assert.equal(end?.type === "session.end" && end.status, "ok");
  });

  it("an edited input is what the tool receives and what the log records; approval answered from the console", async () => {
    await s.launch(
      { program: SHOP, script: SCRIPT("refund"), inputs: ["Refund 40 on A1"], cwd: ws },
      { [SHOP]: [{ line: TOOL_REFUND_LINE }] },
    );
    const frames = await s.expectStop("approval needed");
    assert.equal(frames[0].line, lineOf(SHOP, "require_approval: [refund]"));
    // Resuming without an answer is refused with the way out.
    await assert.rejects(s.dc.continueRequest({ threadId: 1 }), /type approve or reject/);
    const answer = await s.repl("approve");
    assert.match(answer.body.result, /refund: approved/);
    await s.expectStop("step"); // the approval event
    await s.dc.continueRequest({ threadId: 1 });
    await s.expectStop("breakpoint");
    const { fields, ref } = await s.pendingInput();
    assert.equal(fields.amount, "40");
    // Edits the policy would deny, or of the wrong type, are refused with the reason.
    await assert.rejects(
      s.dc.setVariableRequest({ variablesReference: ref, name: "amount", value: "900" }),
      /policy would deny.*amount > 500/,
    );
    await assert.rejects(
      s.dc.setVariableRequest({ variablesReference: ref, name: "amount", value: '"lots"' }),
      /not a valid input for refund/,
    );
    const set = await s.dc.setVariableRequest({ variablesReference: ref, name: "amount", value: "25" });
    assert.equal(set.body.value, "25");
    assert.equal((await s.pendingInput()).fields.amount, "25");
    assert.equal(
      (await s.dc.evaluateRequest({ expression: "input.amount", context: "watch" })).body.result,
      "25",
    );
    await s.dc.continueRequest({ threadId: 1 });
    await s.waitTerminated();
    const log = onlyLog(ws);
    const call = log.find((e) => e.type === "tool.call" && e.tool === "refund");
    const edit = log.find((e) => e.type === "manual.edit");
    const result = log.find((e) => e.type === "tool.result" && e.tool === "refund");
    assert.ok(call?.type === "tool.call" && edit?.type === "manual.edit" && result?.type === "tool.result");
    assert.deepEqual(call.input, { order_id: "A1", amount: 40 }, "tool.call keeps what the model asked");
    assert.deepEqual(
      {
        target: edit.target,
        tool: edit.tool,
        callId: edit.callId,
        field: edit.field,
        before: edit.before,
        after: edit.after,
        by: edit.by,
      },
      {
        target: "tool.input",
        tool: "refund",
        callId: call.callId,
        field: "amount",
        before: 40,
        after: 25,
        by: "debugger",
      },
    );
    assert.deepEqual(
      result.output,
      { received: { order_id: "A1", amount: 25 } },
      "the tool received the edit",
    );
    assert.ok(log.indexOf(edit) < log.indexOf(result));
  });

  it("a rejected approval denies the call", async () => {
    await s.launch({ program: SHOP, script: SCRIPT("refund"), inputs: ["Refund 40 on A1"], cwd: ws });
    await s.expectStop("approval needed");
    assert.match((await s.repl("reject")).body.result, /rejected/);
    await s.expectStop("step");
    await s.dc.continueRequest({ threadId: 1 });
    await s.waitTerminated();
    const log = onlyLog(ws);
    const approval = log.find((e) => e.type === "approval");
    assert.equal(approval?.type === "approval" && approval.approved, false);
    assert.equal(
      log.some((e) => e.type === "tool.result" && e.tool === "refund"),
      false,
    );
  });

  it("next visits every event in log order; step in goes to a call's input then its result; step out to the turn's end", async () => {
    await s.launch(lookups({ inputs: ["Where is A1?"], stopOnEntry: true }));
    const seen: string[] = [];
    let frames = await s.expectStop("entry");
    seen.push(frames[0].name.split(" ")[0]);
    for (;;) {
      await s.dc.nextRequest({ threadId: 1 });
      const stop = await Promise.race([s.nextStop(), s.waitTerminated().then(() => undefined)]);
      if (!stop) break;
      assert.equal(stop.body.reason, "step");
      frames = await s.frames();
      seen.push(frames[0].name.split(" ")[0]);
    }
    const log = onlyLog(ws).map((e) => e.type);
    assert.deepEqual(seen, log);

    // A second run, from a breakpoint on the agent: event by event, into the first call, out to the turn's end.
    await s.stop();
    s = new Session();
    await s.start();
    const agentLine = lineOf(SHOP, 'instructions: "Help with orders."');
    await s.launch(lookups({ inputs: ["Where is A1?"], cwd: tempWorkspace() }), {
      [SHOP]: [{ line: agentLine }],
    });
    frames = await s.expectStop("breakpoint");
    assert.equal(frames[0].name, "turn.start");
    const names: string[] = [];
    for (let i = 0; i < 5; i++) {
      await s.dc.nextRequest({ threadId: 1 });
      names.push((await s.expectStop("step"))[0].name);
      if (i === 3) {
        // At the call, before the policy decided: its input cannot be edited yet.
        const { ref } = await s.pendingInput();
        await assert.rejects(
          s.dc.setVariableRequest({ variablesReference: ref, name: "order_id", value: '"A9"' }),
          /policy has not decided on this call yet/,
        );
      }
    }
    assert.deepEqual(names, [
      "context.snapshot (call 1)",
      "model.request (call 1)",
      "model.response (call 1)",
      "tool.call lookup_order",
      "policy.decision lookup_order: allow",
    ]);
    await s.dc.stepInRequest({ threadId: 1 });
    assert.equal((await s.expectStop("step"))[0].name, "lookup_order about to run");
    await s.dc.stepInRequest({ threadId: 1 });
    const result = await s.expectStop("step");
    assert.equal(result[0].name, "tool.result lookup_order");
    const last = await s.scope("Last result");
    assert.equal(last.find((v) => v.name === "tool")?.value, '"lookup_order"');
    await s.dc.stepOutRequest({ threadId: 1 });
    assert.equal((await s.expectStop("step"))[0].name, "turn.end");
  });

  it("conditional breakpoints use the policy expression language; hit counts count hits", async () => {
    const [bps] = await s.launch(lookups(), {
      [SHOP]: [{ line: TOOL_LOOKUP, condition: 'input.order_id == "A2"' }],
    });
    assert.equal(bps[0].verified, true);
    await s.expectStop("breakpoint");
    assert.equal((await s.pendingInput()).fields.order_id, '"A2"');
    assert.equal(
      (await s.dc.evaluateRequest({ expression: "memory.last_order", context: "watch" })).body.result,
      '"A1"',
    );
    await s.dc.continueRequest({ threadId: 1 });
    await s.waitTerminated();

    await s.stop();
    s = new Session();
    await s.start();
    const [hit] = await s.launch(lookups({ cwd: tempWorkspace() }), {
      [SHOP]: [{ line: TOOL_LOOKUP, hitCondition: "2" }],
    });
    assert.equal(hit[0].verified, true);
    await s.expectStop("breakpoint");
    assert.equal((await s.pendingInput()).fields.order_id, '"A2"');
    await s.dc.continueRequest({ threadId: 1 });
    await s.waitTerminated();
  });

  it("breakpoints that can never hit are unverified with a message", async () => {
    const [bps] = await s.launch(lookups(), {
      [SHOP]: [
        { line: lineOf(SHOP, "provider: local") },
        { line: 1 },
        { line: lineOf(SHOP, 'send "Where is A1?"') },
        { line: TOOL_LOOKUP, condition: "input.amount >" },
        { line: TOOL_LOOKUP, condition: "nonsense.x == 1" },
        { line: TOOL_LOOKUP, hitCondition: "often" },
        { line: lineOf(SHOP, "deny refund when") },
      ],
    });
    const [backend, comment, step, badCondition, unknownRoot, badHits, deny] = bps;
    assert.equal(backend.verified, false);
    assert.match(backend.message ?? "", /backend declaration does not run/);
    assert.equal(comment.verified, false);
    assert.match(comment.message ?? "", /nothing runs on this line/);
    assert.equal(step.verified, false);
    assert.match(step.message ?? "", /"test": "a lookup"/);
    assert.equal(badCondition.verified, false);
    assert.match(badCondition.message ?? "", /^condition: /);
    assert.match(unknownRoot.message ?? "", /unknown name 'nonsense'/);
    assert.match(badHits.message ?? "", /hit count 'often'/);
    assert.equal(deny.verified, true);
    await s.waitTerminated();
  });

  it("a replayed session stops at the same places, without running tools", async () => {
    const bp = { [SHOP]: [{ line: TOOL_LOOKUP }] };
    await s.launch(lookups(), bp);
    const live: string[] = [];
    for (let i = 0; i < 2; i++) {
      const f = await s.expectStop("breakpoint");
      live.push(`${f[0].line} ${(await s.pendingInput()).fields.order_id}`);
      await s.dc.continueRequest({ threadId: 1 });
    }
    await s.waitTerminated();
    const logFile = fs.readdirSync(path.join(ws, ".statecraft", "sessions"))[0];
    await s.stop();

    s = new Session();
    await s.start();
    await s.launch({ replay: path.join(ws, ".statecraft", "sessions", logFile), cwd: ws }, bp);
    const replayed: string[] = [];
    for (let i = 0; i < 2; i++) {
      const f = await s.expectStop("breakpoint");
      replayed.push(`${f[0].line} ${(await s.pendingInput()).fields.order_id}`);
      const { ref } = await s.pendingInput();
      await assert.rejects(
        s.dc.setVariableRequest({ variablesReference: ref, name: "order_id", value: '"A9"' }),
        /replay plays the recording back/,
      );
      await s.dc.continueRequest({ threadId: 1 });
    }
    await s.waitTerminated();
    assert.deepEqual(replayed, live);
    assert.match(s.output, /replay matched the recording: 2 turns, 5 model calls/);
    // A replay writes no new log.
    assert.equal(fs.readdirSync(path.join(ws, ".statecraft", "sessions")).length, 1);
  });

  it("a replay whose definition now makes fewer model calls diverges, as statecraft replay --mode exact says", async () => {
    // A copy of the program, so that its policy can change after the recording.
    const program = path.join(ws, "shop.agent");
    fs.cpSync(path.join(FIXTURES, "tools"), path.join(ws, "tools"), { recursive: true });
    fs.copyFileSync(SHOP, program);
    await s.launch(lookups({ program }));
    await s.waitTerminated();
    const log = path.join(
      ws,
      ".statecraft",
      "sessions",
      fs.readdirSync(path.join(ws, ".statecraft", "sessions"))[0],
    );
    await s.stop();
    const source = fs.readFileSync(program, "utf8");
    fs.writeFileSync(program, source.replace("max_tool_calls: 10", "max_tool_calls: 10\n    max_tokens: 1"));

    const cli = spawnSync(
      process.execPath,
      [path.join(ROOT, "dist", "cli.js"), "replay", log, "--mode", "exact"],
      {
        cwd: ws,
        encoding: "utf8",
      },
    );
    assert.equal(cli.status, 1, cli.stdout + cli.stderr);
    const missing = "turn 1: the recording has a model call (2) that the current definition no longer makes";
    assert.ok(cli.stdout.includes(missing), cli.stdout);

    s = new Session();
    await s.start();
    await s.launch({ replay: log, cwd: ws });
    // The new limit denies turn 1's first tool call, then stops the turn before its second model call;
    // the replay then stops where it diverged: at the end of that turn.
    for (let i = 0; i < 2; i++) {
      await s.expectStop("limit reached");
      await s.dc.continueRequest({ threadId: 1 });
    }
    const stop = await s.nextStop();
    assert.deepEqual([stop.body.reason, stop.body.text], ["exception", missing]);
    await s.dc.continueRequest({ threadId: 1 });
    await s.waitTerminated();
    assert.ok(s.output.includes(`replay diverged: ${missing}\n`), s.output);
    assert.doesNotMatch(s.output, /replay matched/);
  });

  it("disconnect cancels the run: the tool never runs and the log ends stopped", async () => {
    await s.launch(lookups(), { [SHOP]: [{ line: TOOL_LOOKUP }] });
    await s.expectStop("breakpoint");
    await s.dc.disconnectRequest({});
    const log = onlyLog(ws);
    const end = log.at(-1);
    assert.ok(end?.type === "session.end", `last event: ${end?.type}`);
    assert.equal(end.status, "stopped");
    assert.equal(
      log.some((e) => e.type === "tool.result"),
      false,
    );
    const turnEnd = log.find((e): e is Extract<SessionEvent, { type: "turn.end" }> => e.type === "turn.end");
    assert.equal(turnEnd?.reason, "cancelled");
  });

  it("a memory breakpoint stops before the write; Memory edits are recorded; expressions evaluate", async () => {
    const memLine = lineOf(SHOP, "open_tickets: integer");
    await s.launch(lookups({ inputs: ["Where is A1?"] }), { [SHOP]: [{ line: memLine }] });
    const frames = await s.expectStop("breakpoint");
    assert.equal(frames[0].name, "write customer.last_order");
    assert.equal(frames[0].line, lineOf(SHOP, "memory customer {"));
    const pending = await s.scope("Pending tool call");
    assert.equal(pending.find((v) => v.name === "tool")?.value, '"remember"');
    const memory = await s.scope("Memory");
    assert.equal(memory.find((v) => v.name === "open_tickets")?.value, "0");
    await assert.rejects(
      s.dc.setVariableRequest({ variablesReference: memory.ref, name: "open_tickets", value: "1.5" }),
      /not a valid value for open_tickets/,
    );
    await s.dc.setVariableRequest({ variablesReference: memory.ref, name: "open_tickets", value: "3" });
    assert.equal((await s.repl("memory.open_tickets")).body.result, "3");
    assert.equal((await s.repl('memory.open_tickets >= 3 and input.value == "A1"')).body.result, "true");
    assert.match((await s.repl("context.tokens")).body.result, /^\d+$/);
    const context = await s.scope("Context");
    assert.deepEqual(
      context.map((v) => v.name),
      ["tokens", "instructions", "context", "memory", "history", "tools", "messages", "model", "bytes"],
    );
    const messages = await s.children(context.find((v) => v.name === "messages")!);
    assert.deepEqual(
      messages.map((m) => m.name),
      ["[0] system", "[1] user", "[2] assistant", "[3] tool"],
    );
    await s.dc.continueRequest({ threadId: 1 });
    await s.waitTerminated();
    const log = onlyLog(ws);
    const edit = log.find((e) => e.type === "manual.edit");
    assert.ok(edit?.type === "manual.edit");
    assert.deepEqual(
      [edit.target, edit.memory, edit.field, edit.before, edit.after],
      ["memory", "customer", "open_tickets", 0, 3],
    );
    const snap = log.find((e) => e.type === "memory.snapshot");
    assert.deepEqual(snap?.type === "memory.snapshot" && snap.values, { open_tickets: 3, last_order: "A1" });

    // The replay makes the same edit at the same point, so every request matches the recording.
    await s.stop();
    s = new Session();
    await s.start();
    const file = fs.readdirSync(path.join(ws, ".statecraft", "sessions"))[0];
    await s.launch({ replay: path.join(ws, ".statecraft", "sessions", file), cwd: ws });
    await s.waitTerminated();
    assert.match(s.output, /\(replay\) edited memory open_tickets as recorded/);
    assert.match(s.output, /replay matched the recording: 1 turn, 3 model calls/);
  });

  it("without inputs, a line typed in the Debug Console is the next user message; /end ends", async () => {
    await s.launch({ program: SHOP, script: SCRIPT("lookups"), cwd: ws });
    await waitFor("the console to ask for the next message", () =>
      s.output.includes("Type the next user message"),
    );
    assert.match((await s.repl("Where is A1?")).body.result, /^sent: Where is A1\?/);
    await waitFor("the reply in the console", () => s.output.includes("A1 has shipped."));
    await s.repl("/end");
    await s.waitTerminated();
    const log = onlyLog(ws);
    const starts = log.filter((e) => e.type === "turn.start");
    assert.deepEqual(
      starts.map((e) => e.type === "turn.start" && e.input),
      ["Where is A1?"],
    );
    assert.equal(log.at(-1)?.type === "session.end" && log.at(-1)?.type, "session.end");
  });

  it("stops on a tool error, and runs a test block with a breakpoint on a step", async () => {
    await s.launch({ program: SHOP, script: SCRIPT("flaky"), inputs: ["Try it"], cwd: ws });
    const stop = await s.nextStop();
    assert.equal(stop.body.reason, "tool error");
    assert.match(stop.body.text ?? "", /flaky service is down|exited/);
    await s.dc.continueRequest({ threadId: 1 });
    await s.waitTerminated();

    await s.stop();
    s = new Session();
    await s.start();
    const sendLine = lineOf(SHOP, 'send "Where is A1?"');
    const [bps] = await s.launch(
      { program: SHOP, test: "a lookup", cwd: tempWorkspace() },
      { [SHOP]: [{ line: sendLine }] },
    );
    assert.equal(bps[0].verified, true);
    const frames = await s.expectStop("breakpoint");
    assert.equal(frames[0].line, sendLine);
    assert.match(frames.at(-1)!.name, /test "a lookup"/);
    await s.dc.continueRequest({ threadId: 1 });
    await s.waitTerminated();
    assert.match(s.output, /test "a lookup" passed/);
  });

  it("a launch that cannot start says what to change", async () => {
    await assert.rejects(
      s.dc.launch({ program: SHOP, inputs: ["hi"], cwd: ws }),
      /local backend.*add "script"/,
    );
    const broken = path.join(ws, "broken.agent");
    fs.writeFileSync(broken, 'agent a {\n  tools: [missing_tool]\n  instructions: "x"\n}\n');
    await s.stop();
    s = new Session();
    await s.start();
    await assert.rejects(
      s.dc.launch({ program: broken, cwd: ws }),
      /broken\.agent has \d+ errors?[\s\S]*broken\.agent:2:\d+: .*missing_tool/,
    );
    await s.stop();
    s = new Session();
    await s.start();
    await assert.rejects(
      s.dc.launch({ program: SHOP, test: "no such test", cwd: ws }),
      /no test "no such test".*"a lookup"/,
    );
    await s.stop();
    s = new Session();
    await s.start();
    // A stateful backend runs in the runtime service (test/debug/stateful.test.ts); its provider local
    // still needs the script it plays back.
    await assert.rejects(
      s.dc.launch({ program: path.join(FIXTURES, "stateful.agent"), cwd: ws }),
      /runs on 'runtime_local', whose provider local only plays back scripted replies: add "script"/,
    );
  });
});
