// Small readings of AST values that several checks share: what a value is, in
// words for a message; whether a literal fits a declared field type; a word or
// a string out of a property value.

import {
  referenceText,
  type DeclarationKind,
  type FieldDecl,
  type Span,
  type TypeExpr,
  type Value,
} from "../ast";
import { blocks, fields } from "../compile";
import type { Symbol } from "../program";
import { FIELD_TYPES } from "../schema";

export type FieldKind = {
  kind: "string" | "number" | "integer" | "boolean" | "json" | "object" | "enum";
  values?: string[];
  list: boolean;
};

export function fieldKind(f: FieldDecl): FieldKind {
  const t = f.fieldType;
  if (t.enumValues) return { kind: "enum", values: t.enumValues.map((v) => v.value), list: t.list };
  const n = t.name.name;
  if ((FIELD_TYPES as readonly string[]).includes(n)) return { kind: n as FieldKind["kind"], list: t.list };
  return { kind: "object", list: t.list };
}

/** A field type as written (from the AST: the field may live in another file than the one being checked). */
export function typeExprText(t: TypeExpr): string {
  const base = t.enumValues
    ? `enum(${t.enumValues.map((v) => JSON.stringify(v.value)).join(", ")})`
    : t.name.name;
  return t.list ? `${base}[]` : base;
}

export function valueKind(v: Value): string {
  switch (v.type) {
    case "String":
      return "a string";
    case "Number":
      return v.isInteger ? "a whole number" : "a number";
    case "Boolean":
      return v.value ? "true" : "false";
    case "Null":
      return "null";
    case "Reference":
      return `the name '${referenceText(v)}'`;
    case "List":
      return "a list";
    case "Object":
      return "an object";
    case "Call":
      return `${v.callee.name}(...)`;
    case "Missing":
      return "nothing";
  }
}

/** Whether a literal fits a field's type; undefined when it does, else what was expected. */
export function literalFits(v: Value, k: FieldKind): string | undefined {
  if (v.type === "Null" || v.type === "Missing" || v.type === "Reference") return undefined;
  if (k.list) return v.type === "List" ? undefined : "a list";
  switch (k.kind) {
    case "string":
      return v.type === "String" ? undefined : "a string";
    case "number":
      return v.type === "Number" ? undefined : "a number";
    case "integer":
      return v.type === "Number" && v.isInteger ? undefined : "a whole number";
    case "boolean":
      return v.type === "Boolean" ? undefined : "true or false";
    case "enum":
      return v.type === "String" && k.values?.includes(v.value)
        ? undefined
        : `one of ${k.values?.map((x) => `"${x}"`).join(", ")}`;
    case "object":
      return v.type === "Object" ? undefined : "an object";
    case "json":
      return undefined;
  }
}

/** A RegExp syntax error as one sentence (V8's message already starts "Invalid regular expression: "). */
export function regexProblem(err: unknown): string {
  return `Invalid regular expression: ${(err as Error).message.replace(/^Invalid regular expression: /, "")}`;
}

/** A plain span: related information is data, not a piece of the AST. */
export function spanOf(s: Span): Span {
  return { start: s.start, end: s.end };
}

/** "a tool", "an agent". */
export function aKind(kind: DeclarationKind): string {
  return `${kind === "agent" || kind === "mcp" ? "an" : "a"} ${kind}`;
}

export function wordOf(v: Value | undefined): string | undefined {
  if (!v) return undefined;
  if (v.type === "Reference") return referenceText(v);
  if (v.type === "String") return v.value;
  return undefined;
}

export function stringOf(v: Value | undefined): string | undefined {
  return v && v.type === "String" ? v.value : undefined;
}

/** The input fields of a tool (none for an unresolved one). */
export function toolInputFields(tool: Symbol | undefined): FieldDecl[] {
  return tool ? fields(blocks(tool.decl.body).get("input")?.body) : [];
}
