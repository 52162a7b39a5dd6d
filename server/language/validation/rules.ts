// The per-kind registry of declaration rules, as Langium registers its
// validation checks: each kind's rules run, in order, after the generic check
// of the declaration's body against its schema. The rules of the small kinds
// (type, tool, context, mcp) are here; backend, agent, connection and test
// have files of their own.

import type { Declaration, DeclarationKind, Span } from "../ast";
import { blocks, fields, props } from "../compile";
import { AGENT_CHECKS } from "./agentRules";
import { BACKEND_CHECKS } from "./backendRules";
import type { Checker, DeclarationCheck } from "./checker";
import { checkConnection, checkSqlCall } from "./connectionRules";
import { checkFieldsBlock } from "./fieldTypes";
import { checkTemplates } from "./templates";
import { checkEval } from "./evalRules";
import { checkTest } from "./testRules";

/** A type declares at least one field (its fields are checked here: a type's body has no schema). */
function checkTypeFields(c: Checker, decl: Declaration, owner: Span, label: string): void {
  const fs = checkFieldsBlock(c, decl.body);
  if (fs.length === 0)
    c.report(owner, "missing-property", `${label} has no fields: declare at least one, as in 'id: string'.`);
}

/** The templates of a tool's `run` call read its input, the user and the session. */
function checkTool(c: Checker, decl: Declaration): void {
  const p = props(decl.body);
  const run = p.get("run")?.value;
  const env = blocks(decl.body).get("env");
  if (env && run && run.type === "Call" && run.callee.name !== "command")
    c.report(
      env.name,
      "unknown-property",
      `'env' is for command tools: it sets the environment of the program the tool starts; a ${run.callee.name}(...) tool starts none.`,
    );
  for (const name of ["write", "max_rows"]) {
    const prop = p.get(name);
    if (prop && run && run.type === "Call" && run.callee.name !== "sql")
      c.report(
        prop.name,
        "unknown-property",
        `'${name}' is for sql(...) tools: ${name === "write" ? "it lets the statement write" : "it limits the rows a query returns"}; a ${run.callee.name}(...) tool has no statement.`,
      );
  }
  if (run && run.type === "Call") {
    const inputNames = fields(blocks(decl.body).get("input")?.body).map((f) => f.name.name);
    // The generic check already validated the call; templates need the tool's own input fields.
    const roots = new Map<string, string[] | null>([
      ["input", inputNames],
      ["user", ["id", "name"]],
      ["session", ["id", "turn"]],
    ]);
    if (run.callee.name === "sql") checkSqlCall(c, run, roots);
    else
      for (const arg of run.args) {
        if (arg.type === "String") checkTemplates(c, arg, roots);
        if (arg.type === "List")
          for (const i of arg.items) if (i.type === "String") checkTemplates(c, i, roots);
      }
  }
}

/** The templates of a context's source read the user and the session (a file path has none). */
function checkContext(c: Checker, decl: Declaration): void {
  const from = props(decl.body).get("from")?.value;
  if (from && from.type === "Call") {
    const roots = new Map<string, string[] | null>([
      ["user", ["id", "name"]],
      ["session", ["id", "turn"]],
    ]);
    if (from.callee.name === "sql") checkSqlCall(c, from, roots);
    else
      for (const arg of from.args)
        if (arg.type === "String" && from.callee.name !== "file") checkTemplates(c, arg, roots);
  }
}

/** An MCP server has exactly one transport: `command` or `url`. */
function checkMcp(c: Checker, decl: Declaration, owner: Span, label: string): void {
  const p = props(decl.body);
  const cmd = p.get("command");
  const url = p.get("url");
  if (!cmd && !url)
    c.report(
      owner,
      "missing-property",
      `${label} needs exactly one of 'command' (a local server over stdio) or 'url' (streamable HTTP).`,
      {
        fixes: [
          {
            kind: "insertProperty",
            property: "command",
            snippet: 'command: command("${1:node}", ["${2:server.js}"])',
            blockEnd: decl.body.end - 1,
            indent: "",
          },
        ],
      },
    );
  if (cmd && url) {
    const second = cmd.start > url.start ? cmd : url;
    c.report(
      second.name,
      "duplicate-property",
      `${label} has both 'command' and 'url': an MCP server has exactly one transport; remove one.`,
    );
  }
}

export const DECLARATION_CHECKS: { readonly [K in DeclarationKind]: readonly DeclarationCheck[] } = {
  type: [checkTypeFields],
  backend: BACKEND_CHECKS,
  tool: [checkTool],
  context: [checkContext],
  mcp: [checkMcp],
  connection: [checkConnection],
  agent: AGENT_CHECKS,
  test: [checkTest],
  eval: [checkEval],
  memory: [],
};
