// Compiles `test` blocks (language.md 3.8) to plain data the test runner
// executes: the agent, the backend, the user, and the steps with their lines.

import * as path from "node:path";
import { declarationName, referenceText, type CompareOp, type Declaration, type TestStep } from "./ast";
import { props, valueToJson, type Json } from "./compile";
import { LineIndex } from "./lineIndex";
import type { Program } from "./program";

export type TestStepIR =
  | { kind: "send"; text: string }
  | { kind: "model.replies"; text: string }
  | { kind: "model.calls"; tool: string; input: Json }
  | { kind: "model.hands_off"; agent: string }
  | { kind: "tool.returns"; tool: string; value: Json }
  | { kind: "tool.fails"; tool: string; message: string }
  | { kind: "approve" | "reject"; tool: string }
  | { kind: "expect.reply"; op: "contains" | "matches"; text: string }
  | {
      kind: "expect.tool";
      tool: string;
      outcome: "called" | "not_called" | "denied";
      with?: Record<string, Json>;
    }
  | { kind: "expect.handoff"; agent: string }
  | { kind: "expect.memory"; path: string[]; op: CompareOp; value: Json }
  | { kind: "expect.tokens" | "expect.turns"; op: CompareOp; value: Json };

export interface TestIR {
  name: string;
  /** The file declaring the test and the 1-based line of its name. */
  file: string;
  line: number;
  agent: string;
  /** A declared backend's name; undefined means the built-in local backend. */
  backend?: string;
  user?: { id: string; name?: string };
  /** Each step with its 1-based line and its source text. */
  steps: (TestStepIR & { line: number; source: string })[];
}

export function stepIR(s: TestStep): TestStepIR {
  switch (s.step) {
    case "send":
      return { kind: "send", text: s.text.value };
    case "model.replies":
      return { kind: "model.replies", text: s.text.value };
    case "model.calls":
      return { kind: "model.calls", tool: referenceText(s.tool), input: valueToJson(s.input) };
    case "model.hands_off":
      return { kind: "model.hands_off", agent: referenceText(s.agent) };
    case "tool.returns":
      return { kind: "tool.returns", tool: referenceText(s.tool), value: valueToJson(s.value) };
    case "tool.fails":
      return { kind: "tool.fails", tool: referenceText(s.tool), message: s.message.value };
    case "approve":
    case "reject":
      return { kind: s.step, tool: referenceText(s.tool) };
    case "expect.reply":
      return { kind: "expect.reply", op: s.op, text: s.text.value };
    case "expect.tool":
      return {
        kind: "expect.tool",
        tool: referenceText(s.tool),
        outcome: s.outcome,
        with: s.with ? (valueToJson(s.with) as Record<string, Json>) : undefined,
      };
    case "expect.handoff":
      return { kind: "expect.handoff", agent: referenceText(s.agent) };
    case "expect.memory":
      return {
        kind: "expect.memory",
        path: s.path.segments.slice(1).map((x) => x.name),
        op: s.op,
        value: valueToJson(s.value),
      };
    case "expect.tokens":
    case "expect.turns":
      return { kind: s.step, op: s.op, value: valueToJson(s.value) };
  }
}

export function compileTest(program: Program, filePath: string, decl: Declaration): TestIR {
  const text = program.get(filePath)?.file.text ?? "";
  const idx = new LineIndex(text);
  const p = props(decl.body);
  const word = (name: string) => {
    const v = p.get(name)?.value;
    return v?.type === "Reference" ? referenceText(v) : undefined;
  };
  const user = p.get("user")?.value;
  const userJson = user ? (valueToJson(user) as Record<string, Json>) : undefined;
  const backend = word("backend");
  const declaredLocal = backend ? program.symbols(filePath).lookup("backend", backend) : undefined;
  return {
    name: declarationName(decl) ?? "",
    file: path.resolve(filePath),
    line: idx.position((decl.name ?? decl).start).line + 1,
    agent: word("agent") ?? "",
    backend: backend === "local" && !declaredLocal ? undefined : backend,
    user:
      userJson && typeof userJson.id === "string"
        ? { id: userJson.id, name: typeof userJson.name === "string" ? userJson.name : undefined }
        : undefined,
    steps: decl.body.members
      .filter((m): m is TestStep => m.type === "Step")
      .map((s) => ({
        ...stepIR(s),
        line: idx.position(s.start).line + 1,
        source: text.slice(s.start, s.end),
      })),
  };
}

/** The declarations of one kind in the files, in order; with `imports`, also those of every file they import. */
export function findDeclarations(
  program: Program,
  files: string[],
  kind: Declaration["kind"],
  imports = true,
): { file: string; decl: Declaration }[] {
  const out: { file: string; decl: Declaration }[] = [];
  const seen = new Set<string>();
  for (const root of files)
    for (const f of imports ? program.closure(root) : [root]) {
      if (seen.has(f)) continue;
      seen.add(f);
      for (const decl of program.get(f)?.file.declarations ?? [])
        if (decl.kind === kind) out.push({ file: f, decl });
    }
  return out;
}

/** The test blocks of the files, in order; with `imports`, also those of every file they import. */
export function findTests(
  program: Program,
  files: string[],
  imports = true,
): { file: string; decl: Declaration }[] {
  return findDeclarations(program, files, "test", imports);
}
