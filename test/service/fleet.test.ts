// Several service instances on one PostgreSQL server serve one fleet: any
// instance continues any session, one turn runs at a time across instances,
// and an approval posted to one instance reaches the turn waiting on another.
// Also: Bedrock inference (the real AWS SDK against the fake Bedrock runtime).

import { strict as assert } from "node:assert";
import { Client as PgClient } from "pg";
import { startService, type RunningService } from "../../server/service";
import { FAKE_CREDENTIALS, startFakeBedrock, type FakeBedrock } from "../fakes/bedrockServer";
import { compileSource, lines } from "../runtime/helpers";
import {
  Client,
  doneOf,
  eventsOf,
  frames,
  freshPgliteDir,
  removeTempDirs,
  testDefinition,
  type Any,
} from "./helpers";
import { startPostgres, type PostgresServer } from "./postgres";

after(removeTempDirs);

describe("runtime service fleet: two instances on one PostgreSQL", function () {
  this.timeout(120_000);
  let pg: PostgresServer;
  let a: RunningService;
  let b: RunningService;
  const tokens = { "t-ops": "ops" };
  let databaseUrl: string;
  before(async () => {
    pg = await startPostgres({ fsync: false });
    databaseUrl = await pg.createDatabase();
    // Started together: the migration runs once, under its advisory lock.
    [a, b] = await Promise.all([
      startService({ port: 0, databaseUrl, tokens, pollMs: 20 }),
      startService({ port: 0, databaseUrl, tokens, pollMs: 20 }),
    ]);
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await pg?.stop();
  });

  it("continues a session on either instance, serializes turns across them, and routes approvals", async () => {
    const ca = new Client(a.url, "t-ops");
    const cb = new Client(b.url, "t-ops");
    const def = testDefinition();
    const id = "fleet-1";
    const one = await ca.turn(id, {
      input: "on a",
      definition: def,
      user: { id: "ada" },
      approve: "all",
      script: [{ call: "remember", input: { field: "count", value: 7 } }, { reply: "a says hi" }],
    });
    assert.deepEqual(doneOf(one), { turn: 1, status: "ok" });
    const two = await cb.turn(id, { input: "on b", approve: "all", script: [{ reply: "b says hi" }] });
    assert.deepEqual(doneOf(two), { turn: 2, status: "ok" });
    const ctx = eventsOf(two).find((e) => e.type === "context.snapshot");
    assert.ok(ctx && ctx.type === "context.snapshot");
    assert.deepEqual(
      ctx.messages.filter((m) => m.role === "user").map((m) => m.content),
      ["on a", "on b"],
    );
    assert.match(ctx.messages[0].content, /Count 7/);

    // A turn waiting for approval on b: a refuses a concurrent turn, and a's approval endpoint answers b's wait.
    const res = await cb.invoke(id, {
      input: "refund",
      script: [{ call: "refund", input: { amount: 3 } }, { reply: "ok" }],
    });
    const seen = [];
    for await (const f of frames(res)) {
      seen.push(f);
      const d = f.data as { decision?: string; callId?: string };
      if (f.event === "policy.decision" && d.decision === "approval") {
        const clash = await ca.invoke(id, { input: "me too", script: [{ reply: "x" }] });
        assert.equal(clash.status, 409);
        assert.match(((await clash.json()) as Any).error.message, /running another turn/);
        assert.equal((await ca.json("GET", `/sessions/${id}`)).body.status, "running");
        const r = await ca.json("POST", `/sessions/${id}/approvals/${d.callId}`, { approved: true });
        assert.deepEqual([r.status, r.body], [200, { ok: true }]);
      }
    }
    assert.deepEqual(doneOf(seen), { turn: 3, status: "ok" });
    assert.ok(eventsOf(seen).some((e) => e.type === "tool.result" && e.ok));
    assert.deepEqual((await ca.json("GET", "/sessions")).body, (await cb.json("GET", "/sessions")).body);
    assert.deepEqual(
      (await ca.json("GET", `/sessions/${id}/events`)).body,
      (await cb.json("GET", `/sessions/${id}/events`)).body,
    );
  });

  it("closes a turn left by a dead instance as interrupted once its lease expired, and continues", async () => {
    const ca = new Client(a.url, "t-ops");
    const cb = new Client(b.url, "t-ops");
    const id = "fleet-dead";
    await ca.turn(id, {
      input: "before",
      definition: testDefinition(),
      approve: "all",
      script: [{ reply: "ok" }],
    });
    const before = (await ca.json("GET", `/sessions/${id}/events`)).body.events as Any[];
    // What an instance killed mid-turn leaves: a committed turn.start, the turn open, its lease expired.
    const db = new PgClient({ connectionString: databaseUrl });
    await db.connect();
    try {
      const seq = before.length + 1;
      const start = {
        seq,
        ts: new Date().toISOString(),
        type: "turn.start",
        turn: 2,
        agent: "helper",
        input: "lost",
      };
      await db.query(
        `INSERT INTO events (sid, seq, type, turn, body)
         SELECT sid, $2, 'turn.start', 2, $3::json FROM sessions WHERE id = $1`,
        [id, seq, JSON.stringify(start)],
      );
      await db.query(
        `UPDATE sessions SET last_seq = $2, open_turn = 2, lease_owner = 'dead-instance',
           lease_until = now() - interval '1 second' WHERE id = $1`,
        [id, seq],
      );
    } finally {
      await db.end();
    }
    const next = await cb.turn(id, { input: "after", approve: "all", script: [{ reply: "back" }] });
    const ev = eventsOf(next);
    assert.equal(ev[0].type, "turn.end");
    assert.ok(ev[0].type === "turn.end" && ev[0].turn === 2 && ev[0].status === "interrupted");
    assert.deepEqual(doneOf(next), { turn: 3, status: "ok" });
    const ctx = ev.find((e) => e.type === "context.snapshot");
    assert.ok(ctx && ctx.type === "context.snapshot");
    assert.deepEqual(
      ctx.messages.filter((m) => m.role === "user").map((m) => m.content),
      ["before", "after"],
    );
  });

  it("runs many sessions on both instances at once without mixing their events", async () => {
    const def = testDefinition();
    const clients = [new Client(a.url, "t-ops"), new Client(b.url, "t-ops")];
    const ids = Array.from({ length: 8 }, (_, i) => `fleet-many-${i}`);
    await Promise.all(
      ids.map(async (id, i) => {
        for (let t = 1; t <= 3; t++) {
          const c = clients[(i + t) % 2];
          const fr = await c.turn(id, {
            input: `${id} turn ${t}`,
            ...(t === 1 ? { definition: def, user: { id: `u${i}` } } : {}),
            script: [{ reply: `${id} reply ${t}` }],
          });
          assert.deepEqual(doneOf(fr), { turn: t, status: "ok" });
        }
      }),
    );
    for (const id of ids) {
      const ev = (await clients[0].json("GET", `/sessions/${id}/events`)).body.events as Any[];
      assert.deepEqual(
        ev.map((e) => e.seq),
        ev.map((_, i) => i + 1),
      );
      assert.deepEqual(
        ev.filter((e) => e.type === "turn.end").map((e) => e.reply),
        [1, 2, 3].map((t) => `${id} reply ${t}`),
      );
    }
  });
});

describe("runtime service: Bedrock inference through the fake Bedrock runtime", function () {
  this.timeout(60_000);
  let fake: FakeBedrock;
  let svc: RunningService;
  before(async () => {
    fake = await startFakeBedrock();
    svc = await startService({
      port: 0,
      dataDir: await freshPgliteDir(),
      env: { ...process.env, ...fake.env, AWS_MAX_ATTEMPTS: "1" },
    });
  });
  after(async () => {
    await svc?.close();
    await fake?.close();
  });

  it("runs a stateful bedrock agent's turns in the service: the model sees the rebuilt history", async () => {
    const def = compileSource(
      lines(
        "backend aws {",
        "  kind: stateful",
        "  provider: bedrock",
        '  model: "us.anthropic.claude-3-5-haiku-20241022-v1:0"',
        '  region: "us-east-1"',
        '  endpoint: "http://127.0.0.1:9"',
        "}",
        "tool echo {",
        '  description: "Echo a text"',
        "  input { text: string }",
        '  run: command("node", ["-e", "console.log(JSON.stringify({echo: process.argv[1]}))", "{{input.text}}"])',
        "}",
        "agent support {",
        '  instructions: "You are support."',
        "  backend: aws",
        "  tools: [echo]",
        "}",
      ),
    );
    fake.script(
      { text: "Checking.", toolUses: [{ id: "tooluse_1", name: "echo", input: { text: "ping" } }] },
      { chunks: ["Echoed ", "ping."] },
      { text: "Second answer." },
    );
    const c = new Client(svc.url);
    const one = await c.turn("bedrock-1", { input: "echo ping", definition: def, approve: "all" });
    assert.deepEqual(doneOf(one), { turn: 1, status: "ok" });
    const ev = eventsOf(one);
    const start = ev[0];
    assert.ok(start.type === "session.start");
    assert.deepEqual(start.backend, {
      name: "aws",
      kind: "stateful",
      provider: "bedrock",
      model: "us.anthropic.claude-3-5-haiku-20241022-v1:0",
    });
    assert.ok(ev.some((e) => e.type === "tool.result" && e.ok));
    assert.equal(
      one
        .filter((f) => f.event === "text")
        .map((f) => (f.data as { delta: string }).delta)
        .join(""),
      "Checking.Echoed ping.",
    );
    const two = await c.turn("bedrock-1", { input: "and now?" });
    assert.deepEqual(doneOf(two), { turn: 2, status: "ok" });
    assert.equal(fake.requests.length, 3);
    const last = fake.requests[2].body.messages!;
    assert.equal(
      last.length,
      5,
      "user, assistant+toolUse, toolResult, assistant, user: history from the store",
    );
    assert.deepEqual(last[last.length - 1].content, [{ text: "and now?" }]);
    const everything = JSON.stringify((await c.json("GET", "/sessions/bedrock-1/events")).body);
    assert.ok(!everything.includes(FAKE_CREDENTIALS.secretAccessKey), "no credential in the log");
    const scripted = await c.invoke("bedrock-1", { input: "x", script: [{ reply: "no" }] });
    assert.equal(scripted.status, 400);
    assert.match(((await scripted.json()) as Any).error.message, /provider local/);
  });
});
