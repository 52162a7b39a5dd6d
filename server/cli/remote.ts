// `statecraft run` on a stateful backend: the session lives in a runtime
// service (the backend's endpoint, or one embedded in this process), so each
// turn sends only its input; the events that stream back are mirrored into
// `.statecraft/sessions/<id>.jsonl`. Same UX as a local run: replies on
// stdout, tool activity on stderr, approvals from --approve or a y/N prompt.

import { scriptTurns, toWireScript } from "../backends/script";
import { RemoteSession } from "../backends/statefulSession";
import type { CompiledBackend, CompiledDefinition } from "../language/compile";
import type { UserInfo } from "../protocol/events";
import { BackendError, type ScriptStep } from "../runtime/model";
import { connect } from "../service/embedded";
import { displayPath } from "./files";
import { sessionListener, type CliIO } from "./io";
import { activityPrinter, conversation } from "./conversation";

export interface RemoteDriveOptions {
  command: string;
  definition: CompiledDefinition;
  /** The stateful backend the agent runs on. */
  spec: CompiledBackend;
  /** The agent file's folder: where an embedded runtime runs tools from. */
  baseDir: string;
  workspace: string;
  source?: string;
  inputs?: string[];
  approve?: string;
  user: UserInfo;
  /** A whole-run script (provider local): each turn is sent the steps up to its reply. */
  script?: ScriptStep[];
  /** Or the steps of each turn (a live replay's recorded responses). */
  turnScripts?: ScriptStep[][];
  chat?: boolean;
}

export async function driveRemote(
  io: CliIO,
  o: RemoteDriveOptions,
): Promise<{ code: number; file: string; sessionId: string }> {
  const talk = conversation(io, o);
  let runtime: Awaited<ReturnType<typeof connect>> | undefined;
  let session: RemoteSession | undefined;
  let code = 0;
  let turns = 0;
  try {
    runtime = await connect(o.spec, { workspace: o.workspace, baseDir: o.baseDir, env: io.env });
    session = new RemoteSession({
      client: runtime.client,
      definition: o.definition,
      workspace: o.workspace,
      runtimeEndpoint: runtime.endpoint,
      user: o.user,
      source: o.source,
      approve: o.approve === "all" || o.approve === "none" ? o.approve : "ask",
      approver: (req) => talk.approver(req),
      listener: sessionListener(io, activityPrinter(io)),
      onText: (t) => io.stdout(t),
    });
    const script = o.turnScripts ?? (o.script ? scriptTurns(o.script) : undefined);
    for (let input = await talk.next(); input !== undefined; input = await talk.next()) {
      if (!input.trim()) continue;
      talk.echo(input);
      const steps = script ? (script[turns] ?? []) : undefined;
      const turn = await session.send(input, steps ? { script: toWireScript(steps) } : {});
      turns++;
      io.stdout("\n");
      if (turn.status !== "ok") {
        io.stderr(`statecraft ${o.command}: turn ${turn.turn} ${turn.status}: ${turn.reason}\n`);
        code = 1;
        break;
      }
    }
  } catch (err) {
    if (!(err instanceof BackendError)) throw err;
    io.stderr(`statecraft ${o.command}: ${err.message}\n`);
    code = 1;
  } finally {
    talk.close();
    // The turns are recorded; if the session's end cannot be, say so and go on.
    await session
      ?.end()
      .catch((err: unknown) =>
        io.stderr(`warning: the session was not ended on the runtime service: ${(err as Error).message}\n`),
      );
    await runtime?.close();
  }
  if (session?.created)
    io.stderr(
      `session ${session.sessionId}: ${displayPath(session.file, io.cwd)} (${turns} turn${turns === 1 ? "" : "s"})\n`,
    );
  return { code, file: session?.file ?? "", sessionId: session?.sessionId ?? "" };
}
