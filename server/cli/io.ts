// What a CLI command needs from the outside world, injectable so that tests
// and benchmarks run commands in-process.

import type { ParseArgsConfig } from "node:util";

/** A command's flags, as node:util's parseArgs takes them. */
export type Flags = NonNullable<ParseArgsConfig["options"]>;

export interface CliIO {
  cwd: string;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
}

/** A mistake the user can fix: printed as one line, exit code 2, never a stack trace. */
export class UsageError extends Error {}

export function processIO(): CliIO {
  return {
    cwd: process.cwd(),
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    env: process.env,
  };
}
