// The generic check of a declaration's body against its schema (schema.ts):
// unknown, repeated and missing properties, and each value against the type
// its property takes. Values of reference, call and field types go on to the
// checks of references, built-in calls and field types.

import { referenceText, type Block, type BlockMember, type Property, type Span, type Value } from "../ast";
import type { FixData } from "../diagnostics";
import { nearest } from "../editDistance";
import { providerRow } from "../providers";
import { describeType, FIELD_TYPES, type BlockSchema, type PropSpec, type PropType } from "../schema";
import { checkCall } from "./builtinCalls";
import type { Checker } from "./checker";
import { checkFieldsBlock } from "./fieldTypes";
import { spanOf, valueKind } from "./values";

/** Checks a block's properties and nested blocks against its schema. */
export function checkBlock(
  c: Checker,
  block: Block,
  schema: BlockSchema,
  owner: Span,
  ownerLabel: string,
): Map<string, Property | BlockMember> {
  const seen = new Map<string, Property | BlockMember>();
  for (const m of block.members) {
    if (m.type !== "Property" && m.type !== "BlockMember") continue;
    const name = m.name.name;
    const spec: PropSpec | undefined =
      (Object.hasOwn(schema.props, name) ? schema.props[name] : undefined) ??
      (schema.open ? { type: schema.open, doc: "" } : undefined);
    if (!spec) {
      const near = nearest(name, Object.keys(schema.props));
      const known = Object.keys(schema.props);
      c.report(
        m.name,
        "unknown-property",
        `${ownerLabel} has no property '${name}'${near ? `: did you mean '${near}'?` : known.length ? `; it has ${known.join(", ")}.` : "."}`,
        near ? c.replaceFix(`Change to '${near}'`, near) : {},
      );
      continue;
    }
    const prev = seen.get(name);
    if (prev) {
      c.report(
        m.name,
        "duplicate-property",
        `'${name}' is already set in this block (line ${c.line(prev.start)}); remove one.`,
        {
          related: [{ path: c.filePath, span: spanOf(prev.name), message: `'${name}' is first set here` }],
        },
      );
      continue;
    }
    seen.set(name, m);
    checkMember(c, m, spec.type, ownerLabel);
  }
  const missing = Object.entries(schema.props).filter(([n, s]) => s.required && !seen.has(n));
  for (const [n, s] of missing) {
    const fix: FixData = {
      kind: "insertProperty",
      property: n,
      snippet: s.snippet ?? `${n}: `,
      blockEnd: block.closed ? block.end - 1 : block.end,
      indent: "",
    };
    c.report(owner, "missing-property", `${ownerLabel} needs '${n}': ${s.doc}`, { fixes: [fix] });
  }
  return seen;
}

export function checkMember(c: Checker, m: Property | BlockMember, type: PropType, ownerLabel: string): void {
  const name = m.name.name;
  if (type.t === "block" || type.t === "fields") {
    if (m.type !== "BlockMember") {
      c.report(m.value, "type-mismatch", `'${name}' is a block: write ${name} { ... }.`);
      return;
    }
    if (type.t === "block") checkBlock(c, m.body, type.block, m.name, `${ownerLabel} ${name}`);
    else checkFieldsBlock(c, m.body);
    return;
  }
  if (m.type === "BlockMember") {
    c.report(
      m.name,
      "type-mismatch",
      `'${name}' takes a value (${describeType(type)}), not a block: write ${name}: ...`,
    );
    return;
  }
  checkValue(c, m.value, type, name);
}

export function checkValue(c: Checker, v: Value, type: PropType, name: string): void {
  if (v.type === "Missing") return; // a syntax error was reported
  const mismatch = () =>
    c.report(v, "type-mismatch", `'${name}' expects ${describeType(type)}; found ${valueKind(v)}.`);
  switch (type.t) {
    case "string":
    case "text":
      if (v.type !== "String") return mismatch();
      if (type.t === "string" && v.textBlock && name !== "description") return;
      return;
    case "number":
    case "integer": {
      if (v.type !== "Number") return mismatch();
      if (type.t === "integer" && !v.isInteger)
        return void c.report(v, "type-mismatch", `'${name}' must be a whole number; found ${v.raw}.`);
      if ((type.min !== undefined && v.value < type.min) || (type.max !== undefined && v.value > type.max)) {
        const range =
          type.max !== undefined
            ? `between ${type.min} and ${type.max}`
            : type.min === 0
              ? "0 or more"
              : `at least ${type.min}`;
        c.report(v, "out-of-range", `'${name}' must be ${range}; found ${v.raw}.`);
      }
      return;
    }
    case "boolean":
      if (v.type !== "Boolean") mismatch();
      return;
    case "enum": {
      const w = v.type === "Reference" ? referenceText(v) : v.type === "String" ? v.value : undefined;
      if (w === undefined) return mismatch();
      if (!type.values.includes(w)) {
        const near = nearest(w, type.values);
        c.report(
          v,
          "invalid-enum",
          `'${w}' is not a valid ${name}: expected one of ${type.values.join(", ")}${near ? ` (did you mean '${near}'?)` : ""}.`,
          near ? c.replaceFix(`Change to '${near}'`, near) : {},
        );
      }
      return;
    }
    case "ref":
      if (v.type !== "Reference") return mismatch();
      c.resolve(v, type.kind, type.kind === "backend" && c.localBackendAllowed(name) ? ["local"] : []);
      return;
    case "list":
      if (v.type !== "List") {
        if (v.type === "Reference" || v.type === "String")
          return void c.report(
            v,
            "type-mismatch",
            `'${name}' expects ${describeType(type)}; write it in brackets: [${c.text.slice(v.start, v.end)}].`,
            c.replaceFix("Wrap in [ ]", `[${c.text.slice(v.start, v.end)}]`),
          );
        return mismatch();
      }
      for (const item of v.items) checkValue(c, item, type.of, name);
      return;
    case "secret":
      if (v.type === "String") {
        const envName = name === "api_key" ? suggestKeyEnv(c) : secretEnvName(c, name);
        return void c.report(
          v,
          "secret-literal",
          `Never write a secret into the file: read '${name}' from the environment with env("${envName}").`,
          c.replaceFix(`Use env("${envName}")`, `env("${envName}")`),
        );
      }
      if (v.type !== "Call" || v.callee.name !== "env") return mismatch();
      checkCall(c, v, ["env"], name);
      return;
    case "stringOrEnv":
      if (v.type === "String") return;
      if (v.type !== "Call" || v.callee.name !== "env") return mismatch();
      checkCall(c, v, ["env"], name);
      return;
    case "call":
      if (v.type !== "Call") return mismatch();
      checkCall(c, v, type.callees, name);
      return;
    case "typeRef":
      if (v.type !== "Reference") return mismatch();
      if (v.segments.length === 1 && (FIELD_TYPES as readonly string[]).includes(v.segments[0].name)) return;
      c.resolve(v, "type");
      return;
    case "object":
      if (v.type !== "Object") return mismatch();
      if (type.keys) {
        for (const e of v.entries) {
          const kt = Object.hasOwn(type.keys, e.key.name) ? type.keys[e.key.name] : undefined;
          if (!kt) {
            const near = nearest(e.key.name, Object.keys(type.keys));
            c.report(
              e.key,
              "unknown-property",
              `'${name}' has no key '${e.key.name}'${near ? `: did you mean '${near}'?` : `; it has ${Object.keys(type.keys).join(", ")}.`}`,
            );
          } else checkValue(c, e.value, kt, `${name}.${e.key.name}`);
        }
      }
      return;
    case "any":
      if (v.type === "Call") checkCall(c, v, ["env", "file"], name);
      return;
    case "block":
    case "fields":
      return;
  }
}

/** `CRM_CLIENT_SECRET` for `client_secret` in connection `crm`: the variable a literal secret should move to. */
function secretEnvName(c: Checker, name: string): string {
  const owner = c.declaration?.name?.type === "Identifier" ? `${c.declaration.name.name}_` : "";
  return `${owner}${name.split(".").pop()}`.toUpperCase().replace(/[^A-Z0-9_]/g, "_");
}

function suggestKeyEnv(c: Checker): string {
  return providerRow(c.backendProvider)?.keyVariable ?? "OPENAI_API_KEY";
}
