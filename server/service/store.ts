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

/** claimLease by the session's name: undefined when it is missing or another holds its lease. */
export async function claimLeaseByName(
  q: Queryable,
  actor: string,
  id: string,
  owner: string,
  leaseMs: number,
): Promise<SessionRow | undefined> {
  const rows = await q.query<SessionRow>(
    `UPDATE sessions SET lease_owner = $3, lease_until = now() + ${ms(4)}
     WHERE actor = $1 AND id = $2 AND (lease_until IS NULL OR lease_until < now())
     RETURNING ${SESSION_COLUMNS}`,
    [actor, id, owner, leaseMs],
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
  /** Memory that outlives the session, written with the events. */
  memory?: { actor: string; memory: string; owner: string; values: unknown }[];
  /** Pending approvals opened by these events (approve "ask"). */
  approvals?: { callId: string; turn: number; tool: string }[];
  /** Give the turn lease back with this commit (the turn's last one). */
  release?: boolean;
}

/**
 * Commits events in order, in one statement (so one round trip, and atomic
 * without a transaction around it): fenced by the lease, so an instance that
 * lost it writes nothing; the session row's counters, memory and pending
 * approvals move with the events.
 */
export async function commitEvents(q: Queryable, o: CommitOptions): Promise<void> {
  if (!o.events.length) return;
  let turns: number | null = null;
  let open: { value: number | null } | undefined;
  let ended = false;
  for (const e of o.events) {
    if (e.type === "turn.start") open = { value: e.turn };
    if (e.type === "turn.end") {
      turns = e.turn;
      open = { value: null };
    }
    if (e.type === "session.end") ended = true;
  }
  const last = o.events[o.events.length - 1].seq;
  const params: unknown[] = [
    o.sid,
    o.owner,
    last,
    o.leaseMs,
    turns,
    open !== undefined,
    open?.value ?? null,
    ended,
    o.release === true,
  ];
  const p = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  const values = o.events.map(
    (e) =>
      `(${p(e.seq)}::integer, ${p(e.type)}::text, ${p("turn" in e ? e.turn : null)}::integer, ${p(JSON.stringify(e))}::text)`,
  );
  const ctes = [
    `s AS (UPDATE sessions SET last_seq = $3, updated_at = now(),
       lease_owner = CASE WHEN $9::boolean THEN NULL ELSE lease_owner END,
       lease_until = CASE WHEN $9::boolean THEN NULL ELSE now() + ${ms(4)} END,
       turns = COALESCE($5::integer, turns),
       open_turn = CASE WHEN $6::boolean THEN $7::integer ELSE open_turn END,
       ended = ended OR $8::boolean
     WHERE sid = $1 AND lease_owner = $2 AND last_seq < $3 RETURNING sid)`,
  ];
  if (o.memory?.length)
    ctes.push(
      `m AS (INSERT INTO memory (actor, memory, owner, "values")
       SELECT v.actor, v.memory, v.owner, v.vals::json FROM s, (VALUES ${o.memory
         .map(
           (m) =>
             `(${p(m.actor)}::text, ${p(m.memory)}::text, ${p(m.owner)}::text, ${p(JSON.stringify(m.values))}::text)`,
         )
         .join(", ")}) AS v(actor, memory, owner, vals)
       ON CONFLICT (actor, memory, owner) DO UPDATE SET "values" = EXCLUDED."values", updated_at = now())`,
    );
  if (o.approvals?.length)
    ctes.push(
      `a AS (INSERT INTO approvals (sid, call_id, turn, tool)
       SELECT s.sid, v.call_id, v.turn, v.tool FROM s, (VALUES ${o.approvals
         .map((a) => `(${p(a.callId)}::text, ${p(a.turn)}::integer, ${p(a.tool)}::text)`)
         .join(", ")}) AS v(call_id, turn, tool)
       ON CONFLICT (sid, call_id) DO UPDATE SET turn = EXCLUDED.turn, tool = EXCLUDED.tool,
         approved = NULL, decided_by = NULL, decided_at = NULL, created_at = now())`,
    );
  const inserted = await q.query(
    `WITH ${ctes.join(",\n")}
     INSERT INTO events (sid, seq, type, turn, body)
     SELECT s.sid, v.seq, v.type, v.turn, v.body::json FROM s, (VALUES ${values.join(", ")}) AS v(seq, type, turn, body)
     RETURNING seq`,
    params,
  );
  if (!inserted.length)
    throw new Error(
      "this instance lost the session's turn lease (it expired while the turn ran, and another invocation took the session); the turn's remaining events were not recorded",
    );
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
  const events = rows.map((r) => r.body);
  const toolRuns = rows[0]?.tool_runs ?? 0;
  const base = row.base;
  const first = base?.turn ?? 0;
  const limit = upTo ?? Number.MAX_SAFE_INTEGER;
  const start = events.find((e): e is SessionStartEvent => e.type === "session.start");
  const history = [...(base?.history ?? [])];
  let memory: Record<string, Json> = start?.memory ?? base?.memory ?? {};
  let summaryText = base?.summary;
  let agent = base?.agent ?? start?.agent ?? row.agent;
  let turn = first;
  const usage: Usage = { inputTokens: 0, outputTokens: 0 };
  const toolCalls = toolRuns;
  for (const e of events) {
    if ("turn" in e && e.turn > limit) continue;
    if (e.type === "turn.end") {
      const end = e as TurnEndEvent;
      history.push(end.messages ?? []);
      agent = end.agent;
      turn = end.turn;
      usage.inputTokens += end.usage?.inputTokens ?? 0;
      usage.outputTokens += end.usage?.outputTokens ?? 0;
    } else if (e.type === "memory.snapshot") {
      const snap = e as MemorySnapshotEvent;
      memory = snap.values;
      summaryText = snap.summary;
    }
  }
  return { history, memory, summary: summaryText, agent, turn, usage, toolCalls };
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
