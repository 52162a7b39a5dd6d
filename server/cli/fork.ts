// `statecraft fork SESSION --turn N`: a new session that starts from the
// conversation, memory and active agent after turn N of a recorded one.

import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { createBackend } from "../backends";
import { compileFor, loadChecked } from "../runtime/prepare";
import { ReplayError, sessionStart, stateAtTurn } from "../runtime/replay";
import { UsageError, type CliIO, type Flags } from "./io";
import { sessionSource } from "./replay";
import { checkApprove, driveSession, handleRunFailure, scriptedLocal } from "./run";
import { loadSession, parentLoader, resolveSession } from "./sessionFiles";

/** The flags of `statecraft fork` (the docs test parses the documented commands against them). */
export const FORK_FLAGS = {
  turn: { type: "string" },
  input: { type: "string", multiple: true },
  backend: { type: "string" },
  script: { type: "string" },
  file: { type: "string" },
  workspace: { type: "string" },
  approve: { type: "string" },
} satisfies Flags;

export async function forkCommand(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: FORK_FLAGS,
  });
  if (positionals.length !== 1 || values.turn === undefined)
    throw new UsageError(
      "usage: statecraft fork SESSION --turn N [--input TEXT]... [--script FILE] [--backend NAME]",
    );
  checkApprove(values.approve);
  const turn = Number(values.turn);
  const workspace = path.resolve(io.cwd, values.workspace ?? ".");
  const logFile = resolveSession(positionals[0], workspace, io.cwd);
  const events = loadSession(logFile, io, true);
  try {
    const start = sessionStart(events);
    const state = stateAtTurn(events, turn, parentLoader(workspace, io));
    const source = sessionSource(start, workspace, io.cwd, values.file);
    if (!fs.existsSync(source)) throw new UsageError(`cannot read ${source}`);
    const loaded = loadChecked(source);
    const definition = compileFor(
      loaded,
      start.agent,
      values.backend ?? (start.definition.backends[start.backend.name] ? start.backend.name : undefined),
    );
    const spec = definition.backends[definition.agents[definition.agent].backend];
    const backend = createBackend(spec, { env: io.env });
    scriptedLocal(
      backend,
      values.script,
      io,
      () =>
        `the fork runs on the local backend, which only plays back scripted replies: pass --script FILE or --backend NAME`,
    );
    io.stderr(
      `forked from ${start.sessionId} after turn ${turn} (agent ${state.agent}, ${state.history.length} turn${state.history.length === 1 ? "" : "s"} of history)\n`,
    );
    const { code } = await driveSession(io, {
      command: "fork",
      definition,
      baseDir: path.dirname(loaded.root),
      backend,
      backendName: spec.name,
      workspace,
      source: start.source,
      inputs: values.input,
      approve: values.approve,
      user: start.user ?? { id: "local-user" },
      restore: state,
      parent: { sessionId: start.sessionId, turn },
    });
    return code;
  } catch (err) {
    if (err instanceof ReplayError) {
      io.stderr(`statecraft fork: ${err.message}\n`);
      return 2;
    }
    return handleRunFailure(err, io, "fork");
  }
}
