// Expressions typed in the debugger (breakpoint conditions, the Debug
// Console, watches) are the policy language's expressions (`input.amount >
// 100`), parsed by the language's own parser and evaluated by the policy
// evaluator over a scope with more roots than `input`: memory, context,
// usage, identity...

import type { DenyRule, Expr } from "../language/ast";
import { exprToIR, type ExprIR, type Json } from "../language/compile";
import { parse } from "../language/parse";
import { evaluate } from "../runtime/policy";

/** The names an expression may start with. */
export const ROOTS = [
  "input",
  "memory",
  "context",
  "usage",
  "identity",
  "user",
  "turn",
  "agent",
  "tool",
  "call",
  "result",
  "message",
  "vars",
] as const;

export type Scope = Partial<Record<(typeof ROOTS)[number], Json>>;

export type Parsed = { ok: true; ir: ExprIR; text: string } | { ok: false; error: string };

const PREFIX = "agent __debugger__ {\n  policy {\n    deny __expression__ when ";
const SUFFIX = "\n  }\n}\n";

/**
 * Parses `text` as a policy expression. Fails with the parser's message, or
 * when a path starts with a name the debugger does not know.
 */
export function parseExpression(text: string): Parsed {
  const source = text.trim();
  if (!source) return { ok: false, error: "empty expression" };
  if (/[\n\r{}]/.test(source)) return { ok: false, error: "an expression is one line without braces" };
  const result = parse(`${PREFIX}${source}${SUFFIX}`, "<debugger expression>");
  const decl = result.file.declarations[0];
  const policy = decl?.body.members.find((m) => m.type === "BlockMember");
  const rule = policy?.type === "BlockMember" ? (policy.body.members[0] as DenyRule | undefined) : undefined;
  const condition: Expr | undefined = rule?.type === "Deny" ? rule.condition : undefined;
  const problem = result.diagnostics.find((d) => d.severity === "error");
  if (problem || !condition) return { ok: false, error: problem?.message ?? "not an expression" };
  if (condition.end !== PREFIX.length + source.length)
    return {
      ok: false,
      error: `unexpected text after the expression: ${source.slice(condition.end - PREFIX.length)}`,
    };
  const ir = exprToIR(condition);
  for (const p of paths(ir))
    if (!(ROOTS as readonly string[]).includes(p[0]))
      return {
        ok: false,
        error: `unknown name '${p[0]}': expressions start with ${ROOTS.join(", ")} (e.g. input.amount > 100)`,
      };
  return { ok: true, ir, text: source };
}

export function paths(ir: ExprIR): string[][] {
  if ("path" in ir) return [ir.path];
  if ("value" in ir) return [];
  if (ir.op === "not") return paths(ir.operand);
  return [...paths(ir.left), ...paths(ir.right)];
}

/** Paths rooted one level up, so the policy evaluator (which skips the root `input`) walks the scope. */
function rooted(ir: ExprIR): ExprIR {
  if ("path" in ir) return { path: ["$", ...ir.path] };
  if ("value" in ir) return ir;
  if (ir.op === "not") return { op: "not", operand: rooted(ir.operand) };
  return { op: ir.op, left: rooted(ir.left), right: rooted(ir.right) } as ExprIR;
}

export function evaluateIn(ir: ExprIR, scope: Scope): Json | undefined {
  return evaluate(rooted(ir), scope as Json);
}

export function truthy(v: Json | undefined): boolean {
  return v !== undefined && v !== null && v !== false && v !== 0 && v !== "";
}

/** A breakpoint's hit condition: `3` or `==3` (the 3rd hit), `>=3`, `>3`, `<3`, `<=3`, `%3` (every 3rd). */
export function parseHitCondition(text: string): ((hits: number) => boolean) | string {
  const m = /^\s*(==|>=|<=|>|<|%|=)?\s*(\d+)\s*$/.exec(text);
  if (!m) return `hit count '${text}' is not understood: use N, ==N, >=N, >N, <N, <=N or %N`;
  const n = Number(m[2]);
  switch (m[1]) {
    case ">=":
      return (h) => h >= n;
    case ">":
      return (h) => h > n;
    case "<=":
      return (h) => h <= n;
    case "<":
      return (h) => h < n;
    case "%":
      return n === 0 ? "hit count %0 never stops: use %N with N > 0" : (h) => h % n === 0;
    default:
      return (h) => h === n;
  }
}
