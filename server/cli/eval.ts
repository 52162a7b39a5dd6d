// `statecraft eval`: runs the `eval` declarations of .agent files (evals.md section 3): every case x
// trial x backend as a recorded session, a progress bar on a terminal (else one line per finished
// case run), a summary table per backend, then `N passed, N failed`. Each run's JSON goes to
// .statecraft/evals/<run>.json; Ctrl-C cancels the runs in flight and writes what finished.

import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { createBackend } from "../backends";
import { compileEval, findEvals } from "../language/compileEvals";
import type { EvalIR } from "../language/evalIR";
import { checkFiles } from "../language/validate";
import type { EvalCaseRun, EvalRun } from "../protocol/evals";
import { evalJobs, runEval, writeEvalRun } from "../runtime/evalRunner";
import { backendSpec, RunError } from "../runtime/prepare";
import { statefulCases } from "./evalRemote";
import { collectAgentFiles, displayPath, fileError, loadBatch, plural, projectFolder } from "./files";
import {
  EVAL_REPORT_SUBCOMMANDS,
  evalReportsCommand,
  loadBaseline,
  reportBaseline,
  writeEvalReports,
} from "./evalReports";
import { CLOSED_OUTPUT_EXIT, onOutputClosed, UsageError, type CliIO, type Flags } from "./io";
import { handleRunFailure, reportRunError } from "./run";

/** The flags of `statecraft eval` (the docs test parses the documented commands against them). */
export const EVAL_FLAGS = {
  // Only the eval named NAME (the files may declare several).
  eval: { type: "string" },
  // Only the cases whose name contains TEXT.
  case: { type: "string" },
  // The backends to run on, instead of the eval's `backends` (repeatable).
  backend: { type: "string", multiple: true },
  trials: { type: "string" },
  concurrency: { type: "string" },
  // Also write the run's JSON (an array when several evals ran) to FILE.
  json: { type: "string" },
  // Also write the HTML report (one page, a section per eval) and the JUnit XML.
  html: { type: "string" },
  junit: { type: "string" },
  // An earlier run (id or file): exit 1 when a case that passed in it fails now.
  baseline: { type: "string" },
  workspace: { type: "string" },
  // An untrusted workspace: command tools, MCP servers and score commands are refused.
  untrusted: { type: "boolean" },
} satisfies Flags;

/** The exit code of a run stopped by Ctrl-C (128 + SIGINT, as shells report it). */
export const INTERRUPTED_EXIT = 130;

function positiveInt(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < 1)
    throw new UsageError(`--${flag} must be a whole number of at least 1, not '${value}'`);
  return Number(value);
}

export async function evalCommand(argv: string[], io: CliIO): Promise<number> {
  // list, report and compare read recorded runs (evalReports.ts).
  if ((EVAL_REPORT_SUBCOMMANDS as readonly string[]).includes(argv[0])) return evalReportsCommand(argv, io);
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: EVAL_FLAGS });
  const trials = positiveInt("trials", values.trials);
  const concurrency = positiveInt("concurrency", values.concurrency);
  const workspace = values.workspace
    ? path.resolve(io.cwd, values.workspace)
    : projectFolder(path.resolve(io.cwd, positionals[0] ?? "."));
  // The baseline is read before anything runs: a wrong id is found now, not after the model calls.
  const baselines =
    values.baseline === undefined ? undefined : loadBaseline(values.baseline, workspace, io.cwd);
  const files = collectAgentFiles(positionals, io.cwd);
  const { program, unreadable } = loadBatch(files, io.cwd);
  if (unreadable.length) {
    for (const u of unreadable) io.stderr(`statecraft eval: ${u.message}\n`);
    return 2;
  }
  const errors = checkFiles(program, files).filter((d) => d.severity === "error");
  if (errors.length)
    return reportRunError(
      new RunError(`not run: ${plural(errors.length, "error")} in the spec`, errors, program),
      io,
      "eval",
    );
  const all = findEvals(program, files).map(({ file, decl }) => compileEval(program, file, decl));
  if (!files.length)
    throw new UsageError("no .agent file here: name the files or folders to run (statecraft eval FILE|DIR)");
  if (!all.length)
    throw new UsageError(
      `no eval in ${files.length === 1 ? displayPath(files[0], io.cwd) : plural(files.length, "file")}`,
    );
  const evals = values.eval === undefined ? all : all.filter((e) => e.name === values.eval);
  if (!evals.length)
    throw new UsageError(`no eval '${values.eval}'; the evals are: ${all.map((e) => e.name).join(", ")}`);
  // Unknown backends and empty selections are usage errors, found before anything runs.
  for (const ev of evals)
    for (const b of values.backend ?? [])
      try {
        backendSpec({ program, root: ev.file }, b);
      } catch (err) {
        if (err instanceof RunError) throw new UsageError(err.message);
        throw err;
      }
  const jobs = evals.map((ev) => evalJobs(ev, { backends: values.backend, trials, caseFilter: values.case }));
  const total = jobs.reduce((n, j) => n + j.length, 0);
  if (total === 0)
    throw new UsageError(
      `no case matches '${values.case}'; the cases are: ${evals.flatMap((e) => e.cases.map((c) => JSON.stringify(c.name))).join(", ")}`,
    );

  const controller = new AbortController();
  const onInt = () => controller.abort();
  process.on("SIGINT", onInt);
  // A reader that goes away (`statecraft eval | head -1`) stops the run like Ctrl-C: what finished is written.
  let outputClosed = false;
  const offClosed = onOutputClosed(() => {
    outputClosed = true;
    controller.abort();
  });
  const progress = new Progress(io, total);
  const runs: EvalRun[] = [];
  const stateful = statefulCases({ workspace, env: io.env });
  try {
    for (const ev of evals) {
      if (controller.signal.aborted) break;
      const run = await runEval({ program, root: ev.file }, ev, {
        workspace,
        env: io.env,
        createBackend,
        trusted: !values.untrusted,
        backends: values.backend,
        trials,
        concurrency,
        caseFilter: values.case,
        signal: controller.signal,
        onCaseRun: (r) => progress.done(ev, r),
        openStateful: stateful.open,
        observe: io.observe,
      });
      runs.push(run);
      try {
        writeEvalRun(workspace, run);
      } catch (err) {
        io.stderr(`statecraft eval: ${fileError(`cannot write the eval run ${run.run}`, err)}\n`);
        return 2;
      }
    }
  } catch (err) {
    return handleRunFailure(err, io, "eval");
  } finally {
    process.off("SIGINT", onInt);
    offClosed();
    progress.end();
    await stateful.close();
  }
  const code = finish(runs, values, workspace, io, baselines);
  return outputClosed ? CLOSED_OUTPUT_EXIT : code;
}

/**
 * After the runs: the summary table, the reports (--json; the place for more report flags), and
 * `N passed, N failed`. Exit 0 when every eval met its pass_rate, 1 when one did not, 130 when interrupted.
 */
function finish(
  runs: EvalRun[],
  values: { json?: string; html?: string; junit?: string },
  workspace: string,
  io: CliIO,
  baselines: EvalRun[] | undefined,
): number {
  for (const run of runs) io.stdout(summaryTable(run));
  let reportFailed = false;
  if (values.json) {
    const file = path.resolve(io.cwd, values.json);
    try {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, JSON.stringify(runs.length === 1 ? runs[0] : runs, null, 2) + "\n");
    } catch (err) {
      io.stderr(`statecraft eval: ${fileError(`cannot write ${displayPath(file, io.cwd)}`, err)}\n`);
      reportFailed = true;
    }
  }
  if (!writeEvalReports(runs, { html: values.html, junit: values.junit }, io)) reportFailed = true;
  const regressions = baselines ? reportBaseline(runs, baselines, io) : 0;
  const cases = runs.flatMap((r) => r.cases);
  const passed = cases.filter((c) => c.passed).length;
  io.stderr(
    `runs: ${runs.map((r) => displayPath(path.join(workspace, ".statecraft", "evals", `${r.run}.json`), io.cwd)).join(", ")}\n`,
  );
  const interrupted = runs.some((r) => r.status === "interrupted") || runs.length === 0;
  if (interrupted) io.stderr("interrupted: the case runs that finished are written\n");
  io.stdout(`${passed} passed, ${cases.length - passed} failed\n`);
  if (interrupted) return INTERRUPTED_EXIT;
  if (reportFailed) return 2;
  return runs.every((r) => r.status === "passed") && regressions === 0 ? 0 : 1;
}

const pct = (x: number) => `${Math.round(x * 1000) / 10}%`;

/** The per-backend summary of one eval run, as a table. */
export function summaryTable(run: EvalRun): string {
  const head = [
    "backend",
    "runs",
    "passed",
    "pass rate",
    "mean score",
    "tokens in",
    "tokens out",
    "p50 ms",
    "p95 ms",
    "bytes sent",
  ];
  const rows = run.backends.map((b) => {
    const s = run.summary[b];
    return [
      b,
      String(s.runs),
      String(s.passed),
      pct(s.passRate),
      s.meanScore === null ? "-" : s.meanScore.toFixed(2),
      String(s.inputTokens),
      String(s.outputTokens),
      String(Math.round(s.p50LatencyMs)),
      String(Math.round(s.p95LatencyMs)),
      String(s.bytesSent),
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i])))
      .join("  ")
      .trimEnd();
  const verdict =
    run.status === "interrupted"
      ? "interrupted"
      : `${run.status} (pass_rate ${run.passRate} on every backend)`;
  return `\neval ${run.eval}: ${verdict}\n${[head, ...rows].map(line).join("\n")}\n\n`;
}

/** A terminal's progress bar (runs done/total, passes, elapsed, tokens), or one line per case run. */
class Progress {
  private finished = 0;
  private passed = 0;
  private tokens = 0;
  private readonly started = Date.now();
  private readonly tty: boolean;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly io: CliIO,
    private readonly total: number,
  ) {
    this.tty = io.tty === true;
    if (this.tty) {
      this.draw();
      this.timer = setInterval(() => this.draw(), 250);
      this.timer.unref();
    }
  }

  done(ev: EvalIR, r: EvalCaseRun): void {
    this.finished++;
    if (r.passed) this.passed++;
    this.tokens +=
      r.usage.inputTokens + r.usage.outputTokens + r.judgeUsage.inputTokens + r.judgeUsage.outputTokens;
    if (this.tty && r.passed) return this.draw();
    if (this.tty) this.io.stderr("\r\x1b[2K");
    const folder = path.dirname(ev.file);
    const lines = [
      `${r.passed ? "✓" : "✗"} ${ev.name} › ${r.case} [${r.backend} #${r.trial}] (${Math.round(r.latencyMs)} ms)`,
      ...(r.error ? [`    error: ${r.error}`] : []),
      ...r.checks
        .filter((k) => !k.passed)
        .map((k) => {
          const where = k.file ? `${displayPath(path.resolve(folder, k.file), this.io.cwd)}:${k.line}: ` : "";
          return `    ${where}${k.criterion}: ${k.reason}`;
        }),
    ];
    this.io.stdout(lines.join("\n") + "\n");
    if (this.tty) this.draw();
  }

  private draw(): void {
    const width = 24;
    const full = this.total ? Math.round((this.finished / this.total) * width) : width;
    const secs = ((Date.now() - this.started) / 1000).toFixed(1);
    this.io.stderr(
      `\r\x1b[2K[${"#".repeat(full)}${"-".repeat(width - full)}] ${this.finished}/${this.total} runs, ${this.passed} passed, ${secs}s, ${this.tokens} tokens`,
    );
  }

  end(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.tty) {
      this.draw();
      this.io.stderr("\n");
    }
  }
}
