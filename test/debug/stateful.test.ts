// The debugger on a stateful backend, against the built adapter (`node
// dist/cli.js dap`; run `npm run build` first): the runtime service (embedded,
// on PGlite in the workspace's .statecraft/runtime) runs the session; the
// debugger mirrors its events into the session log and stops its view of them.
// Approvals really hold the turn on the service until answered in the console.

import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import type { SessionEvent } from "../../server/protocol/events";
import { freshPgliteDir } from "../service/helpers";
import { FIXTURES, lineOf, onlyLog, Session, tempWorkspace } from "./harness";
import { waitFor } from "../helpers/waitFor";

const PROGRAM = path.join(FIXTURES, "stateful.agent");
const SCRIPT = path.join(FIXTURES, "stateful.script.json");
const TOOL_LOOKUP = lineOf(PROGRAM, 'order_id: string "The order id"');

describe("debug adapter on a stateful backend (the runtime service runs the session)", function () {
  // The first PGlite start on a loaded machine can take a while; the template is migrated once.
  this.timeout(120_000);
  let s: Session;
  let ws: string;

  beforeEach(async () => {
    ws = tempWorkspace();
    // A ready database where the embedded runtime keeps its data, as `statecraft run` would have it.
    fs.cpSync(await freshPgliteDir(), path.join(ws, ".statecraft", "runtime"), { recursive: true });
    s = new Session();
    s.dc.defaultTimeout = 60_000;
    await s.start();
  });

  afterEach(async () => {
    await s.stop();
    fs.rmSync(ws, { recursive: true, force: true });
  });

  it("stops at a tool breakpoint with the input, refuses edits, holds an approval until answered, and mirrors the runtime's events", async () => {
    const [bps] = await s.launch(
      { program: PROGRAM, script: SCRIPT, inputs: ["Where is A1?", "Refund it"], cwd: ws },
      { [PROGRAM]: [{ line: TOOL_LOOKUP }] },
    );
    assert.equal(bps[0].verified, true);
    const frames = await s.expectStop("breakpoint");
    assert.match(frames[0].name, /policy\.decision lookup_order: allow/);
    assert.equal(frames[0].line, lineOf(PROGRAM, "tool lookup_order {"));
    assert.match(
      s.output,
      /state lives in the runtime at embedded:\.statecraft\/runtime; stops show events as the runtime commits them; the running turn is not paused/,
    );
    const pending = await s.pendingInput();
    assert.deepEqual(pending.fields, { order_id: '"A1"' });
    assert.deepEqual((await s.scope("Identity")).map((v) => [v.name, v.value]).slice(0, 2), [
      ["agent", '"shop"'],
      ["role", '"support"'],
    ]);

    // The call runs in the runtime: an edit is refused, with what to do instead.
    await assert.rejects(
      s.dc.setVariableRequest({ variablesReference: pending.ref, name: "order_id", value: '"B2"' }),
      /runs in the runtime service.*debug the agent on a stateless backend/,
    );

    await s.dc.continueRequest({ threadId: 1 });
    // Turn 2 calls refund, which needs approval: the runtime waits for the answer typed here.
    const approvalFrames = await s.expectStop("approval needed");
    assert.match(approvalFrames[0].name, /approval needed: refund/);
    assert.deepEqual(Object.fromEntries((await s.scope("Memory")).map((v) => [v.name, v.value])), {
      open_tickets: "0",
      last_order: '"A1"',
    });
    const waiting = onlyLog(ws);
    assert.ok(!waiting.some((e) => e.type === "approval"), "the approval is not answered yet");
    assert.equal((await s.repl("approve")).body.result, "refund: approved");
    await s.dc.continueRequest({ threadId: 1 }).catch(() => undefined);
    await s.waitTerminated();

    const log = onlyLog(ws);
    const start = log[0];
    assert.equal(start.type, "session.start");
    assert.deepEqual(start.type === "session.start" && start.runtime, {
      endpoint: "embedded:.statecraft/runtime",
    });
    assert.equal(start.type === "session.start" && start.backend.kind, "stateful");
    // The runtime's events, in its order and numbering.
    assert.deepEqual(
      log.map((e) => e.seq),
      log.map((_, i) => i + 1),
    );
    const approval = log.find((e): e is Extract<SessionEvent, { type: "approval" }> => e.type === "approval");
    assert.ok(approval, log.map((e) => e.type).join(" "));
    assert.equal(approval.approved, true);
    assert.equal(approval.tool, "refund");
    const refund = log.find((e) => e.type === "tool.result" && e.tool === "refund");
    assert.ok(refund && refund.type === "tool.result" && refund.ok, JSON.stringify(refund));
    assert.deepEqual(
      log.filter((e) => e.type === "turn.end").map((e) => e.type === "turn.end" && e.reply),
      ["A1 has shipped.", "Refunded."],
    );
    assert.equal(log[log.length - 1].type, "session.end");
    assert.match(s.output, /session \S+ \(on embedded:\.statecraft\/runtime\)/);
  });

  it("disconnect while stopped ends the session on the runtime (session.end in the mirrored log)", async () => {
    await s.launch(
      { program: PROGRAM, script: SCRIPT, inputs: ["Where is A1?", "Refund it"], cwd: ws },
      { [PROGRAM]: [{ line: TOOL_LOOKUP }] },
    );
    await s.expectStop("breakpoint");
    await s.dc.disconnectRequest({});
    // The adapter finishes the turn the runtime runs (nothing holds it), ends the session, and exits.
    let log: SessionEvent[] = [];
    await waitFor(
      () => `session.end in the log; it has ${log.map((e) => e.type).join(" ")}`,
      () => {
        log = onlyLog(ws);
        return log[log.length - 1]?.type === "session.end";
      },
      { timeoutMs: 60_000 },
    );
    // The second message was never sent: one turn.
    assert.deepEqual(
      log.filter((e) => e.type === "turn.start").map((e) => e.type === "turn.start" && e.input),
      ["Where is A1?"],
    );
  });
});
