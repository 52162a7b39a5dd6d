// What a CLI command needs from the outside world, injectable so that tests
// and benchmarks run commands in-process.

import type { ParseArgsConfig } from "node:util";
import { printable } from "../language/encoding";
import type { SessionEvent } from "../protocol/events";

export { printable };

/** A command's flags, as node:util's parseArgs takes them. */
export type Flags = NonNullable<ParseArgsConfig["options"]>;

export interface CliIO {
  cwd: string;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
  /** Stdout is a terminal: progress bars instead of one line per item (`statecraft eval`). */
  tty?: boolean;
  /**
   * A new observer of one session's events, when telemetry is on (OTEL_EXPORTER_OTLP_ENDPOINT set):
   * the sessions a command records are traced from their events (service/telemetry.ts).
   */
  observe?: () => (event: SessionEvent) => void;
}

/** The activity printer and, when telemetry is on, the session's observer: one listener for a session log. */
export function sessionListener(
  io: CliIO,
  printer?: (event: SessionEvent) => void,
): ((event: SessionEvent) => void) | undefined {
  const observer = io.observe?.();
  if (!observer) return printer;
  if (!printer) return observer;
  return (e) => {
    printer(e);
    observer(e);
  };
}

/** A mistake the user can fix: printed as one line, exit code 2, never a stack trace. */
export class UsageError extends Error {}

/** Exit code of a command whose output was cut (`| head`): what a shell reports for SIGPIPE. */
export const CLOSED_OUTPUT_EXIT = 141;

let outputClosed = false;
const closeHandlers = new Set<() => void>();

/**
 * For a command that must keep what it finished when its reader goes away (an eval run's file): while
 * registered, a closed output calls `fn` (once) instead of exiting at once, and later output is dropped;
 * the command then ends as it would on Ctrl-C and returns CLOSED_OUTPUT_EXIT. Returns the unregistration.
 */
export function onOutputClosed(fn: () => void): () => void {
  closeHandlers.add(fn);
  return () => closeHandlers.delete(fn);
}

/**
 * The process's own streams. Text goes out with control characters escaped. A reader that goes
 * away (`statecraft sessions list | head -1`) ends the command at once and silently.
 */
export function processIO(): CliIO {
  for (const stream of [process.stdout, process.stderr])
    stream.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "EPIPE" || err.code === "ERR_STREAM_DESTROYED") {
        if (!closeHandlers.size) process.exit(CLOSED_OUTPUT_EXIT);
        if (!outputClosed) {
          outputClosed = true;
          for (const fn of closeHandlers) fn();
        }
        return;
      }
      throw err;
    });
  return {
    cwd: process.cwd(),
    stdout: (t) => void (outputClosed || process.stdout.write(printable(t))),
    stderr: (t) => void (outputClosed || process.stderr.write(printable(t))),
    env: process.env,
    tty: process.stdout.isTTY === true,
  };
}
