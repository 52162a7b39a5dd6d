// The runtime service's operations, independent of how they are reached
// (REST endpoints or actions of an AgentCore invocation): turns, inspection,
// fork, approvals, end and delete, each for one actor's sessions only.

import { createHash, randomBytes } from "node:crypto";
import * as path from "node:path";
import type { CompiledDefinition } from "../language/compile";
import { printable } from "../language/encoding";
import { AgentSession } from "../runtime/engine";
import type {
  ContextSnapshotEvent,
  EvalCheck,
  EvalSessionTag,
  MemorySnapshotEvent,
  SessionEvent,
  UserInfo,
} from "../protocol/events";
import type {
  EventsPage,
  ForkResult,
  SessionDetail,
  SessionList,
  TurnSnapshot,
  TurnRequest as WireTurnRequest,
} from "../protocol/runtimeService";
import { McpPool } from "../runtime/mcp";
import { BackendError, type ModelBackend } from "../runtime/model";
import { newSessionId } from "../runtime/sessionLog";
import type { Db } from "./db";
import type { TokenVault } from "./vault";
import { badRequest, conflict, HttpError, notFound, onlyFields, SseStream } from "./http";
import { GroupClaimer, GroupCommitter, GroupCreator } from "./groupCommit";
import {
  applyEvents,
  claimLease,
  closeInterruptedTurn,
  copyState,
  initialState,
  loadDefinition,
  StateCache,
  type LightSessionRow,
  type SessionState,
  commitEvents,
  getSession,
  listSessions,
  loadEvents,
  rebuildState,
  releaseLease,
  renewLease,
  SESSION_COLUMNS,
  sessionStartOf,
  summary,
  type SessionRow,
} from "./store";
import {
  checkDefinition,
  shortHash,
  inferenceBackend,
  makeApprover,
  memoryOwner,
  parseScript,
  PreloadedMemory,
  TurnSink,
  type ApproveMode,
} from "./turns";
import type { TurnTelemetry } from "./telemetry";

export interface ServiceConfig {
  db: Db;
  /** The users' delegated tokens of each actor (vault.ts): what a turn's user_token("name") resolves to. */
  vault?: TokenVault;
  env: NodeJS.ProcessEnv;
  /** Folder tools' relative paths (commands, files) start from. */
  baseDir: string;
  leaseMs: number;
  approvalTimeoutMs: number;
  pollMs: number;
}

export const SESSION_ID = /^[A-Za-z0-9._-]{1,128}$/;

export function checkSessionId(id: string | undefined, where: string): string {
  if (id === undefined || id === "")
    throw badRequest(
      `${where} is missing: send the session id (1 to 128 of A-Z a-z 0-9 . _ -) in the X-Amzn-Bedrock-AgentCore-Runtime-Session-Id header`,
    );
  if (!SESSION_ID.test(id))
    throw badRequest(
      `${where} '${id.slice(0, 140)}' is not a valid session id: use 1 to 128 of A-Z a-z 0-9 . _ -`,
    );
  return id;
}

const TURN_FIELDS = ["input", "definition", "user", "source", "script", "approve", "eval"] as const;

/** A turn request (protocol/runtimeService.ts) once parsed: its script as steps, `approve` defaulted. */
export interface TurnRequest extends Omit<WireTurnRequest, "script" | "approve"> {
  script?: ReturnType<typeof parseScript>;
  approve: ApproveMode;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function parseEvalTag(v: unknown): EvalSessionTag {
  const ok =
    isObject(v) &&
    ["run", "eval", "case", "backend"].every((k) => typeof v[k] === "string") &&
    Number.isInteger(v.trial);
  if (!ok) throw badRequest(`'eval' must be {"run", "eval", "case", "backend": string, "trial": integer}`);
  const t = v as unknown as EvalSessionTag;
  return { run: t.run, eval: t.eval, case: t.case, trial: t.trial, backend: t.backend };
}

const CHECK_KINDS = ["judge", "score", "expect", "trajectory"];

/** The `scores` of an `end` action: eval checks, as the eval runner writes them. */
function parseScores(v: unknown): EvalCheck[] {
  if (v === undefined) return [];
  const ok =
    Array.isArray(v) &&
    v.every(
      (c) =>
        isObject(c) &&
        typeof c.criterion === "string" &&
        CHECK_KINDS.includes(c.kind as string) &&
        typeof c.passed === "boolean" &&
        typeof c.reason === "string",
    );
  if (!ok)
    throw badRequest(
      `'scores' must be a list of {"criterion", "kind": judge|score|expect|trajectory, "passed", "reason", ...}`,
    );
  return v as EvalCheck[];
}

export function parseTurn(body: Record<string, unknown>): TurnRequest {
  onlyFields(body, TURN_FIELDS, "a turn body");
  if (typeof body.input !== "string") throw badRequest("'input' (the user's message, a string) is required");
  let user: UserInfo | undefined;
  if (body.user !== undefined) {
    const u = body.user as Record<string, unknown>;
    if (typeof u !== "object" || u === null || Array.isArray(u) || typeof u.id !== "string" || !u.id)
      throw badRequest(`'user' must be {"id": string, "name"?: string}`);
    onlyFields(u, ["id", "name"], "'user'");
    if (u.name !== undefined && typeof u.name !== "string") throw badRequest("'user.name' must be a string");
    user = { id: u.id, ...(u.name !== undefined ? { name: u.name as string } : {}) };
  }
  if (body.source !== undefined && typeof body.source !== "string")
    throw badRequest("'source' must be a string");
  const approve = body.approve ?? "ask";
  if (approve !== "all" && approve !== "none" && approve !== "ask")
    throw badRequest(`'approve' must be "all", "none" or "ask", not ${JSON.stringify(approve)}`);
  return {
    input: body.input,
    ...(body.eval !== undefined ? { eval: parseEvalTag(body.eval) } : {}),
    definition: body.definition === undefined ? undefined : checkDefinition(body.definition),
    user,
    source: body.source as string | undefined,
    script: body.script === undefined ? undefined : parseScript(body.script),
    approve,
  };
}

/** A whole-number parameter within [min, max]; one message for every way it can be wrong, with the range. */
function intParam(value: unknown, name: string, min = 0, max?: number): number | undefined {
  if (value === undefined || value === null) return undefined;
  const n = typeof value === "string" && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== "number" || !Number.isInteger(n) || n < min || (max !== undefined && n > max)) {
    const range = max !== undefined ? `from ${min} to ${max}` : `of ${min} or more`;
    const given = typeof value === "string" ? value : JSON.stringify(value);
    throw badRequest(
      `'${name}' must be an integer ${range}, not ${JSON.stringify(printable(given ?? "", true).slice(0, 40))}`,
    );
  }
  return n;
}

const MAX_EVENTS_PAGE = 1000;

/** Events after which a turn waits for its pending events to be committed (and streamed). */
const FLUSH_AFTER = new Set<string>(["policy.decision", "handoff", "turn.end", "session.end"]);

export class RuntimeService {
  /** Identifies this instance's leases. */
  readonly instance = `${process.pid}-${randomBytes(4).toString("hex")}`;
  private readonly running = new Set<{ done: Promise<void>; abort: AbortController }>();
  private closing = false;
  /** Events of all running turns go to the database together (groupCommit.ts). */
  readonly commits: GroupCommitter;
  /** Turn leases of all arriving turns are taken together too, and new sessions created together. */
  readonly claims: GroupClaimer;
  private readonly creates: GroupCreator;
  /** Definitions by hash: a session's never changes, and many sessions share one. */
  private readonly definitions = new Map<string, CompiledDefinition>();
  /** Sessions' state as of their last commit on this instance, so a turn need not reread its log. */
  readonly states = new StateCache();

  constructor(readonly c: ServiceConfig) {
    this.commits = new GroupCommitter(c.db, { concurrency: c.db.commitConcurrency, maxBatch: 256 });
    const batches = { concurrency: c.db.commitConcurrency, maxBatch: 256 };
    this.claims = new GroupClaimer(c.db.relaxed, this.instance, c.leaseMs, batches);
    this.creates = new GroupCreator(c.db.relaxed, this.instance, c.leaseMs, batches);
  }

  /** A claimed session row completed with its definition (cached by hash) and fork base when needed. */
  private async complete(light: LightSessionRow): Promise<SessionRow> {
    const { has_base, memory_rows, ...rest } = light;
    void memory_rows;
    const cached = this.definitions.get(light.hash);
    if (cached && !has_base) return { ...rest, definition: cached, base: null };
    const { definition, base } = await loadDefinition(this.c.db, light.sid);
    if (!cached) {
      // A few hundred definitions at most: the oldest goes first.
      if (this.definitions.size >= 256) this.definitions.delete(this.definitions.keys().next().value!);
      this.definitions.set(light.hash, definition);
    }
    return { ...rest, definition: cached ?? definition, base };
  }

  get busy(): boolean {
    return this.running.size > 0;
  }

  // ---- inspection ---------------------------------------------------------------

  private async session(actor: string, id: string): Promise<SessionRow> {
    const row = await getSession(this.c.db, actor, id);
    // Another actor's session is exactly as missing as one that never existed.
    if (!row) throw notFound(`there is no session '${id}' (for this token): list yours with GET /sessions`);
    return row;
  }

  async list(actor: string): Promise<SessionList> {
    return { sessions: (await listSessions(this.c.db, actor)).map(summary) };
  }

  async get(actor: string, id: string): Promise<SessionDetail> {
    const row = await this.session(actor, id);
    return { ...summary(row), start: await sessionStartOf(this.c.db, row.sid) };
  }

  async events(actor: string, id: string, after: unknown, limit: unknown): Promise<EventsPage> {
    const row = await this.session(actor, id);
    const a = intParam(after, "after") ?? 0;
    const l = intParam(limit, "limit", 1, MAX_EVENTS_PAGE) ?? MAX_EVENTS_PAGE;
    const events = await loadEvents(this.c.db, row.sid, { after: a, limit: l + 1 });
    const more = events.length > l;
    const page = events.slice(0, l);
    return { events: page, next: more ? page[page.length - 1].seq : null };
  }

  async snapshot(actor: string, id: string, turnValue: unknown): Promise<TurnSnapshot> {
    const row = await this.session(actor, id);
    const turn = intParam(turnValue, "turn");
    if (turn === undefined) throw badRequest("'turn' (the turn number) is required");
    const found = await loadEvents(this.c.db, row.sid, {
      types: ["context.snapshot", "memory.snapshot"],
      turn,
    });
    const context = found.filter((e): e is ContextSnapshotEvent => e.type === "context.snapshot").pop();
    const memory = found.filter((e): e is MemorySnapshotEvent => e.type === "memory.snapshot").pop();
    if (!context && !memory)
      throw notFound(
        `session '${id}' has no snapshot of turn ${turn}: it recorded ${row.turns ? `turns up to ${row.turns}` : "no turn yet"}`,
      );
    return { turn, context: context ?? null, memory: memory?.values ?? null };
  }

  // ---- fork, approvals, end, delete ------------------------------------------------

  async fork(actor: string, id: string, body: Record<string, unknown>): Promise<ForkResult> {
    onlyFields(body, ["turn"], "a fork body");
    const row = await this.session(actor, id);
    const turn = intParam(body.turn, "turn");
    if (turn === undefined) throw badRequest(`'turn' is required: {"turn": n} forks the state after turn n`);
    const first = row.base?.turn ?? 0;
    if (turn < first || turn > row.turns)
      throw badRequest(
        `'turn' must be between ${first} and ${row.turns}, the turns session '${id}' recorded`,
      );
    const state = await rebuildState(this.c.db, row, turn);
    const restore = {
      history: state.history,
      memory: state.memory,
      agent: state.agent,
      turn: state.turn,
      summary: state.summary,
    };
    const newId = newSessionId();
    const parent = { sessionId: id, turn };
    const [created] = await this.c.db.query<SessionRow>(
      `INSERT INTO sessions (actor, id, agent, definition, hash, backend, "user", source, parent, base, turns,
         lease_owner, lease_until)
       VALUES ($1, $2, $3, $4::json, $5, $6::json, $7::json, $8, $9::json, $10::json, $11, $12, now() + interval '1 minute')
       RETURNING ${SESSION_COLUMNS}`,
      [
        actor,
        newId,
        row.agent,
        JSON.stringify(row.definition),
        row.hash,
        JSON.stringify(row.backend),
        row.user ? JSON.stringify(row.user) : null,
        row.source,
        JSON.stringify(parent),
        JSON.stringify(restore),
        turn,
        this.instance,
      ],
    );
    try {
      const sink = new TurnSink({
        db: this.c.db,
        row: created,
        actor,
        owner: this.instance,
        leaseMs: this.c.leaseMs,
        memory: new PreloadedMemory(),
        resumed: false,
        askApprovals: false,
        onCommitted: () => {},
      });
      const recorder: ModelBackend = {
        name: row.backend.name,
        kind: row.backend.kind === "stateful" ? "stateful" : "stateless",
        provider: row.backend.provider,
        complete: () => Promise.reject(new BackendError("config", "a fork records its start only")),
      };
      await AgentSession.start({
        definition: row.definition,
        baseDir: this.c.baseDir,
        backend: recorder,
        backendName: row.backend.name,
        sink,
        sessionId: newId,
        user: row.user ?? undefined,
        source: row.source ?? undefined,
        parent,
        restore,
        hooks: { afterEvent: () => sink.flush() },
      });
    } catch (err) {
      await this.c.db.query("DELETE FROM sessions WHERE sid = $1", [created.sid]);
      throw err;
    } finally {
      await releaseLease(this.c.db, created.sid, this.instance);
    }
    return { sessionId: newId, parent };
  }

  async approve(actor: string, id: string, callId: string, body: Record<string, unknown>) {
    onlyFields(body, ["approved"], "an approval body");
    if (typeof body.approved !== "boolean") throw badRequest(`'approved' (true or false) is required`);
    const row = await this.session(actor, id);
    const [hit] = await this.c.db.query(
      `UPDATE approvals SET approved = $3, decided_by = $4, decided_at = now()
       WHERE sid = $1 AND call_id = $2 AND approved IS NULL RETURNING call_id`,
      [row.sid, callId, body.approved, actor],
    );
    if (hit) return { ok: true };
    const [past] = await this.c.db.query<{ approved: boolean; decided_by: string }>(
      "SELECT approved, decided_by FROM approvals WHERE sid = $1 AND call_id = $2",
      [row.sid, callId],
    );
    if (past)
      throw conflict(
        `tool call '${callId}' of session '${id}' was already ${past.approved ? "approved" : "refused"} by ${past.decided_by}`,
      );
    throw notFound(
      `session '${id}' has no tool call '${callId}' waiting for approval (a turn run with "approve": "ask" waits after a policy.decision event with decision "approval")`,
    );
  }

  /** Ends a session: `scores` (an eval case run's checks) are committed as eval.score events first. */
  async end(actor: string, id: string, scores?: unknown) {
    const checks = parseScores(scores);
    const row = await this.session(actor, id);
    if (row.ended) throw conflict(`session '${id}' has already ended`);
    const held = await claimLease(this.c.db, row.sid, this.instance, this.c.leaseMs);
    if (!held) throw conflict(`session '${id}' is running a turn; end it once the turn is done`);
    try {
      await closeInterruptedTurn(this.c.db, held, this.instance, this.c.leaseMs);
      const state = await rebuildState(this.c.db, held);
      const ts = new Date().toISOString();
      const evalScores: SessionEvent[] = checks.map((c, i) => ({
        ...c,
        seq: held.last_seq + 1 + i,
        ts,
        type: "eval.score",
      }));
      const event: SessionEvent = {
        seq: held.last_seq + 1 + checks.length,
        ts,
        type: "session.end",
        status: "ok",
        turns: held.turns,
        usage: state.usage,
      };
      await this.c.db.tx((q) =>
        commitEvents(q, {
          sid: held.sid,
          owner: this.instance,
          leaseMs: this.c.leaseMs,
          events: [...evalScores, event],
        }),
      );
      return { ok: true, event };
    } finally {
      await releaseLease(this.c.db, row.sid, this.instance);
    }
  }

  async delete(actor: string, id: string) {
    const row = await this.session(actor, id);
    const deleted = await this.c.db.query(
      `DELETE FROM sessions WHERE sid = $1 AND (lease_until IS NULL OR lease_until < now()) RETURNING sid`,
      [row.sid],
    );
    if (!deleted.length) throw conflict(`session '${id}' is running a turn; delete it once the turn is done`);
  }

  // ---- turns ------------------------------------------------------------------------

  /**
   * Runs one turn and streams its committed events. Refusals before the first
   * event throw HttpError (a JSON error, nothing stored); failures after it are
   * an `error` event.
   */
  async turn(
    actor: string,
    id: string,
    body: Record<string, unknown>,
    idempotencyKey: string | undefined,
    stream: SseStream,
    telemetry?: TurnTelemetry,
  ): Promise<void> {
    if (this.closing)
      throw new HttpError("conflict", "the service is shutting down; retry on another instance");
    const req = parseTurn(body);
    if (idempotencyKey !== undefined && (!idempotencyKey || idempotencyKey.length > 256))
      throw badRequest("the Idempotency-Key header must be 1 to 256 characters");
    // What a retry with the same key must repeat exactly.
    const requestHash = idempotencyKey
      ? createHash("sha256")
          .update(JSON.stringify([id, body]))
          .digest("hex")
      : "";
    if (idempotencyKey) {
      const [seen] = await this.c.db.query<{
        sid: number;
        turn: number;
        first_seq: number;
        request_hash: string;
      }>("SELECT sid, turn, first_seq, request_hash FROM idempotency WHERE actor = $1 AND key = $2", [
        actor,
        idempotencyKey,
      ]);
      if (seen) {
        const known = await getSession(this.c.db, actor, id);
        if (!known || seen.sid !== known.sid || seen.request_hash !== requestHash)
          throw conflict(
            `the Idempotency-Key '${idempotencyKey}' was already used for another request; use a new key for a new turn`,
          );
        return this.replay(known, seen.turn, seen.first_seq, idempotencyKey, actor, stream);
      }
    }

    let resumed = true;
    // Set below: with the creation (a definition sent), or once the lease is taken.
    let inference!: ReturnType<typeof inferenceBackend>;
    let row: SessionRow;
    // The stored memory rows the session's user and entry agent own, read with the lease (one round trip).
    let memoryRows: NonNullable<LightSessionRow["memory_rows"]>;
    // A request with a definition starts a session (clients send it with the first turn only): try to
    // create the session, with its lease taken, before anything else.
    let created: LightSessionRow | undefined;
    if (req.definition) {
      inference = this.backendFor(req.definition, req);
      created = await this.creates.create({
        actor,
        id,
        definition: req.definition,
        backend: this.backendSummary(req.definition, inference.backend),
        user: req.user ?? null,
        source: req.source ?? null,
      });
    }
    if (created) {
      const def = req.definition!;
      this.definitions.set(def.hash, def);
      const { has_base, memory_rows, ...rest } = created;
      void has_base;
      memoryRows = memory_rows ?? [];
      row = { ...rest, definition: def, base: null };
      resumed = false;
    } else {
      // Take the turn lease, reading the session row and its stored memory with it.
      const claimed = await this.claims.claim(actor, id);
      if (!claimed) {
        // It exists and runs a turn (or was created by another invocation at this moment), or it does not exist.
        if (req.definition || (await getSession(this.c.db, actor, id))) throw this.running409(id);
        throw notFound(
          `there is no session '${id}' (for this token); the first invocation of a session must carry its compiled 'definition'`,
        );
      }
      try {
        if (req.definition && req.definition.hash !== claimed.hash)
          throw conflict(
            `session '${id}' runs definition ${shortHash(claimed.hash)}, and this request carries ${shortHash(req.definition.hash)}: ` +
              `a session keeps the definition it started with; start a new session (or fork) to run the changed agent`,
          );
        if (claimed.ended) throw conflict(`session '${id}' has ended; start a new session or fork this one`);
        row = await this.complete(claimed);
        memoryRows = claimed.memory_rows ?? [];
        inference = this.backendFor(row.definition, req);
      } catch (err) {
        await releaseLease(this.c.db.relaxed, claimed.sid, this.instance);
        throw err;
      }
    }
    const abort = new AbortController();
    let finish!: () => void;
    const entry = { done: new Promise<void>((r) => (finish = r)), abort };
    this.running.add(entry);
    const heartbeat = setInterval(
      () => void renewLease(this.c.db.relaxed, row.sid, this.instance, this.c.leaseMs).catch(() => {}),
      Math.max(50, Math.floor(this.c.leaseMs / 3)),
    );
    let mcp: McpPool | undefined;
    let sink: TurnSink | undefined;
    let session: AgentSession | undefined;
    // The state the session's log gives before this turn, and after it once every event is committed.
    let logState: SessionState | undefined;
    try {
      if (resumed) {
        const closed = await closeInterruptedTurn(this.c.db, row, this.instance, this.c.leaseMs);
        if (closed) stream.send(closed.type, closed, closed.seq);
      }
      if (idempotencyKey) {
        const [mine] = await this.c.db.query(
          `INSERT INTO idempotency (actor, key, sid, turn, first_seq, request_hash) VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (actor, key) DO NOTHING RETURNING key`,
          [actor, idempotencyKey, row.sid, row.turns + 1, row.last_seq + 1, requestHash],
        );
        if (!mine)
          throw conflict(`the Idempotency-Key '${idempotencyKey}' is being used by a concurrent request`);
      }
      logState = resumed
        ? (this.states.get(row.sid, row.last_seq) ?? (await rebuildState(this.c.db, row)))
        : initialState(row);
      const state = resumed ? copyState(logState) : undefined;
      const def = row.definition;
      const memory = PreloadedMemory.from(memoryRows, def, row.user);
      if (state) {
        // Memory that outlives the session lives in the database: start from its latest values.
        const spec = def.agents[state.agent]?.memory
          ? def.memories[def.agents[state.agent].memory!]
          : undefined;
        const owner = spec && memoryOwner(def, spec.scope, row.user);
        const stored = spec && owner ? memory.load(spec.name, owner) : undefined;
        if (spec && stored)
          for (const [k, v] of Object.entries(stored)) if (k in spec.fields) state.memory[k] = v;
      }
      const turnSink = (sink = new TurnSink({
        db: this.c.db,
        commit: (o) => this.commits.commit(o),
        row,
        actor,
        owner: this.instance,
        leaseMs: this.c.leaseMs,
        memory,
        resumed,
        askApprovals: req.approve === "ask",
        releaseWithTurnEnd: true,
        onCommitted: (events, json) => {
          events.forEach((e, i) => stream.sendJson(e.type, json[i], e.seq));
          telemetry?.committed(events);
        },
        ...(telemetry ? { onCommitSeconds: (s: number) => telemetry.commitSeconds(s) } : {}),
      }));
      // Out of the queue: the turn holds its session's lease and state, and runs now.
      telemetry?.running({ sessionId: id, agent: row.agent, backend: row.backend, definition: def });
      if (req.script && inference.local) inference.local.enqueue(...req.script);
      if (Object.keys(def.mcpServers).length) mcp = new McpPool(def.mcpServers, this.c.baseDir, this.c.env);
      session = await AgentSession.start({
        definition: def,
        baseDir: this.c.baseDir,
        backend: inference.backend,
        backendName: row.backend.name,
        sink: turnSink,
        sessionId: id,
        env: this.c.env,
        user: row.user ?? undefined,
        source: row.source ?? undefined,
        ...(req.eval ? { eval: req.eval } : {}),
        approver: makeApprover({
          db: this.c.db,
          sid: row.sid,
          mode: req.approve,
          timeoutMs: this.c.approvalTimeoutMs,
          pollMs: this.c.pollMs,
          signal: abort.signal,
        }),
        memoryStore: memory,
        mcp: mcp?.call,
        // user_token("name") resolves to this actor's user's token in the vault, never another actor's.
        ...(this.c.vault ? { userTokens: this.c.vault.userTokens(actor) } : {}),
        onText: (delta) => turnSink.afterStreamed(() => stream.send("text", { delta })),
        signal: abort.signal,
        trusted: true,
        // Committed in batches at the points a client waits on: before a tool runs, an approval, a
        // handoff and the turn's end the turn waits for the commit; a model call does not (its
        // request is committed while the model works, or with its answer when that comes in the
        // same tick). Each event is still streamed only once it is committed.
        hooks: {
          afterEvent: (e) =>
            FLUSH_AFTER.has(e.type)
              ? turnSink.flush()
              : e.type === "model.request"
                ? turnSink.flushSoon()
                : undefined,
        },
        restore: state
          ? {
              history: state.history,
              memory: state.memory,
              agent: state.agent,
              turn: state.turn,
              summary: state.summary,
            }
          : undefined,
      });
      if (state) {
        session.usage.inputTokens = state.usage.inputTokens;
        session.usage.outputTokens = state.usage.outputTokens;
        session.toolCalls = state.toolCalls;
      }
      const result = await session.send(req.input);
      await turnSink.flush();
      // The log's state after this turn, kept for the session's next turn on this instance.
      this.states.set(
        row.sid,
        row.last_seq,
        applyEvents(logState, turnSink.committed, { forked: row.base !== null, countTools: true }),
      );
      logState = undefined;
      if (idempotencyKey)
        await this.c.db.query("UPDATE idempotency SET status = $3 WHERE actor = $1 AND key = $2", [
          actor,
          idempotencyKey,
          result.status,
        ]);
      stream.send("done", {
        turn: result.turn,
        status: result.status,
        ...(result.reason ? { reason: result.reason } : {}),
      });
    } finally {
      // Not saved (a failure before the turn's last commit): the next turn reads the log.
      if (logState) this.states.drop(row.sid);
      clearInterval(heartbeat);
      await mcp?.close().catch(() => {});
      await session?.release().catch(() => {});
      if (!sink?.released) await releaseLease(this.c.db.relaxed, row.sid, this.instance).catch(() => {});
      this.running.delete(entry);
      finish();
    }
  }

  private running409(id: string): HttpError {
    return conflict(
      `session '${id}' is running another turn; wait for it to finish (its events stream to the invocation that started it) and send this one again`,
    );
  }

  private backendFor(def: CompiledDefinition, req: TurnRequest) {
    const spec = def.backends[def.agents[def.agent].backend];
    let inference;
    try {
      inference = inferenceBackend(spec, this.c.env);
    } catch (err) {
      if (err instanceof BackendError) throw badRequest(err.message);
      throw err;
    }
    if (req.script && !inference.local)
      throw badRequest(
        `'script' plays back scripted inference on a backend with provider local; backend '${spec.name}' uses provider ${spec.provider}`,
      );
    return inference;
  }

  private backendSummary(def: CompiledDefinition, backend: ModelBackend) {
    const spec = def.backends[def.agents[def.agent].backend];
    const model = def.agents[def.agent].model ?? spec.model;
    return { name: spec.name, kind: backend.kind, provider: backend.provider, ...(model ? { model } : {}) };
  }

  /** A retried invocation: stream what the first one recorded (following it while it still runs). */
  private async replay(
    row: SessionRow,
    turn: number,
    firstSeq: number,
    key: string,
    actor: string,
    stream: SseStream,
  ): Promise<void> {
    let after = firstSeq - 1;
    for (;;) {
      const events = await loadEvents(this.c.db, row.sid, { after, limit: 500 });
      for (const e of events) {
        stream.send(e.type, e, e.seq);
        after = e.seq;
        if (e.type === "turn.end" && e.turn === turn) {
          stream.send("done", { turn, status: e.status, ...(e.reason ? { reason: e.reason } : {}) });
          return;
        }
      }
      if (events.length) continue;
      const [idem] = await this.c.db.query<{ status: string | null }>(
        "SELECT status FROM idempotency WHERE actor = $1 AND key = $2",
        [actor, key],
      );
      if (idem?.status) {
        stream.send("done", { turn, status: idem.status });
        return;
      }
      // Still running elsewhere, or its instance died: close the turn once the lease has expired.
      const held = await claimLease(this.c.db, row.sid, this.instance, this.c.leaseMs);
      if (held) {
        try {
          await closeInterruptedTurn(this.c.db, held, this.instance, this.c.leaseMs);
        } finally {
          await releaseLease(this.c.db, row.sid, this.instance);
        }
        continue;
      }
      if (!stream.open || this.closing) return;
      await new Promise((r) => setTimeout(r, this.c.pollMs));
    }
  }

  /** Turns left unfinished by a dead instance whose lease has expired are closed as interrupted. */
  async recover(): Promise<number> {
    const rows = await this.c.db.query<{ sid: number }>(
      `SELECT sid FROM sessions WHERE open_turn IS NOT NULL AND (lease_until IS NULL OR lease_until < now())`,
    );
    let n = 0;
    for (const { sid } of rows) {
      const held = await claimLease(this.c.db, sid, this.instance, this.c.leaseMs);
      if (!held) continue;
      try {
        if (await closeInterruptedTurn(this.c.db, held, this.instance, this.c.leaseMs)) n++;
      } finally {
        await releaseLease(this.c.db, sid, this.instance);
      }
    }
    return n;
  }

  /** Stops taking turns, cancels running ones (their ends are recorded) and waits for them. */
  async shutdown(): Promise<void> {
    this.closing = true;
    for (const r of this.running) r.abort.abort();
    await Promise.all([...this.running].map((r) => r.done));
  }
}

export const defaultDataDir = () => path.join(".statecraft", "runtime");
