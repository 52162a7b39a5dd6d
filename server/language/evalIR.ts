// The compiled form of `eval` declarations (shared/design/evals.md sections 1-2): plain data the
// eval runner executes. Written by the compiler (language/compileEvals.ts); read by the eval runner
// (runtime/evalRunner.ts), `statecraft eval` and the editor's code lenses and Testing view.

import type { Json } from "../protocol/definition";
import type { TestStepIR } from "./compileTests";

/** The built-in judge criteria (evals.md section 1), each with a documented prompt. */
export const BUILTIN_JUDGES = [
  "helpfulness",
  "correctness",
  "faithfulness",
  "goal_success",
  "instruction_following",
  "tool_selection",
  "tool_parameters",
  "refusal",
] as const;
export type BuiltinJudge = (typeof BUILTIN_JUDGES)[number];

/** Where something is written: the .agent file or the dataset (absolute path), 1-based line. */
export interface EvalSource {
  file: string;
  line: number;
}

/** A case step: the steps of tests, plus the offline arrange steps of evals. */
export type EvalStepIR =
  | TestStepIR
  /** `judge scores 0.8 "reason"`: a scripted answer of a local judge, consumed in order by the judge criteria. */
  | { kind: "judge.scores"; score: number; reason: string }
  /** `user says "..."`: the next message of a simulated user on a local simulate backend. */
  | { kind: "user.says"; text: string };

export type EvalCriterionIR = EvalSource &
  (
    | { kind: "trajectory"; tools: string[]; mode: "in_order" | "exact" | "any_order" }
    /** `judge "criterion"` or `judge NAME` (builtin set, criterion = the name). */
    | { kind: "judge"; criterion: string; builtin?: BuiltinJudge; atLeast: number }
    /** `score command(...)`: gets the case's session log on stdin, prints {"score", "reason"}. */
    | { kind: "score"; executable: string; args: string[]; cwd: string; atLeast: number }
  );

export interface EvalSimulateIR extends EvalSource {
  /** The backend playing the user (a declared backend's name, or "local" for the built-in one). */
  backend: string;
  persona: string;
  goal: string;
  maxTurns: number;
}

export interface EvalCaseIR extends EvalSource {
  name: string;
  /** `inline`: a `case` block; `dataset`: a line of the eval's dataset (file and line are the dataset's). */
  origin: "inline" | "dataset";
  user?: { id: string; name?: string };
  /** Sends, arrange steps and expects (expects are checked after the whole case), with their lines. */
  steps: (EvalStepIR & { line: number; source: string; file?: string })[];
  /** Trajectory, judge and score criteria of the case itself (the eval-level judges are on the eval). */
  criteria: EvalCriterionIR[];
  simulate?: EvalSimulateIR;
  /** The reference answer (`expected "..."`), read by the `correctness` judge. */
  expected?: string;
  /** The user's goal (`goal "..."`), read by `goal_success`. */
  goal?: string;
}

export interface EvalIR extends EvalSource {
  name: string;
  agent: string;
  /** Backend names, `local` for the built-in one; default: the agent's backend. */
  backends: string[];
  /** The judge backend's name, `local` for the built-in one; absent when none is declared. */
  judge?: string;
  trials: number;
  passRate: number;
  concurrency: number;
  /** The dataset file (absolute), when the eval has one. */
  dataset?: string;
  /** Eval-level `judge` criteria: they apply to every case (inline and dataset), after the case's own. */
  judges: EvalCriterionIR[];
  cases: EvalCaseIR[];
}

/** The dataset line format (evals.md section 2), as parsed; the compiler turns each into an EvalCaseIR. */
export interface DatasetLine {
  name?: string;
  input: string | string[];
  user?: { id: string; name?: string };
  expected?: string;
  goal?: string;
  expect?: {
    tools?: string[];
    trajectory?: "in_order" | "exact" | "any_order";
    reply_contains?: string[];
    reply_matches?: string;
  };
  judge?: { criterion: string; at_least?: number }[];
  script?: Json[];
}
