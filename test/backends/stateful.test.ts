// The stateful backend's client against a real runtime service (startService
// on PGlite, in-process) seen through a recording proxy: what the service
// receives is what these tests assert on. Two turns where the second carries
// no history, the local mirror of the log, approvals, inspection, and every
// error a user can meet, each with its message.

import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { scriptTurns, toWireScript } from "../../server/backends/script";
import { parseSse } from "../../server/backends/sse";
import { newStatefulSessionId, statefulClient, type StatefulClient } from "../../server/backends/stateful";
import { RemoteSession, type RemoteSessionOptions } from "../../server/backends/statefulSession";
import { definitionHash, type CompiledBackend, type CompiledDefinition } from "../../server/language/compile";
import type { SessionEvent, SessionStartEvent } from "../../server/protocol/events";
import { BackendError, type ScriptStep } from "../../server/runtime/model";
import { compileFor, loadChecked } from "../../server/runtime/prepare";
import { readLog } from "../../server/runtime/sessionLog";
import { startService } from "../../server/service";
import {
  closedPort,
  recordingProxy,
  removeTemps,
  REPLY1,
  REPLY2,
  statefulProject,
  TURN1,
  TURN2,
  type Proxy,
} from "./statefulHelpers";

type Service = Awaited<ReturnType<typeof startService>>;

const DEMO: ScriptStep[] = (
  JSON.parse(fs.readFileSync(path.join(__dirname, "../../examples/support/demo.script.json"), "utf8")) as {
    reply?: string;
    call?: string;
    input?: never;
  }[]
).map((s) =>
  s.reply !== undefined ? { kind: "reply", text: s.reply } : { kind: "call", tool: s.call!, input: s.input! },
);
const [SCRIPT1, SCRIPT2] = scriptTurns(DEMO).map(toWireScript);

async function rejects(
  p: Promise<unknown>,
  code: BackendError["code"],
  message: RegExp,
): Promise<BackendError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof BackendError, `a BackendError, not ${String(err)}`);
    assert.equal(err.code, code, err.message);
    assert.match(err.message, message);
    return err;
  }
  assert.fail("expected a rejection");
}

/** The mirrored log without the one field the client adds (where the state lives). */
function withoutRuntime(events: SessionEvent[]): SessionEvent[] {
  return events.map((e) => {
    if (e.type !== "session.start") return e;
    const { runtime: _runtime, ...rest } = e;
    return rest as SessionStartEvent;
  });
}

describe("stateful backend: the client of a runtime service", function () {
  this.timeout(60_000);
  let project: string;
  let service: Service;
  let proxy: Proxy;
  let definition: CompiledDefinition;
  let spec: CompiledBackend;

  const client = (env: NodeJS.ProcessEnv = { RT_TOKEN: "tok-ada" }, endpoint = proxy.url): StatefulClient =>
    statefulClient(spec, env, endpoint);

  const session = (o: Partial<RemoteSessionOptions> = {}) =>
    new RemoteSession({
      client: client(),
      definition,
      workspace: project,
      runtimeEndpoint: proxy.url,
      user: { id: "ada", name: "Ada" },
      source: "main.agent",
      approve: "all",
      ...o,
    });

  before(async () => {
    project = statefulProject();
    service = await startService({
      port: 0,
      dataDir: path.join(project, "db"),
      tokens: { "tok-ada": "ada", "tok-bob": "bob" },
      env: {},
      baseDir: project,
      maxBodyBytes: 64 * 1024,
    });
    proxy = await recordingProxy(service.url);
    definition = compileFor(loadChecked(path.join(project, "main.agent")), "support", "rt");
    spec = definition.backends.rt;
  });
  after(async () => {
    await proxy?.close();
    await service?.close();
    removeTemps();
  });

  it("runs two turns where the second request carries only its input, and mirrors the service's log", async () => {
    const before = proxy.requests.length;
    const s = session();
    const deltas: string[] = [];
    s.o.onText = (d) => deltas.push(d);
    const t1 = await s.send(TURN1, { script: SCRIPT1 });
    assert.deepEqual([t1.turn, t1.status, t1.reply], [1, "ok", REPLY1]);
    assert.equal(deltas.join(""), REPLY1, "the reply streamed as text deltas");
    const t2 = await s.send(TURN2, { script: SCRIPT2 });
    assert.deepEqual([t2.turn, t2.status, t2.reply], [2, "ok", REPLY2]);
    await s.end();

    // What the service received, byte for byte.
    const sent = proxy.requests.slice(before).filter((r) => r.path === "/invocations");
    const [first, second] = sent.map((r) => JSON.parse(r.body) as Record<string, unknown>);
    assert.deepEqual(Object.keys(first).sort(), [
      "approve",
      "definition",
      "input",
      "script",
      "source",
      "user",
    ]);
    assert.equal((first.definition as CompiledDefinition).hash, definition.hash);
    assert.deepEqual(
      Object.keys(second).sort(),
      ["approve", "input", "script"],
      "turn 2 sends no definition",
    );
    assert.equal(second.input, TURN2);
    assert.ok(!sent[1].body.includes(TURN1) && !sent[1].body.includes(REPLY1), "turn 2 carries no history");
    assert.equal(sent[1].headers["x-amzn-bedrock-agentcore-runtime-session-id"], s.sessionId);
    assert.equal(sent[1].headers.authorization, "Bearer tok-ada");
    assert.equal(t2.bytesSent, Buffer.byteLength(sent[1].body));
    assert.ok(t2.bytesSent * 10 < t1.bytesSent, `turn 2 sent ${t2.bytesSent} bytes, turn 1 ${t1.bytesSent}`);

    // The mirror is the service's log as committed (seq, ts and all), plus where the state lives.
    const mirrored = readLog(s.file).events;
    const served = await client().allEvents(s.sessionId);
    assert.deepEqual(withoutRuntime(mirrored), served);
    assert.deepEqual(
      mirrored.map((e) => e.seq),
      served.map((_, i) => i + 1),
    );
    const start = mirrored[0] as SessionStartEvent;
    assert.deepEqual(start.runtime, { endpoint: proxy.url });
    assert.equal(start.backend.kind, "stateful");
    assert.ok(!fs.readFileSync(s.file, "utf8").includes("tok-ada"), "the token never enters the log");
    assert.deepEqual(
      mirrored.filter((e) => e.type === "tool.call").map((e) => e.type === "tool.call" && e.tool),
      ["remember", "lookup_order", "remember", "refund"],
    );
    assert.equal(mirrored[mirrored.length - 1].type, "session.end");
  });

  it("asks for approvals and posts the answer to the service", async () => {
    const asked: { tool: string; input: unknown }[] = [];
    const s = session({
      approve: "ask",
      approver: (req) => {
        asked.push({ tool: req.tool, input: req.input });
        return Promise.resolve(true);
      },
    });
    await s.send(TURN1, { script: SCRIPT1 });
    const t2 = await s.send(TURN2, { script: SCRIPT2 });
    assert.equal(t2.status, "ok");
    assert.deepEqual(asked, [
      { tool: "refund", input: { order_id: "A1001", amount: 40, reason: "arrived damaged" } },
    ]);
    const posted = proxy.requests.filter((r) => r.path.startsWith(`/sessions/${s.sessionId}/approvals/`));
    assert.equal(posted.length, 1);
    assert.deepEqual(JSON.parse(posted[0].body), { approved: true });
    const approval = s.events.find((e) => e.type === "approval");
    assert.ok(approval?.type === "approval" && approval.approved);
    const result = s.events.find((e) => e.type === "tool.result" && e.tool === "refund");
    assert.ok(result?.type === "tool.result" && result.ok, "the approved refund ran in the service");
    await s.end();

    // Refused: the tool does not run, and the turn goes on.
    const refused = session({ approve: "ask", approver: () => Promise.resolve(false) });
    await refused.send(TURN1, { script: SCRIPT1 });
    await refused.send(TURN2, { script: SCRIPT2 });
    const no = refused.events.find((e) => e.type === "approval");
    assert.ok(no?.type === "approval" && !no.approved);
    assert.ok(
      !refused.events.some((e) => e.type === "tool.result" && e.tool === "refund"),
      "refund did not run",
    );
    await refused.end();
  });

  it("reads sessions, events, snapshots, forks and deletes through the service", async () => {
    const s = session();
    await s.send(TURN1, { script: SCRIPT1 });
    const c = client();
    const list = await c.sessions();
    assert.ok(list.some((x) => x.id === s.sessionId && x.agent === "support" && x.turns === 1));
    const one = await c.session(s.sessionId);
    assert.equal(one.start?.sessionId, s.sessionId);
    const snap = await c.snapshot(s.sessionId, 1);
    assert.equal(snap.context?.type, "context.snapshot");
    assert.deepEqual(snap.memory, { preferred_name: "Ada", last_order: "A1003", open_tickets: 0 });
    const page = await c.events(s.sessionId, 2, 3);
    assert.deepEqual(
      page.events.map((e) => e.seq),
      [3, 4, 5],
    );
    assert.equal(page.next, 5);
    const fork = await c.fork(s.sessionId, 1);
    assert.deepEqual(fork.parent, { sessionId: s.sessionId, turn: 1 });
    await c.delete(fork.sessionId);
    await rejects(c.session(fork.sessionId), "not_found", /has no session .* \(404 not_found/);
    await s.end();
  });

  it("says to run statecraft serve when the service cannot be reached", async () => {
    const port = await closedPort();
    const s = session({ client: client(undefined, `http://127.0.0.1:${port}`) });
    await rejects(
      s.send("hello", { script: [{ reply: "hi" }] }),
      "server",
      new RegExp(
        `cannot reach the Statecraft runtime service at http://127.0.0.1:${port} for backend 'rt' \\(ECONNREFUSED\\): start it with \`statecraft serve\``,
      ),
    );
    assert.ok(!fs.existsSync(s.file), "no log for a session that never started");
  });

  it("names the env var of the token on a 401", async () => {
    const wrong = session({ client: client({ RT_TOKEN: "nope" }) });
    await rejects(
      wrong.send("hello", { script: [{ reply: "hi" }] }),
      "auth",
      /refused the request \(401 unauthorized: .*\): the token in env var RT_TOKEN is not one the service accepts/,
    );
    const unset = session({ client: client({}) });
    await rejects(
      unset.send("hello", { script: [{ reply: "hi" }] }),
      "auth",
      /\(401 unauthorized: .*\): env var RT_TOKEN \(backend 'rt' api_key\) is not set/,
    );
  });

  it("reports another actor's session as missing (404), like one that never existed", async () => {
    const s = session();
    await s.send(TURN1, { script: SCRIPT1 });
    const bob = client({ RT_TOKEN: "tok-bob" });
    const theirs = await rejects(
      bob.events(s.sessionId),
      "not_found",
      /has no session .* for this token \(404/,
    );
    const other = newStatefulSessionId();
    const missing = await rejects(bob.events(other), "not_found", /\(404 not_found/);
    assert.equal(theirs.message.split(s.sessionId).join("ID"), missing.message.split(other).join("ID"));
    await s.end();
  });

  it("refuses a changed definition on an existing session with a 409 that says so", async () => {
    const s = session();
    await s.send(TURN1, { script: SCRIPT1 });
    const changed: CompiledDefinition = structuredClone(definition);
    changed.agents[changed.agent].instructions += " Changed.";
    changed.hash = definitionHash(changed);
    const short = (h: string) => h.replace(/^sha256:/, "").slice(0, 12);
    await rejects(
      client().turn(s.sessionId, { input: "again", definition: changed, script: [{ reply: "x" }] }),
      "config",
      new RegExp(
        `session ${s.sessionId} on ${proxy.url} ran another definition hash than this request carries \\(409 conflict: .*${short(definition.hash)}.*${short(changed.hash)}`,
      ),
    );
    await s.end();
  });

  it("refuses a second turn while one is in progress (409)", async () => {
    let second: Promise<BackendError> | undefined;
    const s = session({
      approve: "ask",
      approver: () => {
        // The refund waits for this answer: the session is busy.
        second = rejects(
          client().turn(s.sessionId, { input: "meanwhile", script: [{ reply: "x" }] }),
          "server",
          /has a turn in progress \(409 conflict: .*\): wait for it to finish/,
        );
        return second.then(() => true);
      },
    });
    await s.send(TURN1, { script: SCRIPT1 });
    const t2 = await s.send(TURN2, { script: SCRIPT2 });
    assert.ok(second, "the approval was asked");
    await second;
    assert.equal(t2.status, "ok");
    await s.end();
  });

  it("says a request is too large (413) with its size", async () => {
    const s = session();
    await rejects(
      s.send("x".repeat(100_000), { script: [{ reply: "hi" }] }),
      "config",
      /refused a request of \d{6} bytes as too large \(413 too_large: .*\): send a shorter input/,
    );
  });

  it("keeps every event received when the stream is cut, and catches up from the service", async () => {
    const s = session();
    proxy.cutNextStreamAfter(4);
    const t1 = await s.send(TURN1, { script: SCRIPT1 });
    // The connection broke, not the service: the turn finished there and the mirror caught up.
    assert.equal(t1.status, "ok");
    assert.deepEqual(withoutRuntime(readLog(s.file).events), await client().allEvents(s.sessionId));
    await s.end();
  });

  it("records the turn interrupted when the stream is cut and the service is out of reach, losing nothing received", async () => {
    const route = await recordingProxy(service.url);
    const s = session({ client: client(undefined, route.url) });
    try {
      await s.send(TURN1, { script: SCRIPT1 });
      route.cutNextStreamAfter(5, true);
      const t2 = await s.send(TURN2, { script: SCRIPT2 });
      assert.equal(t2.status, "interrupted");
      assert.match(
        t2.reason ?? "",
        /^the stream from the runtime service at http:\S+ was cut during turn 2 of session \S+ \(.*\) after 5 events; the events received are kept in .*\.jsonl and the turn is recorded there as interrupted$/,
      );
      const log = readLog(s.file).events;
      const last = log[log.length - 1];
      assert.ok(last.type === "turn.end" && last.turn === 2 && last.status === "interrupted");
      assert.deepEqual(
        log.map((e) => e.seq),
        log.map((_, i) => i + 1),
        "the log stays numbered in order",
      );
      // Everything received is there as the service committed it.
      const served = await client().allEvents(s.sessionId);
      assert.deepEqual(withoutRuntime(log.slice(0, -1)), served.slice(0, log.length - 1));
    } finally {
      s.close();
      await route.close();
    }
  });

  // Last: it stops the service.
  it("ends the turn as the service recorded it when the service shuts down mid-turn", async () => {
    let stopped: Promise<void> | undefined;
    const s = session({
      client: client(undefined, service.url),
      approve: "ask",
      approver: () => {
        // The service shuts down while its turn waits for this approval.
        stopped = service.close();
        return Promise.resolve(true);
      },
    });
    try {
      await s.send(TURN1, { script: SCRIPT1 });
      const t2 = await s.send(TURN2, { script: SCRIPT2 });
      assert.equal(t2.status, "failed");
      assert.match(t2.reason ?? "", /cancel/);
      const log = readLog(s.file).events;
      const last = log[log.length - 1];
      assert.ok(last.type === "turn.end" && last.turn === 2 && last.status === "failed");
      const refusal = log.find((e) => e.type === "approval");
      assert.ok(
        refusal?.type === "approval" && !refusal.approved,
        "the service refused the pending approval as it shut down",
      );
      assert.deepEqual(
        log.map((e) => e.seq),
        log.map((_, i) => i + 1),
      );
    } finally {
      s.close();
      await stopped;
    }
  });
});

describe("stateful backend: wire helpers", () => {
  it("makes session ids AgentCore accepts (33+ characters of [A-Za-z0-9._-]), sortable by time", () => {
    const a = newStatefulSessionId(new Date("2026-01-01T00:00:00Z"));
    const b = newStatefulSessionId(new Date("2026-01-02T00:00:00Z"));
    assert.match(a, /^[A-Za-z0-9._-]{33,128}$/);
    assert.ok(a < b);
    assert.notEqual(newStatefulSessionId(), newStatefulSessionId());
  });

  it("splits a run's script into turns at each reply", () => {
    assert.deepEqual(
      scriptTurns(DEMO).map((t) => t.length),
      [4, 2],
    );
    assert.deepEqual(toWireScript(DEMO.slice(3, 5)), [
      { reply: REPLY1 },
      { call: "refund", input: { order_id: "A1001", amount: 40, reason: "arrived damaged" } },
    ]);
  });

  it("parses server-sent events split anywhere, with LF or CRLF, comments and multi-line data", async () => {
    const text =
      ': keepalive\r\nid: 1\r\nevent: turn.start\r\ndata: {"a":\r\ndata: 1}\r\n\r\nevent: text\ndata: {"delta":"h\u00e9"}\n\nevent: done\ndata: {}\n\nevent: cut\ndata: x';
    const bytes = Buffer.from(text, "utf8");
    for (const size of [1, 2, 3, 7, bytes.length]) {
      const body = (async function* () {
        for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
      })();
      const got = [];
      for await (const m of parseSse(body)) got.push(m);
      assert.deepEqual(
        got,
        [
          { event: "turn.start", data: '{"a":\n1}', id: "1" },
          { event: "text", data: '{"delta":"h\u00e9"}', id: undefined },
          { event: "done", data: "{}", id: undefined },
        ],
        `chunks of ${size}`,
      );
    }
  });
});
