// Recorded eval runs (`.statecraft/evals/<run>.json`, protocol/evals.ts): finding one by id or
// path, reading it with every field checked (so that the reports never meet a shape they do not
// know), and listing them. A run that cannot be used is one line that says why: a UsageError.

import * as fs from "node:fs";
import * as path from "node:path";
import { EVAL_RUN_FORMAT, type EvalRun } from "../protocol/evals";
import { displayPath, fileError } from "./files";
import { UsageError, printable, type CliIO } from "./io";

export const EVALS_DIR = path.join(".statecraft", "evals");

export function evalsDir(workspace: string): string {
  return path.join(workspace, EVALS_DIR);
}

/** The run files of a workspace, by file name. */
export function listEvalRunFiles(workspace: string): string[] {
  const dir = evalsDir(workspace);
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => path.join(dir, f));
}

/** A run given as a path to its file, or as its id (or a unique prefix of it) in the workspace. */
export function resolveEvalRun(arg: string, workspace: string, cwd: string): string {
  if (!arg) throw new UsageError("an eval run is required: its id (statecraft eval list) or its file");
  const direct = path.resolve(cwd, arg);
  if (fs.existsSync(direct) && fs.statSync(direct).isFile()) return direct;
  const byId = path.join(evalsDir(workspace), arg.endsWith(".json") ? arg : `${arg}.json`);
  if (fs.existsSync(byId)) return byId;
  const prefix = listEvalRunFiles(workspace).filter((f) => path.basename(f).startsWith(arg));
  if (prefix.length === 1) return prefix[0];
  throw new UsageError(
    prefix.length > 1
      ? `'${arg}' matches ${prefix.length} eval runs; give more of the id`
      : `no eval run '${arg}' (not a file, nor an id under ${displayPath(evalsDir(workspace), cwd)}; statecraft eval list shows them)`,
  );
}

/**
 * Reads and checks a file of runs: one run, or the array `statecraft eval --json FILE` writes when
 * several evals ran. Anything wrong with it is one UsageError naming the file.
 */
export function readEvalRuns(file: string, cwd: string): EvalRun[] {
  const shown = displayPath(file, cwd);
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    throw new UsageError(fileError(`cannot read the eval run ${shown}`, err));
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${shown} is not valid JSON (${(err as Error).message}): not an eval run`);
  }
  const runs = Array.isArray(value) ? value : [value];
  if (!runs.length) throw new UsageError(`${shown} is an empty array: no eval run in it`);
  for (const [i, run] of runs.entries()) {
    const problem = evalRunProblem(run);
    if (problem)
      throw new UsageError(
        `${shown} is not a Statecraft eval run: ${Array.isArray(value) ? `[${i}]: ` : ""}${problem}`,
      );
  }
  return runs as EvalRun[];
}

/** A file of one run (a file of several is a UsageError that says how many). */
export function readEvalRun(file: string, cwd: string): EvalRun {
  const runs = readEvalRuns(file, cwd);
  if (runs.length > 1)
    throw new UsageError(
      `${displayPath(file, cwd)} holds ${runs.length} eval runs (${runs.map((r) => r.run).join(", ")}): name one of them by its id`,
    );
  return runs[0];
}

/** `resolveEvalRun` then `readEvalRun`. */
export function loadEvalRun(arg: string, workspace: string, cwd: string): EvalRun {
  return readEvalRun(resolveEvalRun(arg, workspace, cwd), cwd);
}

/** `resolveEvalRun` then `readEvalRuns`: the runs of an id or of a file (`--baseline`, `eval report`). */
export function loadEvalRuns(arg: string, workspace: string, cwd: string): EvalRun[] {
  return readEvalRuns(resolveEvalRun(arg, workspace, cwd), cwd);
}

type Shape = "string" | "number" | "boolean" | "object" | "array";

const kindOf = (v: unknown): string =>
  v === null ? "null" : Array.isArray(v) ? "array" : typeof v === "object" ? "object" : typeof v;

/** What is wrong with a value that should be an EvalRun (the first problem found, by its path), or undefined. */
export function evalRunProblem(value: unknown): string | undefined {
  if (kindOf(value) !== "object") return `a JSON ${kindOf(value)}, not an object`;
  const run = value as Record<string, unknown>;
  if (typeof run.format !== "number") return "no 'format' field";
  if (run.format > EVAL_RUN_FORMAT)
    return `format ${run.format}, written by a newer Statecraft (this one reads format ${EVAL_RUN_FORMAT})`;
  const fields = (
    obj: Record<string, unknown>,
    where: string,
    shapes: Record<string, Shape | `${Shape}?` | "number|null">,
  ): string | undefined => {
    for (const [key, shape] of Object.entries(shapes)) {
      const v = obj[key];
      if (shape.endsWith("?") && v === undefined) continue;
      const want = shape.replace("?", "");
      if (want === "number|null" ? v !== null && typeof v !== "number" : kindOf(v) !== want)
        return v === undefined
          ? `${where}${key} is missing`
          : `${where}${key} is ${kindOf(v) === "object" || kindOf(v) === "array" ? `an ${kindOf(v)}` : `a ${kindOf(v)}`}, not ${want === "array" || want === "object" ? `an ${want}` : `a ${want.replace("|", " or ")}`}`;
    }
    return undefined;
  };
  const usage = (u: unknown, where: string) =>
    kindOf(u) !== "object"
      ? `${where} is missing`
      : fields(u as Record<string, unknown>, `${where}.`, { inputTokens: "number", outputTokens: "number" });
  const top = fields(run, "", {
    run: "string",
    eval: "string",
    file: "string",
    startedAt: "string",
    endedAt: "string",
    definitionHash: "string",
    backends: "array",
    status: "string",
    passRate: "number",
    trials: "number",
    cases: "array",
    summary: "object",
  });
  if (top) return top;
  if (!["passed", "failed", "interrupted"].includes(run.status as string))
    return `status '${printable(String(run.status), true)}' is not passed, failed or interrupted`;
  const backends = run.backends as unknown[];
  const badBackend = backends.findIndex((b) => typeof b !== "string");
  if (badBackend >= 0) return `backends[${badBackend}] is not a string`;
  for (const [i, c] of (run.cases as unknown[]).entries()) {
    const where = `cases[${i}]`;
    if (kindOf(c) !== "object") return `${where} is not an object`;
    const cr = c as Record<string, unknown>;
    const bad =
      fields(cr, `${where}.`, {
        case: "string",
        trial: "number",
        backend: "string",
        session: "string",
        passed: "boolean",
        checks: "array",
        latencyMs: "number",
        bytesSent: "number",
        error: "string?",
        file: "string?",
        line: "number?",
      }) ??
      usage(cr.usage, `${where}.usage`) ??
      usage(cr.judgeUsage, `${where}.judgeUsage`);
    if (bad) return bad;
    for (const [j, k] of (cr.checks as unknown[]).entries()) {
      const at = `${where}.checks[${j}]`;
      if (kindOf(k) !== "object") return `${at} is not an object`;
      const check = k as Record<string, unknown>;
      const badCheck = fields(check, `${at}.`, {
        criterion: "string",
        kind: "string",
        passed: "boolean",
        reason: "string",
        score: "number?",
        threshold: "number?",
        precision: "number?",
        recall: "number?",
        judgeBackend: "string?",
        file: "string?",
        line: "number?",
      });
      if (badCheck) return badCheck;
      if (!["judge", "score", "expect", "trajectory"].includes(check.kind as string))
        return `${at}.kind '${printable(String(check.kind), true)}' is not judge, score, expect or trajectory`;
      if (check.usage !== undefined) {
        const badUsage = usage(check.usage, `${at}.usage`);
        if (badUsage) return badUsage;
      }
    }
  }
  for (const [name, s] of Object.entries(run.summary as Record<string, unknown>)) {
    if (kindOf(s) !== "object") return `summary.${name} is not an object`;
    const bad = fields(s as Record<string, unknown>, `summary.${name}.`, {
      runs: "number",
      passed: "number",
      passRate: "number",
      meanScore: "number|null",
      inputTokens: "number",
      outputTokens: "number",
      p50LatencyMs: "number",
      p95LatencyMs: "number",
      bytesSent: "number",
    });
    if (bad) return bad;
  }
  const missing = (backends as string[]).find((b) => !(b in (run.summary as object)));
  if (missing) return `summary has no entry for the backend ${printable(missing, true)}`;
  return undefined;
}

export interface ListedEvalRun {
  run: EvalRun;
  file: string;
}

/**
 * The workspace's runs, newest first (by start time, then id). A file that is not a usable run is
 * a warning on stderr naming it and why; the others are listed.
 */
export function listEvalRuns(workspace: string, io: CliIO): ListedEvalRun[] {
  const runs: ListedEvalRun[] = [];
  for (const file of listEvalRunFiles(workspace)) {
    try {
      runs.push({ run: readEvalRun(file, io.cwd), file });
    } catch (err) {
      if (!(err instanceof UsageError)) throw err;
      io.stderr(`warning: ${printable(err.message, true)}\n`);
    }
  }
  const started = (r: EvalRun) => Date.parse(r.startedAt) || 0;
  return runs.sort((a, b) => started(b.run) - started(a.run) || b.run.run.localeCompare(a.run.run));
}
