// Rules of agent declarations: which backend runs the agent, its model, the
// templates of its instructions, the identity scopes its tools require, the
// identity its connections act as (a user_token connection needs an agent
// acting for the user), its
// policy rules (their conditions: policyConditions.ts), and the context budget.

import * as path from "node:path";
import {
  declarationName,
  type Declaration,
  type Property,
  type Span,
  type StringLiteral,
  type Value,
} from "../ast";
import { resolveModel, type ModelInfo } from "../catalog";
import { connectionInfo, connectionOfCall } from "../connections";
import { blocks, fields, props, toolParameters } from "../compile";
import { lookup, symbolsOfKind, type Symbol } from "../program";
import { countTokensForModel } from "../tokenCount";
import { checkModelId } from "./backendRules";
import type { Checker, DeclarationCheck } from "./checker";
import { checkCondition } from "./policyConditions";
import { checkTemplates } from "./templates";
import { stringOf, wordOf } from "./values";

function backendOf(
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

/** The tools an agent lists that resolve, with the list item naming each. */
function listedTools(c: Checker, p: Map<string, Property>): { item: Value; sym: Symbol }[] {
  const toolsValue = p.get("tools")?.value;
  const out: { item: Value; sym: Symbol }[] = [];
  for (const item of toolsValue && toolsValue.type === "List" ? toolsValue.items : []) {
    if (item.type !== "Reference") continue;
    const sym = lookup(c.table, "tool", item.segments[0].name);
    if (sym) out.push({ item, sym });
  }
  return out;
}

/** Which backend runs the agent (it must say when there are several), and its own model id. */
function checkAgentBackend(c: Checker, decl: Declaration, owner: Span, label: string): void {
  const p = props(decl.body);
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
}

/** The templates of the instructions read the agent's vars and memory fields, the user and the session. */
function checkInstructionTemplates(c: Checker, decl: Declaration): void {
  const p = props(decl.body);
  const b = blocks(decl.body);
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
}

/** Every tool's `requires` is covered by the agent's identity scopes. */
function checkToolScopes(c: Checker, decl: Declaration, _owner: Span, label: string): void {
  const b = blocks(decl.body);
  const scopesValue = b.get("identity") ? props(b.get("identity")!.body).get("scopes")?.value : undefined;
  const scopes = new Set(
    scopesValue && scopesValue.type === "List"
      ? scopesValue.items.filter((i) => i.type === "String").map((i) => (i as StringLiteral).value)
      : [],
  );
  for (const { item, sym } of listedTools(c, props(decl.body))) {
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

/**
 * A tool or context on a `user_token` connection sends the end user's own token: only an agent that acts for
 * the user has one (an absent acts_for means `user`, as the compiler reads it).
 */
function checkActsFor(c: Checker, decl: Declaration, _owner: Span, label: string): void {
  const p = props(decl.body);
  const identity = blocks(decl.body).get("identity");
  const actsFor = identity ? props(identity.body).get("acts_for")?.value : undefined;
  if (wordOf(actsFor) !== "service" || !actsFor) return;
  const uses: { item: Value; what: string; sym: Symbol }[] = listedTools(c, p).map((t) => ({
    ...t,
    what: "Tool",
  }));
  const ctx = p.get("context")?.value;
  for (const item of ctx && ctx.type === "List" ? ctx.items : []) {
    const sym = item.type === "Reference" ? lookup(c.table, "context", item.segments[0].name) : undefined;
    if (sym) uses.push({ item, what: "Context", sym });
  }
  for (const { item, what, sym } of uses) {
    const run = props(sym.decl.body).get(what === "Tool" ? "run" : "from")?.value;
    const conn = connectionOfCall(c.table, run);
    if (!conn || connectionInfo(conn.decl).identity !== "user") continue;
    c.report(
      item,
      "acts-for-mismatch",
      `${what} '${sym.name}' goes through connection '${conn.name}', which sends the end user's own token (user_token), but ${label} acts for service: a service has no user token. Set identity { acts_for: user }, or give '${conn.name}' the agent's own credentials.`,
      {
        fixes: [
          {
            kind: "edits",
            title: "Act for the user (acts_for: user)",
            edits: [{ start: actsFor.start, end: actsFor.end, text: "user" }],
          },
        ],
      },
    );
  }
}

/** Each policy rule names a tool, and its condition reads that tool's input. */
function checkPolicyRules(c: Checker, decl: Declaration): void {
  const policy = blocks(decl.body).get("policy")?.body;
  for (const m of policy?.members ?? []) {
    if (m.type !== "Deny") continue;
    const tool = c.resolve(m.tool, "tool");
    if (m.condition) checkCondition(c, m.condition, tool);
  }
}

/** The fixed context (instructions, context sources, tool schemas) takes at most half of the model's window. */
function checkContextBudget(c: Checker, decl: Declaration): void {
  const p = props(decl.body);
  const backend = backendOf(c, p);
  const tools = listedTools(c, p).map((t) => t.sym);
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

/** The rules of an agent, in the order they report. */
export const AGENT_CHECKS: readonly DeclarationCheck[] = [
  checkAgentBackend,
  checkInstructionTemplates,
  checkToolScopes,
  checkActsFor,
  checkPolicyRules,
  checkContextBudget,
];
