// `statecraft replay SESSION --mode exact|live`: re-run a recorded session.
// exact: model and tool results from the log, the current definition re-run,
// exit 1 at the first request that differs. live: the recorded inputs sent
// again to a backend as a new session, then a turn-by-turn comparison.

import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { createBackend } from "../backends";
import type { CompiledDefinition } from "../language/compile";
import { HANDOFF_PREFIX } from "../protocol/names";
import type { ModelResponseEvent, SessionEvent } from "../protocol/events";
import type { ScriptStep } from "../runtime/model";
import { compileFor, loadChecked } from "../runtime/prepare";
import {
  CassetteBackend,
  compareSessions,
  inputsOf,
  recordedToolResults,
  replayExact,
  ReplayError,
  sessionStart,
  startState,
} from "../runtime/replay";
import { readLog } from "../runtime/sessionLog";
import { displayPath, plural } from "./files";
import { UsageError, type CliIO, type Flags } from "./io";
import { driveRemote } from "./remote";
import { checkApprove, driveSession, handleRunFailure } from "./run";
import { loadSession, parentLoader, resolveSession } from "./sessionFiles";

/** The agent file a session recorded, resolved against the workspace (or --file). */
export function sessionSource(
  start: { source?: string },
  workspace: string,
  cwd: string,
  file?: string,
): string {
  if (file) return path.resolve(cwd, file);
  if (!start.source)
    throw new UsageError("the session does not say which .agent file it ran: pass --file FILE");
  const p = path.resolve(workspace, start.source);
  if (!fs.existsSync(p))
    throw new UsageError(
      `the session's agent file ${start.source} is not in ${workspace}: pass --file FILE or --workspace DIR`,
    );
  return p;
}

/** The recorded model responses as scripted steps, turn by turn (a live replay on a stateful local backend). */
function recordedScripts(events: SessionEvent[]): ScriptStep[][] {
  const turns: ScriptStep[][] = [];
  for (const e of events) {
    if (e.type === "turn.start") turns.push([]);
    if (e.type !== "model.response" || !turns.length) continue;
    const steps = turns[turns.length - 1];
    if (!e.toolCalls.length) steps.push({ kind: "reply", text: e.text });
    for (const c of e.toolCalls)
      steps.push(
        c.name.startsWith(HANDOFF_PREFIX)
          ? { kind: "handoff", agent: c.name.slice(HANDOFF_PREFIX.length) }
          : { kind: "call", tool: c.name, input: c.input },
      );
  }
  return turns;
}

/** The flags of `statecraft replay` (the docs test parses the documented commands against them). */
export const REPLAY_FLAGS = {
  mode: { type: "string", default: "exact" },
  backend: { type: "string" },
  file: { type: "string" },
  workspace: { type: "string" },
  approve: { type: "string" },
  // Live replay only: run the tools for real instead of answering from the recording.
  "live-tools": { type: "boolean" },
} satisfies Flags;

export async function replayCommand(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: REPLAY_FLAGS,
  });
  if (positionals.length !== 1)
    throw new UsageError("usage: statecraft replay SESSION --mode exact|live [--backend NAME]");
  if (values.mode !== "exact" && values.mode !== "live")
    throw new UsageError(`--mode must be exact or live, not '${values.mode}'`);
  checkApprove(values.approve);
  if (values["live-tools"] && values.mode !== "live")
    throw new UsageError("--live-tools is for --mode live (an exact replay never runs a tool)");
  const workspace = path.resolve(io.cwd, values.workspace ?? ".");
  const logFile = resolveSession(positionals[0], workspace, io.cwd);
  const events = loadSession(logFile, io, true);
  try {
    const start = sessionStart(events);
    const source = sessionSource(start, workspace, io.cwd, values.file);
    const loaded = loadChecked(source);
    // Where the session started: a fork continues its parent's conversation, and all start from the recorded memory.
    const restore = startState(events, parentLoader(workspace, io));
    if (values.mode === "exact") {
      const backendName = start.definition.backends[start.definition.agents[start.agent]?.backend]?.implicit
        ? undefined
        : start.backend.name;
      const current: CompiledDefinition = compileFor(loaded, start.agent, backendName);
      const r = await replayExact(events, current, path.dirname(loaded.root), { restore });
      if (r.unfinishedTurn !== undefined)
        io.stderr(
          `warning: turn ${r.unfinishedTurn} is not finished in the recording (the run was interrupted); it was not replayed\n`,
        );
      const defNote =
        r.recordedHash === r.currentHash ? "definition unchanged" : "definition changed since the recording";
      if (r.matched) {
        io.stdout(
          `exact replay of ${start.sessionId}: ${plural(r.requests, "model request")} in ${plural(r.turns, "turn")} ${r.requests === 1 ? "matches" : "match"} the recording (${defNote})\n`,
        );
        return 0;
      }
      io.stdout(`exact replay of ${start.sessionId} diverged (${defNote}):\n  ${r.divergence!.summary}\n`);
      return 1;
    }
    // live
    const definition = compileFor(loaded, start.agent, values.backend ?? start.backend.name);
    const spec = definition.backends[definition.agents[definition.agent].backend];
    if (spec.kind === "stateful" && start.parent)
      throw new UsageError(
        `${start.sessionId} is a fork, and a runtime service starts new sessions empty: replay it live on a stateless backend (--backend NAME), or fork the session there`,
      );
    // A live replay must not repeat real side effects (a booking, a refund): tools answer from the
    // recording unless --live-tools, and approvals are asked again (or --approve answers them).
    const liveTools = values["live-tools"] === true;
    if (spec.kind === "stateful" && !liveTools)
      throw new UsageError(
        `a runtime service runs the tools itself and cannot answer them from the recording: pass --live-tools to replay live on ${spec.name} with the tools really running, or replay on a stateless backend (--backend NAME)`,
      );
    io.stderr(
      liveTools
        ? "live replay: the tools run for real (--live-tools)\n"
        : "live replay: tools answer from the recording, nothing is run again (--live-tools runs them)\n",
    );
    // A stateful backend replays as a new session in the runtime service (statecraft run's remote driver).
    let backend = spec.kind === "stateful" ? undefined : createBackend(spec, { env: io.env });
    if (backend?.scripted)
      // The local model can only play back: it answers with the recorded responses.
      backend = new CassetteBackend(
        events.filter((e): e is ModelResponseEvent => e.type === "model.response"),
        spec.name,
        spec.kind,
        "local",
      );
    const result = !backend
      ? await driveRemote(io, {
          command: "replay",
          definition,
          spec,
          baseDir: path.dirname(loaded.root),
          workspace,
          source: start.source,
          inputs: inputsOf(events),
          approve: values.approve,
          user: start.user ?? { id: "local-user" },
          // The local model plays the recorded responses back in the service, turn by turn.
          turnScripts: spec.provider === "local" ? recordedScripts(events) : undefined,
        })
      : await driveSession(io, {
          command: "replay",
          definition,
          baseDir: path.dirname(loaded.root),
          backend,
          backendName: spec.name,
          workspace,
          source: start.source,
          inputs: inputsOf(events),
          approve: values.approve,
          user: start.user ?? { id: "local-user" },
          restore,
          mocks: liveTools ? undefined : recordedToolResults(events),
          mockOrigin: "replay",
        });
    const now = readLog(result.file).events;
    const cmp = compareSessions(events, now);
    io.stdout(
      `\nlive replay of ${start.sessionId} on ${spec.name} (${spec.kind}) as ${result.sessionId}, ${liveTools ? "tools run for real" : "tools answered from the recording"}:\n`,
    );
    io.stdout(`turn  same  tokens (was -> now)  model ms (was -> now)  bytes sent (was -> now)\n`);
    for (const t of cmp.turns)
      io.stdout(
        `${String(t.turn).padStart(4)}  ${t.same ? "yes " : "no  "}  ${`${t.recorded.tokens} -> ${t.now.tokens}`.padEnd(19)}  ${`${Math.round(t.recorded.latencyMs)} -> ${Math.round(t.now.latencyMs)}`.padEnd(21)}  ${t.recorded.bytes} -> ${t.now.bytes}\n`,
      );
    io.stdout(
      cmp.firstDivergence === undefined
        ? "no divergence: every turn replied the same and called the same tools\n"
        : `first divergence at turn ${cmp.firstDivergence}\n`,
    );
    io.stderr(`recorded: ${displayPath(logFile, io.cwd)}\n`);
    return result.code;
  } catch (err) {
    if (err instanceof ReplayError) {
      io.stderr(`statecraft replay: ${err.message}\n`);
      return 2;
    }
    return handleRunFailure(err, io, "replay");
  }
}
