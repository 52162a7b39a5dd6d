// `statecraft run`: one session of an agent, turn by turn, streaming replies
// to stdout and recording the session log under .statecraft/sessions/.

import * as path from "node:path";
import { parseArgs } from "node:util";
import { createBackend } from "../backends";
import { readScript } from "../backends/script";
import { compileBackend, type CompiledDefinition } from "../language/compile";
import type { EngineOptions } from "../runtime/engine";
import type { BackendInfo, BackendList } from "../protocol/cli";
import type { UserInfo } from "../protocol/events";
import { modelProviders, orList } from "../language/providers";
import { BackendError, type ModelBackend } from "../runtime/model";
import { agentNames, compileFor, loadChecked, RunError } from "../runtime/prepare";
import { openSession } from "../runtime/openSession";
import { SessionLogError } from "../runtime/sessionLog";
import { formatDiagnostic, locate } from "./check";
import { activityPrinter, conversation } from "./conversation";
import { driveRemote } from "./remote";
import { displayPath, projectFolder } from "./files";
import { sessionListener, UsageError, type CliIO, type Flags } from "./io";

/** Reports a spec with errors the way `statecraft check` does, and returns the exit code. */
export function reportRunError(err: RunError, io: CliIO, command: string): number {
  if (err.program)
    for (const d of err.diagnostics) io.stderr(formatDiagnostic(locate(err.program, d, io.cwd)) + "\n");
  io.stderr(`statecraft ${command}: ${err.message}\n`);
  // Errors in the spec are problems found (1), as with check; a file that cannot be read, a missing
  // or unknown --agent or --backend are usage or input errors (2).
  return err.diagnostics.length ? 1 : 2;
}

export interface DriveOptions {
  command: string;
  definition: CompiledDefinition;
  baseDir: string;
  backend: ModelBackend;
  backendName: string;
  workspace: string;
  /** The agent file, relative to the workspace (recorded for replay). */
  source?: string;
  inputs?: string[];
  approve?: string;
  user: UserInfo;
  restore?: EngineOptions["restore"];
  parent?: EngineOptions["parent"];
  /** False in an untrusted workspace: command tools and MCP servers are refused (`--untrusted`). */
  trusted?: boolean;
  /** Stdin is a chat (the editor's terminal): prompt with `you> ` before each input, without a TTY (`--chat`). */
  chat?: boolean;
  /** Tool results that stand in for running the tools (a live replay answers from the recording). */
  mocks?: EngineOptions["mocks"];
  mockOrigin?: EngineOptions["mockOrigin"];
}

/**
 * Runs one recorded session turn by turn from --input values or stdin,
 * streaming replies to stdout and tool activity to stderr.
 */
export async function driveSession(
  io: CliIO,
  o: DriveOptions,
): Promise<{ code: number; file: string; sessionId: string }> {
  const talk = conversation(io, o);
  const { session, sessionId, file, close } = await openSession({
    definition: o.definition,
    baseDir: o.baseDir,
    backend: o.backend,
    backendName: o.backendName,
    workspace: o.workspace,
    env: io.env,
    listener: sessionListener(io, activityPrinter(io)),
    user: o.user,
    approver: talk.approver,
    onText: (t) => io.stdout(t),
    trusted: o.trusted ?? true,
    source: o.source,
    restore: o.restore,
    parent: o.parent,
    mocks: o.mocks,
    mockOrigin: o.mockOrigin,
  });
  let code = 0;
  try {
    for (let input = await talk.next(); input !== undefined; input = await talk.next()) {
      if (!input.trim()) continue;
      talk.echo(input);
      const turn = await session.send(input);
      io.stdout("\n");
      if (turn.status !== "ok") {
        io.stderr(`statecraft ${o.command}: turn ${turn.turn} ${turn.status}: ${turn.reason}\n`);
        code = 1;
        break;
      }
    }
  } finally {
    talk.close();
    await close(code === 0 ? "ok" : "failed");
  }
  // The turns this session ran (a fork's turn numbers continue its parent's).
  const turns = session.turn - (o.restore?.turn ?? 0);
  io.stderr(`session ${sessionId}: ${displayPath(file, io.cwd)} (${turns} turn${turns === 1 ? "" : "s"})\n`);
  return { code, file, sessionId };
}

/** The local backend with a script, or a clear reason why it cannot run. */
export function scriptedLocal(
  backend: ModelBackend,
  script: string | undefined,
  io: CliIO,
  why: () => string,
): void {
  if (!backend.scripted) return;
  if (!script) throw new UsageError(why());
  backend.scripted.enqueue(...readScript(path.resolve(io.cwd, script)));
}

/** The flags of `statecraft run` (the docs test parses the documented commands against them). */
export const RUN_FLAGS = {
  agent: { type: "string" },
  backend: { type: "string" },
  input: { type: "string", multiple: true },
  "user-id": { type: "string" },
  "user-name": { type: "string" },
  approve: { type: "string" },
  script: { type: "string" },
  workspace: { type: "string" },
  untrusted: { type: "boolean" },
  chat: { type: "boolean" },
  "list-backends": { type: "boolean" },
} satisfies Flags;

export async function runCommand(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: RUN_FLAGS,
  });
  if (positionals.length !== 1)
    throw new UsageError("usage: statecraft run FILE [--agent NAME] [--backend NAME] [--input TEXT]...");
  if (values["list-backends"]) return listBackends(path.resolve(io.cwd, positionals[0]), io);
  checkApprove(values.approve);
  const file = path.resolve(io.cwd, positionals[0]);
  const workspace = values.workspace ? path.resolve(io.cwd, values.workspace) : projectFolder(file);
  try {
    const loaded = loadChecked(file);
    const definition = compileFor(loaded, values.agent, values.backend);
    const spec = definition.backends[definition.agents[definition.agent].backend];
    const noScript = () => {
      const others = loaded.program
        .symbols(loaded.root)
        .ofKind("backend")
        .map((s) => s.name)
        .filter((n) => n !== spec.name);
      return (
        `agent '${definition.agent}' runs on the local backend, which only plays back scripted replies: pass --script FILE` +
        (others.length
          ? `, or run it on a real model with --backend ${others.join(" | ")}`
          : `, or declare a backend with provider ${orList(modelProviders())} and pass --backend NAME`)
      );
    };
    if (spec.kind === "stateful") {
      // The session lives in a runtime service: each turn sends only its input.
      if (spec.provider === "local" && !values.script) throw new UsageError(noScript());
      const { code } = await driveRemote(io, {
        command: "run",
        definition,
        spec,
        baseDir: path.dirname(loaded.root),
        workspace,
        source: path.relative(workspace, file).split(path.sep).join("/"),
        inputs: values.input,
        approve: values.approve,
        user: { id: values["user-id"] ?? "local-user", name: values["user-name"] },
        script: values.script ? readScript(path.resolve(io.cwd, values.script)) : undefined,
        chat: values.chat,
      });
      return code;
    }
    const backend = createBackend(spec, { env: io.env });
    scriptedLocal(backend, values.script, io, noScript);
    const { code } = await driveSession(io, {
      command: "run",
      definition,
      baseDir: path.dirname(loaded.root),
      backend,
      backendName: spec.name,
      workspace,
      source: path.relative(workspace, file).split(path.sep).join("/"),
      inputs: values.input,
      approve: values.approve,
      user: { id: values["user-id"] ?? "local-user", name: values["user-name"] },
      trusted: !values.untrusted,
      chat: values.chat,
    });
    return code;
  } catch (err) {
    return handleRunFailure(err, io, "run");
  }
}

/**
 * `--list-backends`: the file's agents and the backends declared in it and its imports, as JSON,
 * for the editor's backend picker and key prompts. Key values never appear, only the variable names.
 */
function listBackends(file: string, io: CliIO): number {
  try {
    const loaded = loadChecked(file);
    const table = loaded.program.symbols(loaded.root);
    const backends = table.ofKind("backend").map((s): BackendInfo => {
      const b = compileBackend(s.decl);
      return {
        name: b.name,
        kind: b.kind,
        provider: b.provider,
        model: b.model,
        endpoint: b.endpoint,
        apiKeyEnv: b.apiKeyEnv,
      };
    });
    const agents = agentNames(loaded).map((name) => {
      const def = compileFor(loaded, name);
      return { name, backend: def.agents[name].backend };
    });
    const out: BackendList = { agents, backends };
    io.stdout(JSON.stringify(out) + "\n");
    return 0;
  } catch (err) {
    return handleRunFailure(err, io, "run");
  }
}

export function checkApprove(approve: string | undefined): void {
  if (approve !== undefined && approve !== "all" && approve !== "none")
    throw new UsageError(`--approve must be all or none, not '${approve}'`);
}

/** Spec errors and backend failures end a command with a clear message; bugs keep their stack. */
export function handleRunFailure(err: unknown, io: CliIO, command: string): number {
  if (err instanceof RunError) return reportRunError(err, io, command);
  if (err instanceof SessionLogError) {
    io.stderr(`statecraft ${command}: ${err.message}\n`);
    return 2;
  }
  if (err instanceof BackendError) {
    io.stderr(`statecraft ${command}: ${err.message}\n`);
    return 1;
  }
  throw err;
}
