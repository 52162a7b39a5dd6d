// The Session Explorer's data layer: reads session logs (JSON Lines, see
// server/protocol/events.ts) incrementally, so that a running session that
// grows on disk is read from where the last read stopped, and folds the events
// into sessions and turns. No `vscode` here: the tree provider adapts this
// model to TreeItems, and the benchmark measures it in plain Node.

import { StringDecoder } from "node:string_decoder";
import type {
  ContextSnapshotEvent,
  EvalScoreEvent,
  MemorySnapshotEvent,
  SessionEndEvent,
  SessionEvent,
  SessionStartEvent,
  TurnEndEvent,
  Usage,
} from "../../../server/protocol/events";

export type SessionStatus = "running" | "ok" | "failed" | "stopped" | "unfinished" | "empty" | "idle";

export interface TurnModel {
  turn: number;
  agent: string;
  input: string;
  /** Every event of the turn, turn.start and turn.end included, in log order. */
  events: SessionEvent[];
  /** One per model call of the turn, in step order. */
  contexts: ContextSnapshotEvent[];
  memory?: MemorySnapshotEvent;
  end?: TurnEndEvent;
  /** Bytes the client sent for the turn's model calls. */
  bytes: number;
  usage: Usage;
}

/** The events of one session folded into turns, updated event by event as the log grows. */
export class SessionModel {
  start?: SessionStartEvent;
  end?: SessionEndEvent;
  readonly turns: TurnModel[] = [];
  /** An eval case run's checks (evals.md section 3), in log order. */
  readonly evalScores: EvalScoreEvent[] = [];
  readonly events: SessionEvent[] = [];
  /** Problems with the log: bad lines (skipped), events out of place. */
  readonly warnings: string[] = [];
  /** Time of the last event. */
  updatedAt?: string;
  private readonly byTurn = new Map<number, TurnModel>();

  constructor(readonly id: string) {}

  add(e: SessionEvent): void {
    this.events.push(e);
    this.updatedAt = e.ts;
    switch (e.type) {
      case "session.start":
        this.start = e;
        return;
      case "session.end":
        this.end = e;
        return;
      case "eval.score":
        this.evalScores.push(e);
        return;
      case "turn.start": {
        const t: TurnModel = {
          turn: e.turn,
          agent: e.agent,
          input: e.input,
          events: [e],
          contexts: [],
          bytes: 0,
          usage: { inputTokens: 0, outputTokens: 0 },
        };
        this.turns.push(t);
        this.byTurn.set(e.turn, t);
        return;
      }
    }
    const t = this.byTurn.get(e.turn);
    if (!t) {
      if (this.warnings.length < 20)
        this.warnings.push(`event ${e.seq} (${e.type}) belongs to turn ${e.turn}, which never started`);
      return;
    }
    t.events.push(e);
    if (e.type === "context.snapshot") t.contexts.push(e);
    else if (e.type === "memory.snapshot") t.memory = e;
    else if (e.type === "model.request") t.bytes += e.bytes;
    else if (e.type === "model.response") {
      t.usage.inputTokens += e.usage.inputTokens;
      t.usage.outputTokens += e.usage.outputTokens;
    } else if (e.type === "turn.end") t.end = e;
  }

  turn(n: number): TurnModel | undefined {
    return this.byTurn.get(n);
  }

  /** The turn before `n` in this session (undefined for the first). */
  previousTurn(n: number): TurnModel | undefined {
    const i = this.turns.findIndex((t) => t.turn === n);
    return i > 0 ? this.turns[i - 1] : undefined;
  }

  get status(): SessionStatus {
    if (this.end) return this.end.status;
    const last = this.turns[this.turns.length - 1];
    if (!last) return this.start ? "idle" : "empty";
    if (!last.end) return "running";
    return "unfinished";
  }

  /** Finished turns. */
  get turnCount(): number {
    return this.turns.filter((t) => t.end).length;
  }
}

/**
 * Turns a growing log into events: feed it the bytes appended since the last read, in order.
 * A line is parsed once it is complete; a partial last line waits for the rest (a session being
 * written) and is reported as torn only by `finish`.
 */
export class LogReader {
  private pending = "";
  private decoder = new StringDecoder("utf8");
  private line = 0;
  /** Bytes consumed so far: where the next read of the file starts. */
  offset = 0;

  constructor(
    readonly model: SessionModel,
    private readonly name: string,
  ) {}

  feed(chunk: Buffer | string): number {
    let text: string;
    if (typeof chunk === "string") {
      text = chunk;
      this.offset += Buffer.byteLength(chunk);
    } else {
      text = this.decoder.write(chunk);
      this.offset += chunk.length;
    }
    let from = 0;
    let added = 0;
    let nl = text.indexOf("\n");
    if (nl < 0) {
      this.pending += text;
      return 0;
    }
    // The first line completes whatever the previous chunk left over.
    let first = true;
    while (nl >= 0) {
      const piece = text.slice(from, nl);
      const line = first ? this.pending + piece : piece;
      first = false;
      this.line++;
      if (this.parse(line)) added++;
      from = nl + 1;
      nl = text.indexOf("\n", from);
    }
    this.pending = text.slice(from);
    return added;
  }

  /** The log is complete (not growing): a partial last line is torn, and reported. */
  finish(): void {
    if (this.pending.trim()) {
      this.model.warnings.push(
        `${this.name}: the last line is incomplete (the run was interrupted while writing it); it was skipped`,
      );
    }
  }

  /** Text waiting for its newline (a line being written). */
  get hasPending(): boolean {
    return this.pending.trim().length > 0;
  }

  private parse(line: string): boolean {
    // (A regex stops at the first non-blank character; trim() would copy a long line.)
    if (!/\S/.test(line)) return false;
    const snapshot = lazySnapshot(line);
    if (snapshot) {
      this.model.add(snapshot);
      return true;
    }
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      this.warn(`${this.name}:${this.line}: not valid JSON; the line was skipped`);
      return false;
    }
    if (!isEvent(value)) {
      this.warn(`${this.name}:${this.line}: not a session event (no type and seq); the line was skipped`);
      return false;
    }
    // The explorer reads a start's agent and backend everywhere it shows the session.
    if (value.type === "session.start" && !isStart(value)) {
      this.warn(
        `${this.name}:${this.line}: a session.start without its agent or backend; the line was skipped`,
      );
      return false;
    }
    this.model.add(value);
    return true;
  }

  private warn(message: string): void {
    if (this.model.warnings.length < 20) this.model.warnings.push(message);
  }
}

const STRING = String.raw`"(?:[^"\\]|\\.)*"`;
const SNAPSHOT_HEAD = new RegExp(
  String.raw`^\{"seq":(\d+),"ts":(${STRING}),"type":"context\.snapshot","turn":(\d+),"step":(\d+),"agent":(${STRING}),(?:"model":(${STRING}),)?"messages":`,
);

/**
 * A context snapshot read without parsing its messages and tool schemas, which are most of a log's
 * bytes: its figures come from the head and the tail of the line (the engine writes them in a fixed
 * order), and `messages` / `tools` are parsed when first read (a snapshot document is opened).
 * Undefined when the line is not in that shape; it is then parsed whole.
 */
function lazySnapshot(line: string): ContextSnapshotEvent | undefined {
  const head = SNAPSHOT_HEAD.exec(line);
  if (!head) return undefined;
  const at = line.lastIndexOf(',"tokens":{');
  if (at < 0) return undefined;
  let tail: Partial<ContextSnapshotEvent>;
  try {
    tail = JSON.parse(`{${line.slice(at + 1)}`) as Partial<ContextSnapshotEvent>;
  } catch {
    return undefined;
  }
  if (typeof tail.bytes !== "number" || typeof tail.tokens?.total !== "number") return undefined;
  let whole: ContextSnapshotEvent | undefined;
  const parsed = () => (whole ??= JSON.parse(line) as ContextSnapshotEvent);
  const e = {
    seq: Number(head[1]),
    ts: JSON.parse(head[2]) as string,
    type: "context.snapshot",
    turn: Number(head[3]),
    step: Number(head[4]),
    agent: JSON.parse(head[5]) as string,
    ...(head[6] !== undefined ? { model: JSON.parse(head[6]) as string } : {}),
  } as ContextSnapshotEvent;
  // Defined before the tail's fields, so that the event serializes in the order it was written.
  Object.defineProperty(e, "messages", { enumerable: true, get: () => parsed().messages });
  Object.defineProperty(e, "tools", { enumerable: true, get: () => parsed().tools });
  return Object.assign(e, tail);
}

function isEvent(v: unknown): v is SessionEvent {
  return (
    typeof v === "object" &&
    v !== null &&
    typeof (v as { type?: unknown }).type === "string" &&
    typeof (v as { seq?: unknown }).seq === "number"
  );
}

function isStart(v: SessionEvent): boolean {
  const s = v as { agent?: unknown; backend?: { name?: unknown; kind?: unknown; provider?: unknown } | null };
  return (
    typeof s.agent === "string" &&
    typeof s.backend === "object" &&
    s.backend !== null &&
    typeof s.backend.name === "string" &&
    typeof s.backend.kind === "string" &&
    typeof s.backend.provider === "string"
  );
}

/** A whole log text (a file read at once, or a runtime's events) as a model. */
export function modelFromText(id: string, text: string, name = `${id}.jsonl`): SessionModel {
  const model = new SessionModel(id);
  const reader = new LogReader(model, name);
  reader.feed(text);
  reader.finish();
  return model;
}

export function modelFromEvents(id: string, events: SessionEvent[]): SessionModel {
  const model = new SessionModel(id);
  for (const e of events) model.add(e);
  return model;
}
