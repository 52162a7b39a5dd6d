// Launch checks: the launch configuration's attributes, read and checked
// into what a debug session runs (an agent, one test block, or the exact
// replay of a session log), on which backend, as which user. Everything a
// launch can get wrong is a LaunchError whose message says what to change.

import * as fs from "node:fs";
import * as path from "node:path";
import { createBackend } from "../backends";
import { readScript, scriptTurns } from "../backends/script";
import { compileBackend, type CompiledBackend, type CompiledDefinition } from "../language/compile";
import { compileTest, findTests, type TestIR } from "../language/compileTests";
import { LineIndex } from "../language/lineIndex";
import type { LaunchArgs } from "../protocol/debug";
import type { SessionEvent, UserInfo } from "../protocol/events";
import { BackendError, type ModelBackend, type ScriptStep } from "../runtime/model";
import { compileFor, loadChecked, RunError, withBackend, type LoadedProgram } from "../runtime/prepare";
import { sessionStart } from "../runtime/replay";
import { readLog } from "../runtime/sessionLog";
import { SpecMap } from "./specMap";

/** A launch that cannot start, with a message that says what to change. */
export class LaunchError extends Error {}

/** A launch checked and loaded: what to run, and where. */
export interface PreparedLaunch {
  loaded: LoadedProgram;
  definition: CompiledDefinition;
  map: SpecMap;
  workspace: string;
  env: NodeJS.ProcessEnv;
  user: UserInfo;
  test?: TestIR;
  replay?: { file: string; events: SessionEvent[] };
  /** The backend an agent launch runs on (stateless); or, on a stateful backend, the runtime's session. */
  backend?: ModelBackend;
  remote?: RemoteLaunch;
}

/** A stateful backend: the runtime service runs the session; `turns` are a local provider's scripts. */
export interface RemoteLaunch {
  spec: CompiledBackend;
  turns?: ScriptStep[][];
}

/** Loads and checks the program and chooses what to run; a LaunchError says what is wrong. */
export function prepareLaunch(args: LaunchArgs, baseEnv: NodeJS.ProcessEnv): PreparedLaunch {
  const env = { ...baseEnv, ...(args.env ?? {}) };
  if (
    args.inputs !== undefined &&
    (!Array.isArray(args.inputs) || args.inputs.some((i) => typeof i !== "string"))
  )
    throw new LaunchError(`"inputs" must be an array of user messages (strings)`);
  if (args.test !== undefined && args.replay !== undefined)
    throw new LaunchError(`"test" and "replay" cannot be combined: debug a test, or replay a session log`);
  let replay: PreparedLaunch["replay"];
  const baseCwd = args.cwd ? path.resolve(args.cwd) : undefined;
  let program = args.program ? path.resolve(baseCwd ?? process.cwd(), args.program) : undefined;
  if (args.replay !== undefined) {
    const file = path.resolve(baseCwd ?? process.cwd(), args.replay);
    if (!fs.existsSync(file))
      throw new LaunchError(
        `"replay": no session log at ${file} (session logs are under .statecraft/sessions/)`,
      );
    const events = readLog(file).events;
    let start;
    try {
      start = sessionStart(events);
    } catch (err) {
      throw new LaunchError(`"replay": ${file}: ${(err as Error).message}`);
    }
    replay = { file, events };
    if (!program) {
      if (!start.source)
        throw new LaunchError(
          `"replay": the log does not say which .agent file it ran; add "program" to the launch configuration`,
        );
      const workspace = baseCwd ?? path.resolve(path.dirname(file), "..", "..");
      program = path.resolve(workspace, start.source);
    }
  }
  if (!program)
    throw new LaunchError(
      `"program" is required: the .agent file to debug (or "replay": a session log to step through)`,
    );
  if (!fs.existsSync(program)) throw new LaunchError(`"program": cannot read ${program}`);
  const workspace = baseCwd ?? path.dirname(program);
  let loaded: LoadedProgram;
  let definition: CompiledDefinition;
  let test: TestIR | undefined;
  try {
    loaded = loadChecked(program);
    if (args.test !== undefined) {
      const found = findTests(loaded.program, [loaded.root]).filter(
        (t) => t.decl.name && t.decl.name.type === "String" && t.decl.name.value === args.test,
      );
      if (!found.length) {
        const names = findTests(loaded.program, [loaded.root]).map((t) =>
          t.decl.name?.type === "String" ? JSON.stringify(t.decl.name.value) : "?",
        );
        throw new LaunchError(
          `"test": no test ${JSON.stringify(args.test)} in ${path.basename(program)} or its imports${names.length ? `; tests: ${names.join(", ")}` : ""}`,
        );
      }
      test = compileTest(loaded.program, found[0].file, found[0].decl);
      definition = compileFor(loaded, test.agent, test.backend);
    } else if (replay) {
      const start = sessionStart(replay.events);
      definition = compileFor(loaded, args.agent ?? start.agent);
      const recordedBackend = start.backend.name;
      if (definition.agents[definition.agent].backend !== recordedBackend) {
        try {
          definition = withBackend(loaded, definition, recordedBackend);
        } catch {
          // A backend no longer declared: the cassette answers instead of it anyway.
        }
      }
    } else {
      definition = compileFor(loaded, args.agent, args.backend);
    }
  } catch (err) {
    if (err instanceof RunError) {
      const lines = err.diagnostics.slice(0, 5).map((d) => {
        const text = err.program?.get(d.path)?.file.text ?? "";
        const p = new LineIndex(text).position(d.span.start);
        return `\n  ${path.relative(workspace, d.path) || d.path}:${p.line + 1}:${p.character + 1}: ${d.message}`;
      });
      const msg = err.message
        .replace(/^--agent is required/, `"agent" is required`)
        .replace("--backend NAME", `"backend"`);
      throw new LaunchError(`${msg}${lines.join("")}`);
    }
    throw err;
  }
  let user: UserInfo;
  if (typeof args.user === "string") user = { id: args.user };
  else if (args.user && typeof args.user === "object" && typeof args.user.id === "string")
    user = { id: args.user.id, name: args.user.name };
  else user = test?.user ?? (replay ? sessionStart(replay.events).user : undefined) ?? { id: "local-user" };
  const map = new SpecMap(loaded, definition, test);
  const prepared: PreparedLaunch = { loaded, definition, map, workspace, env, user, test, replay };
  // A backend that cannot run (no script for the local one, a provider without a client) fails the launch.
  if (!test && !replay) {
    const spec = definition.backends[definition.agents[definition.agent].backend];
    if (spec.kind === "stateful") prepared.remote = remoteLaunch(prepared, args, spec);
    else prepared.backend = launchBackend(prepared, args, definition);
  }
  return prepared;
}

/**
 * The backend a stateless launch (or a test block's) runs on: a stateful one is refused (a test runs
 * in the debugger's own engine), and the local one gets the launch's "script".
 */
export function launchBackend(
  prepared: PreparedLaunch,
  args: LaunchArgs,
  def: CompiledDefinition,
): ModelBackend {
  const spec = def.backends[def.agents[def.agent].backend];
  if (spec.kind === "stateful") {
    const stateless = prepared.loaded.program
      .symbols(prepared.loaded.root)
      .ofKind("backend")
      .filter((b) => compileBackend(b.decl).kind === "stateless")
      .map((b) => b.name);
    throw new LaunchError(
      `backend '${spec.name}' is stateful: a test block runs in the debugger's own engine, not in a runtime service. ` +
        `Debug the test on a stateless backend (its "backend:" ${[...new Set(stateless)].map((n) => JSON.stringify(n)).join(" | ") || '"local"'}), ` +
        `or debug the agent itself on '${spec.name}' (a launch without "test")`,
    );
  }
  let backend: ModelBackend;
  try {
    backend = createBackend(spec, { env: prepared.env });
  } catch (err) {
    if (err instanceof BackendError) throw new LaunchError(err.message);
    throw err;
  }
  if (backend.scripted) {
    if (!args.script) {
      const others = prepared.loaded.program
        .symbols(prepared.loaded.root)
        .ofKind("backend")
        .map((s) => s.name)
        .filter((n) => n !== spec.name);
      throw new LaunchError(
        `agent '${def.agent}' runs on the local backend, which only plays back scripted replies: add "script": "<file>.json" to the launch configuration` +
          (others.length ? `, or set "backend" to one of ${others.join(", ")}` : ""),
      );
    }
    try {
      backend.scripted.enqueue(...readScript(path.resolve(args.cwd ?? prepared.workspace, args.script)));
    } catch (err) {
      throw new LaunchError(`"script": ${(err as Error).message}`);
    }
  }
  return backend;
}

/** Checks a stateful backend's launch: a local provider plays back the launch's "script". */
export function remoteLaunch(
  prepared: PreparedLaunch,
  args: LaunchArgs,
  spec: CompiledBackend,
): RemoteLaunch {
  if (spec.provider !== "local") return { spec };
  if (!args.script)
    throw new LaunchError(
      `agent '${prepared.definition.agent}' runs on '${spec.name}', whose provider local only plays back scripted replies: add "script": "<file>.json" to the launch configuration`,
    );
  try {
    const steps = readScript(path.resolve(args.cwd ?? prepared.workspace, args.script));
    return { spec, turns: scriptTurns(steps) };
  } catch (err) {
    throw new LaunchError(`"script": ${(err as Error).message}`);
  }
}
