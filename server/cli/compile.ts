// `statecraft compile FILE --agent NAME`: print the plain-JSON intermediate
// form an agent runs with (what a session log pins and a runtime receives).

import * as path from "node:path";
import { parseArgs } from "node:util";
import { compileAgent, isCompileError } from "../language/compile";
import { checkFiles } from "../language/validate";
import { formatDiagnostic, locate } from "./check";
import { loadProgram, plural } from "./files";
import { UsageError, type CliIO, type Flags } from "./io";

/** The flags of `statecraft compile` (the docs test parses the documented commands against them). */
export const COMPILE_FLAGS = { agent: { type: "string" } } satisfies Flags;

export function compileCommand(argv: string[], io: CliIO): number {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: COMPILE_FLAGS,
  });
  if (positionals.length !== 1) throw new UsageError("usage: statecraft compile FILE --agent NAME");
  const file = path.resolve(io.cwd, positionals[0]);
  const program = loadProgram([file], io.cwd);
  const errors = checkFiles(program, [file]).filter((d) => d.severity === "error");
  if (errors.length) {
    for (const d of errors) io.stderr(formatDiagnostic(locate(program, d, io.cwd)) + "\n");
    io.stderr(`not compiled: ${plural(errors.length, "error")}\n`);
    return 1;
  }
  let agent = values.agent;
  if (!agent) {
    const agents = program
      .symbols(file)
      .ofKind("agent")
      .map((s) => s.name);
    if (agents.length !== 1)
      throw new UsageError(
        agents.length
          ? `--agent is required: choose one of ${agents.join(", ")}`
          : `No agent in ${positionals[0]} or its imports`,
      );
    agent = agents[0];
  }
  const result = compileAgent(program, file, agent);
  if (isCompileError(result)) throw new UsageError(result.message);
  io.stdout(JSON.stringify(result, null, 2) + "\n");
  return 0;
}
