// The runtime service's protocol, run on both stores: embedded PGlite and a
// real PostgreSQL server. Turns over /invocations with the events streamed as
// server-sent events, the REST endpoints and the same as actions, approvals,
// actor isolation, every bad input (with the store unchanged), a concurrent
// invocation, idempotent retries, fork, end and delete.

import { strict as assert } from "node:assert";
import type { RunningService } from "../../server/service";
import {
  Client,
  type Any,
  doneOf,
  dump,
  eventsOf,
  frames,
  type Frame,
  pgliteStore,
  postgresStore,
  removeTempDirs,
  SESSION_HEADER,
  testDefinition,
  type StoreKind,
} from "./helpers";
import { startService } from "../../server/service";
import type { SessionEvent } from "../../server/protocol/events";
import { definitionHash, type CompiledDefinition } from "../../server/language/compile";

after(removeTempDirs);

const TOKENS = { "alice-token": "alice", "bob-token": "bob" };

for (const store of [pgliteStore(), postgresStore()] as StoreKind[]) {
  describe(`runtime service on ${store.name}`, function () {
    this.timeout(120_000);
    let svc: RunningService;
    let alice: Client;
    let bob: Client;
    const def = testDefinition();
    let n = 0;
    const sid = () => `s-${store.name}-${++n}`;

    before(async () => {
      await store.setup();
      svc = await startService({
        port: 0,
        ...(await store.options()),
        tokens: TOKENS,
        approvalTimeoutMs: 20_000,
        pollMs: 20,
        maxBodyBytes: 256 * 1024,
      });
      alice = new Client(svc.url, "alice-token");
      bob = new Client(svc.url, "bob-token");
    });
    after(async () => {
      await svc?.close();
      await store.teardown();
    });

    const first = (id: string, script: unknown[], extra: Record<string, unknown> = {}) =>
      alice.turn(id, {
        input: "Hi, I am Ada",
        definition: def,
        user: { id: "ada", name: "Ada" },
        script,
        approve: "all",
        ...extra,
      });

    it("answers /ping without a token", async () => {
      const res = await fetch(svc.url + "/ping");
      assert.equal(res.status, 200);
      assert.equal(((await res.json()) as { status: string }).status, "Healthy");
    });

    it("runs two turns: events streamed in order with seq, the second turn sends no history and sees the first", async () => {
      const id = sid();
      const one = await first(id, [
        { call: "remember", input: { field: "count", value: 3 } },
        { reply: "Hello Ada" },
      ]);
      const ev1 = eventsOf(one);
      assert.deepEqual(
        ev1.map((e) => e.type),
        [
          "session.start",
          "turn.start",
          "context.snapshot",
          "model.request",
          "model.response",
          "tool.call",
          "memory.write",
          "context.snapshot",
          "model.request",
          "model.response",
          "memory.snapshot",
          "turn.end",
        ],
      );
      assert.deepEqual(
        ev1.map((e) => e.seq),
        ev1.map((_, i) => i + 1),
      );
      assert.deepEqual(
        one.filter((f) => f.id !== undefined).map((f) => [f.id, f.event]),
        ev1.map((e) => [e.seq, e.type]),
      );
      const text = one.filter((f) => f.event === "text").map((f) => (f.data as { delta: string }).delta);
      assert.equal(text.join(""), "Hello Ada");
      // The reply's text streams between its model call's request and its response.
      const kinds = one.map((f) => f.event);
      assert.ok(kinds.indexOf("text") > kinds.lastIndexOf("model.request"), kinds.join(" "));
      assert.ok(kinds.lastIndexOf("text") < kinds.lastIndexOf("model.response"), kinds.join(" "));
      assert.deepEqual(doneOf(one), { turn: 1, status: "ok" });
      assert.equal(one[one.length - 1].event, "done");

      const two = await alice.turn(id, { input: "And again?", script: [{ reply: "Still here" }] });
      const ev2 = eventsOf(two);
      assert.equal(ev2[0].type, "turn.start");
      assert.equal(ev2[0].seq, ev1.length + 1);
      const ctx = ev2.find((e) => e.type === "context.snapshot");
      assert.ok(ctx && ctx.type === "context.snapshot");
      const users = ctx.messages.filter((m) => m.role === "user").map((m) => m.content);
      assert.deepEqual(users, ["Hi, I am Ada", "And again?"], "the history was rebuilt from the store");
      assert.match(ctx.messages[0].content, /Help Ada\. Count 3\./, "memory restored from the snapshot");
      assert.deepEqual(doneOf(two), { turn: 2, status: "ok" });

      const got = await alice.json("GET", `/sessions/${id}`);
      assert.equal(got.status, 200);
      assert.equal(got.body.id, id);
      assert.equal(got.body.turns, 2);
      assert.equal(got.body.status, "idle");
      assert.equal(got.body.agent, "helper");
      assert.deepEqual(got.body.user, { id: "ada", name: "Ada" });
      assert.deepEqual(got.body.backend, { name: "local", kind: "stateless", provider: "local" });
      assert.deepEqual(got.body.start, ev1[0]);

      const all = await alice.json("GET", `/sessions/${id}/events`);
      assert.deepEqual(all.body, { events: [...ev1, ...ev2], next: null }, "the stream was exactly the log");
      const page = await alice.json("GET", `/sessions/${id}/events?after=3&limit=4`);
      assert.deepEqual(
        page.body.events.map((e: { seq: number }) => e.seq),
        [4, 5, 6, 7],
      );
      assert.equal(page.body.next, 7);

      const snap = await alice.json("GET", `/sessions/${id}/turns/1/snapshot`);
      assert.equal(snap.status, 200);
      assert.equal(snap.body.turn, 1);
      assert.equal(snap.body.context.type, "context.snapshot");
      assert.equal(snap.body.context.step, 1, "the last context of the turn");
      assert.deepEqual(snap.body.memory, { count: 3 });
    });

    it("keeps memory scoped user in the database: a new session of the same user starts from it", async () => {
      const id = sid();
      await first(id, [{ call: "remember", input: { field: "nick", value: "Ace" } }, { reply: "Noted" }]);
      const other = sid();
      const fr = await first(other, [{ reply: "Hi again" }]);
      const start = eventsOf(fr)[0];
      assert.ok(start.type === "session.start");
      assert.equal(start.memory?.nick, "Ace");
      // Another actor with the same user id has its own memory.
      const b = await bob.turn(sid(), {
        input: "hi",
        definition: def,
        user: { id: "ada" },
        script: [{ reply: "hello" }],
      });
      const bStart = eventsOf(b)[0];
      assert.ok(bStart.type === "session.start");
      assert.equal(bStart.memory?.nick, undefined);
    });

    it("forks a session from turn n: the fork has a parent and the state after turn n only", async () => {
      const id = sid();
      await first(id, [{ reply: "one" }]);
      await alice.turn(id, { input: "second question", script: [{ reply: "two" }] });
      const fork = await alice.json("POST", `/sessions/${id}/fork`, { turn: 1 });
      assert.equal(fork.status, 201);
      assert.deepEqual(fork.body.parent, { sessionId: id, turn: 1 });
      const child = fork.body.sessionId as string;
      const got = await alice.json("GET", `/sessions/${child}`);
      assert.deepEqual(got.body.parent, { sessionId: id, turn: 1 });
      assert.equal(got.body.turns, 1);
      const t = eventsOf(await alice.turn(child, { input: "forked question", script: [{ reply: "three" }] }));
      assert.equal(t[0].type === "turn.start" && t[0].turn, 2);
      const ctx = t.find((e) => e.type === "context.snapshot");
      assert.ok(ctx && ctx.type === "context.snapshot");
      assert.deepEqual(
        ctx.messages.filter((m) => m.role === "user").map((m) => m.content),
        ["Hi, I am Ada", "forked question"],
      );
      const bad = await alice.json("POST", `/sessions/${id}/fork`, { turn: 9 });
      assert.equal(bad.status, 400);
      assert.match(bad.body.error.message, /between 0 and 2/);
    });

    it('waits for an approval with approve "ask": REST and action answers, from the stream\'s policy.decision', async () => {
      const id = sid();
      const res = await alice.invoke(id, {
        input: "refund twice",
        definition: def,
        user: { id: "ada" },
        script: [
          { call: "refund", input: { amount: 10 } },
          { call: "refund", input: { amount: 20 } },
          { reply: "done" },
        ],
      });
      assert.equal(res.status, 200);
      const seen = [];
      let answered = 0;
      for await (const f of frames(res)) {
        seen.push(f);
        const d = f.data as { type?: string; decision?: string; callId?: string };
        if (f.event === "policy.decision" && d.decision === "approval") {
          answered++;
          if (answered === 1) {
            const r = await alice.json("POST", `/sessions/${id}/approvals/${d.callId}`, { approved: true });
            assert.deepEqual([r.status, r.body], [200, { ok: true }]);
            const again = await alice.json("POST", `/sessions/${id}/approvals/${d.callId}`, {
              approved: false,
            });
            assert.equal(again.status, 409);
            assert.match(again.body.error.message, /already approved by alice/);
          } else {
            const r = await alice.action(id, { action: "approve", callId: d.callId, approved: false });
            assert.deepEqual([r.status, r.body], [200, { ok: true }]);
          }
        }
      }
      const approvals = eventsOf(seen).filter((e) => e.type === "approval");
      assert.deepEqual(
        approvals.map((e) => e.type === "approval" && [e.approved, e.by]),
        [
          [true, "alice"],
          [false, "alice"],
        ],
        "the log names the actor whose token answered",
      );
      const results = eventsOf(seen).filter((e) => e.type === "tool.result");
      assert.equal(results.length, 1, "only the approved refund ran");
      assert.deepEqual(doneOf(seen), { turn: 1, status: "ok" });
      const none = await alice.json("POST", `/sessions/${id}/approvals/call_99`, { approved: true });
      assert.equal(none.status, 404);
    });

    it("answers every action exactly like its REST endpoint", async () => {
      const id = sid();
      await first(id, [{ reply: "one" }]);
      assert.deepEqual(
        await alice.action(id, { action: "list_sessions" }),
        await alice.json("GET", "/sessions"),
      );
      assert.deepEqual(
        await alice.action(id, { action: "get_session" }),
        await alice.json("GET", `/sessions/${id}`),
      );
      assert.deepEqual(
        await alice.action(id, { action: "events", after: 2, limit: 3 }),
        await alice.json("GET", `/sessions/${id}/events?after=2&limit=3`),
      );
      assert.deepEqual(
        await alice.action(id, { action: "snapshot", turn: 1 }),
        await alice.json("GET", `/sessions/${id}/turns/1/snapshot`),
      );
      const fork = await alice.action(id, { action: "fork", turn: 1 });
      assert.equal(fork.status, 201);
      assert.deepEqual(fork.body.parent, { sessionId: id, turn: 1 });
      const end = await alice.action(id, { action: "end" });
      assert.equal(end.status, 200);
      assert.equal(end.body.event.type, "session.end");
      assert.equal((await alice.json("GET", `/sessions/${id}`)).body.status, "ended");
      const late = await alice.invoke(id, { input: "more", script: [{ reply: "x" }] });
      assert.equal(late.status, 409);
      assert.match(((await late.json()) as Any).error.message, /has ended/);
      const del = await alice.action(fork.body.sessionId, { action: "delete" });
      assert.equal(del.status, 204);
      assert.equal((await alice.json("GET", `/sessions/${fork.body.sessionId}`)).status, 404);
    });

    it("isolates actors: another actor's session is a 404 exactly like a missing one", async () => {
      const id = sid();
      await first(id, [{ reply: "private" }]);
      const before = await dump(alice);
      const missing = await bob.json("GET", `/sessions/no-such-session`);
      const theirs = await bob.json("GET", `/sessions/${id}`);
      assert.equal(theirs.status, 404);
      assert.deepEqual(
        theirs.body.error.message.replace(id, "X"),
        missing.body.error.message.replace("no-such-session", "X"),
      );
      assert.equal((await bob.json("GET", `/sessions/${id}/events`)).status, 404);
      assert.equal((await bob.json("GET", `/sessions/${id}/turns/1/snapshot`)).status, 404);
      assert.equal((await bob.json("POST", `/sessions/${id}/fork`, { turn: 1 })).status, 404);
      assert.equal(
        (await bob.json("POST", `/sessions/${id}/approvals/call_1`, { approved: true })).status,
        404,
      );
      assert.equal((await bob.json("DELETE", `/sessions/${id}`)).status, 404);
      assert.equal((await bob.action(id, { action: "get_session" })).status, 404);
      assert.equal((await bob.action(id, { action: "end" })).status, 404);
      const turn = await bob.invoke(id, { input: "let me in", script: [{ reply: "no" }] });
      assert.equal(turn.status, 404);
      const listed = (await bob.json("GET", "/sessions")).body.sessions.map((s: { id: string }) => s.id);
      assert.ok(!listed.includes(id));
      assert.deepEqual(await dump(alice), before, "alice's store is unchanged");
    });

    it("refuses every bad input with a clear JSON error and the store unchanged", async () => {
      const id = sid();
      // The instructions changed after compiling, the hash kept: what would run is not what the hash names.
      const edited: CompiledDefinition = structuredClone(def);
      edited.agents[edited.agent].instructions += " Refund anything asked.";
      const rehashed = (d: CompiledDefinition) => ({ ...d, hash: definitionHash(d) });
      await first(id, [{ reply: "one" }]);
      const before = await dump(alice);
      const post = (body: string, headers: Record<string, string> = {}, session: string | null = id) =>
        fetch(svc.url + "/invocations", {
          method: "POST",
          headers: {
            authorization: "Bearer alice-token",
            "content-type": "application/json",
            ...(session !== null ? { [SESSION_HEADER]: session } : {}),
            ...headers,
          },
          body,
        });
      const cases: [string, () => Promise<Response>, number, RegExp][] = [
        ["malformed JSON", () => post("{not json"), 400, /not valid JSON/],
        ["not an object", () => post("[1,2]"), 400, /must be a JSON object/],
        [
          "unknown field",
          () => post(JSON.stringify({ input: "x", histroy: [] })),
          400,
          /unknown field 'histroy'/,
        ],
        ["missing input", () => post(JSON.stringify({ script: [] })), 400, /'input'/],
        ["bad approve", () => post(JSON.stringify({ input: "x", approve: "yes" })), 400, /'approve' must be/],
        [
          "bad script",
          () => post(JSON.stringify({ input: "x", script: [{ say: "x" }] })),
          400,
          /script step 1/,
        ],
        [
          "bad session id",
          () => post(JSON.stringify({ input: "x" }), {}, "bad id!"),
          400,
          /not a valid session id/,
        ],
        ["no session header", () => post(JSON.stringify({ input: "x" }), {}, null), 400, /session header/],
        ["unknown action", () => post(JSON.stringify({ action: "explode" })), 400, /'action' must be one of/],
        [
          "unknown action field",
          () => post(JSON.stringify({ action: "events", after: 1, colour: 1 })),
          400,
          /unknown field 'colour'/,
        ],
        [
          "bad definition",
          () => post(JSON.stringify({ input: "x", definition: { agent: "a" } }), {}, "fresh-1"),
          400,
          /not a compiled agent definition/,
        ],
        ["no token", () => post(JSON.stringify({ input: "x" }), { authorization: "" }), 401, /needs a token/],
        [
          "wrong token",
          () => post(JSON.stringify({ input: "x" }), { authorization: "Bearer nope" }),
          401,
          /not valid/,
        ],
        [
          "unknown session",
          () => post(JSON.stringify({ input: "x" }), {}, "never-made"),
          404,
          /no session 'never-made'/,
        ],
        [
          "changed definition",
          () => post(JSON.stringify({ input: "x", definition: rehashed(edited), script: [] })),
          409,
          /runs definition [0-9a-f]{12}, and this request carries [0-9a-f]{12}: .*keeps the definition it started with/,
        ],
        [
          "edited definition under its original hash, new session",
          () => post(JSON.stringify({ input: "x", definition: edited, script: [] }), {}, "fresh-2"),
          400,
          /content hashes to [0-9a-f]{12}, not to the 'hash' it carries \([0-9a-f]{12}\): it was changed after it was compiled/,
        ],
        [
          "edited definition under its original hash, running session",
          () => post(JSON.stringify({ input: "x", definition: edited, script: [] })),
          400,
          /not to the 'hash' it carries/,
        ],
        [
          "oversized body",
          () => post(JSON.stringify({ input: "x".repeat(300 * 1024) })),
          413,
          /larger than 262144 bytes/,
        ],
      ];
      for (const [what, send, status, message] of cases) {
        const res = await send();
        const raw = await res.text();
        assert.doesNotThrow(() => JSON.parse(raw), `${what}: ${raw.slice(0, 200)}`);
        const body = JSON.parse(raw) as { error: { code: string; message: string } };
        assert.equal(res.status, status, `${what}: ${JSON.stringify(body)}`);
        assert.match(res.headers.get("content-type") ?? "", /application\/json/, what);
        assert.match(body.error.message, message, `${what}: ${body.error.message}`);
        assert.equal(
          body.error.code,
          { 400: "bad_request", 401: "unauthorized", 404: "not_found", 409: "conflict", 413: "too_large" }[
            status
          ],
        );
      }
      const rest: [string, () => Promise<{ status: number; body: Any }>, number][] = [
        ["events after=-1", () => alice.json("GET", `/sessions/${id}/events?after=-1`), 400],
        ["events limit=0", () => alice.json("GET", `/sessions/${id}/events?limit=0`), 400],
        ["snapshot of turn 7", () => alice.json("GET", `/sessions/${id}/turns/7/snapshot`), 404],
        ["fork without turn", () => alice.json("POST", `/sessions/${id}/fork`, {}), 400],
        ["fork malformed", () => alice.json("POST", `/sessions/${id}/fork`, "{"), 400],
        [
          "approval not boolean",
          () => alice.json("POST", `/sessions/${id}/approvals/c1`, { approved: "yes" }),
          400,
        ],
        ["unknown route", () => alice.json("GET", `/nowhere`), 404],
        ["bad percent-encoding", () => alice.json("GET", `/sessions/%E0%A4%A`), 400],
        ["REST without token", () => new Client(svc.url).json("GET", "/sessions"), 401],
      ];
      for (const [what, send, status] of rest) {
        const r = await send();
        assert.equal(r.status, status, `${what}: ${JSON.stringify(r.body)}`);
        assert.ok(typeof r.body.error.message === "string" && r.body.error.message.length > 10, what);
      }
      // One rule, one message: every limit out of range (too small, too large, not a number) names the same range.
      for (const limit of ["0", "99999999", "-1", "x"]) {
        const r = await alice.json("GET", `/sessions/${id}/events?limit=${limit}`);
        assert.equal(r.status, 400, limit);
        assert.equal(r.body.error.message, `'limit' must be an integer from 1 to 1000, not "${limit}"`);
      }
      assert.deepEqual(await dump(alice), before, "nothing changed in the store");
      assert.equal((await alice.json("GET", "/sessions/fresh-1")).status, 404, "no session was created");
    });

    it("refuses a second concurrent invocation of a session with 409, and runs it once the first is done", async () => {
      const id = sid();
      const res = await alice.invoke(id, {
        input: "refund please",
        definition: def,
        user: { id: "ada" },
        script: [{ call: "refund", input: { amount: 5 } }, { reply: "refunded" }],
      });
      const seen = [];
      for await (const f of frames(res)) {
        seen.push(f);
        const d = f.data as { decision?: string; callId?: string };
        if (f.event === "policy.decision" && d.decision === "approval") {
          assert.equal(
            ((await (await fetch(svc.url + "/ping")).json()) as { status: string }).status,
            "HealthyBusy",
          );
          assert.equal((await alice.json("GET", `/sessions/${id}`)).body.status, "running");
          const second = await alice.invoke(id, { input: "me too", script: [{ reply: "x" }] });
          assert.equal(second.status, 409);
          assert.match(((await second.json()) as Any).error.message, /running another turn/);
          // Also when it carries the definition, as a first turn sent twice does.
          const again = await alice.invoke(id, {
            input: "me too",
            definition: def,
            script: [{ reply: "x" }],
          });
          assert.equal(again.status, 409);
          assert.match(((await again.json()) as Any).error.message, /running another turn/);
          assert.equal((await alice.json("DELETE", `/sessions/${id}`)).status, 409);
          await alice.json("POST", `/sessions/${id}/approvals/${d.callId}`, { approved: true });
        }
      }
      assert.deepEqual(doneOf(seen), { turn: 1, status: "ok" });
      const after = await alice.turn(id, { input: "me too", script: [{ reply: "now" }] });
      assert.deepEqual(doneOf(after), { turn: 2, status: "ok" });
    });

    it("refuses turns sent while a turn runs with 409, also when that turn never waits on I/O", async () => {
      // A turn of memory writes and a scripted reply makes no request outside the service: on PGlite it
      // used to run from start to end without the event loop reading another request, so the turns sent
      // meanwhile waited, then ran one after the other instead of meeting its lease.
      const id = sid();
      await first(id, [{ reply: "one" }]);
      const writes = Array.from({ length: 30 }, (_, i) => ({
        call: "remember",
        input: { field: "count", value: i },
      }));
      const long = await alice.invoke(id, {
        input: "count to 30",
        script: [...writes, { reply: "counted" }],
      });
      assert.equal(long.status, 200);
      const seen: Frame[] = [];
      const stream = frames(long);
      for (let f = await stream.next(); !f.done; f = await stream.next()) {
        seen.push(f.value);
        if (f.value.event === "turn.start") break;
      }
      const others = await Promise.all(
        [1, 2, 3, 4].map((i) => alice.invoke(id, { input: `turn ${i}`, script: [{ reply: `done ${i}` }] })),
      );
      const bodies = await Promise.all(others.map((r) => r.text()));
      assert.deepEqual(
        others.map((r) => r.status),
        [409, 409, 409, 409],
        bodies.map((b) => b.slice(0, 200)).join("\n"),
      );
      for (const body of bodies)
        assert.match((JSON.parse(body) as Any).error.message, /is running another turn/);
      for (let f = await stream.next(); !f.done; f = await stream.next()) seen.push(f.value);
      assert.deepEqual(doneOf(seen), { turn: 2, status: "ok" });
      const events = (await alice.json("GET", `/sessions/${id}/events?limit=1000`)).body
        .events as SessionEvent[];
      assert.equal(events.filter((e) => e.type === "turn.start").length, 2, "none of the four ran");
    });

    it("re-streams a retried invocation with the same Idempotency-Key instead of running it twice", async () => {
      const id = sid();
      const body = {
        input: "count once",
        definition: def,
        user: { id: "ada" },
        approve: "all",
        script: [{ call: "echo", input: { text: "once" } }, { reply: "counted" }],
      };
      const one = await alice.turn(id, body, { "Idempotency-Key": "k-1" });
      const two = await alice.turn(id, body, { "Idempotency-Key": "k-1" });
      assert.deepEqual(eventsOf(two), eventsOf(one), "the same committed events, same seqs");
      assert.deepEqual(doneOf(two), doneOf(one));
      const log = (await alice.json("GET", `/sessions/${id}/events`)).body.events;
      assert.equal(
        log.filter((e: { type: string }) => e.type === "tool.result").length,
        1,
        "the tool ran once",
      );
      assert.equal((await alice.json("GET", `/sessions/${id}`)).body.turns, 1);
      const changed = await alice.invoke(
        id,
        { ...body, input: "something else" },
        { "Idempotency-Key": "k-1" },
      );
      assert.equal(changed.status, 409);
      assert.match(((await changed.json()) as Any).error.message, /already used for another request/);
      const next = await alice.turn(
        id,
        { input: "next", script: [{ reply: "two" }] },
        { "Idempotency-Key": "k-2" },
      );
      assert.deepEqual(doneOf(next), { turn: 2, status: "ok" });
    });

    it("deletes a session and its events", async () => {
      const id = sid();
      await first(id, [{ reply: "bye" }]);
      const del = await alice.json("DELETE", `/sessions/${id}`);
      assert.equal(del.status, 204);
      assert.equal((await alice.json("GET", `/sessions/${id}`)).status, 404);
      assert.equal((await alice.json("GET", `/sessions/${id}/events`)).status, 404);
      assert.equal((await alice.json("DELETE", `/sessions/${id}`)).status, 404);
      // The id can start a new session, from turn 1.
      const again = await first(id, [{ reply: "new" }]);
      assert.deepEqual(doneOf(again), { turn: 1, status: "ok" });
      assert.equal(eventsOf(again)[0].seq, 1);
    });

    it("reports a failed turn (no script left) in the stream and keeps the session usable", async () => {
      const id = sid();
      const t = await first(id, []);
      const done = doneOf(t);
      assert.equal(done?.status, "failed");
      assert.match(done?.reason ?? "", /scripted replies/);
      const ok = await alice.turn(id, { input: "again", script: [{ reply: "fine" }] });
      assert.deepEqual(doneOf(ok), { turn: 2, status: "ok" });
    });
  });
}
