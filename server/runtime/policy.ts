// Governance before every tool call, in the order of language.md 3.6: the
// identity scope check, then `deny ... when` rules in source order, then the
// session limits; a call that passes and is listed in require_approval, or is
// a SQL tool with `write: true`, waits for an approval. Pure: the engine records and enforces the decision.

import type { CompiledAgent, CompiledDefinition, ExprIR, Json } from "../language/compile";

export type PolicyVerdict =
  | { decision: "allow"; check: "none" }
  | { decision: "approval"; check: "approval"; reason: string }
  | { decision: "deny"; check: "scope" | "deny" | "limit" | "unknown-tool"; reason: string };

function get(input: Json, path: string[]): Json | undefined {
  // Paths are `input.FIELD...`: the root is the tool input itself.
  let v: Json | undefined = input;
  for (const seg of path.slice(1)) {
    if (v === null || typeof v !== "object" || Array.isArray(v)) return undefined;
    v = (v as Record<string, Json>)[seg];
  }
  return v;
}

export function evaluate(expr: ExprIR, input: Json): Json | undefined {
  if ("path" in expr) return get(input, expr.path);
  if ("value" in expr) return expr.value;
  switch (expr.op) {
    case "and":
      return truthy(evaluate(expr.left, input)) && truthy(evaluate(expr.right, input));
    case "or":
      return truthy(evaluate(expr.left, input)) || truthy(evaluate(expr.right, input));
    case "not":
      return !truthy(evaluate(expr.operand, input));
  }
  const l = evaluate(expr.left, input);
  const r = evaluate(expr.right, input);
  switch (expr.op) {
    // An absent field reads as null, so `input.reason == null` holds when the model left reason out.
    case "==":
      return JSON.stringify(l ?? null) === JSON.stringify(r ?? null);
    case "!=":
      return JSON.stringify(l ?? null) !== JSON.stringify(r ?? null);
    case "<":
      return typeof l === "number" && typeof r === "number" && l < r;
    case "<=":
      return typeof l === "number" && typeof r === "number" && l <= r;
    case ">":
      return typeof l === "number" && typeof r === "number" && l > r;
    case ">=":
      return typeof l === "number" && typeof r === "number" && l >= r;
    case "contains":
      if (typeof l === "string" && typeof r === "string") return l.includes(r);
      if (Array.isArray(l)) return l.some((x) => JSON.stringify(x) === JSON.stringify(r));
      return false;
    case "matches":
      return typeof l === "string" && typeof r === "string" && new RegExp(r).test(l);
  }
}

function truthy(v: Json | undefined): boolean {
  return v !== undefined && v !== null && v !== false && v !== 0 && v !== "";
}

export interface Counters {
  toolCalls: number;
  tokens: number;
}

export function decide(
  def: CompiledDefinition,
  agent: CompiledAgent,
  tool: string,
  input: Json,
  counters: Counters,
): PolicyVerdict {
  const spec = def.tools[tool];
  if (spec) {
    const lacking = spec.requires.filter((s) => !agent.identity.scopes.includes(s));
    if (lacking.length)
      return {
        decision: "deny",
        check: "scope",
        reason: `agent '${agent.name}' lacks the scope${lacking.length > 1 ? "s" : ""} ${lacking.join(", ")} that ${tool} requires`,
      };
  }
  for (const rule of agent.policy.deny) {
    if (rule.tool !== tool) continue;
    if (truthy(evaluate(rule.when, input)))
      return { decision: "deny", check: "deny", reason: `policy denies ${tool} when ${rule.text}` };
  }
  const p = agent.policy;
  if (p.maxToolCalls !== undefined && counters.toolCalls >= p.maxToolCalls)
    return { decision: "deny", check: "limit", reason: `max_tool_calls (${p.maxToolCalls}) reached` };
  if (p.maxTokens !== undefined && counters.tokens >= p.maxTokens)
    return { decision: "deny", check: "limit", reason: `max_tokens (${p.maxTokens}) reached` };
  if (p.requireApproval.includes(tool))
    return { decision: "approval", check: "approval", reason: `${tool} requires approval` };
  // connections.md section 2: a SQL tool that may write waits for a person, as if listed above.
  if (spec?.write && spec.run?.kind === "sql")
    return {
      decision: "approval",
      check: "approval",
      reason: `${tool} writes to connection '${spec.run.connection}' (write: true) and requires approval`,
    };
  return { decision: "allow", check: "none" };
}
