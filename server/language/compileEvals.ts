// Compiles `eval` declarations (evals.md sections 1-2) to the plain data the
// eval runner executes (evalIR.ts): the agent, the backend matrix, the judge,
// the run settings, the eval-level judges, and the cases, inline (`case`
// blocks) and from the dataset (one per JSON line).

import * as path from "node:path";
import {
  declarationName,
  referenceText,
  TRAJECTORY_MODES,
  type AtLeast,
  type Block,
  type CaseBlock,
  type Declaration,
  type Step,
  type TrajectoryMode,
  type Value,
} from "./ast";
import { blocks, props, valueToJson, type Json } from "./compile";
import { findDeclarations, stepIR } from "./compileTests";
import { parseDataset, type DatasetEntry } from "./dataset";
import {
  BUILTIN_JUDGES,
  type BuiltinJudge,
  type EvalCaseIR,
  type EvalCriterionIR,
  type EvalIR,
  type EvalSimulateIR,
  type EvalStepIR,
} from "./evalIR";
import { LineIndex } from "./lineIndex";
import type { Program } from "./program";
import { scriptStep, scriptTurns, type ScriptedModelStep } from "./scriptSteps";

/** Defaults of evals.md section 1. */
export const EVAL_DEFAULTS = { trials: 1, passRate: 1, concurrency: 4, atLeast: 0.5, maxTurns: 10 } as const;

type CaseStep = EvalCaseIR["steps"][number];

const word = (v: Value | undefined): string | undefined =>
  v?.type === "Reference" ? referenceText(v) : undefined;
const str = (v: Value | undefined): string | undefined => (v?.type === "String" ? v.value : undefined);
const num = (v: Value | undefined): number | undefined => (v?.type === "Number" ? v.value : undefined);

/** The eval blocks of the files, in order; with `imports`, also those of every file they import. */
export function findEvals(
  program: Program,
  files: string[],
  imports = true,
): { file: string; decl: Declaration }[] {
  return findDeclarations(program, files, "eval", imports);
}

/** The backend an agent runs on: its `backend`, else the only visible backend, else the built-in `local`. */
export function agentBackend(program: Program, filePath: string, agentName: string): string {
  const table = program.symbols(filePath);
  const agent = table.lookup("agent", agentName);
  const named = agent ? word(props(agent.decl.body).get("backend")?.value) : undefined;
  if (named) return named;
  const all = table.ofKind("backend");
  return all.length === 1 ? all[0].name : "local";
}

/** The dataset file an eval names, absolute, or undefined when it names none. */
export function datasetPath(filePath: string, decl: Declaration): string | undefined {
  const v = props(decl.body).get("dataset")?.value;
  if (v?.type !== "Call" || v.callee.name !== "file" || v.args[0]?.type !== "String") return undefined;
  return path.resolve(path.dirname(path.resolve(filePath)), v.args[0].value);
}

export function compileEval(program: Program, filePath: string, decl: Declaration): EvalIR {
  const file = path.resolve(filePath);
  const text = program.get(file)?.file.text ?? "";
  const idx = LineIndex.of(text);
  const line = (offset: number) => idx.position(offset).line + 1;
  const p = props(decl.body);
  const agent = word(p.get("agent")?.value) ?? "";
  const backendsValue = p.get("backends")?.value;
  const listed =
    backendsValue?.type === "List"
      ? backendsValue.items.map(word).filter((w): w is string => w !== undefined)
      : undefined;
  const dataset = datasetPath(file, decl);
  const ctx: CaseContext = { file, text, line, cwd: path.dirname(file) };
  const judges = decl.body.members
    .filter((m): m is Step => m.type === "Step")
    .map((s) => criterion(ctx, s))
    .filter((c): c is EvalCriterionIR => c !== undefined);
  const inline = decl.body.members
    .filter((m): m is CaseBlock => m.type === "Case")
    .map((c) => inlineCase(ctx, c));
  const datasetText = dataset !== undefined ? program.fs.readFile(dataset) : undefined;
  const fromDataset =
    dataset !== undefined && datasetText !== undefined
      ? parseDataset(datasetText).entries.map((e) => datasetCase(e, dataset))
      : [];
  return {
    name: declarationName(decl) ?? "",
    file,
    line: line((decl.name ?? decl).start),
    agent,
    backends: listed?.length ? listed : [agentBackend(program, file, agent)],
    judge: word(p.get("judge")?.value),
    trials: num(p.get("trials")?.value) ?? EVAL_DEFAULTS.trials,
    passRate: num(p.get("pass_rate")?.value) ?? EVAL_DEFAULTS.passRate,
    concurrency: num(p.get("concurrency")?.value) ?? EVAL_DEFAULTS.concurrency,
    ...(dataset !== undefined ? { dataset } : {}),
    judges,
    cases: [...inline, ...fromDataset],
  };
}

interface CaseContext {
  file: string;
  text: string;
  line: (offset: number) => number;
  /** Where `score command(...)` runs: the declaring file's folder, like command tools. */
  cwd: string;
}

const atLeastOf = (a: AtLeast | undefined) => a?.value.value ?? EVAL_DEFAULTS.atLeast;

/** The criterion a step is (trajectory, judge, score), or undefined for the other steps. */
function criterion(ctx: CaseContext, s: Step): EvalCriterionIR | undefined {
  const at = { file: ctx.file, line: ctx.line(s.start) };
  switch (s.step) {
    case "expect.trajectory":
      return {
        ...at,
        kind: "trajectory",
        tools: s.tools.items.map(word).filter((w): w is string => w !== undefined),
        mode: (s.mode?.name as TrajectoryMode | undefined) ?? TRAJECTORY_MODES[0],
      };
    case "judge": {
      if (s.criterion.type === "String")
        return { ...at, kind: "judge", criterion: s.criterion.value, atLeast: atLeastOf(s.atLeast) };
      const name = s.criterion.name;
      const builtin = (BUILTIN_JUDGES as readonly string[]).includes(name)
        ? (name as BuiltinJudge)
        : undefined;
      return {
        ...at,
        kind: "judge",
        criterion: name,
        ...(builtin ? { builtin } : {}),
        atLeast: atLeastOf(s.atLeast),
      };
    }
    case "score": {
      const [exe, args] = s.command.args;
      return {
        ...at,
        kind: "score",
        executable: str(exe) ?? "",
        args: args?.type === "List" ? args.items.map(str).filter((a): a is string => a !== undefined) : [],
        cwd: ctx.cwd,
        atLeast: atLeastOf(s.atLeast),
      };
    }
    default:
      return undefined;
  }
}

/** A case step that is a step of the run (not a criterion, not `expected`/`goal`), as IR. */
function runStep(s: Step): EvalStepIR | undefined {
  switch (s.step) {
    case "judge.scores":
      return { kind: "judge.scores", score: s.score.value, reason: s.reason.value };
    case "user.says":
      return { kind: "user.says", text: s.text.value };
    case "expect.trajectory":
    case "judge":
    case "score":
    case "expected":
    case "goal":
      return undefined;
    default:
      return stepIR(s);
  }
}

/** `user { id: "..." name: "..." }` or `user: { ... }`. */
function userOf(body: Block): EvalCaseIR["user"] {
  const asBlock = blocks(body).get("user");
  const asValue = props(body).get("user")?.value;
  const entries: Record<string, Json> = {};
  if (asBlock) for (const [k, prop] of props(asBlock.body)) entries[k] = valueToJson(prop.value);
  else if (asValue?.type === "Object") Object.assign(entries, valueToJson(asValue));
  else return undefined;
  if (typeof entries.id !== "string") return undefined;
  return { id: entries.id, ...(typeof entries.name === "string" ? { name: entries.name } : {}) };
}

function inlineCase(ctx: CaseContext, c: CaseBlock): EvalCaseIR {
  const steps: CaseStep[] = [];
  const criteria: EvalCriterionIR[] = [];
  let expected: string | undefined;
  let goal: string | undefined;
  for (const m of c.body.members) {
    if (m.type !== "Step") continue;
    if (m.step === "expected") expected = m.text.value;
    else if (m.step === "goal") goal = m.text.value;
    const crit = criterion(ctx, m);
    if (crit) criteria.push(crit);
    const step = runStep(m);
    if (step) steps.push({ ...step, line: ctx.line(m.start), source: ctx.text.slice(m.start, m.end) });
  }
  const sim = blocks(c.body).get("simulate");
  let simulate: EvalSimulateIR | undefined;
  if (sim) {
    const sp = props(sim.body);
    simulate = {
      file: ctx.file,
      line: ctx.line(sim.start),
      backend: word(sp.get("backend")?.value) ?? "",
      persona: str(sp.get("persona")?.value) ?? "",
      goal: str(sp.get("goal")?.value) ?? "",
      maxTurns: num(sp.get("max_turns")?.value) ?? EVAL_DEFAULTS.maxTurns,
    };
  }
  const user = userOf(c.body);
  const goalText = goal ?? (simulate?.goal || undefined);
  return {
    name: c.name?.value ?? "",
    file: ctx.file,
    line: ctx.line((c.name ?? c.keyword).start),
    origin: "inline",
    ...(user ? { user } : {}),
    steps,
    criteria,
    ...(simulate ? { simulate } : {}),
    ...(expected !== undefined ? { expected } : {}),
    ...(goalText !== undefined ? { goal: goalText } : {}),
  };
}

/** A step as the language would write it, for reports: `send "..."`, `model calls t {...}`. */
function sourceOf(s: EvalStepIR): string {
  switch (s.kind) {
    case "send":
      return `send ${JSON.stringify(s.text)}`;
    case "model.replies":
      return `model replies ${JSON.stringify(s.text)}`;
    case "model.calls":
      return `model calls ${s.tool} ${JSON.stringify(s.input)}`;
    case "model.hands_off":
      return `model hands_off ${s.agent}`;
    case "expect.reply":
      return `expect reply ${s.op} ${JSON.stringify(s.text)}`;
    default:
      return s.kind;
  }
}

/**
 * A dataset line as a case: its script split into turns (each up to the model's reply) before each
 * input message, then the expectations, checked after the whole case.
 */
export function datasetCase(entry: DatasetEntry, dataset: string): EvalCaseIR {
  const v = entry.value;
  const at = { file: dataset, line: entry.line };
  const inputs = typeof v.input === "string" ? [v.input] : v.input;
  const script = (v.script ?? []).map(scriptStep).filter((s): s is ScriptedModelStep => s !== undefined);
  const turns = scriptTurns(script, (s) => s.kind === "model.replies");
  // Steps beyond the last input's turn still belong to the last turn.
  if (turns.length > inputs.length)
    turns.splice(inputs.length - 1, turns.length, turns.slice(inputs.length - 1).flat());
  const runSteps: EvalStepIR[] = [];
  inputs.forEach((text, i) => runSteps.push(...(turns[i] ?? []), { kind: "send", text }));
  for (const text of v.expect?.reply_contains ?? [])
    runSteps.push({ kind: "expect.reply", op: "contains", text });
  if (v.expect?.reply_matches !== undefined)
    runSteps.push({ kind: "expect.reply", op: "matches", text: v.expect.reply_matches });
  const criteria: EvalCriterionIR[] = [];
  if (v.expect?.tools)
    criteria.push({
      ...at,
      kind: "trajectory",
      tools: v.expect.tools,
      mode: v.expect.trajectory ?? TRAJECTORY_MODES[0],
    });
  for (const j of v.judge ?? [])
    criteria.push({
      ...at,
      kind: "judge",
      criterion: j.criterion,
      atLeast: j.at_least ?? EVAL_DEFAULTS.atLeast,
    });
  return {
    name: v.name ?? `${path.basename(dataset)}:${entry.line}`,
    ...at,
    origin: "dataset",
    ...(v.user ? { user: v.user } : {}),
    steps: runSteps.map((s) => ({ ...s, ...at, source: sourceOf(s) })),
    criteria,
    ...(v.expected !== undefined ? { expected: v.expected } : {}),
    ...(v.goal !== undefined ? { goal: v.goal } : {}),
  };
}
