// Checks of field declarations (a type's fields, a tool's input, a memory's
// fields): no field twice, and each type a built-in type, enum(...) with
// values, or a declared type.

import type { Block, FieldDecl, Reference, TypeExpr } from "../ast";
import { nearest } from "../editDistance";
import { lookup } from "../program";
import { FIELD_TYPES } from "../schema";
import type { Checker } from "./checker";

export function checkFieldsBlock(c: Checker, block: Block): FieldDecl[] {
  const seen = new Map<string, FieldDecl>();
  const out: FieldDecl[] = [];
  for (const m of block.members) {
    if (m.type !== "Field") continue;
    const prev = seen.get(m.name.name);
    if (prev) {
      c.report(
        m.name,
        "duplicate-property",
        `Field '${m.name.name}' is already declared (line ${c.line(prev.start)}); remove one.`,
      );
      continue;
    }
    seen.set(m.name.name, m);
    out.push(m);
    checkTypeExpr(c, m.fieldType);
  }
  return out;
}

export function checkTypeExpr(c: Checker, t: TypeExpr): void {
  const n = t.name.name;
  if (n === "enum") {
    if (!t.enumValues || t.enumValues.length === 0)
      c.report(t, "type-mismatch", `enum needs its values: enum("a", "b").`);
    return;
  }
  if (t.enumValues) {
    c.report(t.name, "type-mismatch", `Only enum(...) takes values; '${n}' does not.`);
    return;
  }
  if ((FIELD_TYPES as readonly string[]).includes(n)) return;
  const ref: Reference = { type: "Reference", segments: [t.name], start: t.name.start, end: t.name.end };
  if (!lookup(c.table, "type", n) && c.table.anyKind(n) === undefined) {
    const near = nearest(n, [...FIELD_TYPES, ...c.table.ofKind("type").map((s) => s.name)]);
    c.references.push({
      path: c.filePath,
      span: t.name,
      expected: "type",
      name: n,
      target: undefined,
    });
    c.report(
      t.name,
      "unknown-reference",
      `Unknown type '${n}': expected string, number, integer, boolean, json, enum(...) or a declared type${near ? ` (did you mean '${near}'?)` : ""}.`,
      near ? c.replaceFix(`Change to '${near}'`, near) : {},
    );
    return;
  }
  c.resolve(ref, "type");
}
