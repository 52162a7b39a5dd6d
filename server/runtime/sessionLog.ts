// Session logs on disk: one JSON Lines file per session. Each event is one
// line written with a single synchronous append, so a crash leaves at most a
// torn last line, which the reader reports and skips.

import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { NewEvent, SessionEvent } from "../protocol/events";

export const SESSIONS_DIR = path.join(".statecraft", "sessions");

export function sessionsDir(workspace: string): string {
  return path.join(workspace, SESSIONS_DIR);
}

/** Sortable, unique session ids: time first, then randomness. */
export function newSessionId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, "").replace(/\..*$/, "").replace("T", "-");
  return `${stamp}-${randomBytes(3).toString("hex")}`;
}

export interface EventSink {
  append(event: NewEvent): SessionEvent;
}

/** The session log cannot be written where the workspace says: the run does not start. */
export class SessionLogError extends Error {}

export class SessionLogWriter implements EventSink {
  private seq = 0;
  private readonly fd: number;
  readonly events: SessionEvent[] = [];

  constructor(
    readonly file: string,
    private readonly listener?: (e: SessionEvent) => void,
    private readonly clock: () => Date = () => new Date(),
  ) {
    try {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      this.fd = fs.openSync(file, "a");
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new SessionLogError(
        `cannot write the session log ${file} (${code ?? (err as Error).message}): run from a folder you can write to, or pass --workspace DIR`,
      );
    }
  }

  append(event: NewEvent): SessionEvent {
    const full = { seq: ++this.seq, ts: this.clock().toISOString(), ...event } as SessionEvent;
    fs.writeSync(this.fd, JSON.stringify(full) + "\n");
    this.events.push(full);
    this.listener?.(full);
    return full;
  }

  /**
   * Appends an event already numbered and stamped elsewhere (a stateful session's events, as the
   * runtime service committed them); later `append`s continue after its seq.
   */
  appendRecorded(event: SessionEvent): SessionEvent {
    fs.writeSync(this.fd, JSON.stringify(event) + "\n");
    this.seq = Math.max(this.seq, event.seq);
    this.events.push(event);
    this.listener?.(event);
    return event;
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

/** An in-memory sink (the runtime service and tests that need no file). */
export class MemorySink implements EventSink {
  private seq = 0;
  readonly events: SessionEvent[] = [];
  constructor(private readonly listener?: (e: SessionEvent) => void) {}
  append(event: NewEvent): SessionEvent {
    const full = { seq: ++this.seq, ts: new Date().toISOString(), ...event } as SessionEvent;
    this.events.push(full);
    this.listener?.(full);
    return full;
  }
}

export interface ReadLog {
  events: SessionEvent[];
  /** A problem with the file: a torn last line (skipped) or a bad line in the middle. */
  warnings: string[];
  /** The lines skipped other than a torn last line (1-based): events are missing from the middle. */
  skipped: number[];
}

type FieldType = "string" | "number" | "boolean" | "object" | "array";

/**
 * The fields each event must have, with their types, for the readers (sessions, replay, fork,
 * the debugger, the Session Explorer) to use it. An event without them is skipped with a warning;
 * an event of a type not listed here (a newer format) is kept as it is.
 */
const REQUIRED: Partial<Record<SessionEvent["type"], Record<string, FieldType>>> = {
  "session.start": { sessionId: "string", agent: "string", backend: "object", definition: "object" },
  "turn.start": { turn: "number", agent: "string", input: "string" },
  "context.snapshot": { turn: "number", messages: "array", tools: "array", tokens: "object" },
  "model.request": { turn: "number", bytes: "number" },
  "model.response": {
    turn: "number",
    text: "string",
    toolCalls: "array",
    usage: "object",
    latencyMs: "number",
  },
  "tool.call": { turn: "number", callId: "string", tool: "string" },
  "policy.decision": { turn: "number", callId: "string", tool: "string", decision: "string" },
  approval: { turn: "number", callId: "string", tool: "string", approved: "boolean", by: "string" },
  "tool.result": { turn: "number", callId: "string", tool: "string", ok: "boolean" },
  "memory.write": { turn: "number", field: "string", ok: "boolean" },
  "memory.snapshot": { turn: "number", values: "object" },
  handoff: { turn: "number", from: "string", to: "string" },
  "turn.end": { turn: "number", reply: "string", messages: "array", status: "string", usage: "object" },
  "eval.score": { criterion: "string", kind: "string", passed: "boolean" },
  "session.end": { status: "string" },
};

function typeOf(v: unknown): FieldType | "null" | "undefined" | "other" {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  const t = typeof v;
  return t === "string" || t === "number" || t === "boolean" || t === "object" || t === "undefined"
    ? t
    : "other";
}

/** Why a parsed line is not a usable event, or undefined when it is one. */
export function eventProblem(value: unknown): string | undefined {
  if (typeOf(value) !== "object") return `not an event (a JSON ${typeOf(value)}, not an object)`;
  const e = value as Record<string, unknown>;
  if (typeof e.type !== "string") return 'not an event (no "type")';
  const required = REQUIRED[e.type as SessionEvent["type"]] ?? {};
  const missing = Object.entries(required).filter(([k, t]) => typeOf(e[k]) !== t);
  if (e.type === "session.start" && !missing.length) {
    const def = e.definition as Record<string, unknown>;
    if (typeOf(def.agents) !== "object" || typeOf(def.backends) !== "object")
      return `a session.start event whose "definition" has no "agents" or "backends"`;
  }
  if (!missing.length) return undefined;
  return `a ${e.type} event without ${missing.map(([k, t]) => `"${k}" (${t === "object" ? "an object" : t === "array" ? "an array" : `a ${t}`})`).join(", ")}`;
}

export function parseLog(text: string, file = "session log"): ReadLog {
  const events: SessionEvent[] = [];
  const warnings: string[] = [];
  const skipped: number[] = [];
  const lines = text.split("\n");
  const last = lines.length - 1;
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      if (i !== last) skipped.push(i + 1);
      warnings.push(
        i === last
          ? `${file}: the last line is incomplete (the run was interrupted while writing it); it was skipped`
          : `${file}:${i + 1}: not valid JSON; the line was skipped`,
      );
      return;
    }
    const problem = eventProblem(value);
    if (problem) {
      skipped.push(i + 1);
      warnings.push(`${file}:${i + 1}: ${problem}; the line was skipped`);
    } else events.push(value as SessionEvent);
  });
  return { events, warnings, skipped };
}

/** A log file's events; a file that cannot be read at all is a warning too, with no events. */
export function readLog(file: string): ReadLog {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    const code = (err as { code?: string }).code;
    return {
      events: [],
      warnings: [`${path.basename(file)}: cannot be read (${code ?? (err as Error).message})`],
      skipped: [],
    };
  }
  return parseLog(text, path.basename(file));
}
