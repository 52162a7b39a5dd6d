// Replay and fork over recorded sessions. Exact replay re-runs the current
// definition with model and tool results taken from the log (a cassette) and
// reports the first request that differs from what was recorded; live replay
// sends the recorded inputs again as a new session and compares the two;
// fork restores the state at turn N into a new session.

import type { CompiledDefinition, Json } from "../language/compile";
import {
  AgentSession,
  type ApprovalRequest,
  type EngineHooks,
  type EngineOptions,
  type MockProvider,
} from "./engine";
import { SET_FAILED, setPath } from "./jsonPath";
import type {
  ContextSnapshotEvent,
  ManualEditEvent,
  Message,
  ModelResponseEvent,
  SessionEvent,
  SessionStartEvent,
  ToolResultEvent,
  TurnEndEvent,
  TurnStartEvent,
} from "../protocol/events";
import { InMemoryStore } from "./memoryStore";
import { BackendError, type ModelBackend, type ModelRequest, type ModelResponse } from "./model";
import { MemorySink } from "./sessionLog";
import type { ToolOutcome } from "./tools";

export class ReplayError extends Error {}

export function sessionStart(events: SessionEvent[]): SessionStartEvent {
  const start = events.find((e): e is SessionStartEvent => e.type === "session.start");
  if (!start) throw new ReplayError("the log has no session.start event: it is not a Statecraft session log");
  return start;
}

export function inputsOf(events: SessionEvent[]): string[] {
  return events.filter((e): e is TurnStartEvent => e.type === "turn.start").map((e) => e.input);
}

/** A backend that answers with the recorded model responses, in order. */
export class CassetteBackend implements ModelBackend {
  readonly provider: string;
  private next = 0;
  constructor(
    private readonly responses: ModelResponseEvent[],
    readonly name: string,
    readonly kind: "stateless" | "stateful",
    provider = "replay",
  ) {
    this.provider = provider;
  }
  get used(): number {
    return this.next;
  }
  get remaining(): number {
    return this.responses.length - this.next;
  }
  complete(request: ModelRequest): Promise<ModelResponse> {
    const r = this.responses[this.next++];
    if (!r)
      return Promise.reject(
        new BackendError(
          "script",
          `the recording has no model response for this call (it recorded ${this.responses.length})`,
        ),
      );
    if (r.text && request.onText) request.onText(r.text);
    return Promise.resolve({
      text: r.text,
      toolCalls: r.toolCalls,
      usage: r.usage,
      stopReason: r.stopReason,
    });
  }
}

/** Recorded tool results by call id: a replay never runs a tool. */
function toolCassette(events: SessionEvent[]): (callId: string) => ToolOutcome | undefined {
  const byId = new Map<string, ToolResultEvent>();
  for (const e of events) if (e.type === "tool.result") byId.set(e.callId, e);
  return (callId) => {
    const r = byId.get(callId);
    if (!r) return undefined;
    return r.ok ? { ok: true, output: r.output ?? null } : { ok: false, error: r.error ?? "failed" };
  };
}

/** JSON with object keys sorted, so that two inputs compare equal whatever order a model wrote them in. */
function canonical(v: Json): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v && typeof v === "object")
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`)
      .join(",")}}`;
  return JSON.stringify(v);
}

/**
 * Tool results for a live replay that must not repeat side effects: a call answers with the recorded
 * result of the same tool with the same input (each recorded result used once, in order); a call the
 * recording does not have fails, and says how to run tools for real.
 */
export function recordedToolResults(events: SessionEvent[]): MockProvider {
  const inputs = new Map<string, Json>();
  const results = new Map<string, ToolOutcome[]>();
  for (const e of events) {
    if (e.type === "tool.call") inputs.set(e.callId, e.input);
    if (e.type !== "tool.result" || !inputs.has(e.callId)) continue;
    const key = `${e.tool} ${canonical(inputs.get(e.callId)!)}`;
    const outcome: ToolOutcome = e.ok
      ? { ok: true, output: e.output ?? null }
      : { ok: false, error: e.error ?? "failed" };
    results.set(key, [...(results.get(key) ?? []), outcome]);
  }
  return (tool, input) =>
    results.get(`${tool} ${canonical(input)}`)?.shift() ?? {
      ok: false,
      error: `the recording has no result of ${tool} for this input, and a live replay does not run tools unless --live-tools is given`,
    };
}

export interface Difference {
  path: string;
  recorded: unknown;
  now: unknown;
}

/** The first place two JSON values differ, as a readable path. */
export function firstDifference(a: unknown, b: unknown, path = ""): Difference | undefined {
  if (a === b) return undefined;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== "object") {
    return JSON.stringify(a) === JSON.stringify(b)
      ? undefined
      : { path: path || "(value)", recorded: a, now: b };
  }
  if (Array.isArray(a) !== Array.isArray(b)) return { path, recorded: a, now: b };
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      if (i >= a.length || i >= b.length) return { path: `${path}[${i}]`, recorded: a[i], now: b[i] };
      const d = firstDifference(a[i], b[i], `${path}[${i}]`);
      if (d) return d;
    }
    return undefined;
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(ao), ...Object.keys(bo)])].filter(
    (k) => ao[k] !== undefined || bo[k] !== undefined,
  );
  for (const k of keys) {
    const d = firstDifference(ao[k], bo[k], path ? `${path}.${k}` : k);
    if (d) return d;
  }
  return undefined;
}

export interface Divergence {
  turn: number;
  step: number;
  /** What differs, e.g. `messages[0].content` or `tools[1].parameters.properties.amount.type`. */
  difference: Difference;
  summary: string;
}

export interface ExactReplayResult {
  matched: boolean;
  turns: number;
  requests: number;
  divergence?: Divergence;
  /** The definition hash recorded and the one replayed. */
  recordedHash: string;
  currentHash: string;
  /** A turn the log starts but never ends (the run was interrupted): not replayed. */
  unfinishedTurn?: number;
}

const clip = (v: unknown, n = 160) => {
  const s = typeof v === "string" ? v : JSON.stringify(v);
  return s === undefined ? "nothing" : s.length > n ? `${s.slice(0, n)}…` : s;
};

/** Shows the neighbourhood of the first differing character of two strings, quoted and escaped so it stays on one line. */
function stringDiff(a: string, b: string): string {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  const from = Math.max(0, i - 30);
  const around = (s: string) =>
    JSON.stringify(`${from > 0 ? "…" : ""}${s.slice(from, i + 50)}${i + 50 < s.length ? "…" : ""}`);
  return `at character ${i}: recorded ${around(a)}, now ${around(b)}`;
}

export function describeDifference(d: Difference): string {
  if (typeof d.recorded === "string" && typeof d.now === "string")
    return `${d.path} differs ${stringDiff(d.recorded, d.now)}`;
  return `${d.path}: recorded ${clip(d.recorded)}, now ${clip(d.now)}`;
}

/** A recorded model call the replayed turn did not make. */
function noLongerMade(next: ContextSnapshotEvent): Divergence {
  return {
    turn: next.turn,
    step: next.step,
    difference: {
      path: "model call",
      recorded: `call ${next.step + 1} of turn ${next.turn}`,
      now: undefined,
    },
    summary: `turn ${next.turn}: the recording has a model call (${next.step + 1}) that the current definition no longer makes`,
  };
}

/** The hand edits a session recorded (the debugger's), keyed by the seq of the event each followed. */
export function editsBySeq(events: SessionEvent[]): Map<number, ManualEditEvent[]> {
  const edits = new Map<number, ManualEditEvent[]>();
  let after = 0;
  for (const e of events) {
    if (e.type !== "manual.edit") after = e.seq;
    else edits.set(after, [...(edits.get(after) ?? []), e]);
  }
  return edits;
}

/** Makes a recorded edit of memory again on a replayed session (the field may be new). */
export function redoMemoryEdit(session: AgentSession, edit: ManualEditEvent): void {
  const next = structuredClone(session.memory) as Json;
  if (setPath(next, edit.field.split("."), edit.after, true) !== SET_FAILED)
    session.memory = next as Record<string, Json>;
}

/**
 * What a caller that follows an exact replay (the debugger) hooks into. The
 * engine hooks are the caller's own, awaited where the engine awaits them
 * (`afterEvent` after the replay has compared the event, so a divergence found
 * there is already known); the others tell what the replay did for it.
 */
export interface ReplayHooks extends EngineHooks {
  /** The first divergence, as soon as it is found: before `afterEvent` of the event that showed it. */
  onDivergence?: (divergence: Divergence) => void;
  /** A recorded approval answered a request again. */
  onApproval?: (request: ApprovalRequest, approved: boolean) => void;
  /** A recorded hand edit was made again: after `afterEvent` of the event it followed, as it was made then. */
  onEdit?: (edit: ManualEditEvent) => void;
}

export interface ReplayOptions {
  /** The state the session started from (a fork's: see startState); by default none, with the recorded memory. */
  restore?: RestoredState;
  hooks?: ReplayHooks;
  /** Cancels the replay: the turn is unwound and the session ends "stopped". */
  signal?: AbortSignal;
}

/**
 * Exact replay: the current definition re-run against the recording. Every
 * model request the engine would send now is compared with the recorded
 * context snapshot at the same turn and step, and every turn must make all the
 * model calls the recording made in it. The first difference stops the replay.
 */
export async function replayExact(
  events: SessionEvent[],
  current: CompiledDefinition,
  baseDir: string,
  { restore, hooks, signal }: ReplayOptions = {},
): Promise<ExactReplayResult> {
  const start = sessionStart(events);
  // A log cut short (a crash mid-turn) is replayed up to its last complete turn.
  const completed = new Set(events.filter((e) => e.type === "turn.end").map((e) => e.turn));
  const unfinished = events.find(
    (e): e is TurnStartEvent => e.type === "turn.start" && !completed.has(e.turn),
  );
  const recordedSnapshots = events.filter(
    (e): e is ContextSnapshotEvent => e.type === "context.snapshot" && completed.has(e.turn),
  );
  const responses = events.filter((e): e is ModelResponseEvent => e.type === "model.response");
  const approvals = new Map<string, boolean>();
  for (const e of events) if (e.type === "approval") approvals.set(e.callId, e.approved);
  const tools = toolCassette(events);
  const edits = editsBySeq(events);
  /** Tool inputs as the recording ran them: the model's, with the hand edits made again. */
  const inputs = new Map<string, Json>();
  const editedInputs = new Set<string>();
  const backend = new CassetteBackend(
    responses,
    start.backend.name,
    start.backend.kind,
    start.backend.provider,
  );
  let divergence: Divergence | undefined;
  let compared = 0;
  const stop = new AbortController();
  const diverge = (d: Divergence) => {
    divergence = d;
    hooks?.onDivergence?.(d);
  };
  const check = (e: SessionEvent) => {
    if (e.type === "turn.end" && e.status !== "failed") {
      // A turn that ends with calls of it still unmatched no longer makes them (a limit, a changed tool).
      const next = recordedSnapshots[compared];
      if (next && next.turn <= e.turn) diverge(noLongerMade(next));
      return;
    }
    if (e.type !== "context.snapshot") return;
    const recorded = recordedSnapshots[compared++];
    if (!recorded) {
      diverge({
        turn: e.turn,
        step: e.step,
        difference: { path: "model call", recorded: undefined, now: `call ${e.step} of turn ${e.turn}` },
        summary: `turn ${e.turn}: the current definition makes a model call the recording does not have (it recorded ${recordedSnapshots.length})`,
      });
      return;
    }
    // Equal JSON is the common case and much cheaper than a deep walk; the walk only explains a difference.
    const same =
      JSON.stringify(recorded.messages) === JSON.stringify(e.messages) &&
      JSON.stringify(recorded.tools) === JSON.stringify(e.tools);
    const d = same
      ? undefined
      : firstDifference(
          { messages: recorded.messages, tools: recorded.tools },
          { messages: e.messages, tools: e.tools },
        );
    if (d)
      diverge({
        turn: recorded.turn,
        step: recorded.step,
        difference: d,
        summary: `turn ${recorded.turn}, model call ${recorded.step + 1}: ${describeDifference(d)}`,
      });
  };
  // Hand edits change what later calls send: make them again where they were made, and record them, so
  // the replayed events keep the recorded numbering. An edit of a call's input changes what a memory
  // write stores; a tool's result comes from the recording whatever its input.
  const redo = async (edit: ManualEditEvent, session: AgentSession) => {
    if (edit.target === "memory") redoMemoryEdit(session, edit);
    else if (edit.callId && inputs.has(edit.callId)) {
      const next = structuredClone(inputs.get(edit.callId)!);
      if (setPath(next, edit.field.split("."), edit.after) !== SET_FAILED) {
        inputs.set(edit.callId, next);
        editedInputs.add(edit.callId);
      }
    }
    hooks?.onEdit?.(edit);
    const { type: _t, seq: _s, ts: _ts, turn: _turn, ...rest } = edit;
    await session.recordEdit(rest);
  };
  const edited = (callId: string) =>
    editedInputs.has(callId) ? structuredClone(inputs.get(callId)!) : undefined;
  const options: EngineOptions = {
    definition: current,
    baseDir,
    backend,
    backendName: start.backend.name,
    sink: new MemorySink(),
    sessionId: start.sessionId,
    user: start.user,
    memoryStore: new InMemoryStore(),
    restore:
      restore ??
      (start.memory ? { history: [], memory: start.memory, agent: current.agent, turn: 0 } : undefined),
    signal: signal ? AbortSignal.any([stop.signal, signal]) : stop.signal,
    approver: (req) => {
      const approved = approvals.get(req.callId) ?? false;
      hooks?.onApproval?.(req, approved);
      return Promise.resolve(approved);
    },
    // Tool results come from the recording, by call id: the cassette's calls carry the recorded ids.
    mocks: (_tool, _input, callId) =>
      tools(callId) ?? { ok: false, error: "the recording has no result for this call" },
    hooks: {
      afterEvent: async (e, session) => {
        if (e.type === "tool.call") inputs.set(e.callId, e.input);
        const known = divergence;
        if (!known && !signal?.aborted && e.type !== "manual.edit") check(e);
        await hooks?.afterEvent?.(e, session);
        if (divergence && !known) stop.abort();
        else if (e.type !== "manual.edit")
          for (const edit of edits.get(e.seq) ?? []) await redo(edit, session);
      },
      beforeToolRun: async (call, session) => {
        const theirs = await hooks?.beforeToolRun?.(call, session);
        return edited(call.id) ?? theirs;
      },
      beforeMemoryWrite: async (write, session) => {
        const theirs = await hooks?.beforeMemoryWrite?.(write, session);
        const input = edited(write.callId);
        return input && typeof input === "object" && !Array.isArray(input) && "value" in input
          ? input.value
          : theirs;
      },
      onStop: hooks?.onStop,
    },
  };
  const session = await AgentSession.start(options);
  for (const input of inputsOf(events.filter((e) => e.type !== "turn.start" || completed.has(e.turn)))) {
    if (divergence || signal?.aborted) break;
    const r = await session.send(input);
    if (r.status === "failed" && !divergence && !signal?.aborted) {
      diverge({
        turn: r.turn,
        step: 0,
        difference: { path: "turn", recorded: "completed", now: r.reason },
        summary: `turn ${r.turn} could not be replayed: ${r.reason}`,
      });
      break;
    }
  }
  if (!divergence && !signal?.aborted && compared < recordedSnapshots.length) {
    diverge(noLongerMade(recordedSnapshots[compared]));
  }
  await session.end(signal?.aborted ? "stopped" : "ok");
  await session.release();
  return {
    matched: !divergence,
    turns: session.turn - (options.restore?.turn ?? 0),
    requests: compared,
    divergence,
    recordedHash: start.hash,
    currentHash: current.hash,
    unfinishedTurn: unfinished?.turn,
  };
}

export interface TurnComparison {
  turn: number;
  input: string;
  recorded: { reply: string; tools: string[]; tokens: number; latencyMs: number; bytes: number };
  now: { reply: string; tools: string[]; tokens: number; latencyMs: number; bytes: number };
  same: boolean;
}

/** Per-turn figures of a session: reply, tools called, tokens, model latency and bytes sent. */
export function turnFigures(
  events: SessionEvent[],
): Map<number, TurnComparison["recorded"] & { input: string }> {
  const out = new Map<number, TurnComparison["recorded"] & { input: string }>();
  for (const e of events) {
    if (e.type === "turn.start")
      out.set(e.turn, { input: e.input, reply: "", tools: [], tokens: 0, latencyMs: 0, bytes: 0 });
    const t = "turn" in e ? out.get(e.turn) : undefined;
    if (!t) continue;
    if (e.type === "tool.call") t.tools.push(e.tool);
    if (e.type === "model.request") t.bytes += e.bytes;
    if (e.type === "model.response") {
      t.tokens += e.usage.inputTokens + e.usage.outputTokens;
      t.latencyMs += e.latencyMs;
    }
    if (e.type === "turn.end") t.reply = e.reply;
  }
  return out;
}

/** Each turn's tool calls as `tool` when it ran and `tool (not run)` when a policy or an approval stopped it. */
function toolRuns(events: SessionEvent[]): Map<number, string[]> {
  const ran = new Set(events.flatMap((e) => (e.type === "tool.result" ? [e.callId] : [])));
  const out = new Map<number, string[]>();
  for (const e of events)
    if (e.type === "tool.call")
      out.set(e.turn, [...(out.get(e.turn) ?? []), ran.has(e.callId) ? e.tool : `${e.tool} (not run)`]);
  return out;
}

export function compareSessions(
  recorded: SessionEvent[],
  now: SessionEvent[],
): { turns: TurnComparison[]; firstDivergence?: number } {
  const a = turnFigures(recorded);
  const b = turnFigures(now);
  const [ranBefore, ranNow] = [toolRuns(recorded), toolRuns(now)];
  const turns: TurnComparison[] = [];
  let firstDivergence: number | undefined;
  for (const [turn, r] of a) {
    const n = b.get(turn) ?? { input: r.input, reply: "", tools: [], tokens: 0, latencyMs: 0, bytes: 0 };
    // A call that ran once and was refused now (or the reverse) is a divergence, though the model asked the same.
    const same =
      r.reply === n.reply &&
      JSON.stringify(ranBefore.get(turn) ?? []) === JSON.stringify(ranNow.get(turn) ?? []);
    if (!same && firstDivergence === undefined) firstDivergence = turn;
    const { input, ...rec } = r;
    const { input: _i, ...cur } = n;
    turns.push({ turn, input, recorded: rec, now: cur, same });
  }
  return { turns, firstDivergence };
}

/** The state a session continues from: the conversation, memory, summary and active agent. */
export interface RestoredState {
  history: Message[][];
  memory: Record<string, Json>;
  agent: string;
  turn: number;
  summary?: string;
}

/** Reads the events of another recorded session by id (a fork's parent). */
export type SessionLoader = (sessionId: string) => SessionEvent[];

/**
 * The state a session started from: for a fork, the state of its parent after
 * the forked turn (the whole conversation, through any chain of forks), with
 * the memory the fork recorded; otherwise no history and the recorded memory.
 */
export function startState(events: SessionEvent[], loadParent?: SessionLoader): RestoredState | undefined {
  const start = sessionStart(events);
  if (start.parent && loadParent) {
    const base = stateAtTurn(loadParent(start.parent.sessionId), start.parent.turn, loadParent);
    return { ...base, memory: start.memory ?? base.memory };
  }
  return start.memory ? { history: [], memory: start.memory, agent: start.agent, turn: 0 } : undefined;
}

/**
 * What a fork restores: the conversation, memory, summary and active agent
 * after turn N. A fork's own log starts after its parent's turn: with
 * `loadParent`, the parent's conversation is included.
 */
export function stateAtTurn(events: SessionEvent[], turn: number, loadParent?: SessionLoader): RestoredState {
  const start = sessionStart(events);
  const base = start.parent && loadParent ? startState(events, loadParent) : undefined;
  const first = base?.turn ?? 0;
  const ends = events.filter((e): e is TurnEndEvent => e.type === "turn.end");
  const last = ends.length ? ends[ends.length - 1].turn : first;
  if (!Number.isInteger(turn) || turn < first || turn > last)
    throw new ReplayError(`--turn must be between ${first} and ${last}, the turns this session recorded`);
  const history = [
    ...(base?.history ?? []),
    ...ends.filter((e) => e.turn <= turn).map((e) => e.messages ?? []),
  ];
  let memory: Record<string, Json> = start.memory ?? {};
  let summary: string | undefined = base?.summary;
  for (const e of events) {
    if (e.type === "memory.snapshot" && e.turn <= turn) {
      memory = e.values;
      summary = e.summary;
    }
  }
  const agent = ends.filter((e) => e.turn <= turn).pop()?.agent ?? base?.agent ?? start.agent;
  return { history, memory, agent, turn, summary };
}
