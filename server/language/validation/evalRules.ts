// Rules of eval declarations (evals.md sections 1, 2 and 5): each case's
// properties, steps and criteria; built-in judge names and thresholds; a
// judge backend for judge criteria (`judge-missing`); arrange steps only
// where everything they script runs locally (`scripted-step-live`); and the
// dataset: readable, every line a valid case (`dataset-line`, at that line).

import * as path from "node:path";
import type { AtLeast, Block, CaseBlock, Declaration, Span, Step, TestStep, Value } from "../ast";
import { blocks, props } from "../compile";
import { parseDataset, type DatasetEntry } from "../dataset";
import { nearest } from "../editDistance";
import { BUILTIN_JUDGES } from "../evalIR";
import { LineIndex } from "../lineIndex";
import { lookup } from "../program";
import { CASE_SCHEMA, type BlockSchema } from "../schema";
import { scriptStep } from "../scriptSteps";
import { MEMORY_TOOL } from "../../protocol/names";
import { checkCall } from "./builtinCalls";
import type { Checker } from "./checker";
import { checkBlock } from "./schemaChecks";
import { checkStep, isLocalBackend, stepScope, stepTool, type StepScope } from "./testRules";
import { valueKind } from "./values";

/** `user { ... }` written as a block in a case. */
const USER_BLOCK: BlockSchema = {
  props: {
    id: { type: { t: "string" }, required: true, doc: "The user's id." },
    name: { type: { t: "string" }, doc: "The user's name." },
  },
};

/** The arrange steps that script the agent's model or its tools: local backends only. */
const ARRANGE = new Set(["model.replies", "model.calls", "model.hands_off", "tool.returns", "tool.fails"]);

const word = (v: Value | undefined) => (v?.type === "Reference" ? v.segments[0].name : undefined);

interface EvalScope extends StepScope {
  /** A backend of the matrix that is not local (the first), if any: arrange steps cannot run there. */
  live: string | undefined;
  /** The judge backend's name, if declared. */
  judge: string | undefined;
}

export function checkEval(c: Checker, decl: Declaration, owner: Span, label: string): void {
  const p = props(decl.body);
  const scope = stepScope(c, p.get("agent")?.value);
  const backendsValue = p.get("backends")?.value;
  const matrix =
    backendsValue?.type === "List"
      ? backendsValue.items.map(word).filter((w): w is string => w !== undefined)
      : scope.agent
        ? [agentBackendName(c, scope.agent.decl)]
        : [];
  const judge = word(p.get("judge")?.value);
  const es: EvalScope = { ...scope, live: matrix.find((b) => !isLocalBackend(c, b)), judge };

  const judgeSteps: Step[] = [];
  const seenCases = new Map<string, CaseBlock>();
  for (const m of decl.body.members) {
    if (m.type === "Step") {
      checkCriterion(c, m);
      if (m.step === "judge") judgeSteps.push(m);
    } else if (m.type === "Case") {
      if (m.name) {
        const first = seenCases.get(m.name.value);
        if (first)
          c.report(
            m.name,
            "duplicate-declaration",
            `${label} already has a case "${m.name.value}" (line ${c.line(first.start)}): give each case its own name.`,
          );
        else seenCases.set(m.name.value, m);
      }
      judgeSteps.push(...checkCase(c, m, es));
    }
  }

  const dataset = checkDataset(c, decl, es, seenCases);
  if (!judge && (judgeSteps.length || dataset.judges)) {
    const fix = {
      fixes: [
        {
          kind: "insertProperty" as const,
          property: "judge",
          snippet: "judge: ${1:backend}",
          blockEnd: decl.body.closed ? decl.body.end - 1 : decl.body.end,
          indent: "",
        },
      ],
    };
    const first = judgeSteps[0];
    const where: Span = first ? first.keyword : (p.get("dataset")?.name ?? owner);
    c.report(
      where,
      "judge-missing",
      `${label} has judge criteria but no judge backend to score them: add 'judge: BACKEND' (a declared backend, or local for scripted scores).`,
      fix,
    );
  }
}

/** The backend an agent runs on when the eval names none: its own, else the only visible one, else local. */
function agentBackendName(c: Checker, agent: Declaration): string {
  const named = word(props(agent.body).get("backend")?.value);
  if (named) return named;
  const all = c.table.ofKind("backend");
  return all.length === 1 ? all[0].name : "local";
}

function checkAtLeast(c: Checker, a: AtLeast | undefined): void {
  if (a && (a.value.value < 0 || a.value.value > 1))
    c.report(a.value, "out-of-range", `'at_least' is a score from 0 to 1; found ${a.value.raw}.`);
}

/** A judge or score criterion, in a case or at the eval's level. */
function checkCriterion(c: Checker, s: Step): void {
  if (s.step === "judge") {
    checkAtLeast(c, s.atLeast);
    if (s.criterion.type === "Identifier") {
      const name = s.criterion.name;
      if (!(BUILTIN_JUDGES as readonly string[]).includes(name)) {
        const near = nearest(name, BUILTIN_JUDGES);
        c.report(
          s.criterion,
          "unknown-reference",
          `Unknown built-in judge '${name}'${near ? `: did you mean '${near}'?` : `: the built-in judges are ${BUILTIN_JUDGES.join(", ")}; or write a criterion in quotes.`}`,
          near ? c.replaceFix(`Change to '${near}'`, near) : {},
        );
      }
    } else if (!s.criterion.value.trim())
      c.report(
        s.criterion,
        "type-mismatch",
        "A judge criterion says what a good answer does; this one is empty.",
      );
  } else if (s.step === "score") {
    checkAtLeast(c, s.atLeast);
    checkCall(c, s.command, ["command"], "score");
  }
}

/** The rules of one case; returns its judge criteria (for `judge-missing`). */
function checkCase(c: Checker, k: CaseBlock, es: EvalScope): Step[] {
  const label = `case "${k.name?.value ?? ""}"`;
  const owner = k.name ?? k.keyword;
  const userBlock = blocks(k.body).get("user");
  const rest: Block = { ...k.body, members: k.body.members.filter((m) => m !== userBlock) };
  checkBlock(c, rest, CASE_SCHEMA, owner, label);
  if (userBlock) checkBlock(c, userBlock.body, USER_BLOCK, userBlock.name, `${label} user`);

  const simulate = blocks(k.body).get("simulate");
  const simBackend = simulate ? word(props(simulate.body).get("backend")?.value) : undefined;
  const steps = k.body.members.filter((m): m is Step => m.type === "Step");
  if (!simulate && !steps.some((s) => s.step === "send"))
    c.report(
      owner,
      "missing-property",
      `${label} has no 'send' step and no 'simulate' block: add one, as in send "Hello".`,
      {
        fixes: [
          {
            kind: "insertProperty",
            property: "send",
            snippet: 'send "$1"',
            blockEnd: k.body.end - 1,
            indent: "",
          },
        ],
      },
    );
  const hasExpected = steps.some((s) => s.step === "expected");
  const hasGoal = steps.some((s) => s.step === "goal") || simulate !== undefined;
  const judges: Step[] = [];
  for (const s of steps) {
    switch (s.step) {
      case "judge":
        judges.push(s);
        checkCriterion(c, s);
        if (s.criterion.type === "Identifier" && s.criterion.name === "correctness" && !hasExpected)
          c.report(
            s.criterion,
            "missing-property",
            `'correctness' scores the reply against the case's reference answer: add expected "..." to ${label}.`,
          );
        if (s.criterion.type === "Identifier" && s.criterion.name === "goal_success" && !hasGoal)
          c.report(
            s.criterion,
            "missing-property",
            `'goal_success' scores whether the user's goal was met: add goal "..." (or a simulate block) to ${label}.`,
          );
        break;
      case "score":
        checkCriterion(c, s);
        break;
      case "expect.trajectory":
        for (const item of s.tools.items) {
          if (item.type === "Reference") stepTool(c, es, item);
          else if (item.type !== "Missing")
            c.report(
              item,
              "type-mismatch",
              `'expect trajectory' lists tool names; found ${valueKind(item)}.`,
            );
        }
        break;
      case "judge.scores":
        if (s.score.value < 0 || s.score.value > 1)
          c.report(s.score, "out-of-range", `A judge's score is from 0 to 1; found ${s.score.raw}.`);
        if (es.judge && !isLocalBackend(c, es.judge))
          c.report(
            s.keyword,
            "scripted-step-live",
            `'judge scores' scripts a local judge; this eval's judge is '${es.judge}'. Remove the step or use judge: local.`,
          );
        break;
      case "user.says":
        if (!simulate)
          c.report(
            s.keyword,
            "missing-property",
            `'user says' scripts a simulated user: add a simulate { backend: local ... } block to ${label}, or use send "...".`,
          );
        else if (simBackend && !isLocalBackend(c, simBackend))
          c.report(
            s.keyword,
            "scripted-step-live",
            `'user says' scripts a local simulated user; this case's user is simulated by '${simBackend}'. Remove the step or use backend: local in simulate.`,
          );
        break;
      case "expected":
      case "goal":
        break;
      default:
        if (es.live && ARRANGE.has(s.step))
          c.report(
            s.keyword,
            "scripted-step-live",
            `Scripted '${s.keyword.name}' steps only work on local backends; this eval runs on '${es.live}'. Remove the step, or list only local backends in 'backends'.`,
          );
        checkStep(c, s as TestStep, es);
    }
  }
  return judges;
}

/** The dataset: the file exists, and every line is a case; reports on the dataset at the line. */
function checkDataset(
  c: Checker,
  decl: Declaration,
  es: EvalScope,
  inlineNames: Map<string, CaseBlock>,
): { judges: boolean } {
  const v = props(decl.body).get("dataset")?.value;
  if (v?.type !== "Call" || v.callee.name !== "file" || v.args[0]?.type !== "String")
    return { judges: false };
  const arg = v.args[0];
  const file = path.resolve(path.dirname(c.filePath), arg.value);
  const text = c.program.fs.readFile(file);
  if (text === undefined) {
    c.report(
      arg,
      "dataset-line",
      `Cannot read the dataset '${arg.value}' (resolved to ${file}): check the path, relative to this file; a dataset is a JSONL file, one case per line.`,
    );
    return { judges: false };
  }
  const { entries, problems } = parseDataset(text);
  const at = (span: Span, message: string, code: "dataset-line" | "scripted-step-live" = "dataset-line") =>
    c.report(span, code, message, {}, file);
  for (const pr of problems) at(pr.span, `Line ${pr.line} is not a valid case: ${pr.message}`);
  const names = new Map<string, number>();
  const idx = LineIndex.of(c.text);
  for (const e of entries) {
    checkDatasetEntry(c, e, es, at);
    const name = e.value.name;
    if (name === undefined) continue;
    const inline = inlineNames.get(name);
    const earlier = names.get(name);
    if (inline || earlier !== undefined)
      at(
        e.span,
        `Line ${e.line}: the case name "${name}" is already used ${inline ? `by the case at ${path.basename(c.filePath)}:${idx.position(inline.start).line + 1}` : `on line ${earlier}`}: give each case its own name.`,
      );
    else names.set(name, e.line);
  }
  return { judges: entries.some((e) => e.value.judge?.length) };
}

function checkDatasetEntry(
  c: Checker,
  e: DatasetEntry,
  es: EvalScope,
  at: (span: Span, message: string, code?: "dataset-line" | "scripted-step-live") => void,
): void {
  const toolProblem = (field: string, name: string): boolean => {
    if (lookup(c.table, "tool", name) || (name === MEMORY_TOOL && es.memoryFields?.length)) return false;
    const near = nearest(
      name,
      c.table.ofKind("tool").map((t) => t.name),
    );
    at(
      e.span,
      `Line ${e.line}: '${field}' names an unknown tool '${name}'${near ? `: did you mean '${near}'?` : "."}`,
    );
    return true;
  };
  for (const t of e.value.expect?.tools ?? []) if (toolProblem("expect.tools", t)) return;
  const script = e.value.script ?? [];
  for (const s of script) {
    const step = scriptStep(s);
    if (step?.kind === "model.calls" && toolProblem("script", step.tool)) return;
  }
  if (script.length && es.live)
    at(
      e.span,
      `Line ${e.line}: 'script' scripts the model, which only works on local backends; this eval runs on '${es.live}'. Remove 'script', or list only local backends in 'backends'.`,
      "scripted-step-live",
    );
}
