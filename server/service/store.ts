// Session rows, events, leases and state rebuilt from the store: what every
// instance of a fleet needs to serve any session.

import type { CompiledDefinition, Json } from "../language/compile";
import type {
  MemorySnapshotEvent,
  SessionEvent,
  SessionStartEvent,
  TurnEndEvent,
  TurnStartEvent,
  Usage,
  UserInfo,
} from "../protocol/events";
import type { SessionBackend, SessionSummary } from "../protocol/runtimeService";
import type { RestoredState } from "../runtime/replay";
import type { Db, Queryable } from "./db";

export interface SessionRow {
  sid: number;
  actor: string;
  id: string;
  agent: string;
  definition: CompiledDefinition;
  hash: string;
  backend: SessionBackend;
  user: UserInfo | null;
  source: string | null;
  parent: { sessionId: string; turn: number } | null;
  base: RestoredState | null;
  ended: boolean;
  turns: number;
  open_turn: number | null;
  last_seq: number;
  lease_owner: string | null;
  lease_until: Date | null;
  created_at: Date;
  updated_at: Date;
  /** idle | running | ended, computed by the query against the database clock. */
  status: "idle" | "running" | "ended";
}

const iso = (d: Date | string) => (d instanceof Date ? d : new Date(d)).toISOString();

export function summary(row: SessionRow): SessionSummary {
  return {
    id: row.id,
    agent: row.agent,
    backend: row.backend,
    status: row.status,
    turns: row.turns,
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
    ...(row.user ? { user: row.user } : {}),
    ...(row.parent ? { parent: row.parent } : {}),
  };
}

export const SESSION_COLUMNS = `*, CASE WHEN ended THEN 'ended' WHEN lease_until > now() THEN 'running' ELSE 'idle' END AS status`;

/** `interval` of n milliseconds, as SQL over parameter `$i`. */
export const ms = (i: number) => `($${i}::integer * interval '1 millisecond')`;

export async function getSession(q: Queryable, actor: string, id: string): Promise<SessionRow | undefined> {
  const rows = await q.query<SessionRow>(
    `SELECT ${SESSION_COLUMNS} FROM sessions WHERE actor = $1 AND id = $2`,
    [actor, id],
  );
  return rows[0];
}

export async function listSessions(q: Queryable, actor: string): Promise<SessionRow[]> {
  return q.query<SessionRow>(
    `SELECT ${SESSION_COLUMNS} FROM sessions WHERE actor = $1 ORDER BY created_at, sid`,
    [actor],
  );
}

/** A session row without its definition and fork base (they come from caches, or `loadDefinition`). */
export type LightSessionRow = Omit<SessionRow, "definition" | "base"> & {
  has_base: boolean;
  /** The stored memory rows the session's user and entry agent own (scopes user and agent). */
  memory_rows: { memory: string; owner: string; values: Record<string, Json> }[] | null;
};

const LIGHT_COLUMNS = `sessions.sid, sessions.actor, sessions.id, sessions.agent, sessions.hash, sessions.backend,
  sessions."user", sessions.source, sessions.parent, sessions.ended, sessions.turns, sessions.open_turn,
  sessions.last_seq, sessions.lease_owner, sessions.lease_until, sessions.created_at, sessions.updated_at,
  (sessions.base IS NOT NULL) AS has_base,
  CASE WHEN sessions.ended THEN 'ended' WHEN sessions.lease_until > now() THEN 'running' ELSE 'idle' END AS status`;

/** After a CTE `s` of session rows: each with the memory rows its user and entry agent own. */
const WITH_MEMORY_ROWS = `SELECT s.*, (SELECT json_agg(json_build_object('memory', m.memory, 'owner', m.owner, 'values', m."values"))
  FROM memory m WHERE m.actor = s.actor
  AND m.owner IN ('user:' || COALESCE(s."user"->>'id', 'anonymous'), 'agent:' || s.agent)) AS memory_rows
FROM s`;

/**
 * Takes the turn leases of sessions by their names, each when free (or expired), and reads in the
 * same statement what their turns need but the definition (cached by hash): the session row and
 * the memory rows that outlive it. One result per request, in order: undefined when the session
 * is missing or another holds its lease. No session may be named twice (GroupClaimer sees to it).
 */
export async function claimTurns(
  q: Queryable,
  requests: { actor: string; id: string }[],
  owner: string,
  leaseMs: number,
): Promise<(LightSessionRow | undefined)[]> {
  const rows = await q.query<LightSessionRow>(
    `WITH s AS (UPDATE sessions SET lease_owner = $3, lease_until = now() + ${ms(4)}
       FROM unnest($1::text[], $2::text[]) AS r(actor, id)
       WHERE sessions.actor = r.actor AND sessions.id = r.id
         AND (sessions.lease_until IS NULL OR sessions.lease_until < now())
       RETURNING ${LIGHT_COLUMNS})
     ${WITH_MEMORY_ROWS}`,
    [requests.map((r) => r.actor), requests.map((r) => r.id), owner, leaseMs],
    "statecraft_claim_turns",
  );
  const byName = new Map(rows.map((r) => [`${r.actor}\0${r.id}`, r]));
  return requests.map((r) => byName.get(`${r.actor}\0${r.id}`));
}

/** A new session's row, as the first turn of a session creates it. */
export interface NewSession {
  actor: string;
  id: string;
  definition: CompiledDefinition;
  backend: SessionBackend;
  user: UserInfo | null;
  source: string | null;
}

/**
 * Creates sessions with their turn leases taken, in one statement. One result per request, in
 * order: the new row (without its definition and fork base, which the caller has) with the memory
 * rows its user and agent own already (from their other sessions), or undefined
 * when a session of that name exists already. No session may be named twice (GroupCreator).
 */
export async function createSessions(
  q: Queryable,
  requests: NewSession[],
  owner: string,
  leaseMs: number,
): Promise<(LightSessionRow | undefined)[]> {
  // One JSON array (each definition inside as an object): no text escaping of definitions, client side.
  const rows = await q.query<LightSessionRow>(
    `WITH s AS (INSERT INTO sessions (actor, id, agent, definition, hash, backend, "user", source, lease_owner, lease_until)
       SELECT v.actor, v.id, v.agent, v.definition, v.hash, v.backend, v."user", v.source, $2, now() + ${ms(3)}
       FROM json_to_recordset($1::json)
         AS v(actor text, id text, agent text, definition json, hash text, backend json, "user" json, source text)
       -- Not even a number of the sid sequence for a session that exists (a client that sends the definition again).
       WHERE NOT EXISTS (SELECT 1 FROM sessions x WHERE x.actor = v.actor AND x.id = v.id)
       ON CONFLICT (actor, id) DO NOTHING
       RETURNING ${LIGHT_COLUMNS})
     ${WITH_MEMORY_ROWS}`,
    [
      JSON.stringify(
        requests.map((r) => ({
          actor: r.actor,
          id: r.id,
          agent: r.definition.agent,
          definition: r.definition,
          hash: r.definition.hash,
          backend: r.backend,
          user: r.user,
          source: r.source,
        })),
      ),
      owner,
      leaseMs,
    ],
    "statecraft_create_sessions",
  );
  const byName = new Map(rows.map((r) => [`${r.actor}\0${r.id}`, r]));
  return requests.map((r) => byName.get(`${r.actor}\0${r.id}`));
}

/**
 * Runs the statements every turn runs (lease claims and new sessions on the relaxed pool, commits
 * on the other), each on nothing: the connection has them parsed and planned before the first turn.
 */
export async function prepareStatements(q: Queryable, relaxed: boolean): Promise<void> {
  if (relaxed) {
    await claimTurns(q, [], "", 0);
    await createSessions(q, [], "", 0);
  } else await q.query(COMMIT_SQL, ["[]", "[]", "[]", "[]"], "statecraft_commit");
}

/** The definition and fork base of a session row (what `claimTurns` leaves out). */
export async function loadDefinition(
  q: Queryable,
  sid: number,
): Promise<{ definition: CompiledDefinition; base: RestoredState | null }> {
  const [row] = await q.query<{ definition: CompiledDefinition; base: RestoredState | null }>(
    "SELECT definition, base FROM sessions WHERE sid = $1",
    [sid],
  );
  return row;
}

/** Takes the session's turn lease when it is free (or expired); undefined when another holds it. */
export async function claimLease(
  q: Queryable,
  sid: number,
  owner: string,
  leaseMs: number,
): Promise<SessionRow | undefined> {
  const rows = await q.query<SessionRow>(
    `UPDATE sessions SET lease_owner = $2, lease_until = now() + ${ms(3)}
     WHERE sid = $1 AND (lease_until IS NULL OR lease_until < now())
     RETURNING ${SESSION_COLUMNS}`,
    [sid, owner, leaseMs],
  );
  return rows[0];
}

export async function renewLease(
  q: Queryable,
  sid: number,
  owner: string,
  leaseMs: number,
): Promise<boolean> {
  const rows = await q.query(
    `UPDATE sessions SET lease_until = now() + ${ms(3)} WHERE sid = $1 AND lease_owner = $2 RETURNING sid`,
    [sid, owner, leaseMs],
  );
  return rows.length > 0;
}

export async function releaseLease(q: Queryable, sid: number, owner: string): Promise<void> {
  await q.query(
    `UPDATE sessions SET lease_owner = NULL, lease_until = NULL WHERE sid = $1 AND lease_owner = $2`,
    [sid, owner],
  );
}

export interface CommitOptions {
  sid: number;
  owner: string;
  leaseMs: number;
  events: SessionEvent[];
  /** `JSON.stringify` of each event, when the caller has it already (it streams the same text). */
  eventJson?: string[];
  /** Memory that outlives the session, written with the events. */
  memory?: { actor: string; memory: string; owner: string; values: unknown }[];
  /** Pending approvals opened by these events (approve "ask"). */
  approvals?: { callId: string; turn: number; tool: string }[];
  /** Give the turn lease back with this commit (the turn's last one). */
  release?: boolean;
}

export class LostLeaseError extends Error {
  constructor() {
    super(
      "this instance lost the session's turn lease (it expired while the turn ran, and another invocation took the session); the turn's remaining events were not recorded",
    );
  }
}

/**
 * Commits the events of one or more sessions (a group commit) in one statement, so in one round
 * trip and atomically without a transaction around it. Each session's part is fenced by its lease:
 * a session whose lease this instance lost writes nothing (and the others still commit); its row's
 * counters, memory and pending approvals move with its events. The statement's text never changes
 * (the rows go in as four JSON arrays, each event's JSON inside as it is), so PostgreSQL plans it
 * once per connection. Returns the sids committed. At most one part per session, and no memory row
 * in two parts (one statement cannot update a row twice): GroupCommitter forms its batches so.
 */
export async function commitBatch(q: Queryable, parts: CommitOptions[]): Promise<Set<number>> {
  const sessions: string[] = [];
  const events: string[] = [];
  const memory: string[] = [];
  const approvals: string[] = [];
  for (const o of parts) {
    if (!o.events.length) continue;
    let turns: number | null = null;
    let open: { value: number | null } | undefined;
    let ended = false;
    o.events.forEach((e, i) => {
      if (e.type === "turn.start") open = { value: e.turn };
      if (e.type === "turn.end") {
        turns = e.turn;
        open = { value: null };
      }
      if (e.type === "session.end") ended = true;
      const body = o.eventJson?.[i] ?? JSON.stringify(e);
      const turn = "turn" in e ? e.turn : null;
      events.push(
        `{"sid":${o.sid},"seq":${e.seq},"type":${JSON.stringify(e.type)},"turn":${turn},"body":${body}}`,
      );
    });
    sessions.push(
      JSON.stringify({
        sid: o.sid,
        owner: o.owner,
        last_seq: o.events[o.events.length - 1].seq,
        lease_ms: o.leaseMs,
        turns,
        set_open: open !== undefined,
        open_turn: open?.value ?? null,
        ended,
        release: o.release === true,
      }),
    );
    for (const m of o.memory ?? [])
      memory.push(
        JSON.stringify({ sid: o.sid, actor: m.actor, memory: m.memory, owner: m.owner, vals: m.values }),
      );
    for (const a of o.approvals ?? [])
      approvals.push(JSON.stringify({ sid: o.sid, call_id: a.callId, turn: a.turn, tool: a.tool }));
  }
  if (!sessions.length) return new Set();
  const list = (items: string[]) => `[${items.join(",")}]`;
  const rows = await q.query<{ sid: number }>(
    COMMIT_SQL,
    [list(sessions), list(events), list(memory), list(approvals)],
    "statecraft_commit",
  );
  return new Set(rows.map((r) => r.sid));
}

const COMMIT_SQL = `WITH b AS (
  SELECT * FROM json_to_recordset($1::json) AS b(sid integer, owner text, last_seq integer, lease_ms integer,
    turns integer, set_open boolean, open_turn integer, ended boolean, release boolean)
), s AS (
  UPDATE sessions SET last_seq = b.last_seq, updated_at = now(),
    lease_owner = CASE WHEN b.release THEN NULL ELSE sessions.lease_owner END,
    lease_until = CASE WHEN b.release THEN NULL ELSE now() + b.lease_ms * interval '1 millisecond' END,
    turns = COALESCE(b.turns, sessions.turns),
    open_turn = CASE WHEN b.set_open THEN b.open_turn ELSE sessions.open_turn END,
    ended = sessions.ended OR b.ended
  FROM b WHERE sessions.sid = b.sid AND sessions.lease_owner = b.owner AND sessions.last_seq < b.last_seq
  RETURNING sessions.sid
), e AS (
  INSERT INTO events (sid, seq, type, turn, body)
  SELECT v.sid, v.seq, v.type, v.turn, v.body
  FROM json_to_recordset($2::json) AS v(sid integer, seq integer, type text, turn integer, body json)
  WHERE v.sid IN (SELECT sid FROM s)
), m AS (
  INSERT INTO memory (actor, memory, owner, "values")
  SELECT v.actor, v.memory, v.owner, v.vals
  FROM json_to_recordset($3::json) AS v(sid integer, actor text, memory text, owner text, vals json)
  WHERE v.sid IN (SELECT sid FROM s)
  ON CONFLICT (actor, memory, owner) DO UPDATE SET "values" = EXCLUDED."values", updated_at = now()
), a AS (
  INSERT INTO approvals (sid, call_id, turn, tool)
  SELECT v.sid, v.call_id, v.turn, v.tool
  FROM json_to_recordset($4::json) AS v(sid integer, call_id text, turn integer, tool text)
  WHERE v.sid IN (SELECT sid FROM s)
  ON CONFLICT (sid, call_id) DO UPDATE SET turn = EXCLUDED.turn, tool = EXCLUDED.tool,
    approved = NULL, decided_by = NULL, decided_at = NULL, created_at = now()
)
SELECT sid FROM s`;

/** Commits one session's events (a batch of one); LostLeaseError when this instance lost its lease. */
export async function commitEvents(q: Queryable, o: CommitOptions): Promise<void> {
  if (!o.events.length) return;
  if (!(await commitBatch(q, [o])).has(o.sid)) throw new LostLeaseError();
}

export async function loadEvents(
  q: Queryable,
  sid: number,
  o: { after?: number; limit?: number; types?: string[]; turn?: number } = {},
): Promise<SessionEvent[]> {
  const params: unknown[] = [sid, o.after ?? 0];
  let where = "sid = $1 AND seq > $2";
  if (o.types) {
    params.push(o.types);
    where += ` AND type = ANY($${params.length}::text[])`;
  }
  if (o.turn !== undefined) {
    params.push(o.turn);
    where += ` AND turn = $${params.length}`;
  }
  let sql = `SELECT body FROM events WHERE ${where} ORDER BY seq`;
  if (o.limit !== undefined) {
    params.push(o.limit);
    sql += ` LIMIT $${params.length}`;
  }
  return (await q.query<{ body: SessionEvent }>(sql, params)).map((r) => r.body);
}

export async function sessionStartOf(q: Queryable, sid: number): Promise<SessionStartEvent | undefined> {
  const [start] = await loadEvents(q, sid, { types: ["session.start"], limit: 1 });
  return start as SessionStartEvent | undefined;
}

export interface SessionState extends RestoredState {
  /** Session totals the engine's policy limits count. */
  usage: Usage;
  toolCalls: number;
}

/** The state of a session before any event: its fork's base, or empty. */
export function initialState(row: Pick<SessionRow, "agent" | "base">): SessionState {
  const base = row.base;
  return {
    history: [...(base?.history ?? [])],
    memory: base?.memory ?? {},
    summary: base?.summary,
    agent: base?.agent ?? row.agent,
    turn: base?.turn ?? 0,
    usage: { inputTokens: 0, outputTokens: 0 },
    toolCalls: 0,
  };
}

/**
 * Folds events into a session's state (in place): the conversation from the turn.end messages,
 * memory and summary from memory snapshots, the active agent from the last turn, the usage and
 * tool runs the policy limits count. Events of turns after `upTo` are skipped.
 */
export function applyEvents(
  state: SessionState,
  events: SessionEvent[],
  o: { forked: boolean; upTo?: number; countTools?: boolean },
): SessionState {
  const limit = o.upTo ?? Number.MAX_SAFE_INTEGER;
  for (const e of events) {
    if ("turn" in e && e.turn > limit) continue;
    if (e.type === "session.start") {
      const start = e as SessionStartEvent;
      if (start.memory) state.memory = start.memory;
      if (!o.forked) state.agent = start.agent;
    } else if (e.type === "turn.end") {
      const end = e as TurnEndEvent;
      state.history.push(end.messages ?? []);
      state.agent = end.agent;
      state.turn = end.turn;
      state.usage.inputTokens += end.usage?.inputTokens ?? 0;
      state.usage.outputTokens += end.usage?.outputTokens ?? 0;
    } else if (e.type === "memory.snapshot") {
      const snap = e as MemorySnapshotEvent;
      state.memory = snap.values;
      state.summary = snap.summary;
    } else if (o.countTools && e.type === "tool.result" && (e as { origin?: string }).origin !== "mock")
      state.toolCalls++;
  }
  return state;
}

/**
 * The state after turn `upTo` (default: the last recorded turn), rebuilt from
 * the log: the conversation from the turn.end messages (after a fork's base),
 * memory and summary from memory snapshots, the active agent from the last turn.
 */
export async function rebuildState(q: Queryable, row: SessionRow, upTo?: number): Promise<SessionState> {
  const rows = await q.query<{ body: SessionEvent; tool_runs: number }>(
    `SELECT body, (SELECT count(*)::integer FROM events WHERE sid = $1 AND type = 'tool.result' AND turn <= $2
       AND (body->>'origin') IS DISTINCT FROM 'mock') AS tool_runs
     FROM events WHERE sid = $1 AND type IN ('session.start', 'turn.end', 'memory.snapshot') ORDER BY seq`,
    [row.sid, upTo ?? 2147483647],
  );
  const state = applyEvents(
    initialState(row),
    rows.map((r) => r.body),
    { forked: row.base !== null, upTo },
  );
  state.toolCalls = rows[0]?.tool_runs ?? 0;
  return state;
}

/**
 * A copy of a session's state that can be changed (as a turn and `applyEvents` do) without changing
 * the original: its lists and totals are new, its messages shared. Messages never change once made,
 * and sharing them keeps what the engine counted of them (tokens, bytes) from one turn to the next.
 */
export function copyState(s: SessionState): SessionState {
  return { ...s, history: s.history.slice(), memory: { ...s.memory }, usage: { ...s.usage } };
}

/**
 * The state of the sessions whose last events this instance committed, so their next turn here
 * need not read the log again. An entry serves only while the session's last_seq (read with the
 * turn lease) is the one it was saved with: any other commit (another instance, an interrupted
 * turn closed, a session.end) makes the turn rebuild from the log. Least recently used entries go
 * first past `max`. `get` gives a copy (copyState); `set` keeps the state it is given, which the
 * caller must not change after.
 */
export class StateCache {
  private readonly states = new Map<number, { lastSeq: number; state: SessionState }>();
  constructor(readonly max = 10_000) {}

  get(sid: number, lastSeq: number): SessionState | undefined {
    const hit = this.states.get(sid);
    if (!hit || hit.lastSeq !== lastSeq) return undefined;
    this.states.delete(sid);
    this.states.set(sid, hit);
    return copyState(hit.state);
  }

  set(sid: number, lastSeq: number, state: SessionState): void {
    this.states.delete(sid);
    this.states.set(sid, { lastSeq, state });
    if (this.states.size > this.max) this.states.delete(this.states.keys().next().value!);
  }

  drop(sid: number): void {
    this.states.delete(sid);
  }

  get size(): number {
    return this.states.size;
  }
}

/**
 * Marks a turn that never finished (the instance running it died) as
 * interrupted, so the session can go on. The caller holds the lease.
 */
export async function closeInterruptedTurn(
  db: Db,
  row: SessionRow,
  owner: string,
  leaseMs: number,
): Promise<SessionEvent | undefined> {
  if (row.open_turn === null) return undefined;
  const turn = row.open_turn;
  const [start] = (await loadEvents(db, row.sid, { types: ["turn.start"], turn })) as TurnStartEvent[];
  const event: SessionEvent = {
    seq: row.last_seq + 1,
    ts: new Date().toISOString(),
    type: "turn.end",
    turn,
    agent: start?.agent ?? row.agent,
    reply: "",
    messages: [],
    status: "interrupted",
    reason:
      "the service stopped while this turn ran (a crash or a forced restart); the events it had committed are kept, and the session continues from the turn before",
    usage: { inputTokens: 0, outputTokens: 0 },
  };
  await db.tx(async (q) => {
    await commitEvents(q, { sid: row.sid, owner, leaseMs, events: [event] });
    await q.query(`UPDATE idempotency SET status = 'interrupted' WHERE sid = $1 AND turn = $2`, [
      row.sid,
      turn,
    ]);
  });
  row.last_seq = event.seq;
  row.turns = turn;
  row.open_turn = null;
  return event;
}
