// Comparing two eval runs (`statecraft eval compare A B`, `statecraft eval --baseline`), as pure
// functions over their records.
//
// Case runs are matched by case name and backend; the trials of a case on a backend are one group
// (trials are repeats of the same thing: trial 2 of one run is no closer to trial 2 of the other
// than to trial 1). A group regresses when the share of its trials that pass went down (with one
// trial: it passed in A and fails in B), and improves when it went up. A case that is in one run
// only is listed as added or removed, never as a regression (`--case` may have left it out).

import type { EvalCheck } from "../protocol/events";
import type { EvalBackendSummary, EvalCaseRun, EvalRun } from "../protocol/evals";

export type CaseChange = "regression" | "improvement" | "unchanged" | "added" | "removed";

/** One side of a compared case: its trials on one backend in one run. */
export interface CaseSide {
  runs: number;
  passed: number;
  passRate: number;
  /** Mean of its judge and score criteria's scores over the trials (null when none has a score). */
  meanScore: number | null;
  /** Mean per case run. */
  tokens: number;
  latencyMs: number;
  /** The trials that did not pass: their session, error and failing checks. */
  failures: { trial: number; session: string; error?: string; checks: EvalCheck[] }[];
}

export interface ScoreDelta {
  criterion: string;
  a: number | null;
  b: number | null;
  /** b - a, when both have a score. */
  delta: number | null;
}

export interface CaseComparison {
  case: string;
  backend: string;
  change: CaseChange;
  a?: CaseSide;
  b?: CaseSide;
  /** b's pass share minus a's (null when the case is in one run only). */
  passRateDelta: number | null;
  meanScoreDelta: number | null;
  /** Per judge, score and trajectory criterion (in the order the case lists them). */
  scores: ScoreDelta[];
  file?: string;
  line?: number;
}

export interface BackendDelta {
  passRate: number | null;
  meanScore: number | null;
  tokens: number | null;
  p50LatencyMs: number | null;
  p95LatencyMs: number | null;
  bytesSent: number | null;
}

export interface BackendComparison {
  backend: string;
  a?: EvalBackendSummary;
  b?: EvalBackendSummary;
  delta: BackendDelta;
}

export interface RunRef {
  run: string;
  eval: string;
  /** The .agent file declaring the eval (a case's `file` is relative to its folder). */
  file: string;
  startedAt: string;
  status: EvalRun["status"];
  definitionHash: string;
}

export interface EvalComparison {
  a: RunRef;
  b: RunRef;
  /** Regressions first (the largest drop first), then improvements, added, removed, unchanged. */
  cases: CaseComparison[];
  backends: BackendComparison[];
  counts: Record<CaseChange, number>;
}

const ORDER: CaseChange[] = ["regression", "improvement", "added", "removed", "unchanged"];

const mean = (xs: number[]): number | null => (xs.length ? xs.reduce((a, x) => a + x, 0) / xs.length : null);
const scored = (k: EvalCheck) => (k.kind === "judge" || k.kind === "score") && typeof k.score === "number";

function side(runs: EvalCaseRun[]): CaseSide {
  const passed = runs.filter((r) => r.passed).length;
  return {
    runs: runs.length,
    passed,
    passRate: runs.length ? passed / runs.length : 0,
    meanScore: mean(runs.flatMap((r) => r.checks.filter(scored).map((k) => k.score!))),
    tokens: mean(runs.map((r) => r.usage.inputTokens + r.usage.outputTokens)) ?? 0,
    latencyMs: mean(runs.map((r) => r.latencyMs)) ?? 0,
    failures: runs
      .filter((r) => !r.passed)
      .sort((x, y) => x.trial - y.trial)
      .map((r) => ({
        trial: r.trial,
        session: r.session,
        ...(r.error !== undefined ? { error: r.error } : {}),
        checks: r.checks.filter((k) => !k.passed),
      })),
  };
}

/** Mean score per criterion over the trials, in the order the criteria first appear. */
function criterionScores(runs: EvalCaseRun[]): Map<string, number> {
  const all = new Map<string, number[]>();
  for (const r of runs)
    for (const k of r.checks)
      if (typeof k.score === "number") all.set(k.criterion, [...(all.get(k.criterion) ?? []), k.score]);
  return new Map([...all].map(([c, xs]) => [c, mean(xs)!]));
}

function groups(run: EvalRun): Map<string, EvalCaseRun[]> {
  const out = new Map<string, EvalCaseRun[]>();
  for (const r of run.cases) {
    const key = JSON.stringify([r.case, r.backend]);
    out.set(key, [...(out.get(key) ?? []), r]);
  }
  return out;
}

const diff = (a: number | null | undefined, b: number | null | undefined) =>
  a === null || a === undefined || b === null || b === undefined ? null : b - a;

export function compareEvalRuns(a: EvalRun, b: EvalRun): EvalComparison {
  const ga = groups(a);
  const gb = groups(b);
  const cases: CaseComparison[] = [];
  for (const key of new Set([...ga.keys(), ...gb.keys()])) {
    const [name, backend] = JSON.parse(key) as [string, string];
    const ra = ga.get(key);
    const rb = gb.get(key);
    const sa = ra && side(ra);
    const sb = rb && side(rb);
    const passRateDelta = diff(sa?.passRate, sb?.passRate);
    const change: CaseChange = !sa
      ? "added"
      : !sb
        ? "removed"
        : passRateDelta! < 0
          ? "regression"
          : passRateDelta! > 0
            ? "improvement"
            : "unchanged";
    const ca = ra ? criterionScores(ra) : new Map<string, number>();
    const cb = rb ? criterionScores(rb) : new Map<string, number>();
    const scores = [...new Set([...cb.keys(), ...ca.keys()])].map((criterion) => ({
      criterion,
      a: ca.get(criterion) ?? null,
      b: cb.get(criterion) ?? null,
      delta: diff(ca.get(criterion), cb.get(criterion)),
    }));
    const where = (rb ?? ra)![0];
    cases.push({
      case: name,
      backend,
      change,
      ...(sa ? { a: sa } : {}),
      ...(sb ? { b: sb } : {}),
      passRateDelta,
      meanScoreDelta: diff(sa?.meanScore, sb?.meanScore),
      scores,
      ...(where.file !== undefined ? { file: where.file } : {}),
      ...(where.line !== undefined ? { line: where.line } : {}),
    });
  }
  cases.sort(
    (x, y) =>
      ORDER.indexOf(x.change) - ORDER.indexOf(y.change) ||
      (x.change === "regression" || x.change === "improvement"
        ? Math.abs(y.passRateDelta!) - Math.abs(x.passRateDelta!)
        : 0) ||
      Math.abs(y.meanScoreDelta ?? 0) - Math.abs(x.meanScoreDelta ?? 0) ||
      x.case.localeCompare(y.case) ||
      x.backend.localeCompare(y.backend),
  );
  const backendNames = [...new Set([...a.backends, ...b.backends])];
  const backends = backendNames.map((backend) => {
    const sa = a.summary[backend] as EvalBackendSummary | undefined;
    const sb = b.summary[backend] as EvalBackendSummary | undefined;
    return {
      backend,
      ...(sa ? { a: sa } : {}),
      ...(sb ? { b: sb } : {}),
      delta: {
        passRate: diff(sa?.passRate, sb?.passRate),
        meanScore: diff(sa?.meanScore, sb?.meanScore),
        tokens: diff(sa && sa.inputTokens + sa.outputTokens, sb && sb.inputTokens + sb.outputTokens),
        p50LatencyMs: diff(sa?.p50LatencyMs, sb?.p50LatencyMs),
        p95LatencyMs: diff(sa?.p95LatencyMs, sb?.p95LatencyMs),
        bytesSent: diff(sa?.bytesSent, sb?.bytesSent),
      },
    };
  });
  const counts = Object.fromEntries(
    ORDER.map((c) => [c, cases.filter((x) => x.change === c).length]),
  ) as Record<CaseChange, number>;
  return { a: ref(a), b: ref(b), cases, backends, counts };
}

const ref = (r: EvalRun): RunRef => ({
  run: r.run,
  eval: r.eval,
  file: r.file,
  startedAt: r.startedAt,
  status: r.status,
  definitionHash: r.definitionHash,
});

/**
 * `statecraft eval --baseline`: the cases of `run` that pass less often than they did in `baseline`
 * (with one trial: passed in the baseline, fails now), the largest drop first. Exit 1 when any.
 */
export function baselineRegressions(run: EvalRun, baseline: EvalRun): CaseComparison[] {
  return compareEvalRuns(baseline, run).cases.filter((c) => c.change === "regression");
}

export interface BaselineResult {
  eval: string;
  run: string;
  /** The baseline's run of the same eval; absent when the baseline has none (then nothing is compared). */
  baseline?: string;
  regressions: CaseComparison[];
}

/**
 * `statecraft eval --baseline` when one command ran several evals: each run is compared with the
 * baseline's run of the same eval (a baseline file may hold several, as `--json FILE` writes them).
 */
export function baselineResults(runs: EvalRun[], baselines: EvalRun[]): BaselineResult[] {
  return runs.map((run) => {
    const baseline = baselines.find((b) => b.eval === run.eval);
    return {
      eval: run.eval,
      run: run.run,
      ...(baseline ? { baseline: baseline.run } : {}),
      regressions: baseline ? baselineRegressions(run, baseline) : [],
    };
  });
}

// ---- text ----

const pct = (x: number) => `${Math.round(x * 100)}%`;
const signed = (x: number, digits = 2) => {
  const shown = Math.abs(x).toFixed(digits);
  // A change too small to show (0.004 as "0.00") is no change.
  return `${!/[1-9]/.test(shown) ? "±" : x > 0 ? "+" : "-"}${shown}`;
};
const score = (x: number | null) => (x === null ? "-" : x.toFixed(2));
const trials = (s: CaseSide) => `${s.passed}/${s.runs}`;

/** `"small refund" on aws_runtime: 2/2 -> 0/2 passed`, then its failing checks, indented. */
export function caseLines(c: CaseComparison, indent = "  "): string[] {
  const head =
    c.a && c.b
      ? `${JSON.stringify(c.case)} on ${c.backend}: ${trials(c.a)} -> ${trials(c.b)} passed` +
        (c.meanScoreDelta !== null && Math.abs(c.meanScoreDelta) >= 0.005
          ? `, mean score ${score(c.a.meanScore)} -> ${score(c.b.meanScore)}`
          : "")
      : `${JSON.stringify(c.case)} on ${c.backend}: ${trials((c.a ?? c.b)!)} passed`;
  const lines = [`${indent}${head}`];
  if (c.change !== "regression" && c.change !== "added") return lines;
  for (const f of c.b?.failures ?? []) {
    lines.push(`${indent}  trial ${f.trial}, session ${f.session}:`);
    if (f.error !== undefined) lines.push(`${indent}    ${f.error}`);
    for (const k of f.checks)
      lines.push(
        `${indent}    ${k.criterion}${typeof k.score === "number" ? ` scored ${k.score.toFixed(2)}` : ""}${typeof k.threshold === "number" ? ` (at least ${k.threshold})` : ""}: ${k.reason}`,
      );
  }
  return lines;
}

/** The lines `statecraft eval --baseline` prints for its regressions. */
export function regressionText(regressions: CaseComparison[], baseline: string): string {
  if (!regressions.length) return `no regressions against the baseline ${baseline}\n`;
  return (
    `${regressions.length} regression${regressions.length === 1 ? "" : "s"} against the baseline ${baseline}:\n` +
    regressions.flatMap((c) => caseLines(c)).join("\n") +
    "\n"
  );
}

const num = (n: number) => Math.round(n).toLocaleString("en-US");

const MAX_SCORE_LINES = 10;

/** `statecraft eval compare` on a terminal. */
export function comparisonText(cmp: EvalComparison): string {
  const out: string[] = [];
  const head = (r: RunRef) => `${r.run} (${r.eval}, ${r.startedAt}, ${r.status})`;
  out.push(`A: ${head(cmp.a)}`, `B: ${head(cmp.b)}`);
  if (cmp.a.eval !== cmp.b.eval)
    out.push(`note: the runs are of different evals (${cmp.a.eval}, ${cmp.b.eval})`);
  if (cmp.a.definitionHash === cmp.b.definitionHash)
    out.push("same definition hash: the agent did not change");
  out.push("", "per backend (A -> B):");
  for (const b of cmp.backends) {
    if (!b.a || !b.b) {
      out.push(`  ${b.backend}: only in ${b.a ? "A" : "B"}`);
      continue;
    }
    const d = b.delta;
    out.push(
      `  ${b.backend}: pass rate ${pct(b.a.passRate)} -> ${pct(b.b.passRate)} (${signed(d.passRate! * 100, 0)} pts)` +
        `, mean score ${score(b.a.meanScore)} -> ${score(b.b.meanScore)}${d.meanScore === null ? "" : ` (${signed(d.meanScore)})`}` +
        `, tokens ${num(b.a.inputTokens + b.a.outputTokens)} -> ${num(b.b.inputTokens + b.b.outputTokens)}` +
        `, p50 ${num(b.a.p50LatencyMs)} -> ${num(b.b.p50LatencyMs)} ms, p95 ${num(b.a.p95LatencyMs)} -> ${num(b.b.p95LatencyMs)} ms` +
        `, bytes sent ${num(b.a.bytesSent)} -> ${num(b.b.bytesSent)}`,
    );
  }
  const section = (change: CaseChange, title: string) => {
    const list = cmp.cases.filter((c) => c.change === change);
    if (!list.length) return;
    out.push("", `${title} (${list.length}):`, ...list.flatMap((c) => caseLines(c)));
  };
  section("regression", "regressions: passed more often in A");
  section("improvement", "improvements: pass more often in B");
  section("added", "only in B");
  section("removed", "only in A");
  const changed = cmp.cases
    .flatMap((c) =>
      c.scores.filter((s) => s.delta !== null && Math.abs(s.delta) >= 0.005).map((s) => ({ c, s })),
    )
    .sort((x, y) => Math.abs(y.s.delta!) - Math.abs(x.s.delta!));
  if (changed.length) {
    out.push("", `score changes (${changed.length}, largest first):`);
    for (const { c, s } of changed.slice(0, MAX_SCORE_LINES))
      out.push(
        `  ${JSON.stringify(c.case)} on ${c.backend}: ${s.criterion}: ${score(s.a)} -> ${score(s.b)} (${signed(s.delta!)})`,
      );
    if (changed.length > MAX_SCORE_LINES)
      out.push(`  and ${changed.length - MAX_SCORE_LINES} more (--json or --html shows them all)`);
  }
  const n = cmp.counts;
  out.push(
    "",
    `${n.regression} regression${n.regression === 1 ? "" : "s"}, ${n.improvement} improvement${n.improvement === 1 ? "" : "s"}, ${n.unchanged} unchanged` +
      (n.added || n.removed ? `, ${n.added} only in B, ${n.removed} only in A` : ""),
  );
  return out.join("\n") + "\n";
}
