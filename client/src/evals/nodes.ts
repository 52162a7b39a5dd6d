// The Evals view's tree without `vscode`: run -> backend -> case -> trial -> failing criterion,
// each node's children and parent, and what it shows (label, description, tooltip, icon), computed
// from the recorded runs (runs.ts); tree.ts turns them into TreeItems. Ids are built from the
// folder, run, backend, case and trial, so a refresh keeps what the user expanded.

import type { EvalBackendSummary, EvalCaseRun, EvalRun } from "../../../server/protocol/evals";
import type { Display } from "../sessions/nodes";
import { describeCheck, scoreText, shortTime } from "../sessions/nodes";
import type { EvalRunFolder, EvalRunStore } from "./runs";

interface RunRef {
  folder: string;
  run: string;
}

export type EvalNode =
  | ({ kind: "run"; id: string } & RunRef)
  | ({ kind: "backend"; id: string; backend: string } & RunRef)
  | ({ kind: "case"; id: string; backend: string; case: string } & RunRef)
  | ({ kind: "trial"; id: string; backend: string; case: string; trial: number; session: string } & RunRef)
  /** A failing criterion of a trial (`index` in its checks), or its error (`index` -1). */
  | ({ kind: "check"; id: string; backend: string; case: string; trial: number; index: number } & RunRef)
  | { kind: "info"; id: string; text: string; detail?: string; icon?: string };

const nodeId = (kind: string, ...parts: (string | number)[]) => `${kind}:${JSON.stringify(parts)}`;
export const runNodeId = (folder: string, run: string) => nodeId("run", folder, run);
const backendNodeId = (folder: string, run: string, backend: string) =>
  nodeId("backend", folder, run, backend);
const caseNodeId = (folder: string, run: string, backend: string, name: string) =>
  nodeId("case", folder, run, backend, name);
const trialNodeId = (folder: string, run: string, backend: string, name: string, trial: number) =>
  nodeId("trial", folder, run, backend, name, trial);

/** A node's children: the runs of every folder at the top, newest first, after any unreadable files. */
export function evalChildren(store: EvalRunStore, element?: EvalNode): EvalNode[] {
  if (!element) {
    const folders = store.all();
    const problems: EvalNode[] = folders.flatMap((f) => [
      ...(f.error ? [{ kind: "info" as const, id: `error:${f.id}`, text: f.error, icon: "error" }] : []),
      ...f.warnings().map((w, i) => ({
        kind: "info" as const,
        id: `warning:${f.id}/${i}`,
        text: w,
        icon: "warning",
      })),
    ]);
    const runs = folders
      .flatMap((f) => f.runs().map((run) => ({ folder: f.id, run })))
      .sort((a, b) => (a.run.startedAt < b.run.startedAt ? 1 : a.run.startedAt > b.run.startedAt ? -1 : 0));
    const nodes: EvalNode[] = runs.map(({ folder, run }) => ({
      kind: "run",
      id: runNodeId(folder, run.run),
      folder,
      run: run.run,
    }));
    // Nothing at all: the view's welcome content (package.json viewsWelcome) shows instead.
    return nodes.length || problems.length ? [...problems, ...nodes] : [];
  }
  if (element.kind === "info") return [];
  const run = store.folder(element.folder)?.run(element.run);
  if (!run) return [];
  const ref = { folder: element.folder, run: element.run };
  switch (element.kind) {
    case "run":
      return backendsOf(run).map((backend) => ({
        kind: "backend",
        id: backendNodeId(ref.folder, ref.run, backend),
        ...ref,
        backend,
      }));
    case "backend":
      return caseNamesOf(run, element.backend).map((name) => ({
        kind: "case",
        id: caseNodeId(ref.folder, ref.run, element.backend, name),
        ...ref,
        backend: element.backend,
        case: name,
      }));
    case "case":
      return trialsOf(run, element.backend, element.case).map((c) => ({
        kind: "trial",
        id: trialNodeId(ref.folder, ref.run, element.backend, element.case, c.trial),
        ...ref,
        backend: element.backend,
        case: element.case,
        trial: c.trial,
        session: c.session,
      }));
    case "trial": {
      const c = caseRun(run, element);
      if (!c) return [];
      const base = { ...ref, backend: element.backend, case: element.case, trial: element.trial };
      const failing = c.checks.flatMap((k, index) => (k.passed ? [] : [index]));
      return [...(c.error !== undefined ? [-1] : []), ...failing].map((index) => ({
        kind: "check",
        id: `${element.id}/${index}`,
        ...base,
        index,
      }));
    }
    default:
      return [];
  }
}

/** The id of a node's parent; undefined for a run and an info line. */
export function evalParentId(element: EvalNode): string | undefined {
  switch (element.kind) {
    case "backend":
      return runNodeId(element.folder, element.run);
    case "case":
      return backendNodeId(element.folder, element.run, element.backend);
    case "trial":
      return caseNodeId(element.folder, element.run, element.backend, element.case);
    case "check":
      return trialNodeId(element.folder, element.run, element.backend, element.case, element.trial);
    default:
      return undefined;
  }
}

/** What a node shows; a node whose run is gone still reads. */
export function describeEvalNode(store: EvalRunStore, element: EvalNode, now?: Date): Display {
  if (element.kind === "info")
    return { label: element.text, tooltip: element.detail ?? element.text, icon: element.icon ?? "info" };
  const folder = store.folder(element.folder);
  const run = folder?.run(element.run);
  if (!run || !folder)
    return { label: element.kind === "run" ? element.run : element.id, icon: "circle-outline" };
  switch (element.kind) {
    case "run":
      return describeRun(run, store.all().length > 1 ? folder : undefined, now);
    case "backend":
      return describeBackend(run, element.backend);
    case "case":
      return describeCase(run, element.backend, element.case);
    case "trial": {
      const c = caseRun(run, element);
      return c ? describeTrial(c) : { label: `Trial ${element.trial}`, icon: "circle-outline" };
    }
    case "check": {
      const c = caseRun(run, element);
      if (!c) return { label: "criterion", icon: "circle-outline" };
      if (element.index < 0)
        return {
          label: "Did not complete",
          description: c.error,
          tooltip: c.error,
          icon: "error",
          color: FAILED,
        };
      return describeCheck(c.checks[element.index]);
    }
  }
}

const PASSED = "testing.iconPassed";
const FAILED = "testing.iconFailed";
const passIcon = (ok: boolean) => (ok ? { icon: "pass", color: PASSED } : { icon: "error", color: FAILED });

/** "83%" */
export const percent = (x: number) => `${Math.round(x * 100)}%`;

/** "850 ms", "1.2 s", "2 min 5 s" */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${s % 60} s`;
}

/** "512 B", "3.4 KB", "1.2 MB" */
export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

const plural = (n: number, what: string) => `${n.toLocaleString("en-US")} ${what}${n === 1 ? "" : "s"}`;

export function describeRun(run: EvalRun, folder?: EvalRunFolder, now?: Date): Display {
  const passed = run.cases.filter((c) => c.passed).length;
  const total = run.cases.length;
  const rate = total ? passed / total : 0;
  const status = STATUS[run.status] ?? { icon: "question" };
  return {
    label: run.eval,
    description: [
      run.status,
      `${percent(rate)} passed (${passed}/${total})`,
      shortTime(run.startedAt, now),
      folder?.label,
    ]
      .filter(Boolean)
      .join(" · "),
    tooltip: [
      `eval ${run.eval} in ${run.file}`,
      `run ${run.run}: ${run.status}${run.status === "interrupted" ? " (only the case runs that finished are here)" : ""}`,
      `${passed} of ${plural(total, "case run")} passed; the eval needs ${percent(run.passRate)}`,
      `backends: ${run.backends.join(", ")}; ${plural(run.trials ?? 1, "trial")} per case`,
      `started ${run.startedAt}${run.endedAt ? `, ended ${run.endedAt}` : ""}`,
    ].join("\n"),
    ...status,
  };
}

const STATUS: Record<string, { icon: string; color?: string }> = {
  passed: { icon: "pass", color: PASSED },
  failed: { icon: "error", color: FAILED },
  interrupted: { icon: "debug-stop", color: "list.warningForeground" },
};

/** The backend's summary as the run recorded it, or computed from its case runs when missing. */
export function summaryOf(run: EvalRun, backend: string): EvalBackendSummary {
  const recorded = run.summary[backend] as EvalBackendSummary | undefined;
  if (recorded) return recorded;
  const cases = run.cases.filter((c) => c.backend === backend);
  const passed = cases.filter((c) => c.passed).length;
  const scores = cases.flatMap((c) =>
    c.checks.flatMap((k) => (typeof k.score === "number" ? [k.score] : [])),
  );
  const latencies = cases.map((c) => c.latencyMs).sort((a, b) => a - b);
  const quantile = (q: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return {
    runs: cases.length,
    passed,
    passRate: cases.length ? passed / cases.length : 0,
    meanScore: scores.length ? scores.reduce((a, b) => a + b, 0) / scores.length : null,
    inputTokens: cases.reduce((a, c) => a + (c.usage?.inputTokens ?? 0), 0),
    outputTokens: cases.reduce((a, c) => a + (c.usage?.outputTokens ?? 0), 0),
    p50LatencyMs: quantile(0.5),
    p95LatencyMs: quantile(0.95),
    bytesSent: cases.reduce((a, c) => a + (c.bytesSent ?? 0), 0),
  };
}

export function describeBackend(run: EvalRun, backend: string): Display {
  const s = summaryOf(run, backend);
  return {
    label: backend,
    description: [
      `${percent(s.passRate)} passed (${s.passed}/${s.runs})`,
      s.meanScore === null ? undefined : `score ${s.meanScore.toFixed(2)}`,
      `p50 ${duration(s.p50LatencyMs)}`,
      `${bytes(s.bytesSent)} sent`,
    ]
      .filter(Boolean)
      .join(" · "),
    tooltip: [
      `backend ${backend}: ${s.passed} of ${plural(s.runs, "case run")} passed (${percent(s.passRate)}; the eval needs ${percent(run.passRate)})`,
      `mean score ${s.meanScore === null ? "none (no judge or score criterion)" : s.meanScore.toFixed(3)}`,
      `latency p50 ${duration(s.p50LatencyMs)}, p95 ${duration(s.p95LatencyMs)}`,
      `${plural(s.inputTokens, "input token")}, ${plural(s.outputTokens, "output token")}, ${bytes(s.bytesSent)} sent`,
    ].join("\n"),
    ...passIcon(s.runs > 0 && s.passRate >= run.passRate),
  };
}

export function describeCase(run: EvalRun, backend: string, name: string): Display {
  const trials = trialsOf(run, backend, name);
  const passed = trials.filter((c) => c.passed).length;
  const where = trials.find((c) => c.file)?.file;
  const line = trials.find((c) => c.line)?.line;
  return {
    label: name,
    description:
      trials.length === 1
        ? trials[0].passed
          ? "passed"
          : failedSummary(trials[0])
        : `${passed}/${trials.length} trials passed`,
    tooltip: [
      `case "${name}" on ${backend}: ${passed} of ${plural(trials.length, "trial")} passed`,
      where ? `declared in ${where}${line ? `:${line}` : ""}` : undefined,
    ]
      .filter(Boolean)
      .join("\n"),
    ...passIcon(passed === trials.length),
  };
}

/** "failed: 2 of 5 criteria" or "did not complete". */
function failedSummary(c: EvalCaseRun): string {
  if (c.error !== undefined) return "did not complete";
  const failing = c.checks.filter((k) => !k.passed).length;
  return `failed: ${failing} of ${plural(c.checks.length, "criterion").replace(/criterions$/, "criteria")}`;
}

export function describeTrial(c: EvalCaseRun): Display {
  const tokens = (c.usage?.inputTokens ?? 0) + (c.usage?.outputTokens ?? 0);
  return {
    label: `Trial ${c.trial}`,
    description: [
      c.passed ? "passed" : failedSummary(c),
      duration(c.latencyMs),
      plural(tokens, "token"),
    ].join(" · "),
    tooltip: [
      `case "${c.case}", trial ${c.trial} on ${c.backend}: ${c.passed ? "passed" : "failed"}`,
      c.error !== undefined ? `did not complete: ${c.error}` : undefined,
      ...c.checks.map((k) => `${k.passed ? "✓" : "✗"} ${k.criterion}${scoreText(k)}: ${k.reason}`),
      `session ${c.session} (click to show it in the Session Explorer)`,
      `${plural(tokens, "token")} (judge ${(c.judgeUsage?.inputTokens ?? 0) + (c.judgeUsage?.outputTokens ?? 0)}), ${duration(c.latencyMs)}, ${bytes(c.bytesSent ?? 0)} sent`,
    ]
      .filter(Boolean)
      .join("\n"),
    ...passIcon(c.passed),
  };
}

/** The run's backends: those it declares, then any a case ran on that it does not list. */
export function backendsOf(run: EvalRun): string[] {
  const out = [...run.backends];
  for (const c of run.cases) if (!out.includes(c.backend)) out.push(c.backend);
  return out;
}

/** The cases that ran on a backend, in the order the run lists them. */
export function caseNamesOf(run: EvalRun, backend: string): string[] {
  const out: string[] = [];
  for (const c of run.cases) if (c.backend === backend && !out.includes(c.case)) out.push(c.case);
  return out;
}

export function trialsOf(run: EvalRun, backend: string, name: string): EvalCaseRun[] {
  return run.cases.filter((c) => c.backend === backend && c.case === name).sort((a, b) => a.trial - b.trial);
}

function caseRun(
  run: EvalRun,
  ref: { backend: string; case: string; trial: number },
): EvalCaseRun | undefined {
  return run.cases.find((c) => c.backend === ref.backend && c.case === ref.case && c.trial === ref.trial);
}
