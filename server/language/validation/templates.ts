// Checks of `{{ root.field }}` templates in strings: each root is one the site
// allows, and its field is one that root has.

import type { StringLiteral } from "../ast";
import { nearest } from "../editDistance";
import type { Checker } from "./checker";

/** Checks `{{ root.field }}` against the roots allowed at this site; a null field list allows any field. */
export function checkTemplates(c: Checker, s: StringLiteral, roots: Map<string, string[] | null>): void {
  for (const t of s.templates) {
    const root = t.path[0];
    const fieldsOf = roots.get(root);
    if (fieldsOf === undefined) {
      const near = nearest(root, roots.keys());
      c.report(
        t.segments[0],
        "undefined-template-variable",
        `Unknown template variable '${root}': here templates may use ${[...roots.keys()].map((r) => `${r}.*`).join(", ")}${near ? ` (did you mean '${near}'?)` : ""}.`,
        near ? c.replaceFix(`Change to '${near}'`, near) : {},
      );
      continue;
    }
    if (t.path.length === 1) {
      c.report(
        t,
        "undefined-template-variable",
        `'{{${root}}}' needs a field, as in {{${root}.${fieldsOf?.[0] ?? "name"}}}.`,
      );
      continue;
    }
    if (fieldsOf === null) continue;
    const field = t.path[1];
    if (!fieldsOf.includes(field)) {
      const near = nearest(field, fieldsOf);
      c.report(
        t.segments[1],
        "undefined-template-variable",
        `'${root}' has no field '${field}'${near ? `: did you mean '${near}'?` : fieldsOf.length ? `; its fields are ${fieldsOf.join(", ")}.` : `: it has no fields.`}`,
        near ? c.replaceFix(`Change to '${near}'`, near) : {},
      );
    }
  }
}
