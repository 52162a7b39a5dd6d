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

export class SessionLogWriter implements EventSink {
  private seq = 0;
  private readonly fd: number;
  readonly events: SessionEvent[] = [];

  constructor(
    readonly file: string,
    private readonly listener?: (e: SessionEvent) => void,
    private readonly clock: () => Date = () => new Date(),
  ) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    this.fd = fs.openSync(file, "a");
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
}

export function parseLog(text: string, file = "session log"): ReadLog {
  const events: SessionEvent[] = [];
  const warnings: string[] = [];
  const lines = text.split("\n");
  const last = lines.length - 1;
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    try {
      events.push(JSON.parse(line) as SessionEvent);
    } catch {
      warnings.push(
        i === last
          ? `${file}: the last line is incomplete (the run was interrupted while writing it); it was skipped`
          : `${file}:${i + 1}: not valid JSON; the line was skipped`,
      );
    }
  });
  return { events, warnings };
}

export function readLog(file: string): ReadLog {
  return parseLog(fs.readFileSync(file, "utf8"), path.basename(file));
}
