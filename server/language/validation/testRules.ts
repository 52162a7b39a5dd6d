// Rules of test declarations: at least one send, scripted model steps only on
// the local backend, each step's tool, agent or memory field known, scripted
// and expected tool input against the tool's fields (or the built-in memory
// tool's), and the operators and regular expressions of expectations.

import type { Declaration, ObjectValue, Reference, Span, TestStep, Value } from "../ast";
import { blocks, fields, props } from "../compile";
import { nearest } from "../editDistance";
import { lookup, type Symbol } from "../program";
import { MEMORY_TOOL } from "../../protocol/names";
import type { Checker } from "./checker";
import {
  fieldKind,
  literalFits,
  regexProblem,
  toolInputFields,
  typeExprText,
  valueKind,
  wordOf,
} from "./values";

/** Checks an object of tool input (a scripted call or an expectation) against the tool's fields. */
export function checkToolInput(
  c: Checker,
  obj: ObjectValue,
  tool: Symbol | undefined,
  memoryFields: string[] | undefined,
  isMemoryTool: boolean,
): void {
  if (isMemoryTool) {
    for (const e of obj.entries) {
      if (e.key.name !== "field" && e.key.name !== "value") {
        c.report(
          e.key,
          "unknown-tool-input",
          `The built-in '${MEMORY_TOOL}' tool takes { field, value }; found '${e.key.name}'.`,
        );
      } else if (e.key.name === "field" && memoryFields?.length) {
        if (e.value.type !== "String")
          c.report(e.value, "unknown-tool-input", `'field' is the name of a memory field, as a string.`);
        else if (!memoryFields.includes(e.value.value)) {
          const near = nearest(e.value.value, memoryFields);
          c.report(
            e.value,
            "unknown-tool-input",
            `The agent's memory has no field '${e.value.value}'${near ? `: did you mean '${near}'?` : `; its fields are ${memoryFields.join(", ")}.`}`,
          );
        }
      }
    }
    return;
  }
  if (!tool) return;
  const inputFields = toolInputFields(tool);
  for (const e of obj.entries) {
    const f = inputFields.find((x) => x.name.name === e.key.name);
    if (!f) {
      const near = nearest(
        e.key.name,
        inputFields.map((x) => x.name.name),
      );
      c.report(
        e.key,
        "unknown-tool-input",
        `Tool '${tool.name}' has no input field '${e.key.name}'${near ? `: did you mean '${near}'?` : inputFields.length ? `; its fields are ${inputFields.map((x) => x.name.name).join(", ")}.` : "; it takes no input."}`,
        near ? c.replaceFix(`Change to '${near}'`, near) : {},
      );
      continue;
    }
    const expected = literalFits(e.value, fieldKind(f));
    if (expected)
      c.report(
        e.value,
        "unknown-tool-input",
        `Input '${e.key.name}' of tool '${tool.name}' is ${typeExprText(f.fieldType)}; found ${valueKind(e.value)} (expected ${expected}).`,
      );
  }
}

/** What the steps of a test or an eval case are checked against: the agent under test and its memory. */
export interface StepScope {
  agent: Symbol | undefined;
  /** The agent's memory fields; undefined when the agent is unknown. */
  memoryFields: string[] | undefined;
}

/** The agent a test or eval names with `agent:`, and its memory fields. */
export function stepScope(c: Checker, agentValue: Value | undefined): StepScope {
  const agent =
    agentValue && agentValue.type === "Reference"
      ? lookup(c.table, "agent", agentValue.segments[0].name)
      : undefined;
  let memoryFields: string[] | undefined;
  if (agent) {
    const mem = props(agent.decl.body).get("memory")?.value;
    const memSym =
      mem && mem.type === "Reference" ? lookup(c.table, "memory", mem.segments[0].name) : undefined;
    memoryFields = memSym ? fields(blocks(memSym.decl.body).get("fields")?.body).map((f) => f.name.name) : [];
  }
  return { agent, memoryFields };
}

/** Whether a backend name runs on the built-in local model: `local` (unless declared otherwise) or a local provider. */
export function isLocalBackend(c: Checker, name: string): boolean {
  const sym = lookup(c.table, "backend", name);
  return (sym ? wordOf(props(sym.decl.body).get("provider")?.value) : "local") === "local";
}

const isMemoryTool = (r: Reference) => r.segments.length === 1 && r.segments[0].name === MEMORY_TOOL;

/** Resolves a step's tool, the built-in memory tool included (only for an agent whose memory has fields). */
export function stepTool(c: Checker, scope: StepScope, r: Reference): Symbol | undefined {
  if (!isMemoryTool(r)) return c.resolve(r, "tool", [MEMORY_TOOL]);
  // Only an agent whose memory has fields is given the built-in tool (language.md 3.5).
  if (scope.memoryFields?.length === 0)
    c.report(
      r,
      "unknown-reference",
      `Agent '${scope.agent?.name}' has no memory fields, so it has no '${MEMORY_TOOL}' tool: give it a memory with fields { ... }.`,
    );
  return undefined;
}

export function checkTest(c: Checker, decl: Declaration, owner: Span, label: string): void {
  const p = props(decl.body);
  const scope = stepScope(c, p.get("agent")?.value);
  // Which backend the test runs on: the implicit local one unless it names a non-local backend.
  const backendRef = p.get("backend")?.value;
  let live: string | undefined;
  if (backendRef && backendRef.type === "Reference" && !isLocalBackend(c, backendRef.segments[0].name))
    live = backendRef.segments[0].name;
  const steps = decl.body.members.filter((m): m is TestStep => m.type === "Step");
  if (!steps.some((s) => s.step === "send"))
    c.report(
      owner,
      "missing-property",
      `${label} has no 'send' step: add at least one, as in send "Hello".`,
      {
        fixes: [
          {
            kind: "insertProperty",
            property: "send",
            snippet: 'send "$1"',
            blockEnd: decl.body.end - 1,
            indent: "",
          },
        ],
      },
    );
  for (const s of steps) {
    if (live && s.step.startsWith("model."))
      c.report(
        s.keyword,
        "scripted-step-live",
        `Scripted 'model' steps only work on the local backend; this test runs on '${live}'. Remove the step or use backend: local.`,
      );
    checkStep(c, s, scope);
  }
}

/** The checks of one test step: its tool, agent or memory field known, its input and its comparison sound. */
export function checkStep(c: Checker, s: TestStep, scope: StepScope): void {
  const { agent, memoryFields } = scope;
  switch (s.step) {
    case "model.calls":
      checkToolInput(c, s.input, stepTool(c, scope, s.tool), memoryFields, isMemoryTool(s.tool));
      break;
    case "model.hands_off":
    case "expect.handoff":
      c.resolve(s.agent, "agent");
      break;
    case "tool.returns":
    case "tool.fails":
    case "approve":
    case "reject":
      stepTool(c, scope, s.tool);
      break;
    case "expect.tool": {
      const t = stepTool(c, scope, s.tool);
      if (s.with) checkToolInput(c, s.with, t, memoryFields, isMemoryTool(s.tool));
      break;
    }
    case "expect.memory": {
      const field = s.path.segments[1];
      if (memoryFields && !memoryFields.includes(field.name)) {
        const near = nearest(field.name, memoryFields);
        c.report(
          field,
          "unknown-reference",
          `The memory of agent '${agent?.name}' has no field '${field.name}'${near ? `: did you mean '${near}'?` : memoryFields.length ? `; its fields are ${memoryFields.join(", ")}.` : "."}`,
          near ? c.replaceFix(`Change to '${near}'`, near) : {},
        );
      }
      break;
    }
    case "expect.tokens":
    case "expect.turns":
      if (s.value.type !== "Number")
        c.report(
          s.value,
          "type-mismatch",
          `'expect ${s.step.slice(7)}' compares with a number; found ${valueKind(s.value)}.`,
        );
      else if (!["<", "<=", ">", ">=", "==", "!="].includes(s.op))
        c.report(s.opSpan, "type-mismatch", `'expect ${s.step.slice(7)}' takes == != < <= > or >=.`);
      break;
    case "expect.reply":
      if (s.op === "matches") {
        try {
          new RegExp(s.text.value);
        } catch (err) {
          c.report(s.text, "type-mismatch", `${regexProblem(err)}.`);
        }
      }
      break;
    default:
      break;
  }
}
