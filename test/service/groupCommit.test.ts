// Group commit (server/service/groupCommit.ts): the events of several
// sessions go to the database in one statement, each session's streamed only
// once that statement has committed; a session that lost its lease, or whose
// part fails, fails alone; batches are first come first served. Also the
// state cache: a turn on a session another instance moved on reads the log.

import { strict as assert } from "node:assert";
import type * as http from "node:http";
import { openPglite, type Db, type Queryable } from "../../server/service/db";
import { Batcher, GroupCommitter } from "../../server/service/groupCommit";
import { SseStream } from "../../server/service/http";
import { RuntimeService } from "../../server/service/runtimeService";
import {
  LostLeaseError,
  rebuildState,
  SESSION_COLUMNS,
  type CommitOptions,
  type SessionRow,
} from "../../server/service/store";
import { PreloadedMemory, sameJson, TurnSink } from "../../server/service/turns";
import type { SessionEvent } from "../../server/protocol/events";
import { freshPgliteDir, removeTempDirs, testDefinition, type Any } from "./helpers";
import { waitFor } from "../helpers/waitFor";

/** The database, with every commit statement recorded and, while `hold` is set, held before it runs. */
class GatedDb implements Queryable {
  commits: number[][] = [];
  /** sids whose commit statement has returned. */
  finished = new Set<number>();
  hold: Promise<void> | undefined;
  constructor(readonly db: Db) {}
  async query<T>(sql: string, params?: unknown[], name?: string): Promise<T[]> {
    if (name !== "statecraft_commit") return this.db.query<T>(sql, params, name);
    const sids = (JSON.parse(params![0] as string) as { sid: number }[]).map((p) => p.sid);
    this.commits.push(sids);
    if (this.hold) await this.hold;
    const rows = await this.db.query<T>(sql, params, name);
    for (const s of sids) this.finished.add(s);
    return rows;
  }
}

const event = (seq: number, turn: number, text: string): SessionEvent =>
  ({ seq, ts: new Date().toISOString(), type: "user.message", turn, text }) as unknown as SessionEvent;

before(async function () {
  this.timeout(180_000);
  await freshPgliteDir(); // the migrated template, made once
});
after(removeTempDirs);

describe("group commit", function () {
  this.timeout(60_000);
  let db: Db;
  let sids: number[];

  beforeEach(async () => {
    db = await openPglite(await freshPgliteDir());
    sids = [];
    for (const id of ["a", "b", "c"]) {
      const [row] = await db.query<{ sid: number }>(
        `INSERT INTO sessions (actor, id, agent, definition, hash, backend, lease_owner, lease_until)
         VALUES ('ada', $1, 'helper', '{}', 'sha256:x', '{}', 'me', now() + interval '1 minute') RETURNING sid`,
        [id],
      );
      sids.push(row.sid);
    }
  });
  afterEach(async () => {
    await db.close();
  });

  const part = (sid: number, seq: number, owner = "me"): CommitOptions => ({
    sid,
    owner,
    leaseMs: 60_000,
    events: [event(seq, 1, `event ${seq} of ${sid}`)],
  });
  const stored = async (sid: number) =>
    (await db.query<{ seq: number }>("SELECT seq FROM events WHERE sid = $1 ORDER BY seq", [sid])).map(
      (r) => r.seq,
    );

  it("commits two sessions' events in one statement and streams each only after that statement committed", async () => {
    const [a, b, c] = sids;
    const gated = new GatedDb(db);
    const committer = new GroupCommitter(gated, { concurrency: 1, maxBatch: 64 });
    let open!: () => void;
    gated.hold = new Promise<void>((r) => (open = r));
    // c's commit goes first and is held: a's and b's queue behind it and go together next.
    const first = committer.commit(part(c, 1));
    const streamed: { sid: number; seqs: number[]; afterCommit: boolean }[] = [];
    const sinks = [a, b].map(
      (sid) =>
        new TurnSink({
          db,
          commit: (o) => committer.commit(o),
          row: { sid, last_seq: 0 } as never,
          actor: "ada",
          owner: "me",
          leaseMs: 60_000,
          memory: new PreloadedMemory(),
          resumed: false,
          askApprovals: false,
          onCommitted: (events) =>
            streamed.push({ sid, seqs: events.map((e) => e.seq), afterCommit: gated.finished.has(sid) }),
        }),
    );
    for (const s of sinks) {
      s.append({ type: "user.message", turn: 1, text: "hello" } as never);
      s.append({ type: "user.message", turn: 1, text: "again" } as never);
    }
    const flushed = sinks.map((s) => s.flush());
    await waitFor("a's and b's commits to queue behind c's", () => gated.commits.length === 1);
    assert.deepEqual(streamed, [], "nothing is streamed while its commit waits");
    open();
    gated.hold = undefined;
    await Promise.all([first, ...flushed]);
    assert.deepEqual(gated.commits, [[c], [a, b]], "a's and b's events went in one statement");
    assert.deepEqual(streamed, [
      { sid: a, seqs: [1, 2], afterCommit: true },
      { sid: b, seqs: [1, 2], afterCommit: true },
    ]);
    assert.deepEqual(await stored(a), [1, 2]);
    assert.deepEqual(await stored(b), [1, 2]);
  });

  it("fails only the session whose lease was lost, and only the part that fails, the others of the batch commit", async () => {
    const [a, b, c] = sids;
    const gated = new GatedDb(db);
    const committer = new GroupCommitter(gated, { concurrency: 1, maxBatch: 64 });
    await db.query("INSERT INTO events (sid, seq, type, turn, body) VALUES ($1, 1, 'x', 1, '{}')", [c]);
    let open!: () => void;
    gated.hold = new Promise<void>((r) => (open = r));
    const held = committer.commit(part(a, 1));
    await waitFor("the first commit to be held", () => gated.commits.length === 1);
    const results = [
      committer.commit(part(a, 2)),
      committer.commit(part(b, 1, "another instance")), // b's lease is not ours
      committer.commit(part(c, 1)), // c's seq 1 is taken: this part's statement fails
    ].map((p) =>
      p.then(
        () => "ok",
        (err: Error) => err,
      ),
    );
    open();
    gated.hold = undefined;
    await held;
    const [ra, rb, rc] = await Promise.all(results);
    assert.equal(ra, "ok");
    assert.ok(rb instanceof LostLeaseError, String(rb));
    assert.ok(
      rc instanceof Error && !(rc instanceof LostLeaseError) && /duplicate key|unique/i.test(rc.message),
      String(rc),
    );
    assert.deepEqual(await stored(a), [1, 2]);
    assert.deepEqual(await stored(b), []);
    assert.deepEqual(await stored(c), [1]);
    const [row] = await db.query<{ last_seq: number }>("SELECT last_seq FROM sessions WHERE sid = $1", [c]);
    assert.equal(row.last_seq, 0, "the failed part moved nothing of its session");
  });

  it("serves requests first come first served: one that must wait for the next batch goes ahead of later ones", async () => {
    const ran: string[][] = [];
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const batcher = new Batcher<{ name: string; key: string }, string>({
      concurrency: 1,
      maxBatch: 2,
      keys: (i) => [i.key],
      run: async (items) => {
        ran.push(items.map((i) => i.name));
        await gate;
        return items.map((i) => i.name);
      },
    });
    const all = [
      batcher.submit({ name: "first", key: "x" }),
      // A burst from one session (the same row twice) and three other sessions arriving after it.
      batcher.submit({ name: "s1 turn", key: "s1" }),
      batcher.submit({ name: "s1 again", key: "s1" }),
      batcher.submit({ name: "s2", key: "s2" }),
      batcher.submit({ name: "s3", key: "s3" }),
      batcher.submit({ name: "s4", key: "s4" }),
    ];
    open();
    assert.deepEqual(await Promise.all(all), ["first", "s1 turn", "s1 again", "s2", "s3", "s4"]);
    assert.deepEqual(ran, [["first"], ["s1 turn", "s2"], ["s1 again", "s3"], ["s4"]]);
  });
});

/** An SseStream over a response that keeps the frames written to it. */
function recordingStream(): { stream: SseStream; frames: () => { event: string; data: Any }[] } {
  let text = "";
  const res = {
    destroyed: false,
    writableEnded: false,
    headersSent: false,
    writeHead() {},
    flushHeaders() {},
    cork() {},
    uncork() {},
    write(chunk: string) {
      text += chunk;
      return true;
    },
    end() {},
  };
  return {
    stream: new SseStream(res as unknown as http.ServerResponse),
    frames: () =>
      text
        .split("\n\n")
        .filter(Boolean)
        .map((block) => ({
          event: /^event: (.*)$/m.exec(block)![1],
          data: JSON.parse(/^data: (.*)$/m.exec(block)![1]),
        })),
  };
}

/** A service instance on `db` with the tests' timings. */
const serviceOn = (db: Db) =>
  new RuntimeService({
    db,
    env: {},
    baseDir: process.cwd(),
    leaseMs: 30_000,
    approvalTimeoutMs: 5_000,
    pollMs: 20,
  });

/** One turn of session `id` (by actor ada, every tool approved): the frames streamed. */
async function turnOn(svc: RuntimeService, id: string, body: Record<string, unknown>) {
  const rec = recordingStream();
  await svc.turn("ada", id, { approve: "all", ...body }, undefined, rec.stream);
  return rec.frames();
}

describe("session state cache", function () {
  this.timeout(60_000);

  it("serves a session's next turn on this instance, and is not used once another instance moved the session on", async () => {
    const db = await openPglite(await freshPgliteDir());
    const a = serviceOn(db);
    const b = serviceOn(db);
    const def = testDefinition();
    const turn = async (svc: RuntimeService, n: number, script: unknown[]) => {
      const frames = await turnOn(svc, "cached", {
        input: `turn ${n}`,
        script,
        ...(n === 1 ? { definition: def, user: { id: "u1" } } : {}),
      });
      assert.deepEqual(frames.find((f) => f.event === "done")?.data, { turn: n, status: "ok" });
      return frames;
    };
    try {
      await turn(a, 1, [{ call: "remember", input: { field: "count", value: 7 } }, { reply: "one" }]);
      await turn(a, 2, [{ call: "echo", input: { text: "hi" } }, { reply: "two" }]);
      const [row] = await db.query<SessionRow>(`SELECT ${SESSION_COLUMNS} FROM sessions WHERE id = 'cached'`);
      assert.deepEqual(a.states.get(row.sid, row.last_seq), await rebuildState(db, row));
      await turn(b, 3, [{ call: "remember", input: { field: "count", value: 9 } }, { reply: "three" }]);
      const four = await turn(a, 4, [{ reply: "four" }]);
      const ctx = four.find((f) => f.event === "context.snapshot")!.data;
      assert.deepEqual(
        (ctx.messages as { role: string; content: string }[])
          .filter((m) => m.role === "user")
          .map((m) => m.content),
        ["turn 1", "turn 2", "turn 3", "turn 4"],
      );
      assert.match(ctx.messages[0].content, /Count 9/);
      const [after4] = await db.query<SessionRow>(
        `SELECT ${SESSION_COLUMNS} FROM sessions WHERE id = 'cached'`,
      );
      const cached = a.states.get(after4.sid, after4.last_seq);
      assert.ok(cached, "the state after turn 4 is cached on a");
      assert.deepEqual(cached, await rebuildState(db, after4));
      assert.equal(
        cached.toolCalls,
        1,
        "the echo command ran once (remember writes memory, it runs nothing)",
      );
    } finally {
      await db.close();
    }
  });
});

describe("commits of a turn", function () {
  this.timeout(60_000);

  it("commits a turn whose model answers at once in one statement, and a turn of many model calls as it goes", async () => {
    const base = await openPglite(await freshPgliteDir());
    // The event types of every commit statement, in order.
    const commits: string[][] = [];
    const db: Db = {
      ...base,
      query: (sql, params, name) => {
        if (name === "statecraft_commit")
          commits.push((JSON.parse(params![1] as string) as { type: string }[]).map((e) => e.type));
        return base.query(sql, params, name);
      },
    };
    const svc = serviceOn(db);
    const turn = async (n: number, script: unknown[]) => {
      const frames = await turnOn(svc, "commits", {
        input: `turn ${n}`,
        script,
        ...(n === 1 ? { definition: testDefinition() } : {}),
      });
      const kinds = frames.map((f) => f.event);
      // A reply's text streams after its request and before its response, though they commit together.
      assert.ok(kinds.indexOf("text") > kinds.indexOf("model.request"), kinds.join(" "));
      assert.ok(kinds.lastIndexOf("text") < kinds.lastIndexOf("model.response"), kinds.join(" "));
      assert.deepEqual(frames.find((f) => f.event === "done")?.data, { turn: n, status: "ok" });
    };
    try {
      await turn(1, [{ reply: "one" }]);
      assert.equal(commits.length, 1, JSON.stringify(commits));
      assert.deepEqual(commits[0].slice(0, 2), ["session.start", "turn.start"]);
      assert.equal(commits[0].at(-1), "turn.end");
      commits.length = 0;
      const writes = [1, 2, 3].map((v) => ({ call: "remember", input: { field: "count", value: v } }));
      await turn(2, [...writes, { reply: "counted" }]);
      // Each model call after the first waits for what came before it: the client sees the turn as it goes.
      assert.ok(commits.length >= 3, JSON.stringify(commits));
      assert.equal(commits[0][0], "turn.start");
      assert.ok(!commits[0].includes("turn.end"), "the turn's start is committed before its end");
      assert.deepEqual(commits.flat().filter((t) => t === "model.request").length, 4);
    } finally {
      await base.close();
    }
  });
});

describe("first turns", function () {
  this.timeout(60_000);

  it("creates the sessions of first turns arriving together in one statement; a first turn sent again runs as the next turn", async () => {
    const base = await openPglite(await freshPgliteDir());
    const creates: string[][] = [];
    let open!: () => void;
    let hold: Promise<void> | undefined = new Promise<void>((r) => (open = r));
    const relaxed: Queryable = {
      query: async <T>(sql: string, params?: unknown[], name?: string) => {
        if (name === "statecraft_create_sessions") {
          creates.push((JSON.parse(params![0] as string) as { id: string }[]).map((r) => r.id));
          if (hold) await hold;
        }
        return base.relaxed.query<T>(sql, params, name);
      },
    };
    const svc = serviceOn({ ...base, relaxed });
    const first = (id: string) =>
      turnOn(svc, id, { input: "hi", script: [{ reply: "hello" }], definition: testDefinition() }).then(
        (frames) => frames.find((f) => f.event === "done")?.data,
        (err: Error & { status?: number }) => `${err.status} ${err.message}`,
      );
    try {
      // s0's creation is held: s1..s4 queue behind it (a first turn creates its session before any other
      // statement) and go together.
      const turns = [first("s0")];
      await waitFor("the first creation to be held", () => creates.length === 1);
      turns.push(...["s1", "s2", "s3", "s4"].map(first));
      open();
      hold = undefined;
      assert.deepEqual(await Promise.all(turns), Array(5).fill({ turn: 1, status: "ok" }));
      assert.deepEqual(creates, [["s0"], ["s1", "s2", "s3", "s4"]]);
      // A client that sends the definition again: the session's next turn (and no sid spent on it).
      assert.deepEqual(await first("s2"), { turn: 2, status: "ok" });
      assert.deepEqual(await first("s5"), { turn: 1, status: "ok" });
      const sids = await base.query<{ id: string; sid: number }>("SELECT id, sid FROM sessions ORDER BY sid");
      assert.deepEqual(sids.map((r) => r.id).sort(), ["s0", "s1", "s2", "s3", "s4", "s5"]);
      assert.equal(sids[5].id, "s5");
      assert.equal(sids[5].sid, sids[4].sid + 1);
    } finally {
      await base.close();
    }
  });
});

describe("sameJson (a definition sent again is compared, not hashed again)", () => {
  it("is true for the same JSON in another key order, and false for any other value", () => {
    const def = JSON.parse(JSON.stringify(testDefinition())); // as a request body brings it
    const reordered = JSON.parse(JSON.stringify(Object.fromEntries(Object.entries(def).reverse())));
    assert.ok(sameJson(def, reordered));
    const edited = JSON.parse(JSON.stringify(def));
    edited.agents[edited.agent].instructions += " ";
    assert.ok(!sameJson(def, edited));
    assert.ok(!sameJson({ a: [1, 2] }, { a: [1, 2, 3] }));
    assert.ok(!sameJson({ a: 1 }, { a: 1, b: undefined }));
    assert.ok(!sameJson({ a: null }, { a: {} }));
    assert.ok(!sameJson([1], { 0: 1 }));
    assert.ok(!sameJson({ a: "1" }, { a: 1 }));
  });
});
