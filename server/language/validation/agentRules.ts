// Rules of agent declarations: which backend runs the agent, its model, the
// templates of its instructions, the identity scopes its tools require, the
// conditions of its policy rules, and the context budget.

import * as path from "node:path";
import {
  declarationName,
  referenceText,
  type Declaration,
  type Expr,
  type FieldDecl,
  type Property,
  type Span,
  type StringLiteral,
  type Value,
} from "../ast";
import { resolveModel, type ModelInfo } from "../catalog";
import { blocks, fields, props, toolParameters } from "../compile";
import { nearest } from "../editDistance";
import { lookup, symbolsOfKind, type Symbol } from "../program";
import { countTokensForModel } from "../tokenCount";
import { checkModelId } from "./backendRules";
import type { Checker } from "./checker";
import { checkTemplates } from "./templates";
import { fieldKind, literalFits, regexProblem, stringOf, typeExprText, valueKind, wordOf } from "./values";

export function toolInputFields(tool: Symbol | undefined): FieldDecl[] {
  return tool ? fields(blocks(tool.decl.body).get("input")?.body) : [];
}

export function backendOf(
  c: Checker,
  agentProps: Map<string, Property>,
): {
  sym?: Symbol;
  provider: string;
  model?: string;
  window?: number;
} {
  const ref = agentProps.get("backend")?.value;
  let sym: Symbol | undefined;
  if (ref && ref.type === "Reference") sym = lookup(c.table, "backend", ref.segments[0].name);
  else {
    const all = symbolsOfKind(c.table, "backend");
    if (all.length === 1) sym = all[0];
  }
  if (!sym) return { provider: "local" };
  const bp = props(sym.decl.body);
  const win = bp.get("context_window")?.value;
  return {
    sym,
    provider: wordOf(bp.get("provider")?.value) ?? "local",
    model: stringOf(bp.get("model")?.value),
    window: win && win.type === "Number" ? win.value : undefined,
  };
}

export function checkAgent(c: Checker, decl: Declaration, owner: Span, label: string): void {
  const p = props(decl.body);
  const b = blocks(decl.body);
  const backends = symbolsOfKind(c.table, "backend");
  if (!p.has("backend")) {
    if (backends.length > 1)
      c.report(
        owner,
        "missing-property",
        `${label} needs 'backend': these files declare ${backends.length} backends (${backends.map((s) => s.name).join(", ")}), so say which one runs it.`,
        {
          fixes: [
            {
              kind: "insertProperty",
              property: "backend",
              snippet: `backend: \${1|${backends.map((s) => s.name).join(",")}|}`,
              blockEnd: decl.body.end - 1,
              indent: "",
            },
          ],
        },
      );
    else if (backends.length === 1) c.implicitUses.push(backends[0].decl);
  }
  const backend = backendOf(c, p);
  const modelProp = p.get("model");
  if (modelProp) checkModelId(c, modelProp, backend.provider, backend.window !== undefined);

  // Memory fields and vars, for templates.
  const memRef = p.get("memory")?.value;
  const memSym =
    memRef && memRef.type === "Reference" ? lookup(c.table, "memory", memRef.segments[0].name) : undefined;
  const memFields = memSym
    ? fields(blocks(memSym.decl.body).get("fields")?.body).map((f) => f.name.name)
    : [];
  const vars = (b.get("vars")?.body.members ?? [])
    .filter((m) => m.type === "Property")
    .map((m) => (m as Property).name.name);
  const instructions = p.get("instructions")?.value;
  if (instructions && instructions.type === "String")
    checkTemplates(
      c,
      instructions,
      new Map<string, string[] | null>([
        ["vars", vars],
        ["memory", memFields],
        ["user", ["id", "name"]],
        ["session", ["id", "turn"]],
      ]),
    );

  // Scopes: every tool's `requires` must be covered by identity.scopes.
  const scopesValue = b.get("identity") ? props(b.get("identity")!.body).get("scopes")?.value : undefined;
  const scopes = new Set(
    scopesValue && scopesValue.type === "List"
      ? scopesValue.items.filter((i) => i.type === "String").map((i) => (i as StringLiteral).value)
      : [],
  );
  const toolsValue = p.get("tools")?.value;
  const toolSyms: Symbol[] = [];
  if (toolsValue && toolsValue.type === "List") {
    for (const item of toolsValue.items) {
      if (item.type !== "Reference") continue;
      const sym = lookup(c.table, "tool", item.segments[0].name);
      if (!sym) continue;
      toolSyms.push(sym);
      const req = props(sym.decl.body).get("requires")?.value;
      const needed =
        req && req.type === "List"
          ? req.items.filter((i) => i.type === "String").map((i) => (i as StringLiteral).value)
          : [];
      const lacking = needed.filter((s) => !scopes.has(s));
      if (lacking.length)
        c.report(
          item,
          "missing-scope",
          `Tool '${sym.name}' requires ${lacking.map((s) => `"${s}"`).join(", ")}, which ${lacking.length > 1 ? "are" : "is"} not among the identity scopes of ${label}; add ${lacking.length > 1 ? "them" : "it"} to identity { scopes: [...] } or remove the tool.`,
        );
    }
  }

  // Policy rules.
  const policy = b.get("policy")?.body;
  for (const m of policy?.members ?? []) {
    if (m.type !== "Deny") continue;
    const tool = c.resolve(m.tool, "tool");
    if (m.condition) checkCondition(c, m.condition, tool);
  }

  checkContextBudget(c, decl, p, backend, toolSyms, memSym);
}

export function checkContextBudget(
  c: Checker,
  decl: Declaration,
  p: Map<string, Property>,
  backend: { provider: string; model?: string; window?: number },
  tools: Symbol[],
  _memory: Symbol | undefined,
): void {
  const modelId = stringOf(p.get("model")?.value) ?? backend.model;
  const info: ModelInfo | undefined = resolveModel(backend.provider, modelId);
  const window = backend.window ?? info?.contextWindow;
  if (!window) return;
  const instructions = stringOf(p.get("instructions")?.value) ?? "";
  const inst = countTokensForModel(instructions, info).tokens;
  let ctx = 0;
  const ctxValue = p.get("context")?.value;
  for (const item of ctxValue && ctxValue.type === "List" ? ctxValue.items : []) {
    if (item.type !== "Reference") continue;
    const sym = lookup(c.table, "context", item.segments[0].name);
    if (!sym) continue;
    const cp = props(sym.decl.body);
    const max = cp.get("max_tokens")?.value;
    if (max && max.type === "Number") {
      ctx += max.value;
      continue;
    }
    const from = cp.get("from")?.value;
    if (from && from.type === "Call" && from.callee.name === "file" && from.args[0]?.type === "String") {
      const text = c.program.fs.readFile(path.resolve(path.dirname(sym.path), from.args[0].value));
      if (text !== undefined) ctx += countTokensForModel(text, info).tokens;
    }
  }
  let toolTokens = 0;
  for (const t of tools) {
    const schema = {
      name: t.name,
      description: stringOf(props(t.decl.body).get("description")?.value) ?? "",
      parameters: toolParameters(t.decl, c.table),
    };
    toolTokens += countTokensForModel(JSON.stringify(schema), info).tokens;
  }
  const total = inst + ctx + toolTokens;
  if (total > window / 2) {
    const f = (n: number) => n.toLocaleString("en-US");
    c.report(
      decl.name ?? decl.keyword,
      "context-budget",
      `The fixed context of agent '${declarationName(decl)}' is ${f(total)} tokens (instructions ${f(inst)}, context ${f(ctx)}, tool schemas ${f(toolTokens)}): more than half of the ${f(window)}-token window${modelId ? ` of ${modelId}` : ""}, leaving little room for history and replies.`,
    );
  }
}

/** Checks a policy condition: it reads the tool's input as input.FIELD, compared with values of the field's type. */
export function checkCondition(c: Checker, e: Expr, tool: Symbol | undefined): void {
  const inputFields = toolInputFields(tool);
  const fieldOf = (v: Value): FieldDecl | undefined => {
    if (v.type !== "Reference") return undefined;
    const [root, field] = v.segments;
    if (["true", "false", "null"].includes(root.name) && v.segments.length === 1) return undefined;
    if (root.name !== "input") {
      c.report(
        v,
        "unknown-reference",
        `Conditions read the tool's input: write input.FIELD${inputFields.length ? `, e.g. input.${inputFields[0].name.name}` : ""}; found '${referenceText(v)}'.`,
      );
      return undefined;
    }
    if (!field) {
      c.report(
        v,
        "unknown-tool-input",
        `Name a field of the input, e.g. input.${inputFields[0]?.name.name ?? "amount"}.`,
      );
      return undefined;
    }
    if (!tool) return undefined;
    const f = inputFields.find((x) => x.name.name === field.name);
    if (!f) {
      const near = nearest(
        field.name,
        inputFields.map((x) => x.name.name),
      );
      c.report(
        field,
        "unknown-tool-input",
        `Tool '${tool.name}' has no input field '${field.name}'${near ? `: did you mean '${near}'?` : inputFields.length ? `; its fields are ${inputFields.map((x) => x.name.name).join(", ")}.` : "; it takes no input."}`,
        near ? c.replaceFix(`Change to '${near}'`, near) : {},
      );
    }
    return f;
  };
  const walk = (x: Expr): void => {
    if (x.type === "Not") return walk(x.operand);
    if (x.type === "ValueExpr") {
      fieldOf(x.value);
      return;
    }
    if (x.op === "and" || x.op === "or") {
      walk(x.left);
      walk(x.right);
      return;
    }
    const lf = x.left.type === "ValueExpr" ? fieldOf(x.left.value) : (walk(x.left), undefined);
    const rf = x.right.type === "ValueExpr" ? fieldOf(x.right.value) : (walk(x.right), undefined);
    const [f, lit] = lf ? [lf, x.right] : rf ? [rf, x.left] : [undefined, undefined];
    if (!f || !lit || lit.type !== "ValueExpr") return;
    const k = fieldKind(f);
    const litValue = lit.value;
    if (litValue.type === "Reference") return;
    let problem: string | undefined;
    if (x.op === "contains") {
      if (!k.list && k.kind !== "string" && k.kind !== "json")
        problem = `'contains' needs a string or list field; input.${f.name.name} is ${f.fieldType.name.name}`;
    } else if (x.op === "matches") {
      if (k.kind !== "string" && k.kind !== "enum")
        problem = `'matches' needs a string field; input.${f.name.name} is ${f.fieldType.name.name}`;
      else if (litValue.type !== "String") problem = `'matches' takes a regular expression as a string`;
      else {
        try {
          new RegExp(litValue.value);
        } catch (err) {
          c.report(litValue, "type-mismatch", `${regexProblem(err)}.`);
          return;
        }
      }
    } else if (["<", "<=", ">", ">="].includes(x.op)) {
      if (k.list || (k.kind !== "number" && k.kind !== "integer"))
        problem = `'${x.op}' compares numbers; input.${f.name.name} is ${typeExprText(f.fieldType)}`;
      else if (litValue.type !== "Number")
        problem = `input.${f.name.name} is a number; compared with ${valueKind(litValue)}`;
    } else {
      const expected = literalFits(litValue, k);
      if (expected)
        problem = `input.${f.name.name} is ${typeExprText(f.fieldType)}; compared with ${valueKind(litValue)} (expected ${expected})`;
    }
    if (problem) c.report(litValue, "unknown-tool-input", `${problem}.`);
  };
  walk(e);
}
