// Validates JSON values against the subset of JSON Schema 2020-12 the
// compiler emits (type, enum, properties, required, additionalProperties,
// items, $ref into $defs). Used for memory writes and tool inputs, where a
// failure goes back to the model as a tool error.

import type { Json, JsonSchema } from "../language/compile";

function typeOf(v: Json): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  return typeof v;
}

/** Returns the first problem found, or undefined when `value` fits `schema`. */
export function validateJson(
  schema: JsonSchema,
  value: Json,
  at = "value",
  root: JsonSchema = schema,
): string | undefined {
  if (typeof schema.$ref === "string") {
    const name = schema.$ref.replace(/^#\/\$defs\//, "");
    const defs = root.$defs as Record<string, JsonSchema> | undefined;
    const target = defs?.[name];
    return target ? validateJson(target, value, at, root) : undefined;
  }
  if (Array.isArray(schema.enum) && !schema.enum.some((e) => JSON.stringify(e) === JSON.stringify(value)))
    return `${at} must be one of ${schema.enum.map((e) => JSON.stringify(e)).join(", ")}; got ${JSON.stringify(value)}`;
  const t = schema.type;
  if (typeof t === "string") {
    const actual = typeOf(value);
    const ok = t === actual || (t === "number" && actual === "integer");
    if (!ok)
      return `${at} must be ${t === "integer" ? "a whole number" : `of type ${t}`}; got ${actual === "integer" ? "number" : actual}`;
  }
  if (t === "array" && Array.isArray(value) && schema.items && typeof schema.items === "object") {
    for (let i = 0; i < value.length; i++) {
      const p = validateJson(schema.items as JsonSchema, value[i], `${at}[${i}]`, root);
      if (p) return p;
    }
  }
  if (t === "object" && value && typeof value === "object" && !Array.isArray(value)) {
    const props = (schema.properties ?? {}) as Record<string, JsonSchema>;
    for (const r of (schema.required ?? []) as string[])
      if (!Object.hasOwn(value, r)) return `${at}.${r} is required`;
    for (const [k, v] of Object.entries(value)) {
      const ps = Object.hasOwn(props, k) ? props[k] : undefined;
      if (!ps) {
        if (schema.additionalProperties === false)
          return `${at} has no field '${k}'; fields: ${Object.keys(props).join(", ")}`;
        continue;
      }
      const p = validateJson(ps, v, `${at}.${k}`, root);
      if (p) return p;
    }
  }
  return undefined;
}

/** The zero value of a field type: 0, "", false, [], null for json (language.md 3.5). */
export function zeroValue(schema: JsonSchema): Json {
  switch (schema.type) {
    case "number":
    case "integer":
      return 0;
    case "string":
      return Array.isArray(schema.enum) && schema.enum.length ? (schema.enum[0] as Json) : "";
    case "boolean":
      return false;
    case "array":
      return [];
    case "object":
      return {};
    default:
      return null;
  }
}
