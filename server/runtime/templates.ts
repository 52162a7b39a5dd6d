// Renders strings in template form: `{{ path }}` becomes the value at that
// path, `\{{` a literal `{{` and `\\` a backslash. Missing values render as
// an empty string (optional memory fields start absent).

import type { Json } from "../language/compile";

export type TemplateScope = Record<string, unknown>;

/** The value at `path` in `scope` (undefined when a step is missing). */
export function lookupPath(scope: TemplateScope, path: string[]): unknown {
  let v: unknown = scope;
  for (const seg of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<string, unknown>)[seg];
  }
  return v;
}

function show(v: unknown): string {
  if (v === undefined || v === null) return "";
  if (typeof v === "string") return v;
  return JSON.stringify(v as Json);
}

export function renderTemplate(
  template: string,
  scope: TemplateScope,
  encode: (s: string) => string = (s) => s,
): string {
  let out = "";
  let i = 0;
  while (i < template.length) {
    const c = template[i];
    if (c === "\\" && template[i + 1] === "\\") {
      out += "\\";
      i += 2;
    } else if (c === "\\" && template.startsWith("{{", i + 1)) {
      out += "{{";
      i += 3;
    } else if (c === "{" && template[i + 1] === "{") {
      const close = template.indexOf("}}", i + 2);
      if (close < 0) {
        out += template.slice(i);
        break;
      }
      const path = template
        .slice(i + 2, close)
        .split(".")
        .map((s) => s.trim());
      out += encode(show(lookupPath(scope, path)));
      i = close + 2;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}
