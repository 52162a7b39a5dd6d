// Rules of test declarations: at least one send, scripted model steps only on
// the local backend, each step's tool, agent or memory field known, scripted
// and expected tool input against the tool's fields (or the built-in memory
// tool's), and the operators and regular expressions of expectations.

import type { Declaration, ObjectValue, Reference, Span, TestStep } from "../ast";
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

export function checkTest(c: Checker, decl: Declaration, owner: Span, label: string): void {
  const p = props(decl.body);
  const agentRef = p.get("agent")?.value;
  const agent =
    agentRef && agentRef.type === "Reference"
      ? lookup(c.table, "agent", agentRef.segments[0].name)
      : undefined;
  let memoryFields: string[] | undefined;
  if (agent) {
    const mem = props(agent.decl.body).get("memory")?.value;
    const memSym =
      mem && mem.type === "Reference" ? lookup(c.table, "memory", mem.segments[0].name) : undefined;
    memoryFields = memSym ? fields(blocks(memSym.decl.body).get("fields")?.body).map((f) => f.name.name) : [];
  }
  // Which backend the test runs on: the implicit local one unless it names a non-local backend.
  const backendRef = p.get("backend")?.value;
  let live: string | undefined;
  if (backendRef && backendRef.type === "Reference") {
    const sym = lookup(c.table, "backend", backendRef.segments[0].name);
    const provider = sym ? wordOf(props(sym.decl.body).get("provider")?.value) : "local";
    if (provider !== "local") live = backendRef.segments[0].name;
  }
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
  const isMemoryTool = (r: Reference) => r.segments.length === 1 && r.segments[0].name === MEMORY_TOOL;
  const toolRef = (r: Reference) => {
    if (!isMemoryTool(r)) return c.resolve(r, "tool", [MEMORY_TOOL]);
    // Only an agent whose memory has fields is given the built-in tool (language.md 3.5).
    if (memoryFields?.length === 0)
      c.report(
        r,
        "unknown-reference",
        `Agent '${agent?.name}' has no memory fields, so it has no '${MEMORY_TOOL}' tool: give it a memory with fields { ... }.`,
      );
    return undefined;
  };
  for (const s of steps) {
    if (live && s.step.startsWith("model."))
      c.report(
        s.keyword,
        "scripted-step-live",
        `Scripted 'model' steps only work on the local backend; this test runs on '${live}'. Remove the step or use backend: local.`,
      );
    switch (s.step) {
      case "model.calls":
        checkToolInput(c, s.input, toolRef(s.tool), memoryFields, isMemoryTool(s.tool));
        break;
      case "model.hands_off":
      case "expect.handoff":
        c.resolve(s.agent, "agent");
        break;
      case "tool.returns":
      case "tool.fails":
      case "approve":
      case "reject":
        toolRef(s.tool);
        break;
      case "expect.tool": {
        const t = toolRef(s.tool);
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
}
