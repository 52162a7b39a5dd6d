// What a CLI command needs from the outside world, injectable so that tests
// and benchmarks run commands in-process.

import type { ParseArgsConfig } from "node:util";
import { printable } from "../language/encoding";

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
}

/** A mistake the user can fix: printed as one line, exit code 2, never a stack trace. */
export class UsageError extends Error {}

/** Exit code of a command whose output was cut (`| head`): what a shell reports for SIGPIPE. */
export const CLOSED_OUTPUT_EXIT = 141;

/**
 * The process's own streams. Text goes out with control characters escaped. A reader that goes
 * away (`statecraft sessions list | head -1`) ends the command at once and silently.
 */
export function processIO(): CliIO {
  for (const stream of [process.stdout, process.stderr])
    stream.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "EPIPE" || err.code === "ERR_STREAM_DESTROYED") process.exit(CLOSED_OUTPUT_EXIT);
      throw err;
    });
  return {
    cwd: process.cwd(),
    stdout: (t) => process.stdout.write(printable(t)),
    stderr: (t) => process.stderr.write(printable(t)),
    env: process.env,
    tty: process.stdout.isTTY === true,
  };
}
