// Checks of the built-in calls env, file, http, command and mcp: the callee is
// one the property allows, the arguments have the right number and types, a
// file exists, a method and a URL are valid, an mcp server is declared.

import * as path from "node:path";
import type { CallValue, StringLiteral, Value } from "../ast";
import { nearest } from "../editDistance";
import { BUILTIN_CALLS, type BuiltinCall } from "../schema";
import type { Checker } from "./checker";
import { checkTemplates } from "./templates";
import { valueKind } from "./values";

const HTTP_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"];

export function checkCall(
  c: Checker,
  v: CallValue,
  allowed: readonly BuiltinCall[],
  name: string,
  templateRoots?: Map<string, string[] | null>,
): void {
  const callee = v.callee.name;
  if (!(callee in BUILTIN_CALLS)) {
    const near = nearest(callee, Object.keys(BUILTIN_CALLS));
    c.report(
      v.callee,
      "unknown-reference",
      `Unknown function '${callee}': built-in calls are env, file, http, command and mcp${near ? ` (did you mean '${near}'?)` : ""}.`,
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
  const sig = BUILTIN_CALLS[callee as BuiltinCall];
  const a = v.args;
  const arity = callee === "command" ? [1, 2] : callee === "env" || callee === "file" ? [1, 1] : [2, 2];
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
        if (!c.program.fs.exists(target))
          c.report(
            a[0],
            "file-not-found",
            `No file '${a[0].value}' (resolved to ${target}); paths are relative to this file.`,
          );
      }
      return;
    case "http":
      if (needString(a[0], "the method") && !HTTP_METHODS.includes(a[0].value.toUpperCase())) {
        const near = nearest(a[0].value.toUpperCase(), HTTP_METHODS);
        c.report(
          a[0],
          "invalid-enum",
          `'${a[0].value}' is not an HTTP method: expected one of ${HTTP_METHODS.join(", ")}${near ? ` (did you mean '${near}'?)` : ""}.`,
        );
      }
      if (needString(a[1], "the URL")) {
        if (!/^https?:\/\//.test(a[1].value) && !a[1].value.startsWith("{{"))
          c.report(a[1], "type-mismatch", `'${a[1].value}' is not an http:// or https:// URL.`);
        if (templateRoots) checkTemplates(c, a[1], templateRoots);
      }
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
