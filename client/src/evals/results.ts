// What the editor makes of an eval run's JSON (server/protocol/evals.ts) outside the Evals view:
// the target of a Run Eval (a code lens's or a view node's argument), and each case's outcome for
// the Testing view (a case passes when every run of it, on every backend and trial, passed; its
// failures are the failing criteria, each at the line where the criterion is written). No `vscode`.

import * as path from "node:path";
import type { EvalRun } from "../../../server/protocol/evals";
import { percent } from "./nodes";

/** What Run Eval runs: an eval of a file, or one case of it. */
export interface EvalTarget {
  /** Absolute path of the .agent file declaring the eval. */
  file: string;
  eval: string;
  case?: string;
}

/**
 * The argument of `statecraft.runEval`: `{file, eval, case?}` from the code lens (file a path or a
 * `file:` URI; `uri` is accepted too, as other lenses send it). Undefined when it is not one.
 */
export function parseEvalTarget(arg: unknown, cwd?: string): EvalTarget | undefined {
  if (typeof arg !== "object" || arg === null) return undefined;
  const a = arg as Record<string, unknown>;
  const where = typeof a.file === "string" ? a.file : typeof a.uri === "string" ? a.uri : undefined;
  if (!where || typeof a.eval !== "string" || !a.eval) return undefined;
  let file: string;
  if (/^file:/i.test(where)) file = fileURLToPathSafe(where);
  else if (/^[a-z][a-z0-9+.-]+:/i.test(where) && !/^[a-z]:[\\/]/i.test(where)) return undefined;
  else file = path.resolve(cwd ?? "", where);
  return { file, eval: a.eval, ...(typeof a.case === "string" && a.case ? { case: a.case } : {}) };
}

function fileURLToPathSafe(uri: string): string {
  const url = new URL(uri);
  const p = decodeURIComponent(url.pathname);
  // file:///c%3A/x (VS Code's form) -> c:/x on Windows; a POSIX path as it is.
  return /^\/[a-z]:/i.test(p) ? p.slice(1) : p;
}

/** The CLI's arguments for a target, writing the run's JSON to `json`. */
export function evalArgs(target: EvalTarget, json: string): string[] {
  return [
    "eval",
    target.file,
    "--eval",
    target.eval,
    ...(target.case ? ["--case", target.case] : []),
    "--json",
    json,
  ];
}

/** One line for a finished run: "support_quality passed: 8 of 10 case runs (80%)". */
export function runSummary(run: EvalRun): string {
  const passed = run.cases.filter((c) => c.passed).length;
  const total = run.cases.length;
  const verdict = run.status === "interrupted" ? "was interrupted" : run.status;
  return `${run.eval} ${verdict}: ${passed} of ${total} case run${total === 1 ? "" : "s"} passed (${percent(total ? passed / total : 0)}; needs ${percent(run.passRate)})`;
}

export interface CaseFailure {
  message: string;
  /** Absolute path of the file where the failing criterion (or the case) is written, when known. */
  file?: string;
  /** 1-based. */
  line?: number;
}

export interface CaseOutcome {
  case: string;
  passed: boolean;
  failures: CaseFailure[];
  /** The session of every run of the case. */
  sessions: string[];
  durationMs: number;
}

/**
 * Each case's outcome in a run, in the run's order. `evalDir` is the folder of the file declaring
 * the eval: the file of a check or a case is relative to it.
 */
export function caseOutcomes(run: EvalRun, evalDir: string): CaseOutcome[] {
  const multi = run.backends.length > 1 || run.trials > 1;
  const byCase = new Map<string, CaseOutcome>();
  for (const c of run.cases) {
    const o = byCase.get(c.case) ?? { case: c.case, passed: true, failures: [], sessions: [], durationMs: 0 };
    byCase.set(c.case, o);
    o.sessions.push(c.session);
    o.durationMs += c.latencyMs ?? 0;
    if (c.passed) continue;
    o.passed = false;
    const where = multi ? `${c.backend}, trial ${c.trial}: ` : "";
    const at = (file?: string, line?: number) => ({
      ...(file ? { file: path.resolve(evalDir, file) } : {}),
      ...(line ? { line } : {}),
    });
    if (c.error !== undefined)
      o.failures.push({ message: `${where}did not complete: ${c.error}`, ...at(c.file, c.line) });
    for (const k of c.checks) {
      if (k.passed) continue;
      const score =
        typeof k.score === "number"
          ? ` (score ${k.score.toFixed(2)}${typeof k.threshold === "number" ? `, needs ${k.threshold.toFixed(2)}` : ""})`
          : "";
      o.failures.push({
        message: `${where}${k.criterion}${score}: ${k.reason}\n  session ${c.session}`,
        ...(k.file || k.line ? at(k.file ?? c.file, k.line ?? c.line) : at(c.file, c.line)),
      });
    }
    // A failed run with no failing criterion and no error: say so rather than show nothing.
    if (c.error === undefined && c.checks.every((k) => k.passed))
      o.failures.push({ message: `${where}failed (session ${c.session})`, ...at(c.file, c.line) });
  }
  return [...byCase.values()];
}
