// An eval run's record: `.statecraft/evals/<run>.json` (evals.md section 3), the same object that
// `statecraft eval --json FILE` writes. Written by the eval runner (runtime/evalRunner.ts, through
// cli/eval.ts); read by `eval list`, `eval compare`, `--baseline`, the HTML and JUnit reports, and the
// editor's Evals view, Eval Report and Compare Eval Runs.

import type { EvalCheck, Usage } from "./events";

export const EVAL_RUN_FORMAT = 1;

export interface EvalCaseRun {
  case: string;
  /** 1-based. */
  trial: number;
  backend: string;
  /** The case run's session id (`.statecraft/sessions/<id>.jsonl`). */
  session: string;
  passed: boolean;
  checks: EvalCheck[];
  /** The agent's tokens. */
  usage: Usage;
  /** Tokens of judge calls and of the simulated user. */
  judgeUsage: Usage;
  latencyMs: number;
  /** Bytes the client sent to the backend for this case run (summed over its model calls). */
  bytesSent: number;
  /** Why the case run could not complete (a backend error, a cancelled run): it then did not pass. */
  error?: string;
  /** Where the case is declared: the .agent file or the dataset, relative to the eval's folder; 1-based line. */
  file?: string;
  line?: number;
}

export interface EvalBackendSummary {
  runs: number;
  passed: number;
  passRate: number;
  /** Mean of the scores of the judge and score criteria of all case runs (null when none has a score). */
  meanScore: number | null;
  inputTokens: number;
  outputTokens: number;
  p50LatencyMs: number;
  p95LatencyMs: number;
  bytesSent: number;
}

export interface EvalRun {
  format: number;
  /** The run's id: also its file name. */
  run: string;
  eval: string;
  /** The .agent file declaring the eval, relative to the working folder. */
  file: string;
  startedAt: string;
  endedAt: string;
  definitionHash: string;
  backends: string[];
  /** `passed`: the eval met its pass_rate; `interrupted`: Ctrl-C stopped it and only what finished is here. */
  status: "passed" | "failed" | "interrupted";
  /** The eval's `pass_rate`. */
  passRate: number;
  trials: number;
  cases: EvalCaseRun[];
  summary: Record<string, EvalBackendSummary>;
}
