// `statecraft help` and `statecraft COMMAND --help`: each command's usage,
// its flags and an example.

export const VERSION = "0.1.0";

export const EXIT_CODES =
  "exit codes: 0 ok, 1 problems found or a failed run, 2 usage or input error,\n" +
  "            3 internal error (a bug: one line, and the details in a log file it names)";

export const COMMAND_HELP: Record<string, string> = {
  check: `usage: statecraft check [files|dirs...]

Validates .agent files (the current folder when none are named) and prints
path:line:col: severity code: message, 1-based. Exit 1 when there are errors.

options:
  --format text|json   json: every diagnostic as a JSON array on stdout
  --hints              also print hints (unused declarations)
  --connect            also prepare each sql(...) statement against its connection's
                       database (never run; reaches the databases, so never by default)

example:
  statecraft check examples/support
`,
  fmt: `usage: statecraft fmt [files|dirs...]

Rewrites .agent files in the canonical layout (comments kept, text blocks
untouched). A file that cannot be read or written, is not UTF-8 or has syntax
errors is left as it is, with one line on stderr; exit 2 then.

options:
  --check   write nothing: list the files that need formatting (exit 1 if any)

example:
  statecraft fmt --check examples
`,
  compile: `usage: statecraft compile FILE [--agent NAME]

Prints the compiled JSON definition an agent runs with (what a session pins).

options:
  --agent NAME   the agent (required when the file and its imports declare several)

example:
  statecraft compile examples/support/main.agent --agent support
`,
  run: `usage: statecraft run FILE [--agent NAME] [--input TEXT]... [options]

Runs one session of an agent, turn by turn: replies on stdout, tool activity
on stderr, the session log under .statecraft/sessions/. Without --input, the
inputs are read from stdin, one a line.

options:
  --agent NAME         the agent (required when the file declares several)
  --input TEXT         one turn's input (repeatable)
  --backend NAME       run on another declared backend (or local)
  --script FILE        the local backend's scripted replies (a JSON array of steps)
  --approve all|none   answer approvals without asking
  --user-id ID, --user-name NAME   who the session runs for
  --workspace DIR      where .statecraft/ is (default: the project's folder)
  --untrusted          refuse command and MCP tools
  --chat               prompt on stdin without a terminal (the editor's chat)
  --list-backends      print the file's agents and backends as JSON, and run nothing

example:
  statecraft run examples/support/main.agent --agent support \\
    --script examples/support/demo.script.json --approve all --input "Where is my order A1003?"
`,
  test: `usage: statecraft test [files|dirs...] [options]

Runs the test blocks of the .agent files named (not those of the files they
import, unless --with-imports), one line per test, then N passed, N failed.
Sessions go to the project's .statecraft/ (the nearest folder up with a
.statecraft, package.json or .git). Exit 1 when a test fails or none is selected.

options:
  --with-imports       also run the tests of the files they import
  --filter TEXT        only the tests whose name contains TEXT
  --test NAME          only the test named NAME (repeatable)
  --list               list the tests without running them
  --reporter text|json json: one JSON object a line (start, result, summary)
  --junit FILE         also write a JUnit XML report
  --workspace DIR      where .statecraft/ is (default: the project's folder)
  --untrusted          refuse command and MCP tools

example:
  statecraft test examples/support --filter refund
`,
  eval: `usage: statecraft eval [files|dirs...] [options]
       statecraft eval list [--json]
       statecraft eval report RUN [--html FILE|-] [--junit FILE|-]
       statecraft eval compare RUN_A RUN_B [--json] [--html FILE|-]

Runs the eval blocks of the .agent files named (and of the files they import):
every case, trial and backend is a case run, recorded as a session. A progress
bar on a terminal, else one line per case run; then a summary table per backend
and N passed, N failed. Each run's JSON goes to .statecraft/evals/<run>.json.
Exit 0 when every eval meets its pass_rate, 1 when one does not, 2 on a usage
error, 130 when stopped with Ctrl-C (what finished is written).

list: the recorded runs, newest first, with the pass rate per backend. report:
a recorded run (RUN: an id, a unique start of one, or a file): its summary and
failing case runs, or its HTML page or JUnit XML (- writes to stdout).
compare: per case and backend, regressions (passed more often in RUN_A) first,
then improvements, score deltas and the deltas per backend.

options:
  --eval NAME          only the eval named NAME
  --case TEXT          only the cases whose name contains TEXT
  --backend NAME       run on this backend instead of the eval's backends (repeatable)
  --trials N           runs of every case per backend (default: the eval's trials)
  --concurrency N      case runs at once (default: the eval's concurrency)
  --json FILE          also write the run's JSON to FILE (list, compare: print JSON)
  --html FILE          also write the HTML report (report, compare: - for stdout)
  --junit FILE         also write a JUnit XML report (report: - for stdout)
  --baseline RUN|FILE  exit 1 when a case that passed in this earlier run fails now
  --workspace DIR      where .statecraft/ is (default: the project's folder)
  --untrusted          refuse command tools, MCP servers and score commands

example:
  statecraft eval examples/support --eval support_quality --trials 2
`,
  replay: `usage: statecraft replay SESSION [--mode exact|live] [options]

Re-runs a recorded session (a log file, or an id or id prefix under
.statecraft/sessions/). exact: the current definition against the recorded
model and tool results, exit 1 at the first request that differs. live: the
recorded inputs as a new session, compared turn by turn; tools answer from
the recording (nothing that books or refunds runs again) unless --live-tools,
and approvals are asked again unless --approve answers them.

options:
  --mode exact|live    default exact
  --backend NAME       live: the backend to replay on
  --live-tools         live: run the tools for real (required on a stateful backend)
  --approve all|none   live: how approvals are answered (default: ask)
  --file FILE          the .agent file, when the session's is elsewhere
  --workspace DIR      where .statecraft/ is (default: the current folder)

example:
  statecraft replay 20250101-120000-ab12cd --mode exact
`,
  fork: `usage: statecraft fork SESSION --turn N [--input TEXT]... [options]

A new session that starts from the conversation, memory and active agent
after turn N of a recorded one.

options:
  --turn N             the turn to fork after (0: before the first)
  --input TEXT         the new session's inputs (repeatable; else stdin)
  --backend NAME       run the fork on another declared backend
  --script FILE        the local backend's scripted replies
  --approve all|none   answer approvals without asking
  --file FILE          the .agent file, when the session's is elsewhere
  --workspace DIR      where .statecraft/ is (default: the current folder)

example:
  statecraft fork 20250101-120000-ab12cd --turn 1 --input "And order A1002?"
`,
  sessions: `usage: statecraft sessions [list | show ID] [options]

The recorded sessions of the workspace: list (the default) prints one line a
session; show prints one session turn by turn (who approved, a fork's parent).

options:
  --all                list: also the sessions of test runs
  --format text|json   list: json prints an array
  --workspace DIR      where .statecraft/ is (default: the current folder)

example:
  statecraft sessions show 20250101-120000-ab12cd
`,
  serve: `usage: statecraft serve [options]

The runtime service for stateful backends: sessions, memory and events in
PostgreSQL (embedded PGlite by default), the AgentCore contract and REST
inspection. Runs until SIGINT or SIGTERM.

options:
  --port N              default 8080 (0: any free port)
  --host HOST           default 127.0.0.1
  --data DIR            the embedded database's folder (default .statecraft/runtime)
  --database-url URL    a PostgreSQL server instead of the embedded database
  --auth FILE           a JSON object {"token": "actor id", ...}: bearer tokens required
  --max-body-bytes N    the largest request body accepted, in bytes (default 4194304)
  --warm-up N           scripted turns run before listening, in a transaction rolled
                        back after, so the first turns run warm code (default 200, 0: none)

example:
  statecraft serve --port 8080 --auth tokens.json
`,
  export: `usage: statecraft export otel SESSION [--endpoint URL] [--workspace DIR]

Sends a recorded session to an OpenTelemetry collector (OTLP/HTTP) as the
trace it would have produced when it ran, with its recorded times: a span per
turn (invoke_agent AGENT), per model call (chat MODEL) and per tool call
(execute_tool TOOL), GenAI semantic conventions. SESSION is a log's path or
its id (a unique prefix is enough). The OTEL_EXPORTER_OTLP_* variables apply
(protocol, headers); --endpoint stands for OTEL_EXPORTER_OTLP_ENDPOINT.

options:
  --endpoint URL       the collector (default: OTEL_EXPORTER_OTLP_ENDPOINT)
  --workspace DIR      where .statecraft/ is (default: the current folder)

example:
  statecraft export otel 20250101-120000-ab12cd --endpoint http://localhost:4318
`,
  lsp: `usage: statecraft lsp --stdio

The language server over standard input and output, for any LSP editor
(Neovim, Emacs, Helix...).

example:
  statecraft lsp --stdio
`,
  dap: `usage: statecraft dap [--stdio]

The agent debugger (Debug Adapter Protocol) over standard input and output,
for nvim-dap, dap-mode...

example:
  statecraft dap
`,
};

export const HELP = `statecraft ${VERSION}: build, run and debug AI agents defined in .agent files

usage: statecraft <command> [options]    (statecraft <command> --help: its options and an example)

commands:
  check [files|dirs...]   validate .agent files (--format json, --hints, --connect)
  fmt [files|dirs...]     format .agent files in place (--check: only list unformatted files)
  compile FILE            print an agent's compiled definition (--agent NAME)
  run FILE                run an agent: --agent NAME, --input TEXT (repeatable; else stdin),
                          --backend NAME, --script FILE (local backend), --approve all|none,
                          --user-id ID, --user-name NAME, --workspace DIR, --untrusted (no command
                          or MCP tools), --chat (prompt on stdin), --list-backends
  test [files|dirs...]    run the test blocks of the files named (--with-imports: also of the files
                          they import; --filter TEXT, --test NAME, --junit FILE, --reporter json,
                          --list, --untrusted); ends with N passed, N failed
  eval [files|dirs...]    run the eval blocks of the files named: every case x trial x backend as
                          a recorded session, judged and scored (--eval NAME, --case TEXT,
                          --backend NAME..., --trials N, --concurrency N, --json FILE,
                          --html FILE, --junit FILE, --baseline RUN, --untrusted); a summary
                          per backend, then N passed, N failed
  eval list|report|compare the recorded eval runs: list [--json], report RUN [--html FILE|-]
                          [--junit FILE|-], compare RUN_A RUN_B [--json] [--html FILE|-]
                          (regressions first)
  replay SESSION          re-run a recorded session: --mode exact (from the log; exit 1 at the
                          first divergence) or --mode live (a new session; --backend NAME; tools
                          answer from the recording unless --live-tools; approvals are asked
                          again unless --approve all|none)
  fork SESSION --turn N   a new session from the state after turn N (--input, --script, --backend)
  sessions [list|show ID] the recorded sessions of the workspace (--workspace DIR; list --all
                          includes the sessions of test runs)
  serve                   the runtime service for stateful backends: --port 8080, --host 127.0.0.1,
                          --data DIR (embedded PostgreSQL), --database-url URL, --auth FILE,
                          --max-body-bytes N
  export otel SESSION     send a recorded session to an OpenTelemetry collector as its trace
                          (--endpoint URL, else OTEL_EXPORTER_OTLP_ENDPOINT)
  lsp --stdio             run the language server over stdio (for any LSP editor)
  dap                     run the agent debugger (Debug Adapter Protocol) over stdio
  help [COMMAND]          show this help, or a command's

run, test and serve send traces and metrics to an OpenTelemetry collector when
OTEL_EXPORTER_OTLP_ENDPOINT is set (see docs/runtime-service.md).

${EXIT_CODES}
`;
