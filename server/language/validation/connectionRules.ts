// Rules of connections and of the calls that go through them: a connection's
// url is an http(s) or postgres url, its auth arguments are secrets read with
// env(...) (a literal is `secret-literal`), oauth2 has its settings; a sql(...)
// call keeps values out of its statement (`sql-template`, fixed by moving the
// template into a `$n` parameter), binds exactly the placeholders it uses, and
// its parameters read the tool's input, the user or the session.

import type { CallValue, Declaration, ListValue, Span, StringLiteral, Value } from "../ast";
import { props } from "../compile";
import { isSqlUrl } from "../connections";
import type { FixData } from "../diagnostics";
import { nearest } from "../editDistance";
import { OAUTH2_KEYS } from "../schema";
import type { Checker } from "./checker";
import { checkValue } from "./schemaChecks";
import { valueKind } from "./values";

/** The url and the auth arguments of a connection. */
export function checkConnection(c: Checker, decl: Declaration, _owner: Span, label: string): void {
  const p = props(decl.body);
  const url = p.get("url")?.value;
  if (url?.type === "String" && !/^https?:\/\//i.test(url.value) && !isSqlUrl(url.value))
    c.report(
      url,
      "type-mismatch",
      `'${url.value}' is not a connection url: expected http:// or https:// (for http tools), or postgres:// or postgresql:// (for sql tools).`,
    );
  const auth = p.get("auth")?.value;
  if (!auth || auth.type !== "Call" || c.diagnostics.some((d) => d.span.start === auth.callee.start)) return;
  if (url?.type === "String" && isSqlUrl(url.value)) {
    c.report(
      auth.callee,
      "type-mismatch",
      `${label} is a SQL connection: its credentials go in its url, read from the environment (url: env("DATABASE_URL")), not in auth.`,
    );
    return;
  }
  const a = auth.args;
  switch (auth.callee.name) {
    case "bearer":
      secretArg(c, a[0], "token");
      return;
    case "header":
      if (a[0]?.type === "String") {
        if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(a[0].value))
          c.report(a[0], "type-mismatch", `'${a[0].value}' is not an HTTP header name.`);
      } else if (a[0] && a[0].type !== "Missing")
        c.report(
          a[0],
          "type-mismatch",
          `header(...) expects the header's name as a string first, as in "X-Api-Key".`,
        );
      secretArg(c, a[1], "key");
      return;
    case "basic":
      secretArg(c, a[0], "username");
      secretArg(c, a[1], "password");
      return;
    case "oauth2":
      checkOauth2(c, auth);
      return;
    case "user_token":
      if (a[0]?.type === "String") {
        if (!/^[A-Za-z0-9_]+$/.test(a[0].value))
          c.report(
            a[0],
            "type-mismatch",
            `'${a[0].value}' is not a token name: letters, digits and '_' (the CLI reads it from STATECRAFT_USER_TOKEN_<NAME>).`,
          );
      } else if (a[0] && a[0].type !== "Missing")
        c.report(
          a[0],
          "type-mismatch",
          `user_token(...) expects the token's name as a string, as in user_token("mail"); found ${valueKind(a[0])}.`,
        );
  }
}

function secretArg(c: Checker, v: Value | undefined, name: string): void {
  if (v) checkValue(c, v, { t: "secret" }, name);
}

function checkOauth2(c: Checker, auth: CallValue): void {
  const obj = auth.args[0];
  if (!obj || obj.type !== "Object") return;
  const seen = new Set<string>();
  for (const e of obj.entries) {
    const spec = Object.hasOwn(OAUTH2_KEYS, e.key.name) ? OAUTH2_KEYS[e.key.name] : undefined;
    if (!spec) {
      const near = nearest(e.key.name, Object.keys(OAUTH2_KEYS));
      c.report(
        e.key,
        "unknown-property",
        `oauth2 has no setting '${e.key.name}'${near ? `: did you mean '${near}'?` : `; it has ${Object.keys(OAUTH2_KEYS).join(", ")}.`}`,
        near ? c.replaceFix(`Change to '${near}'`, near) : {},
      );
      continue;
    }
    if (seen.has(e.key.name)) {
      c.report(
        e.key,
        "duplicate-property",
        `'${e.key.name}' is already set in this oauth2 block; remove one.`,
      );
      continue;
    }
    seen.add(e.key.name);
    checkValue(c, e.value, spec.type, e.key.name);
  }
  for (const [key, spec] of Object.entries(OAUTH2_KEYS))
    if (spec.required && !seen.has(key))
      c.report(auth.callee, "missing-property", `oauth2 needs '${key}': ${spec.doc}`);
}

// ---- sql(...) ------------------------------------------------------------------------

/** The highest `$n` a statement uses (0 when none). */
export function highestPlaceholder(statement: string): number {
  let max = 0;
  for (const m of statement.matchAll(/\$(\d+)/g)) max = Math.max(max, Number(m[1]));
  return max;
}

/**
 * A sql(...) call: no `{{ }}` in the statement (each one is `sql-template`, whose fix binds it as the next
 * `$n`), every placeholder bound, every parameter a path under one of `roots` or a literal.
 */
export function checkSqlCall(c: Checker, call: CallValue, roots: Map<string, string[] | null>): void {
  const statement = call.args[1];
  const params = call.args[2];
  if (!statement || statement.type !== "String") return;
  const list = params?.type === "List" ? params : undefined;
  if (params && !list) return; // type-mismatch reported by the call's check
  const bound = list?.items.length ?? 0;
  let next = Math.max(highestPlaceholder(statement.value), bound);
  for (const t of statement.templates) {
    next++;
    c.report(
      t,
      "sql-template",
      `A {{ }} template inside a SQL statement would put '${t.path.join(".")}' into the SQL text, where a quote in it changes the query: bind it as a parameter ($${next}) instead.`,
      { fixes: [moveToParameter(c, statement, list, t, next)] },
    );
  }
  if (statement.templates.length === 0) {
    const used = highestPlaceholder(statement.value);
    if (used > bound)
      c.report(
        list ?? statement,
        "type-mismatch",
        `The statement uses $${used} but ${bound === 0 ? "no parameter is" : bound === 1 ? "only 1 parameter is" : `only ${bound} parameters are`} listed: add the value of each $n, in order, in [...].`,
      );
    else if (list && bound > used)
      c.report(
        list.items[used],
        "type-mismatch",
        `The statement uses ${used === 0 ? "no placeholder" : `$1..$${used}`}: this parameter is bound to nothing; remove it or use $${used + 1} in the statement.`,
      );
  }
  for (const item of list?.items ?? []) checkParam(c, item, roots);
}

/** `{{ input.email }}` in the statement -> `$n` there, `input.email` appended to the parameters. */
function moveToParameter(
  c: Checker,
  statement: StringLiteral,
  list: ListValue | undefined,
  t: { start: number; end: number; path: string[] },
  n: number,
): FixData {
  // The template's braces around the path: `{{` before it, `}}` after it (spaces allowed inside).
  const open = c.text.lastIndexOf("{{", t.start);
  const close = c.text.indexOf("}}", t.end) + 2;
  const path = t.path.join(".");
  const quoted = quotedLiteral(c.text, statement, open, close);
  const placeholder = `$${n}`;
  const edits = [
    quoted
      ? {
          start: quoted.start,
          end: quoted.end,
          text: [quoted.before && `'${quoted.before}'`, placeholder, quoted.after && `'${quoted.after}'`]
            .filter((x) => x)
            .join(" || "),
        }
      : { start: open, end: close, text: placeholder },
  ];
  if (list) {
    const last = list.items[list.items.length - 1];
    edits.push(
      last
        ? { start: last.end, end: last.end, text: `, ${path}` }
        : { start: list.start + 1, end: list.end - 1, text: path },
    );
  } else edits.push({ start: statement.end, end: statement.end, text: `, [${path}]` });
  return { kind: "edits", title: `Bind '${path}' as parameter $${n}`, edits };
}

/**
 * When the template stands inside a SQL string literal (`'{{input.email}}'`, `'%{{input.q}}%'`): the span of
 * the whole literal and its text before and after the template, which the fix joins to the placeholder with
 * `||`. Undefined when the template is not quoted, or shares its literal with another template.
 */
function quotedLiteral(
  text: string,
  statement: StringLiteral,
  open: number,
  close: number,
): { start: number; end: number; before: string; after: string } | undefined {
  const base = statement.start + 1;
  const body = text.slice(base, statement.end - 1);
  // Quotes before the template ('' inside a literal is an escaped quote and counts twice: parity holds).
  if ((body.slice(0, open - base).match(/'/g) ?? []).length % 2 === 0) return undefined;
  const litStart = body.lastIndexOf("'", open - base - 1);
  const litEnd = body.indexOf("'", close - base);
  if (litEnd < 0) return undefined;
  const before = body.slice(litStart + 1, open - base);
  const after = body.slice(close - base, litEnd);
  if (before.includes("{{") || after.includes("{{")) return undefined;
  return { start: base + litStart, end: base + litEnd + 1, before, after };
}

function checkParam(c: Checker, v: Value, roots: Map<string, string[] | null>): void {
  switch (v.type) {
    case "String":
    case "Number":
    case "Boolean":
    case "Null":
    case "Missing":
      return;
    case "Reference": {
      const [root, field] = v.segments;
      const fieldsOf = roots.get(root.name);
      if (fieldsOf === undefined) {
        const near = nearest(root.name, roots.keys());
        c.report(
          root,
          "undefined-template-variable",
          `A sql parameter is a literal or a path under ${[...roots.keys()].map((r) => `${r}.`).join(", ")}; '${root.name}' is none of them${near ? ` (did you mean '${near}'?)` : ""}.`,
          near ? c.replaceFix(`Change to '${near}'`, near) : {},
        );
        return;
      }
      if (!field) {
        c.report(
          v,
          "undefined-template-variable",
          `'${root.name}' needs a field, as in ${root.name}.${fieldsOf?.[0] ?? "id"}.`,
        );
        return;
      }
      if (fieldsOf && !fieldsOf.includes(field.name)) {
        const near = nearest(field.name, fieldsOf);
        c.report(
          field,
          "undefined-template-variable",
          `'${root.name}' has no field '${field.name}'${near ? `: did you mean '${near}'?` : fieldsOf.length ? `; its fields are ${fieldsOf.join(", ")}.` : ": it has no fields."}`,
          near ? c.replaceFix(`Change to '${near}'`, near) : {},
        );
      }
      return;
    }
    default:
      c.report(
        v,
        "type-mismatch",
        `A sql parameter is a path (input.*, user.*, session.*) or a literal (string, number, true, false, null); found ${valueKind(v)}.`,
      );
  }
}
