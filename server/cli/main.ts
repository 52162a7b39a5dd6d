// The `statecraft` command: dispatches to one module per subcommand. Errors
// a user can cause print one line and exit 2; anything else is a bug and
// keeps its stack trace.

import { CHECK_FLAGS, checkCommand } from "./check";
import { COMPILE_FLAGS, compileCommand } from "./compile";
import { dapCommand } from "./dap";
import { FMT_FLAGS, fmtCommand } from "./fmt";
import { lspCommand } from "./lsp";
import { FORK_FLAGS, forkCommand } from "./fork";
import { REPLAY_FLAGS, replayCommand } from "./replay";
import { RUN_FLAGS, runCommand } from "./run";
import { SERVE_FLAGS, serveCommand } from "./serve";
import { SESSIONS_FLAGS, sessionsCommand } from "./sessions";
import { TEST_FLAGS, testCommand } from "./test";
import { processIO, UsageError, type CliIO, type Flags } from "./io";

const VERSION = "0.1.0";

const HELP = `statecraft ${VERSION}: build, run and debug AI agents defined in .agent files

usage: statecraft <command> [options]

commands:
  check [files|dirs...]   validate .agent files (--format json, --hints)
  fmt [files|dirs...]     format .agent files in place (--check: only list unformatted files)
  compile FILE            print an agent's compiled definition (--agent NAME)
  run FILE                run an agent: --agent NAME, --input TEXT (repeatable; else stdin),
                          --backend NAME, --script FILE (local backend), --approve all|none,
                          --user-id ID, --user-name NAME, --workspace DIR, --untrusted (no command
                          or MCP tools), --chat (prompt on stdin), --list-backends
  test [files|dirs...]    run the test blocks of the files named (--with-imports: also of the files
                          they import; --filter TEXT, --test NAME, --junit FILE, --reporter json,
                          --list, --untrusted); ends with N passed, N failed
  replay SESSION          re-run a recorded session: --mode exact (from the log; exit 1 at the
                          first divergence) or --mode live (a new session; --backend NAME; tools
                          answer from the recording unless --live-tools; approvals are asked
                          again unless --approve all|none)
  fork SESSION --turn N   a new session from the state after turn N (--input, --script, --backend)
  sessions [list|show ID] the recorded sessions of the workspace (--workspace DIR; list --all
                          includes the sessions of test runs)
  serve                   the runtime service for stateful backends: --port 8080, --host 127.0.0.1,
                          --data DIR (embedded PostgreSQL), --database-url URL, --auth FILE
  lsp --stdio             run the language server over stdio (for any LSP editor)
  dap                     run the agent debugger (Debug Adapter Protocol) over stdio
  help                    show this help

exit codes: 0 ok, 1 problems found, 2 usage or input error
`;

type Command = (argv: string[], io: CliIO) => number | Promise<number>;

const COMMANDS: Record<string, Command> = {
  check: checkCommand,
  fmt: fmtCommand,
  compile: compileCommand,
  lsp: lspCommand,
  dap: dapCommand,
  run: runCommand,
  test: testCommand,
  replay: replayCommand,
  fork: forkCommand,
  sessions: sessionsCommand,
  serve: serveCommand,
};

/** Every command's flags (lsp and dap read theirs by hand: only `--stdio`). */
export const COMMAND_FLAGS: Record<string, Flags> = {
  check: CHECK_FLAGS,
  fmt: FMT_FLAGS,
  compile: COMPILE_FLAGS,
  lsp: { stdio: { type: "boolean" } },
  dap: { stdio: { type: "boolean" } },
  run: RUN_FLAGS,
  test: TEST_FLAGS,
  replay: REPLAY_FLAGS,
  fork: FORK_FLAGS,
  sessions: SESSIONS_FLAGS,
  serve: SERVE_FLAGS,
};

export async function main(argv: string[], io: CliIO): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "help" || name === "--help" || name === "-h") {
    io.stdout(HELP);
    return 0;
  }
  if (name === "--version" || name === "-v") {
    io.stdout(`${VERSION}\n`);
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    io.stderr(
      `statecraft: unknown command '${name}'; commands: ${Object.keys(COMMANDS).join(", ")} (see statecraft help)\n`,
    );
    return 2;
  }
  try {
    return await command(rest, io);
  } catch (err) {
    if (err instanceof UsageError || isArgError(err)) {
      io.stderr(`statecraft ${name}: ${(err as Error).message}\n`);
      return 2;
    }
    throw err;
  }
}

/** node:util parseArgs errors (unknown option, missing value) are usage errors. */
function isArgError(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  return typeof code === "string" && code.startsWith("ERR_PARSE_ARGS");
}

if (require.main === module) {
  main(process.argv.slice(2), processIO()).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(
        `statecraft: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
      );
      process.exitCode = 3;
    },
  );
}
