// `secret-literal` beyond secret positions: every credential-shaped string
// of a declaration, in any position (vars, URLs, env blocks, command
// arguments, connection urls and headers, sql parameters, instructions, test
// steps). Where env(...) may stand instead (a value in `vars { }`, `env { }` or
// a connection's `headers { }`), the fix moves it there.

import type { Declaration, StringLiteral } from "../ast";
import { blocks } from "../compile";
import { findCredential } from "../credentials";
import type { Checker } from "./checker";

export function checkCredentials(c: Checker, decl: Declaration): void {
  const movable = new Map<StringLiteral, string>();
  for (const block of ["vars", "env", "headers"])
    for (const m of blocks(decl.body).get(block)?.body.members ?? [])
      if (m.type === "Property" && m.value.type === "String")
        movable.set(m.value, m.name.name.toUpperCase().replace(/[^A-Z0-9_]/g, "_"));
  // A string in a secret position (api_key) is already reported by the schema check.
  const reported = (s: StringLiteral) =>
    c.diagnostics.some(
      (d) => d.code === "secret-literal" && d.span.start === s.start && d.span.end === s.end,
    );
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (node === null || typeof node !== "object") return;
    if ((node as { type?: unknown }).type === "String") {
      const s = node as StringLiteral;
      const shape = findCredential(s.value);
      if (!shape || reported(s)) return;
      const envName = movable.get(s);
      c.report(
        s,
        "secret-literal",
        envName
          ? `This is ${shape.what}: never write a secret into the file. Read it from the environment with env("${envName}").`
          : `This string holds ${shape.what}: never write a secret into the file, where every copy and every run's log would carry it. ` +
              `Read it from the environment with env("NAME") where a value is set (vars { }, a command tool's or mcp server's env { }).`,
        envName ? c.replaceFix(`Use env("${envName}")`, `env("${envName}")`) : {},
      );
      return;
    }
    for (const v of Object.values(node)) if (v !== null && typeof v === "object") visit(v);
  };
  visit(decl.body);
}
