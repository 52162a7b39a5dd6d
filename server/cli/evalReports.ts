// `statecraft eval list | report RUN | compare RUN_A RUN_B`: what recorded eval runs say, as text,
// JSON, HTML or JUnit; and `writeEvalReports`, the `--html`/`--junit` of `statecraft eval` itself.

import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import type { EvalRun } from "../protocol/evals";
import { baselineResults, comparisonText, compareEvalRuns, regressionText } from "./evalCompare";
import { evalComparisonHtml, evalRunHtml } from "./evalHtml";
import { evalJunitXml } from "./evalJunit";
import { evalsDir, listEvalRuns, loadEvalRun, loadEvalRuns } from "./evalRuns";
import { displayPath, fileError, plural, projectFolder } from "./files";
import { UsageError, type CliIO, type Flags } from "./io";

/** The subcommands of `statecraft eval` that read recorded runs (the others run an eval). */
export const EVAL_REPORT_SUBCOMMANDS = ["list", "report", "compare"] as const;

const WORKSPACE = { workspace: { type: "string" } } satisfies Flags;

/** Flags per subcommand (`list --json` prints JSON, where `statecraft eval --json FILE` writes a file). */
export const EVAL_LIST_FLAGS = { ...WORKSPACE, json: { type: "boolean" } } satisfies Flags;
export const EVAL_REPORT_FLAGS = {
  ...WORKSPACE,
  html: { type: "string" },
  junit: { type: "string" },
} satisfies Flags;
export const EVAL_COMPARE_FLAGS = {
  ...WORKSPACE,
  json: { type: "boolean" },
  html: { type: "string" },
} satisfies Flags;

export interface ReportTargets {
  /** A file, or `-` for stdout. */
  html?: string;
  junit?: string;
}

/**
 * Writes the HTML and JUnit reports of a run, or of the runs of one `statecraft eval` (one page,
 * one XML file). A report that cannot be written is one line on stderr; the other is still
 * written. Returns false when one could not be (exit 2 then).
 */
export function writeEvalReports(
  runs: EvalRun | EvalRun[],
  targets: ReportTargets,
  io: CliIO,
  command = "eval",
): boolean {
  let ok = true;
  if (targets.html !== undefined)
    ok = writeReport(targets.html, () => evalRunHtml(runs), "HTML report", io, command) && ok;
  if (targets.junit !== undefined)
    ok = writeReport(targets.junit, () => evalJunitXml(runs), "JUnit report", io, command) && ok;
  return ok;
}

/**
 * `statecraft eval --baseline RUN|FILE`, before anything runs: the baseline's runs (an id, a run
 * file, or a `--json` file of several). A baseline that cannot be used is a UsageError (exit 2),
 * found before minutes of model calls, not after.
 */
export function loadBaseline(arg: string, workspace: string, cwd: string): EvalRun[] {
  return loadEvalRuns(arg, workspace, cwd);
}

/**
 * After the runs: each one's regressions against the baseline's run of the same eval, printed on
 * stdout (a run whose eval the baseline lacks is a line on stderr). Returns the number of
 * regressions: exit 1 when there is one.
 */
export function reportBaseline(runs: EvalRun[], baselines: EvalRun[], io: CliIO): number {
  let count = 0;
  for (const r of baselineResults(runs, baselines)) {
    if (r.baseline === undefined) {
      io.stderr(
        `statecraft eval: the baseline has no run of the eval ${r.eval} (it has ${baselines.map((b) => b.eval).join(", ")}): not compared\n`,
      );
      continue;
    }
    io.stdout(regressionText(r.regressions, r.baseline));
    count += r.regressions.length;
  }
  return count;
}

/** Writes text to a file (its folder made) or, for `-`, to stdout. */
function writeReport(
  target: string,
  render: () => string,
  what: string,
  io: CliIO,
  command: string,
): boolean {
  if (target === "") {
    io.stderr(`statecraft ${command}: the ${what} needs a file name (or - for stdout)\n`);
    return false;
  }
  const text = render();
  if (target === "-") {
    io.stdout(text);
    return true;
  }
  const file = path.resolve(io.cwd, target);
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
  } catch (err) {
    io.stderr(
      `statecraft ${command}: ${fileError(`cannot write the ${what} ${displayPath(file, io.cwd)}`, err)}\n`,
    );
    return false;
  }
  io.stderr(`${what}: ${displayPath(file, io.cwd)}\n`);
  return true;
}

function workspaceOf(values: { workspace?: string }, io: CliIO): string {
  return values.workspace ? path.resolve(io.cwd, values.workspace) : projectFolder(io.cwd);
}

const pct = (x: number) => `${Math.round(x * 100)}%`;
const when = (iso: string) => {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? iso : new Date(t).toISOString().slice(0, 16).replace("T", " ") + " UTC";
};

/** `statecraft eval list | report | compare ...` (argv starts with the subcommand). */
export function evalReportsCommand(argv: string[], io: CliIO): number {
  const [sub, ...rest] = argv;
  if (sub === "list") return listCommand(rest, io);
  if (sub === "report") return reportCommand(rest, io);
  if (sub === "compare") return compareCommand(rest, io);
  throw new UsageError(`unknown subcommand '${sub}': use list, report RUN or compare RUN_A RUN_B`);
}

function listCommand(argv: string[], io: CliIO): number {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: EVAL_LIST_FLAGS });
  if (positionals.length) throw new UsageError(`eval list takes no argument (got '${positionals[0]}')`);
  const workspace = workspaceOf(values, io);
  const runs = listEvalRuns(workspace, io);
  if (values.json) {
    io.stdout(
      JSON.stringify(
        runs.map(({ run, file }) => ({
          run: run.run,
          eval: run.eval,
          file: run.file,
          path: displayPath(file, io.cwd),
          status: run.status,
          startedAt: run.startedAt,
          endedAt: run.endedAt,
          backends: run.backends,
          passRates: Object.fromEntries(run.backends.map((b) => [b, run.summary[b]?.passRate ?? null])),
          threshold: run.passRate,
          runs: run.cases.length,
          passed: run.cases.filter((c) => c.passed).length,
        })),
        null,
        2,
      ) + "\n",
    );
    return 0;
  }
  if (!runs.length) {
    io.stderr(`no eval runs under ${displayPath(evalsDir(workspace), io.cwd)}: run statecraft eval first\n`);
    return 0;
  }
  const width = Math.max(...runs.map((r) => r.run.eval.length));
  for (const { run } of runs)
    io.stdout(
      `${run.run}  ${run.eval.padEnd(width)}  ${run.status.padEnd(11)} ${when(run.startedAt)}  ` +
        `${run.backends.map((b) => `${b} ${run.summary[b] ? pct(run.summary[b].passRate) : "-"}`).join(", ")}\n`,
    );
  return 0;
}

function reportCommand(argv: string[], io: CliIO): number {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: EVAL_REPORT_FLAGS,
  });
  if (positionals.length !== 1)
    throw new UsageError("usage: statecraft eval report RUN [--html FILE|-] [--junit FILE|-]");
  if (values.html === "-" && values.junit === "-")
    throw new UsageError("--html - and --junit - would both write to stdout: give one of them a file");
  // A file of several runs (`statecraft eval --json FILE` after several evals) is reported whole.
  const runs = loadEvalRuns(positionals[0], workspaceOf(values, io), io.cwd);
  if (values.html === undefined && values.junit === undefined) {
    io.stdout(runs.map(runText).join("\n"));
    return 0;
  }
  return writeEvalReports(runs, { html: values.html, junit: values.junit }, io, "eval report") ? 0 : 2;
}

function compareCommand(argv: string[], io: CliIO): number {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: EVAL_COMPARE_FLAGS,
  });
  if (positionals.length !== 2)
    throw new UsageError("usage: statecraft eval compare RUN_A RUN_B [--json] [--html FILE|-]");
  if (values.json && values.html === "-")
    throw new UsageError("--json and --html - would both write to stdout");
  const workspace = workspaceOf(values, io);
  const [a, b] = positionals.map((p) => loadEvalRun(p, workspace, io.cwd));
  const cmp = compareEvalRuns(a, b);
  if (values.json) io.stdout(JSON.stringify(cmp, null, 2) + "\n");
  else if (values.html !== "-") io.stdout(comparisonText(cmp));
  if (
    values.html !== undefined &&
    !writeReport(values.html, () => evalComparisonHtml(cmp), "HTML comparison", io, "eval compare")
  )
    return 2;
  return 0;
}

/** `statecraft eval report RUN`: the run's backends, then its failing case runs with their reasons. */
export function runText(run: EvalRun): string {
  const out: string[] = [
    `eval ${run.eval} (${run.file}): ${run.status}, run ${run.run}, started ${when(run.startedAt)}, pass_rate ${pct(run.passRate)}`,
    "",
  ];
  const rows = run.backends.map((b) => {
    const s = run.summary[b];
    return s
      ? [
          b,
          `${s.passed}/${s.runs}`,
          pct(s.passRate),
          s.meanScore === null ? "-" : s.meanScore.toFixed(2),
          String(s.inputTokens + s.outputTokens),
          `${Math.round(s.p50LatencyMs)}`,
          `${Math.round(s.p95LatencyMs)}`,
          String(s.bytesSent),
        ]
      : [b, "-", "-", "-", "-", "-", "-", "-"];
  });
  const head = ["backend", "passed", "rate", "score", "tokens", "p50 ms", "p95 ms", "bytes sent"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  for (const r of [head, ...rows])
    out.push(
      r
        .map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i])))
        .join("  ")
        .trimEnd(),
    );
  const failed = run.cases.filter((c) => !c.passed);
  if (failed.length) {
    out.push("", "failed:");
    for (const c of failed) {
      out.push(`  ✗ ${JSON.stringify(c.case)} on ${c.backend}, trial ${c.trial} (session ${c.session})`);
      if (c.error !== undefined) out.push(`      ${c.error}`);
      for (const k of c.checks.filter((x) => !x.passed))
        out.push(
          `      ${k.criterion}${typeof k.score === "number" ? ` scored ${k.score.toFixed(2)}` : ""}${typeof k.threshold === "number" ? ` (at least ${k.threshold})` : ""}: ${k.reason}`,
        );
    }
  }
  out.push("", `${plural(run.cases.length - failed.length, "passed", "passed")}, ${failed.length} failed`);
  return out.join("\n") + "\n";
}
