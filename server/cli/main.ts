// The `statecraft` command: dispatches to one module per subcommand. Errors
// a user can cause print one line and exit 2; anything else is a bug: one
// line, exit 3, and its stack trace in a log file that the line names.

import { ScriptError } from "../backends/script";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { CHECK_FLAGS, checkCommand } from "./check";
import { EVAL_COMPARE_FLAGS, EVAL_LIST_FLAGS, EVAL_REPORT_FLAGS } from "./evalReports";
import { COMPILE_FLAGS, compileCommand } from "./compile";
import { dapCommand } from "./dap";
import { EVAL_FLAGS, evalCommand } from "./eval";
import { EXPORT_FLAGS, exportCommand } from "./export";
import { FMT_FLAGS, fmtCommand } from "./fmt";
import { lspCommand } from "./lsp";
import { FORK_FLAGS, forkCommand } from "./fork";
import { REPLAY_FLAGS, replayCommand } from "./replay";
import { RUN_FLAGS, runCommand } from "./run";
import { SERVE_FLAGS, serveCommand } from "./serve";
import { SESSIONS_FLAGS, sessionsCommand } from "./sessions";
import { TEST_FLAGS, testCommand } from "./test";
import { COMMAND_HELP, HELP, VERSION } from "./help";
import { startTelemetry, TelemetryConfigError } from "../service/telemetry";
import { printable, processIO, UsageError, type CliIO, type Flags } from "./io";

type Command = (argv: string[], io: CliIO) => number | Promise<number>;

const COMMANDS: Record<string, Command> = {
  check: checkCommand,
  fmt: fmtCommand,
  compile: compileCommand,
  lsp: lspCommand,
  dap: dapCommand,
  run: runCommand,
  test: testCommand,
  eval: evalCommand,
  replay: replayCommand,
  fork: forkCommand,
  sessions: sessionsCommand,
  serve: serveCommand,
  export: exportCommand,
};

/** The commands whose sessions are traced when OTEL_EXPORTER_OTLP_ENDPOINT is set (serve traces its own turns). */
const TRACED = new Set(["run", "test", "eval"]);

/**
 * Every command's flags (lsp and dap read theirs by hand: only `--stdio`); "command sub" for a
 * subcommand whose flags differ from its command's.
 */
export const COMMAND_FLAGS: Record<string, Flags> = {
  check: CHECK_FLAGS,
  fmt: FMT_FLAGS,
  compile: COMPILE_FLAGS,
  lsp: { stdio: { type: "boolean" } },
  dap: { stdio: { type: "boolean" } },
  run: RUN_FLAGS,
  test: TEST_FLAGS,
  eval: EVAL_FLAGS,
  replay: REPLAY_FLAGS,
  fork: FORK_FLAGS,
  sessions: SESSIONS_FLAGS,
  // Subcommands with flags of their own: `eval list --json` prints JSON, `eval --json FILE` writes a file.
  "eval list": EVAL_LIST_FLAGS,
  "eval report": EVAL_REPORT_FLAGS,
  "eval compare": EVAL_COMPARE_FLAGS,
  serve: SERVE_FLAGS,
  export: EXPORT_FLAGS,
};

export async function main(argv: string[], io: CliIO): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "help" || name === "--help" || name === "-h") {
    const topic = name === "help" ? rest[0] : undefined;
    if (topic && !COMMAND_HELP[topic]) {
      io.stderr(
        `statecraft help: unknown command '${printable(topic, true)}'; commands: ${Object.keys(COMMANDS).join(", ")}\n`,
      );
      return 2;
    }
    io.stdout(topic ? COMMAND_HELP[topic] : HELP);
    return 0;
  }
  if (name === "--version" || name === "-v") {
    io.stdout(`${VERSION}\n`);
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    io.stderr(
      `statecraft: unknown command '${printable(name, true)}'; commands: ${Object.keys(COMMANDS).join(", ")} (see statecraft help)\n`,
    );
    return 2;
  }
  // Every command: --help (or -h first) prints its options and an example.
  if (rest.includes("--help") || rest[0] === "-h") {
    io.stdout(COMMAND_HELP[name]);
    return 0;
  }
  try {
    return TRACED.has(name) ? await traced(rest, io, command) : await command(rest, io);
  } catch (err) {
    // A --script file that cannot be used is the user's to fix, like a bad option.
    if (err instanceof UsageError || err instanceof ScriptError || isArgError(err)) {
      // node:util's parseArgs explains some errors over several lines: one line here, in words.
      const message = (err as Error).message;
      io.stderr(
        `statecraft ${name}: ${printable(isArgError(err) ? message.replace(/\n/g, " ") : message, true)}\n`,
      );
      return 2;
    }
    throw err;
  }
}

/**
 * Runs a command with telemetry when the environment asks for it: each session it records is traced
 * from its events, and what is pending is exported before the command returns, within a bounded
 * time (an unreachable collector costs one warning line, never a hang, and not the exit code).
 */
async function traced(argv: string[], io: CliIO, command: Command): Promise<number> {
  let telemetry;
  try {
    telemetry = startTelemetry(io.env);
  } catch (err) {
    if (err instanceof TelemetryConfigError) throw new UsageError(err.message);
    throw err;
  }
  if (!telemetry) return command(argv, io);
  const t = telemetry;
  try {
    return await command(argv, { ...io, observe: () => t.observer() });
  } finally {
    const warning = await t.shutdown();
    if (warning) io.stderr(`warning: ${warning}\n`);
  }
}

/** node:util parseArgs errors (unknown option, missing value) are usage errors. */
function isArgError(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  return typeof code === "string" && code.startsWith("ERR_PARSE_ARGS");
}

/**
 * A bug: its stack goes to a log file under the temp folder, and the user sees one line that
 * says where (or the stack itself, if even that file cannot be written).
 */
export function reportInternalError(err: unknown, stderr: (t: string) => void, argv: string[]): number {
  const detail = err instanceof Error ? (err.stack ?? err.message) : String(err);
  const message = err instanceof Error ? err.message : String(err);
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const file = path.join(os.tmpdir(), "statecraft", `internal-error-${stamp}-${process.pid}.log`);
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(
      file,
      `statecraft ${VERSION}, node ${process.version}, ${process.platform}\ncommand: statecraft ${argv.join(" ")}\n\n${detail}\n`,
    );
    stderr(
      `statecraft: internal error (a bug in statecraft, not in your input): ${printable(message, true)}; details in ${file}\n`,
    );
  } catch {
    stderr(`statecraft: internal error (a bug in statecraft, not in your input): ${printable(detail)}\n`);
  }
  return 3;
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  const crash = (err: unknown) => {
    process.exitCode = reportInternalError(err, (t) => process.stderr.write(t), argv);
  };
  // A failure outside the command's promise (an event handler, a stream) is a bug too.
  process.on("uncaughtException", (err) => {
    crash(err);
    process.exit(3);
  });
  process.on("unhandledRejection", (err) => {
    crash(err);
    process.exit(3);
  });
  main(argv, processIO()).then((code) => {
    process.exitCode = code;
  }, crash);
}
