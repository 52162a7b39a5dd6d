// One turn of a session in the service: rebuild the session from the store,
// run the engine, commit every event before it is streamed, keep the turn
// lease alive, and answer approvals from the database (so any instance's
// POST reaches the waiting turn).

import { createBackend } from "../backends";
import {
  definitionHash,
  type CompiledBackend,
  type CompiledDefinition,
  type Json,
} from "../language/compile";
import { AgentSession, type ApprovalAnswer, type ApprovalRequest } from "../runtime/engine";
import type { NewEvent, SessionEvent, UserInfo } from "../protocol/events";
import type { MemoryStore } from "../runtime/memoryStore";
import { BackendError, type ModelBackend, type ScriptedModel, type ScriptStep } from "../runtime/model";
import type { EventSink } from "../runtime/sessionLog";
import type { Db } from "./db";
import { badRequest } from "./http";
import { commitEvents, type CommitOptions, type SessionRow } from "./store";

/** The model backend a turn runs on, plus its script when it plays one back (provider local). */
export interface InferenceBackend {
  backend: ModelBackend;
  local?: ScriptedModel;
}

/**
 * The service is the runtime: a `kind: stateful` backend's endpoint names this
 * service, so inference goes straight to the provider (local script, Bedrock),
 * while the session records the declared backend.
 */
export function inferenceBackend(spec: CompiledBackend, env: NodeJS.ProcessEnv): InferenceBackend {
  const direct: CompiledBackend =
    spec.kind === "stateful" ? { ...spec, kind: "stateless", endpoint: undefined } : spec;
  const inner = createBackend(direct, { env });
  const backend: ModelBackend = {
    name: spec.name,
    kind: spec.kind,
    provider: inner.provider,
    complete: (r) => inner.complete(r),
    ...(inner.summarize ? { summarize: (t: string, s?: AbortSignal) => inner.summarize!(t, s) } : {}),
  };
  return { backend, local: inner.scripted };
}

/** The owner key of a memory that outlives sessions, as the engine computes it. */
export function memoryOwner(
  def: CompiledDefinition,
  scope: string,
  user: UserInfo | null | undefined,
): string | undefined {
  if (scope === "user") return `user:${user?.id ?? "anonymous"}`;
  if (scope === "agent") return `agent:${def.agent}`;
  return undefined;
}

type MemoryRow = { memory: string; owner: string; values: Record<string, Json> };

/**
 * The engine's MemoryStore is synchronous: the memories a turn can touch are
 * loaded before it, and what it saves is written with the next committed events.
 */
export class PreloadedMemory implements MemoryStore {
  private readonly values = new Map<string, Record<string, Json>>();
  readonly dirty = new Map<string, { memory: string; owner: string; values: Record<string, Json> }>();

  /** From memory rows read already (with the turn lease, store.ts): those of the definition's memories. */
  static from(rows: MemoryRow[], def: CompiledDefinition, user: UserInfo | null | undefined) {
    const store = new PreloadedMemory();
    const wanted = new Set(PreloadedMemory.keys(def, user).map(([m, o]) => `${m}\0${o}`));
    for (const r of rows)
      if (wanted.has(`${r.memory}\0${r.owner}`)) store.values.set(`${r.memory}\0${r.owner}`, r.values);
    return store;
  }

  private static keys(def: CompiledDefinition, user: UserInfo | null | undefined): [string, string][] {
    const keys: [string, string][] = [];
    for (const m of Object.values(def.memories ?? {})) {
      const owner = memoryOwner(def, m.scope, user);
      if (owner) keys.push([m.name, owner]);
    }
    return keys;
  }

  load(memory: string, owner: string): Record<string, Json> | undefined {
    const v = this.values.get(`${memory}\0${owner}`);
    return v ? structuredClone(v) : undefined;
  }

  save(memory: string, owner: string, values: Record<string, Json>): void {
    const copy = structuredClone(values);
    this.values.set(`${memory}\0${owner}`, copy);
    this.dirty.set(`${memory}\0${owner}`, { memory, owner, values: copy });
  }
}

export interface TurnSinkOptions {
  db: Db;
  /** How events are committed (default: alone, on `db`); the service's GroupCommitter batches them. */
  commit?: (o: CommitOptions) => Promise<void>;
  row: SessionRow;
  actor: string;
  owner: string;
  leaseMs: number;
  memory: PreloadedMemory;
  /** A resumed session: the engine's session.start is already in the log. */
  resumed: boolean;
  /** With approve "ask", an approval decision opens a pending approval row with the event. */
  askApprovals: boolean;
  /** Called with each commit's latency (the service's commit metric). */
  onCommitSeconds?: (seconds: number) => void;
  /** Called with committed events, in order (in parts, around text deltas), and the JSON text of each. */
  onCommitted: (events: SessionEvent[], json: string[]) => void;
  /** Give the turn lease back with the commit of turn.end (saves a round trip per turn). */
  releaseWithTurnEnd?: boolean;
}

/**
 * Numbers events after the log's last one and holds them until they are committed, then hands
 * them to the stream (in order: one commit of a turn in flight at a time). `flush()` commits what
 * is pending and waits for it; `flushSoon()` commits it once the current tick's work is done
 * without making the turn wait, so events recorded in the same tick (a request and the answer of
 * a model that replies at once) go in one commit.
 */
export class TurnSink implements EventSink {
  private seq: number;
  private pending: SessionEvent[] = [];
  private skipStart: boolean;
  readonly committed: SessionEvent[] = [];
  private inFlight = false;
  private soon = false;
  /** A commit's error: every later flush fails with it (the turn cannot go on). */
  private failure: { error: unknown } | undefined;
  private waiters: { seq: number; resolve: () => void; reject: (err: unknown) => void }[] = [];
  /** What must reach the stream right after the event `seq` (text deltas of a model call). */
  private followers: { seq: number; send: () => void }[] = [];

  constructor(private readonly o: TurnSinkOptions) {
    this.seq = o.row.last_seq;
    this.skipStart = o.resumed;
  }

  append(event: NewEvent): SessionEvent {
    if (this.skipStart && event.type === "session.start") {
      this.skipStart = false;
      return { seq: 0, ts: new Date().toISOString(), ...event } as SessionEvent;
    }
    const full = { seq: ++this.seq, ts: new Date().toISOString(), ...event } as SessionEvent;
    this.pending.push(full);
    return full;
  }

  /**
   * Sends `send` (a text delta) to the stream right after the events appended so far, once they are
   * committed and streamed; at once when they are. A model's text never comes before its request.
   */
  afterStreamed(send: () => void): void {
    if (this.failure) return;
    if (this.seq <= this.o.row.last_seq) send();
    else this.followers.push({ seq: this.seq, send });
  }

  /** True once a commit gave the turn lease back (with the turn's end). */
  released = false;

  /** Commits every event appended so far; resolves once they are committed (and streamed). */
  flush(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure.error);
    if (this.seq <= this.o.row.last_seq) return Promise.resolve();
    const seq = this.seq;
    const wait = new Promise<void>((resolve, reject) => this.waiters.push({ seq, resolve, reject }));
    this.pump();
    return wait;
  }

  /**
   * Commits what is pending once this tick's work is done, without waiting for it. Called again
   * before that (a turn that goes on without yielding: a model that answers at once, and another
   * call), it waits for the commit instead, so a long turn still streams as it goes and lets the
   * service read other requests.
   */
  flushSoon(): Promise<void> | undefined {
    if (this.soon) return this.flush();
    if (this.failure) return undefined;
    this.soon = true;
    setImmediate(() => {
      this.soon = false;
      this.pump();
    });
    return undefined;
  }

  private pump(): void {
    if (this.inFlight || !this.pending.length || this.failure) return;
    const events = this.pending;
    this.pending = [];
    this.inFlight = true;
    this.commit(events).then(
      () => {
        this.inFlight = false;
        const seq = events[events.length - 1].seq;
        this.waiters = this.waiters.filter((w) => (w.seq <= seq ? (w.resolve(), false) : true));
        this.pump();
      },
      (error: unknown) => {
        this.inFlight = false;
        this.failure = { error };
        for (const w of this.waiters) w.reject(error);
        this.waiters = [];
      },
    );
  }

  private async commit(events: SessionEvent[]): Promise<void> {
    const { row, owner, leaseMs, memory, actor } = this.o;
    const approvals = this.o.askApprovals
      ? events.flatMap((e) =>
          e.type === "policy.decision" && e.decision === "approval"
            ? [{ callId: e.callId, turn: e.turn, tool: e.tool }]
            : [],
        )
      : [];
    const release = this.o.releaseWithTurnEnd === true && events.some((e) => e.type === "turn.end");
    // Memory saved from here on goes with the next commit.
    const dirty = [...memory.dirty.values()].map((d) => ({ actor, ...d }));
    memory.dirty.clear();
    const commit = this.o.commit ?? ((c: CommitOptions) => commitEvents(this.o.db, c));
    const eventJson = events.map((e) => JSON.stringify(e));
    const t0 = performance.now();
    await commit({ sid: row.sid, owner, leaseMs, events, eventJson, memory: dirty, approvals, release });
    this.o.onCommitSeconds?.((performance.now() - t0) / 1000);
    if (release) this.released = true;
    row.last_seq = events[events.length - 1].seq;
    this.committed.push(...events);
    // Streamed in order: each event, then what follows it.
    let from = 0;
    while (from < events.length) {
      const next = this.followers[0];
      const upTo = next ? events.findIndex((e) => e.seq === next.seq) : -1;
      const end = upTo >= 0 ? upTo + 1 : events.length;
      this.o.onCommitted(events.slice(from, end), eventJson.slice(from, end));
      from = end;
      while (this.followers.length && this.followers[0].seq <= events[end - 1].seq)
        this.followers.shift()!.send();
    }
  }
}

export type ApproveMode = "all" | "none" | "ask";

export interface ApproverOptions {
  db: Db;
  sid: number;
  mode: ApproveMode;
  timeoutMs: number;
  pollMs: number;
  signal: AbortSignal;
}

/** Answers approval requests: at once for all/none, else from the approvals table within a bounded wait. */
export function makeApprover(
  o: ApproverOptions,
): (req: ApprovalRequest) => Promise<boolean | ApprovalAnswer> {
  return async (req) => {
    if (o.mode !== "ask") return o.mode === "all";
    const deadline = Date.now() + o.timeoutMs;
    for (;;) {
      const [row] = await o.db.query<{ approved: boolean | null; decided_by: string | null }>(
        "SELECT approved, decided_by FROM approvals WHERE sid = $1 AND call_id = $2",
        [o.sid, req.callId],
      );
      // The log names who answered: the actor whose token posted the answer.
      if (row && row.approved !== null) return { approved: row.approved, by: row.decided_by ?? "unknown" };
      if (o.signal.aborted || Date.now() >= deadline) {
        // Refused: record why, so a late POST gets a clear answer instead of changing the past.
        const by = o.signal.aborted
          ? "service (shutting down)"
          : `service (no answer within ${o.timeoutMs} ms)`;
        await o.db.query(
          `UPDATE approvals SET approved = false, decided_by = $3, decided_at = now()
           WHERE sid = $1 AND call_id = $2 AND approved IS NULL`,
          [o.sid, req.callId, by],
        );
        return { approved: false, by };
      }
      await new Promise((r) => setTimeout(r, o.pollMs));
    }
  };
}

/** Script steps of a TURN body, validated: [{"reply"} | {"call", "input"} | {"handoff"}]. */
export function parseScript(value: unknown): ScriptStep[] {
  if (!Array.isArray(value))
    throw badRequest(
      `'script' must be an array of steps: {"reply": text} | {"call": tool, "input": {...}} | {"handoff": agent}`,
    );
  return value.map((s: unknown, i) => {
    const step = (typeof s === "object" && s !== null && !Array.isArray(s) ? s : {}) as Record<
      string,
      unknown
    >;
    const keys = Object.keys(step).sort().join(",");
    if (keys === "reply" && typeof step.reply === "string") return { kind: "reply", text: step.reply };
    if ((keys === "call" || keys === "call,input") && typeof step.call === "string") {
      const input = step.input ?? {};
      if (typeof input !== "object" || input === null || Array.isArray(input))
        throw badRequest(`script step ${i + 1}: 'input' must be a JSON object`);
      return { kind: "call", tool: step.call, input: input as Json };
    }
    if (keys === "handoff" && typeof step.handoff === "string")
      return { kind: "handoff", agent: step.handoff };
    throw badRequest(
      `script step ${i + 1} must be {"reply": "..."}, {"call": "tool", "input": {...}} or {"handoff": "agent"}`,
    );
  });
}

/** Enough of a compiled definition's shape to run it without crashing on a malformed one. */
/** A definition hash as people compare them: 12 hex digits, without the `sha256:` prefix. */
export const shortHash = (hash: string) => hash.replace(/^sha256:/, "").slice(0, 12);

export function checkDefinition(value: unknown): CompiledDefinition {
  const bad = (what: string) =>
    badRequest(
      `'definition' is not a compiled agent definition: ${what}. Send the output of \`statecraft compile FILE\``,
    );
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw bad("it must be a JSON object");
  const d = value as Record<string, unknown>;
  const obj = (k: string) => typeof d[k] === "object" && d[k] !== null && !Array.isArray(d[k]);
  if (typeof d.hash !== "string" || !d.hash) throw bad("'hash' is missing");
  if (typeof d.agent !== "string") throw bad("'agent' (the entry agent) is missing");
  for (const k of ["agents", "tools", "contexts", "memories", "backends", "mcpServers"])
    if (!obj(k)) throw bad(`'${k}' must be an object`);
  const def = value as CompiledDefinition;
  if (!def.agents[def.agent]) throw bad(`the entry agent '${def.agent}' is not in 'agents'`);
  for (const [name, a] of Object.entries(def.agents)) {
    if (typeof a !== "object" || a === null) throw bad(`agent '${name}' must be an object`);
    if (!def.backends[a.backend])
      throw bad(`agent '${name}' names backend '${a.backend}', not in 'backends'`);
    if (typeof a.instructions !== "string" || !Array.isArray(a.tools) || !Array.isArray(a.handoffs))
      throw bad(`agent '${name}' lacks instructions, tools or handoffs`);
    if (typeof a.policy !== "object" || a.policy === null) throw bad(`agent '${name}' lacks its policy`);
  }
  // The hash names what runs (sessions, events, replays): an edited definition sent under its old hash is refused.
  // One equal to a definition checked before (every session of an agent sends the same) is not hashed again.
  const known = verified.get(def.hash);
  if (known && sameJson(known, def)) return def;
  const actual = definitionHash(def);
  if (actual !== def.hash)
    throw bad(
      `its content hashes to ${shortHash(actual)}, not to the 'hash' it carries (${shortHash(def.hash)}): it was changed after it was compiled`,
    );
  if (verified.size >= 256) verified.delete(verified.keys().next().value!);
  verified.set(def.hash, def);
  return def;
}

/** Definitions whose content matched their hash, by hash (the latest few hundred). */
const verified = new Map<string, CompiledDefinition>();

/** Whether two values parsed from JSON are the same JSON (objects' key order aside). */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameJson(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) {
    if (!Object.prototype.hasOwnProperty.call(b, k)) return false;
    if (!sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  }
  return true;
}

export { AgentSession, BackendError };
