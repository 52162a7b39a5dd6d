// Checks of the built-in calls env, file, http, sql, command, mcp and the auth
// calls of connections: the callee is one the property allows, the arguments
// have the right number and types, a file exists, a method and a URL are
// valid, an mcp server or a connection is declared (and of the right sort:
// sql on a postgres:// connection, http on another). The arguments of auth
// calls are checked with the connection (connectionRules.ts).

import * as path from "node:path";
import type { CallValue, Reference, StringLiteral, Value } from "../ast";
import { nearest } from "../editDistance";
import { connectionInfo } from "../connections";
import { AUTH_CALLS, BUILTIN_CALLS, type BuiltinCall } from "../schema";
import type { Checker } from "./checker";
import { checkTemplates } from "./templates";
import { valueKind } from "./values";

const HTTP_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"];

/** How many arguments each call takes: [least, most]. */
const ARITY: Record<BuiltinCall, [number, number]> = {
  env: [1, 1],
  file: [1, 1],
  http: [2, 3],
  sql: [2, 3],
  command: [1, 2],
  mcp: [2, 2],
  bearer: [1, 1],
  header: [2, 2],
  basic: [2, 2],
  oauth2: [1, 1],
  user_token: [1, 1],
};

/** The connection of http(...) or sql(...): declared, and of the sort the call needs. */
function checkConnectionArg(c: Checker, ref: Reference, callee: "http" | "sql"): void {
  const sym = c.resolve(ref, "connection");
  if (!sym) return;
  const info = connectionInfo(sym.decl);
  if (info.sql === undefined) return;
  if (callee === "sql" && !info.sql)
    c.report(
      ref,
      "type-mismatch",
      `sql(...) needs a postgres:// or postgresql:// connection; '${sym.name}' is ${typeof info.url === "string" ? `at ${info.url}` : "not one"}: use http(...) with it.`,
    );
  if (callee === "http" && info.sql)
    c.report(
      ref,
      "type-mismatch",
      `'${sym.name}' is a SQL connection (${typeof info.url === "string" ? info.url.split("://")[0] : "postgres"}://): query it with sql(${sym.name}, "select ...", [...]), not http(...).`,
    );
}

export function checkCall(
  c: Checker,
  v: CallValue,
  allowed: readonly BuiltinCall[],
  name: string,
  templateRoots?: Map<string, string[] | null>,
): void {
  const callee = v.callee.name;
  if (!(callee in BUILTIN_CALLS)) {
    const near = nearest(callee, allowed);
    c.report(
      v.callee,
      "unknown-reference",
      `Unknown function '${callee}': '${name}' takes ${allowed.map((x) => `${x}(...)`).join(", ")}${near ? ` (did you mean '${near}'?)` : ""}.`,
      near ? c.replaceFix(`Change to '${near}'`, near) : {},
    );
    return;
  }
  if (!allowed.includes(callee as BuiltinCall)) {
    c.report(
      v.callee,
      "type-mismatch",
      `'${name}' expects ${allowed.map((c) => `${c}(...)`).join(" or ")}; found ${callee}(...).`,
    );
    return;
  }
  if ((callee === "oauth2") !== (v.braces === true)) {
    c.report(
      v.callee,
      "type-mismatch",
      callee === "oauth2"
        ? "oauth2 takes its settings in braces: oauth2 { token_url: ..., client_id: env(...), client_secret: env(...) }."
        : `${callee} takes its arguments in parentheses: ${BUILTIN_CALLS[callee as BuiltinCall].label}.`,
    );
    return;
  }
  const sig = BUILTIN_CALLS[callee as BuiltinCall];
  const a = v.args;
  const arity = ARITY[callee as BuiltinCall];
  if (a.length < arity[0] || a.length > arity[1]) {
    c.report(
      a.length > arity[1] ? a[arity[1]] : v,
      "type-mismatch",
      `${sig.label} takes ${arity[0] === arity[1] ? arity[0] : `${arity[0]} or ${arity[1]}`} argument${arity[1] > 1 ? "s" : ""}; found ${a.length}.`,
    );
    if (a.length < arity[0]) return;
  }
  const needString = (arg: Value | undefined, what: string): arg is StringLiteral => {
    if (!arg || arg.type === "Missing") return false;
    if (arg.type !== "String") {
      c.report(arg, "type-mismatch", `${callee}(...) expects ${what} as a string; found ${valueKind(arg)}.`);
      return false;
    }
    return true;
  };
  if ((AUTH_CALLS as readonly string[]).includes(callee)) return;
  switch (callee) {
    case "env":
      if (needString(a[0], "the variable name") && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(a[0].value))
        c.report(
          a[0],
          "type-mismatch",
          `'${a[0].value}' is not an environment variable name (letters, digits and '_').`,
        );
      return;
    case "file":
      if (needString(a[0], "a path")) {
        const target = path.resolve(path.dirname(c.filePath), a[0].value);
        // An eval's dataset is read, not only named: the eval rules report it (an error) when it cannot be.
        if (!c.program.fs.exists(target) && name !== "dataset")
          c.report(
            a[0],
            "file-not-found",
            `No file '${a[0].value}' (resolved to ${target}); paths are relative to this file.`,
          );
      }
      return;
    case "http": {
      if (needString(a[0], "the method") && !HTTP_METHODS.includes(a[0].value.toUpperCase())) {
        const near = nearest(a[0].value.toUpperCase(), HTTP_METHODS);
        c.report(
          a[0],
          "invalid-enum",
          `'${a[0].value}' is not an HTTP method: expected one of ${HTTP_METHODS.join(", ")}${near ? ` (did you mean '${near}'?)` : ""}.`,
        );
      }
      if (a[1]?.type === "Reference") {
        checkConnectionArg(c, a[1], "http");
        if (a.length < 3)
          c.report(
            v,
            "type-mismatch",
            `http(...) through a connection takes the path after its name, as in http("GET", ${a[1].segments[0].name}, "/items").`,
          );
        if (needString(a[2], "the path") && templateRoots) checkTemplates(c, a[2], templateRoots);
        return;
      }
      if (a.length > 2)
        c.report(
          a[1],
          "type-mismatch",
          `http(...) with three arguments expects the name of a connection second, as in http("GET", crm, "/items"); found ${a[1] ? valueKind(a[1]) : "nothing"}.`,
        );
      else if (needString(a[1], "the URL")) {
        if (!/^https?:\/\//.test(a[1].value) && !a[1].value.startsWith("{{"))
          c.report(a[1], "type-mismatch", `'${a[1].value}' is not an http:// or https:// URL.`);
        if (templateRoots) checkTemplates(c, a[1], templateRoots);
      }
      return;
    }
    case "sql":
      if (a[0]?.type === "Reference") checkConnectionArg(c, a[0], "sql");
      else if (a[0] && a[0].type !== "Missing")
        c.report(
          a[0],
          "type-mismatch",
          `sql(...) expects the name of a connection first, as in sql(warehouse, "select ..."); found ${valueKind(a[0])}.`,
        );
      needString(a[1], "the statement");
      if (a[2] && a[2].type !== "Missing" && a[2].type !== "List")
        c.report(
          a[2],
          "type-mismatch",
          `sql(...) expects the values of $1..$n as a list, as in [input.customer_id]; found ${valueKind(a[2])}.`,
        );
      return;
    case "command":
      if (needString(a[0], "the executable") && templateRoots) checkTemplates(c, a[0], templateRoots);
      if (a[1] && a[1].type !== "Missing") {
        if (a[1].type !== "List")
          c.report(
            a[1],
            "type-mismatch",
            `command(...) expects its arguments as a list of strings, e.g. ["tool.js"]; found ${valueKind(a[1])}.`,
          );
        else
          for (const item of a[1].items) {
            if (item.type !== "String")
              c.report(
                item,
                "type-mismatch",
                `command(...) arguments must be strings; found ${valueKind(item)}.`,
              );
            else if (templateRoots) checkTemplates(c, item, templateRoots);
          }
      }
      return;
    case "mcp":
      if (a[0] && a[0].type === "Reference") c.resolve(a[0], "mcp");
      else if (a[0] && a[0].type !== "Missing")
        c.report(
          a[0],
          "type-mismatch",
          `mcp(...) expects the name of an mcp server first; found ${valueKind(a[0])}.`,
        );
      needString(a[1], "the tool name");
      return;
  }
}
