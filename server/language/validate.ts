// The validator: resolves every reference with the kind expected at its site
// and checks a file's declarations against the schema table and the rules of
// language.md. It returns diagnostics and the resolved references (which the
// language server reuses for definition, references and rename).

import * as path from "node:path";
import {
  declarationName,
  referenceText,
  type Block,
  type BlockMember,
  type CallValue,
  type Declaration,
  type DeclarationKind,
  type Expr,
  type FieldDecl,
  type Identifier,
  type ObjectValue,
  type Property,
  type Reference,
  type Span,
  type StringLiteral,
  type TestStep,
  type TypeExpr,
  type Value,
} from "./ast";
import { lookupModel, nearestModel, LOCAL_MODEL, type ModelInfo, type Provider } from "./catalog";
import { blocks, fields, props, toolParameters } from "./compile";
import {
  compareDiagnostics,
  diagnostic,
  type Diagnostic,
  type DiagnosticCode,
  type FixData,
} from "./diagnostics";
import { nearest } from "./editDistance";
import { LineIndex } from "./lineIndex";
import { lookup, symbolsOfKind, type Program, type Symbol, type SymbolTable } from "./program";
import {
  BUILTIN_CALLS,
  DECLARATION_SCHEMAS,
  FIELD_TYPES,
  describeType,
  type BlockSchema,
  type BuiltinCall,
  type PropSpec,
  type PropType,
} from "./schema";
import { countTokensForModel } from "./tokens";

export interface ResolvedReference {
  /** The file and span of the name at the reference site. */
  path: string;
  span: Span;
  expected: DeclarationKind;
  /** The name referred to (also when it resolves to nothing). */
  name: string;
  target: Symbol | undefined;
}

export interface FileAnalysis {
  /** Diagnostics of this file, and duplicate declarations found in its closure (possibly in other files). */
  diagnostics: Diagnostic[];
  references: ResolvedReference[];
  /**
   * Declarations used without a reference (the only backend, used by agents that name none), and
   * duplicate declarations, which are reported as such rather than as unused.
   */
  implicitUses: Declaration[];
}

export const MEMORY_TOOL = "remember";

const HTTP_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"];

type FieldKind = {
  kind: "string" | "number" | "integer" | "boolean" | "json" | "object" | "enum";
  values?: string[];
  list: boolean;
};

function fieldKind(f: FieldDecl): FieldKind {
  const t = f.fieldType;
  if (t.enumValues) return { kind: "enum", values: t.enumValues.map((v) => v.value), list: t.list };
  const n = t.name.name;
  if ((FIELD_TYPES as readonly string[]).includes(n)) return { kind: n as FieldKind["kind"], list: t.list };
  return { kind: "object", list: t.list };
}

/** A field type as written (from the AST: the field may live in another file than the one being checked). */
function typeExprText(t: TypeExpr): string {
  const base = t.enumValues
    ? `enum(${t.enumValues.map((v) => JSON.stringify(v.value)).join(", ")})`
    : t.name.name;
  return t.list ? `${base}[]` : base;
}

function valueKind(v: Value): string {
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
function literalFits(v: Value, k: FieldKind): string | undefined {
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

class FileValidator {
  readonly diagnostics: Diagnostic[] = [];
  readonly references: ResolvedReference[] = [];
  readonly implicitUses: Declaration[] = [];
  private readonly table: SymbolTable;
  private readonly text: string;

  constructor(
    private readonly program: Program,
    private readonly filePath: string,
  ) {
    this.table = program.symbols(filePath);
    this.text = program.get(filePath)?.file.text ?? "";
  }

  private report(
    span: Span,
    code: DiagnosticCode,
    message: string,
    extra: Partial<Diagnostic> = {},
    file = this.filePath,
  ): void {
    this.diagnostics.push(diagnostic(file, span, code, message, extra));
  }

  private replaceFix(title: string, text: string): { fixes: FixData[] } {
    return { fixes: [{ kind: "replace", title, text }] };
  }

  run(): FileAnalysis {
    const pf = this.program.get(this.filePath);
    if (!pf) return { diagnostics: [], references: [], implicitUses: [] };
    this.diagnostics.push(...pf.parseDiagnostics);
    for (const imp of pf.imports) {
      if (!imp.found)
        this.report(
          imp.node.path,
          "import-not-found",
          `Cannot read '${imp.node.path.value}' (resolved to ${imp.target}): check the path, relative to this file.`,
        );
    }
    for (const d of duplicateDiagnostics(this.program, this.table)) this.diagnostics.push(d);
    // Already an error: not also "unused" (references resolve to the first declaration).
    for (const dup of this.table.duplicates) this.implicitUses.push(dup.symbol.decl);
    for (const decl of pf.file.declarations) this.declaration(decl);
    // What the parser could not read is reported once, as a syntax error: a declaration with one is
    // not also told that the property or step it broke is missing.
    const broken = pf.file.declarations.filter((d) =>
      pf.parseDiagnostics.some((e) => d.start <= e.span.start && e.span.start < d.end),
    );
    const diagnostics = this.diagnostics.filter(
      (x) =>
        x.code !== "missing-property" ||
        x.path !== this.filePath ||
        !broken.some((d) => d.start <= x.span.start && x.span.end <= d.end),
    );
    return { diagnostics, references: this.references, implicitUses: this.implicitUses };
  }

  // ---- references ---------------------------------------------------------------------

  /** Resolves a reference to a declaration of `kind`, reporting unknown names and names of the wrong kind. */
  resolve(ref: Reference, kind: DeclarationKind, extraNames: string[] = []): Symbol | undefined {
    const first = ref.segments[0];
    if (ref.segments.length > 1) {
      this.report(
        ref,
        "type-mismatch",
        `Expected the name of ${aKind(kind)}; found '${referenceText(ref)}'.`,
      );
      return undefined;
    }
    const name = first.name;
    const target = lookup(this.table, kind, name);
    if (target) {
      this.references.push({ path: this.filePath, span: first, expected: kind, name, target });
      return target;
    }
    if (extraNames.includes(name)) return undefined;
    const other = this.table.anyKind(name);
    if (other) {
      this.references.push({ path: this.filePath, span: first, expected: kind, name, target: undefined });
      this.report(
        first,
        "wrong-kind",
        `'${name}' is ${aKind(other.kind)}, but ${aKind(kind)} is expected here.`,
        {
          related: [
            {
              path: other.path,
              span: spanOf(other.decl.name ?? other.decl),
              message: `${other.kind} '${name}' is declared here`,
            },
          ],
        },
      );
      return undefined;
    }
    const candidates = [...this.table.ofKind(kind).map((s) => s.name), ...extraNames];
    const near = nearest(name, candidates);
    this.references.push({ path: this.filePath, span: first, expected: kind, name, target: undefined });
    this.report(
      first,
      "unknown-reference",
      `Unknown ${kind} '${name}'${near ? `: did you mean '${near}'?` : candidates.length ? `: declared ${kind}s are ${candidates.slice(0, 8).join(", ")}.` : `: no ${kind} is declared in this file or its imports.`}`,
      near ? this.replaceFix(`Change to '${near}'`, near) : {},
    );
    return undefined;
  }

  // ---- generic block checking -------------------------------------------------------------

  /** Checks a block's properties and nested blocks against its schema. */
  private block(
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
        this.report(
          m.name,
          "unknown-property",
          `${ownerLabel} has no property '${name}'${near ? `: did you mean '${near}'?` : known.length ? `; it has ${known.join(", ")}.` : "."}`,
          near ? this.replaceFix(`Change to '${near}'`, near) : {},
        );
        continue;
      }
      const prev = seen.get(name);
      if (prev) {
        this.report(
          m.name,
          "duplicate-property",
          `'${name}' is already set in this block (line ${this.line(prev.start)}); remove one.`,
          {
            related: [
              { path: this.filePath, span: spanOf(prev.name), message: `'${name}' is first set here` },
            ],
          },
        );
        continue;
      }
      seen.set(name, m);
      this.member(m, spec.type, ownerLabel);
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
      this.report(owner, "missing-property", `${ownerLabel} needs '${n}': ${s.doc}`, { fixes: [fix] });
    }
    return seen;
  }

  private member(m: Property | BlockMember, type: PropType, ownerLabel: string): void {
    const name = m.name.name;
    if (type.t === "block" || type.t === "fields") {
      if (m.type !== "BlockMember") {
        this.report(m.value, "type-mismatch", `'${name}' is a block: write ${name} { ... }.`);
        return;
      }
      if (type.t === "block") this.block(m.body, type.block, m.name, `${ownerLabel} ${name}`);
      else this.fieldsBlock(m.body);
      return;
    }
    if (m.type === "BlockMember") {
      this.report(
        m.name,
        "type-mismatch",
        `'${name}' takes a value (${describeType(type)}), not a block: write ${name}: ...`,
      );
      return;
    }
    this.value(m.value, type, name);
  }

  private value(v: Value, type: PropType, name: string): void {
    if (v.type === "Missing") return; // a syntax error was reported
    const mismatch = () =>
      this.report(v, "type-mismatch", `'${name}' expects ${describeType(type)}; found ${valueKind(v)}.`);
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
          return void this.report(v, "type-mismatch", `'${name}' must be a whole number; found ${v.raw}.`);
        if (
          (type.min !== undefined && v.value < type.min) ||
          (type.max !== undefined && v.value > type.max)
        ) {
          const range =
            type.max !== undefined
              ? `between ${type.min} and ${type.max}`
              : type.min === 0
                ? "0 or more"
                : `at least ${type.min}`;
          this.report(v, "out-of-range", `'${name}' must be ${range}; found ${v.raw}.`);
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
          this.report(
            v,
            "invalid-enum",
            `'${w}' is not a valid ${name}: expected one of ${type.values.join(", ")}${near ? ` (did you mean '${near}'?)` : ""}.`,
            near ? this.replaceFix(`Change to '${near}'`, near) : {},
          );
        }
        return;
      }
      case "ref":
        if (v.type !== "Reference") return mismatch();
        this.resolve(
          v,
          type.kind,
          type.kind === "backend" && name === "backend" && this.inTest ? ["local"] : [],
        );
        return;
      case "list":
        if (v.type !== "List") {
          if (v.type === "Reference" || v.type === "String")
            return void this.report(
              v,
              "type-mismatch",
              `'${name}' expects ${describeType(type)}; write it in brackets: [${this.text.slice(v.start, v.end)}].`,
              this.replaceFix("Wrap in [ ]", `[${this.text.slice(v.start, v.end)}]`),
            );
          return mismatch();
        }
        for (const item of v.items) this.value(item, type.of, name);
        return;
      case "secret":
        if (v.type === "String") {
          const envName = name === "api_key" ? this.suggestKeyEnv() : "SECRET";
          return void this.report(
            v,
            "secret-literal",
            `Never write a secret into the file: read '${name}' from the environment with env("${envName}").`,
            this.replaceFix(`Use env("${envName}")`, `env("${envName}")`),
          );
        }
        if (v.type !== "Call" || v.callee.name !== "env") return mismatch();
        this.call(v, ["env"], name);
        return;
      case "call":
        if (v.type !== "Call") return mismatch();
        this.call(v, type.callees, name);
        return;
      case "typeRef":
        if (v.type !== "Reference") return mismatch();
        if (v.segments.length === 1 && (FIELD_TYPES as readonly string[]).includes(v.segments[0].name))
          return;
        this.resolve(v, "type");
        return;
      case "object":
        if (v.type !== "Object") return mismatch();
        if (type.keys) {
          for (const e of v.entries) {
            const kt = Object.hasOwn(type.keys, e.key.name) ? type.keys[e.key.name] : undefined;
            if (!kt) {
              const near = nearest(e.key.name, Object.keys(type.keys));
              this.report(
                e.key,
                "unknown-property",
                `'${name}' has no key '${e.key.name}'${near ? `: did you mean '${near}'?` : `; it has ${Object.keys(type.keys).join(", ")}.`}`,
              );
            } else this.value(e.value, kt, `${name}.${e.key.name}`);
          }
        }
        return;
      case "any":
        if (v.type === "Call") this.call(v, ["env", "file"], name);
        return;
      case "block":
      case "fields":
        return;
    }
  }

  private inTest = false;
  private currentBackendProvider: string | undefined;

  private suggestKeyEnv(): string {
    switch (this.currentBackendProvider) {
      case "azure":
        return "AZURE_OPENAI_API_KEY";
      case "bedrock":
        return "STATECRAFT_TOKEN";
      default:
        return "OPENAI_API_KEY";
    }
  }

  // ---- built-in calls ----------------------------------------------------------------------

  private call(
    v: CallValue,
    allowed: readonly BuiltinCall[],
    name: string,
    templateRoots?: Map<string, string[] | null>,
  ): void {
    const callee = v.callee.name;
    if (!(callee in BUILTIN_CALLS)) {
      const near = nearest(callee, Object.keys(BUILTIN_CALLS));
      this.report(
        v.callee,
        "unknown-reference",
        `Unknown function '${callee}': built-in calls are env, file, http, command and mcp${near ? ` (did you mean '${near}'?)` : ""}.`,
        near ? this.replaceFix(`Change to '${near}'`, near) : {},
      );
      return;
    }
    if (!allowed.includes(callee as BuiltinCall)) {
      this.report(
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
      this.report(
        a.length > arity[1] ? a[arity[1]] : v,
        "type-mismatch",
        `${sig.label} takes ${arity[0] === arity[1] ? arity[0] : `${arity[0]} or ${arity[1]}`} argument${arity[1] > 1 ? "s" : ""}; found ${a.length}.`,
      );
      if (a.length < arity[0]) return;
    }
    const needString = (arg: Value | undefined, what: string): arg is StringLiteral => {
      if (!arg || arg.type === "Missing") return false;
      if (arg.type !== "String") {
        this.report(
          arg,
          "type-mismatch",
          `${callee}(...) expects ${what} as a string; found ${valueKind(arg)}.`,
        );
        return false;
      }
      return true;
    };
    switch (callee) {
      case "env":
        if (needString(a[0], "the variable name") && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(a[0].value))
          this.report(
            a[0],
            "type-mismatch",
            `'${a[0].value}' is not an environment variable name (letters, digits and '_').`,
          );
        return;
      case "file":
        if (needString(a[0], "a path")) {
          const target = path.resolve(path.dirname(this.filePath), a[0].value);
          if (!this.program.fs.exists(target))
            this.report(
              a[0],
              "file-not-found",
              `No file '${a[0].value}' (resolved to ${target}); paths are relative to this file.`,
            );
        }
        return;
      case "http":
        if (needString(a[0], "the method") && !HTTP_METHODS.includes(a[0].value.toUpperCase())) {
          const near = nearest(a[0].value.toUpperCase(), HTTP_METHODS);
          this.report(
            a[0],
            "invalid-enum",
            `'${a[0].value}' is not an HTTP method: expected one of ${HTTP_METHODS.join(", ")}${near ? ` (did you mean '${near}'?)` : ""}.`,
          );
        }
        if (needString(a[1], "the URL")) {
          if (!/^https?:\/\//.test(a[1].value) && !a[1].value.startsWith("{{"))
            this.report(a[1], "type-mismatch", `'${a[1].value}' is not an http:// or https:// URL.`);
          if (templateRoots) this.templates(a[1], templateRoots);
        }
        return;
      case "command":
        if (needString(a[0], "the executable") && templateRoots) this.templates(a[0], templateRoots);
        if (a[1] && a[1].type !== "Missing") {
          if (a[1].type !== "List")
            this.report(
              a[1],
              "type-mismatch",
              `command(...) expects its arguments as a list of strings, e.g. ["tool.js"]; found ${valueKind(a[1])}.`,
            );
          else
            for (const item of a[1].items) {
              if (item.type !== "String")
                this.report(
                  item,
                  "type-mismatch",
                  `command(...) arguments must be strings; found ${valueKind(item)}.`,
                );
              else if (templateRoots) this.templates(item, templateRoots);
            }
        }
        return;
      case "mcp":
        if (a[0] && a[0].type === "Reference") this.resolve(a[0], "mcp");
        else if (a[0] && a[0].type !== "Missing")
          this.report(
            a[0],
            "type-mismatch",
            `mcp(...) expects the name of an mcp server first; found ${valueKind(a[0])}.`,
          );
        needString(a[1], "the tool name");
        return;
    }
  }

  // ---- templates -------------------------------------------------------------------------------

  /** Checks `{{ root.field }}` against the roots allowed at this site; a null field list allows any field. */
  private templates(s: StringLiteral, roots: Map<string, string[] | null>): void {
    for (const t of s.templates) {
      const root = t.path[0];
      const fieldsOf = roots.get(root);
      if (fieldsOf === undefined) {
        const near = nearest(root, roots.keys());
        this.report(
          t.segments[0],
          "undefined-template-variable",
          `Unknown template variable '${root}': here templates may use ${[...roots.keys()].map((r) => `${r}.*`).join(", ")}${near ? ` (did you mean '${near}'?)` : ""}.`,
          near ? this.replaceFix(`Change to '${near}'`, near) : {},
        );
        continue;
      }
      if (t.path.length === 1) {
        this.report(
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
        this.report(
          t.segments[1],
          "undefined-template-variable",
          `'${root}' has no field '${field}'${near ? `: did you mean '${near}'?` : fieldsOf.length ? `; its fields are ${fieldsOf.join(", ")}.` : `: it has no fields.`}`,
          near ? this.replaceFix(`Change to '${near}'`, near) : {},
        );
      }
    }
  }

  // ---- fields ------------------------------------------------------------------------------

  private fieldsBlock(block: Block): FieldDecl[] {
    const seen = new Map<string, FieldDecl>();
    const out: FieldDecl[] = [];
    for (const m of block.members) {
      if (m.type !== "Field") continue;
      const prev = seen.get(m.name.name);
      if (prev) {
        this.report(
          m.name,
          "duplicate-property",
          `Field '${m.name.name}' is already declared (line ${this.line(prev.start)}); remove one.`,
        );
        continue;
      }
      seen.set(m.name.name, m);
      out.push(m);
      this.typeExpr(m.fieldType);
    }
    return out;
  }

  private typeExpr(t: TypeExpr): void {
    const n = t.name.name;
    if (n === "enum") {
      if (!t.enumValues || t.enumValues.length === 0)
        this.report(t, "type-mismatch", `enum needs its values: enum("a", "b").`);
      return;
    }
    if (t.enumValues) {
      this.report(t.name, "type-mismatch", `Only enum(...) takes values; '${n}' does not.`);
      return;
    }
    if ((FIELD_TYPES as readonly string[]).includes(n)) return;
    const ref: Reference = { type: "Reference", segments: [t.name], start: t.name.start, end: t.name.end };
    if (!lookup(this.table, "type", n) && !this.hasAnyKind(n)) {
      const near = nearest(n, [...FIELD_TYPES, ...this.table.ofKind("type").map((s) => s.name)]);
      this.references.push({
        path: this.filePath,
        span: t.name,
        expected: "type",
        name: n,
        target: undefined,
      });
      this.report(
        t.name,
        "unknown-reference",
        `Unknown type '${n}': expected string, number, integer, boolean, json, enum(...) or a declared type${near ? ` (did you mean '${near}'?)` : ""}.`,
        near ? this.replaceFix(`Change to '${near}'`, near) : {},
      );
      return;
    }
    this.resolve(ref, "type");
  }

  private hasAnyKind(name: string): boolean {
    return this.table.anyKind(name) !== undefined;
  }

  // ---- declarations ------------------------------------------------------------------------

  private declaration(decl: Declaration): void {
    const name = declarationName(decl) ?? "";
    const label = decl.kind === "test" ? `test "${name}"` : `${decl.kind} '${name}'`;
    const owner: Span = decl.name ?? decl.keyword;
    const schema = DECLARATION_SCHEMAS[decl.kind];
    this.inTest = decl.kind === "test";
    const p = props(decl.body);
    if (decl.kind === "backend") this.currentBackendProvider = wordOf(p.get("provider")?.value);
    if (decl.kind !== "type") this.block(decl.body, schema, owner, label);
    switch (decl.kind) {
      case "type": {
        const fs = this.fieldsBlock(decl.body);
        if (fs.length === 0)
          this.report(
            owner,
            "missing-property",
            `${label} has no fields: declare at least one, as in 'id: string'.`,
          );
        break;
      }
      case "backend":
        this.backend(decl, owner);
        break;
      case "tool":
        this.tool(decl);
        break;
      case "context":
        this.context(decl);
        break;
      case "mcp":
        this.mcp(decl, owner, label);
        break;
      case "agent":
        this.agent(decl, owner, label);
        break;
      case "test":
        this.test(decl, owner, label);
        break;
      case "memory":
        break;
    }
    this.inTest = false;
  }

  private backend(decl: Declaration, owner: Span): void {
    const p = props(decl.body);
    const kind = wordOf(p.get("kind")?.value);
    const providerProp = p.get("provider");
    const provider = wordOf(providerProp?.value);
    if (providerProp && kind && provider) {
      if (kind === "stateful" && provider !== "bedrock" && provider !== "local")
        this.report(
          providerProp.value,
          "backend-mismatch",
          `A stateful backend runs in the Statecraft runtime with provider bedrock or local; '${provider}' is a stateless API (use kind: stateless).`,
        );
      if (kind === "stateless" && provider === "bedrock")
        this.report(
          providerProp.value,
          "backend-mismatch",
          `Bedrock runs behind the stateful runtime: use kind: stateful with provider bedrock (or a stateless provider: openai, azure, compatible, local).`,
        );
    }
    if ((provider === "azure" || provider === "compatible") && !p.has("endpoint"))
      this.report(
        owner,
        "missing-property",
        `${provider === "azure" ? "An" : "A"} ${provider} backend needs 'endpoint': the base URL of the ${provider === "azure" ? "Azure OpenAI resource" : "server"}.`,
        {
          fixes: [
            {
              kind: "insertProperty",
              property: "endpoint",
              snippet: 'endpoint: "$1"',
              blockEnd: decl.body.end - 1,
              indent: "",
            },
          ],
        },
      );
    const model = p.get("model");
    if (model && provider) this.model(model, provider, p.has("context_window"));
  }

  private model(model: Property, provider: string, hasWindow: boolean): void {
    if (model.value.type !== "String" || hasWindow) return;
    if (provider !== "openai" && provider !== "azure" && provider !== "bedrock") return;
    const id = model.value.value;
    if (lookupModel(provider as Provider, id)) return;
    const near = nearestModel(provider as Provider, id);
    this.report(
      model.value,
      "unknown-model",
      `'${id}' is not in the built-in ${provider} catalog${near ? ` (did you mean '${near}'?)` : ""}; if it is right, set context_window on the backend so budgets can be checked.`,
      near ? this.replaceFix(`Change to '${near}'`, `"${near}"`) : {},
    );
  }

  private toolInputFields(tool: Symbol | undefined): FieldDecl[] {
    return tool ? fields(blocks(tool.decl.body).get("input")?.body) : [];
  }

  private tool(decl: Declaration): void {
    const p = props(decl.body);
    const run = p.get("run")?.value;
    if (run && run.type === "Call") {
      const inputNames = fields(blocks(decl.body).get("input")?.body).map((f) => f.name.name);
      // The generic check already validated the call; templates need the tool's own input fields.
      const roots = new Map<string, string[] | null>([
        ["input", inputNames],
        ["user", ["id", "name"]],
        ["session", ["id", "turn"]],
      ]);
      for (const arg of run.args) {
        if (arg.type === "String") this.templates(arg, roots);
        if (arg.type === "List") for (const i of arg.items) if (i.type === "String") this.templates(i, roots);
      }
    }
  }

  private context(decl: Declaration): void {
    const from = props(decl.body).get("from")?.value;
    if (from && from.type === "Call") {
      const roots = new Map<string, string[] | null>([
        ["user", ["id", "name"]],
        ["session", ["id", "turn"]],
      ]);
      for (const arg of from.args)
        if (arg.type === "String" && from.callee.name !== "file") this.templates(arg, roots);
    }
  }

  private mcp(decl: Declaration, owner: Span, label: string): void {
    const p = props(decl.body);
    const cmd = p.get("command");
    const url = p.get("url");
    if (!cmd && !url)
      this.report(
        owner,
        "missing-property",
        `${label} needs exactly one of 'command' (a local server over stdio) or 'url' (streamable HTTP).`,
        {
          fixes: [
            {
              kind: "insertProperty",
              property: "command",
              snippet: 'command: command("${1:node}", ["${2:server.js}"])',
              blockEnd: decl.body.end - 1,
              indent: "",
            },
          ],
        },
      );
    if (cmd && url) {
      const second = cmd.start > url.start ? cmd : url;
      this.report(
        second.name,
        "duplicate-property",
        `${label} has both 'command' and 'url': an MCP server has exactly one transport; remove one.`,
      );
    }
  }

  private backendOf(agentProps: Map<string, Property>): {
    sym?: Symbol;
    provider: string;
    model?: string;
    window?: number;
  } {
    const ref = agentProps.get("backend")?.value;
    let sym: Symbol | undefined;
    if (ref && ref.type === "Reference") sym = lookup(this.table, "backend", ref.segments[0].name);
    else {
      const all = symbolsOfKind(this.table, "backend");
      if (all.length === 1) sym = all[0];
    }
    if (!sym) return { provider: "local" };
    const bp = props(sym.decl.body);
    const win = bp.get("context_window")?.value;
    return {
      sym,
      provider: wordOf(bp.get("provider")?.value) ?? "local",
      model: stringOf(bp.get("model")?.value),
      window: win && win.type === "Number" ? win.value : undefined,
    };
  }

  private agent(decl: Declaration, owner: Span, label: string): void {
    const p = props(decl.body);
    const b = blocks(decl.body);
    const backends = symbolsOfKind(this.table, "backend");
    if (!p.has("backend")) {
      if (backends.length > 1)
        this.report(
          owner,
          "missing-property",
          `${label} needs 'backend': these files declare ${backends.length} backends (${backends.map((s) => s.name).join(", ")}), so say which one runs it.`,
          {
            fixes: [
              {
                kind: "insertProperty",
                property: "backend",
                snippet: `backend: \${1|${backends.map((s) => s.name).join(",")}|}`,
                blockEnd: decl.body.end - 1,
                indent: "",
              },
            ],
          },
        );
      else if (backends.length === 1) this.implicitUses.push(backends[0].decl);
    }
    const backend = this.backendOf(p);
    const modelProp = p.get("model");
    if (modelProp) this.model(modelProp, backend.provider, backend.window !== undefined);

    // Memory fields and vars, for templates.
    const memRef = p.get("memory")?.value;
    const memSym =
      memRef && memRef.type === "Reference"
        ? lookup(this.table, "memory", memRef.segments[0].name)
        : undefined;
    const memFields = memSym
      ? fields(blocks(memSym.decl.body).get("fields")?.body).map((f) => f.name.name)
      : [];
    const vars = (b.get("vars")?.body.members ?? [])
      .filter((m) => m.type === "Property")
      .map((m) => (m as Property).name.name);
    const instructions = p.get("instructions")?.value;
    if (instructions && instructions.type === "String")
      this.templates(
        instructions,
        new Map<string, string[] | null>([
          ["vars", vars],
          ["memory", memFields],
          ["user", ["id", "name"]],
          ["session", ["id", "turn"]],
        ]),
      );

    // Scopes: every tool's `requires` must be covered by identity.scopes.
    const scopesValue = b.get("identity") ? props(b.get("identity")!.body).get("scopes")?.value : undefined;
    const scopes = new Set(
      scopesValue && scopesValue.type === "List"
        ? scopesValue.items.filter((i) => i.type === "String").map((i) => (i as StringLiteral).value)
        : [],
    );
    const toolsValue = p.get("tools")?.value;
    const toolSyms: Symbol[] = [];
    if (toolsValue && toolsValue.type === "List") {
      for (const item of toolsValue.items) {
        if (item.type !== "Reference") continue;
        const sym = lookup(this.table, "tool", item.segments[0].name);
        if (!sym) continue;
        toolSyms.push(sym);
        const req = props(sym.decl.body).get("requires")?.value;
        const needed =
          req && req.type === "List"
            ? req.items.filter((i) => i.type === "String").map((i) => (i as StringLiteral).value)
            : [];
        const lacking = needed.filter((s) => !scopes.has(s));
        if (lacking.length)
          this.report(
            item,
            "missing-scope",
            `Tool '${sym.name}' requires ${lacking.map((s) => `"${s}"`).join(", ")}, which ${lacking.length > 1 ? "are" : "is"} not among the identity scopes of ${label}; add ${lacking.length > 1 ? "them" : "it"} to identity { scopes: [...] } or remove the tool.`,
          );
      }
    }

    // Policy rules.
    const policy = b.get("policy")?.body;
    for (const m of policy?.members ?? []) {
      if (m.type !== "Deny") continue;
      const tool = this.resolve(m.tool, "tool");
      if (m.condition) this.condition(m.condition, tool);
    }

    this.budget(decl, p, backend, toolSyms, memSym);
  }

  private budget(
    decl: Declaration,
    p: Map<string, Property>,
    backend: { provider: string; model?: string; window?: number },
    tools: Symbol[],
    _memory: Symbol | undefined,
  ): void {
    const modelId = stringOf(p.get("model")?.value) ?? backend.model;
    const info: ModelInfo | undefined =
      backend.provider === "local"
        ? LOCAL_MODEL
        : modelId
          ? lookupModel(backend.provider as Provider, modelId)
          : undefined;
    const window = backend.window ?? info?.contextWindow;
    if (!window) return;
    const instructions = stringOf(p.get("instructions")?.value) ?? "";
    const inst = countTokensForModel(instructions, info).tokens;
    let ctx = 0;
    const ctxValue = p.get("context")?.value;
    for (const item of ctxValue && ctxValue.type === "List" ? ctxValue.items : []) {
      if (item.type !== "Reference") continue;
      const sym = lookup(this.table, "context", item.segments[0].name);
      if (!sym) continue;
      const cp = props(sym.decl.body);
      const max = cp.get("max_tokens")?.value;
      if (max && max.type === "Number") {
        ctx += max.value;
        continue;
      }
      const from = cp.get("from")?.value;
      if (from && from.type === "Call" && from.callee.name === "file" && from.args[0]?.type === "String") {
        const text = this.program.fs.readFile(path.resolve(path.dirname(sym.path), from.args[0].value));
        if (text !== undefined) ctx += countTokensForModel(text, info).tokens;
      }
    }
    let toolTokens = 0;
    for (const t of tools) {
      const schema = {
        name: t.name,
        description: stringOf(props(t.decl.body).get("description")?.value) ?? "",
        parameters: toolParameters(t.decl, this.table),
      };
      toolTokens += countTokensForModel(JSON.stringify(schema), info).tokens;
    }
    const total = inst + ctx + toolTokens;
    if (total > window / 2) {
      const f = (n: number) => n.toLocaleString("en-US");
      this.report(
        decl.name ?? decl.keyword,
        "context-budget",
        `The fixed context of agent '${declarationName(decl)}' is ${f(total)} tokens (instructions ${f(inst)}, context ${f(ctx)}, tool schemas ${f(toolTokens)}): more than half of the ${f(window)}-token window${modelId ? ` of ${modelId}` : ""}, leaving little room for history and replies.`,
      );
    }
  }

  /** Checks a policy condition: it reads the tool's input as input.FIELD, compared with values of the field's type. */
  private condition(e: Expr, tool: Symbol | undefined): void {
    const inputFields = this.toolInputFields(tool);
    const fieldOf = (v: Value): FieldDecl | undefined => {
      if (v.type !== "Reference") return undefined;
      const [root, field] = v.segments;
      if (["true", "false", "null"].includes(root.name) && v.segments.length === 1) return undefined;
      if (root.name !== "input") {
        this.report(
          v,
          "unknown-reference",
          `Conditions read the tool's input: write input.FIELD${inputFields.length ? `, e.g. input.${inputFields[0].name.name}` : ""}; found '${referenceText(v)}'.`,
        );
        return undefined;
      }
      if (!field) {
        this.report(
          v,
          "unknown-tool-input",
          `Name a field of the input, e.g. input.${inputFields[0]?.name.name ?? "amount"}.`,
        );
        return undefined;
      }
      if (!tool) return undefined;
      const f = inputFields.find((x) => x.name.name === field.name);
      if (!f) {
        const near = nearest(
          field.name,
          inputFields.map((x) => x.name.name),
        );
        this.report(
          field,
          "unknown-tool-input",
          `Tool '${tool.name}' has no input field '${field.name}'${near ? `: did you mean '${near}'?` : inputFields.length ? `; its fields are ${inputFields.map((x) => x.name.name).join(", ")}.` : "; it takes no input."}`,
          near ? this.replaceFix(`Change to '${near}'`, near) : {},
        );
      }
      return f;
    };
    const walk = (x: Expr): void => {
      if (x.type === "Not") return walk(x.operand);
      if (x.type === "ValueExpr") {
        fieldOf(x.value);
        return;
      }
      if (x.op === "and" || x.op === "or") {
        walk(x.left);
        walk(x.right);
        return;
      }
      const lf = x.left.type === "ValueExpr" ? fieldOf(x.left.value) : (walk(x.left), undefined);
      const rf = x.right.type === "ValueExpr" ? fieldOf(x.right.value) : (walk(x.right), undefined);
      const [f, lit] = lf ? [lf, x.right] : rf ? [rf, x.left] : [undefined, undefined];
      if (!f || !lit || lit.type !== "ValueExpr") return;
      const k = fieldKind(f);
      const litValue = lit.value;
      if (litValue.type === "Reference") return;
      let problem: string | undefined;
      if (x.op === "contains") {
        if (!k.list && k.kind !== "string" && k.kind !== "json")
          problem = `'contains' needs a string or list field; input.${f.name.name} is ${f.fieldType.name.name}`;
      } else if (x.op === "matches") {
        if (k.kind !== "string" && k.kind !== "enum")
          problem = `'matches' needs a string field; input.${f.name.name} is ${f.fieldType.name.name}`;
        else if (litValue.type !== "String") problem = `'matches' takes a regular expression as a string`;
        else {
          try {
            new RegExp(litValue.value);
          } catch (err) {
            this.report(litValue, "type-mismatch", `${regexProblem(err)}.`);
            return;
          }
        }
      } else if (["<", "<=", ">", ">="].includes(x.op)) {
        if (k.list || (k.kind !== "number" && k.kind !== "integer"))
          problem = `'${x.op}' compares numbers; input.${f.name.name} is ${typeExprText(f.fieldType)}`;
        else if (litValue.type !== "Number")
          problem = `input.${f.name.name} is a number; compared with ${valueKind(litValue)}`;
      } else {
        const expected = literalFits(litValue, k);
        if (expected)
          problem = `input.${f.name.name} is ${typeExprText(f.fieldType)}; compared with ${valueKind(litValue)} (expected ${expected})`;
      }
      if (problem) this.report(litValue, "unknown-tool-input", `${problem}.`);
    };
    walk(e);
  }

  /** Checks an object of tool input (a scripted call or an expectation) against the tool's fields. */
  private toolInput(
    obj: ObjectValue,
    tool: Symbol | undefined,
    memoryFields: string[] | undefined,
    isMemoryTool: boolean,
  ): void {
    if (isMemoryTool) {
      for (const e of obj.entries) {
        if (e.key.name !== "field" && e.key.name !== "value") {
          this.report(
            e.key,
            "unknown-tool-input",
            `The built-in '${MEMORY_TOOL}' tool takes { field, value }; found '${e.key.name}'.`,
          );
        } else if (e.key.name === "field" && memoryFields?.length) {
          if (e.value.type !== "String")
            this.report(e.value, "unknown-tool-input", `'field' is the name of a memory field, as a string.`);
          else if (!memoryFields.includes(e.value.value)) {
            const near = nearest(e.value.value, memoryFields);
            this.report(
              e.value,
              "unknown-tool-input",
              `The agent's memory has no field '${e.value.value}'${near ? `: did you mean '${near}'?` : `; its fields are ${memoryFields.join(", ")}.`}`,
            );
          }
        }
      }
      return;
    }
    if (!tool) return;
    const inputFields = this.toolInputFields(tool);
    for (const e of obj.entries) {
      const f = inputFields.find((x) => x.name.name === e.key.name);
      if (!f) {
        const near = nearest(
          e.key.name,
          inputFields.map((x) => x.name.name),
        );
        this.report(
          e.key,
          "unknown-tool-input",
          `Tool '${tool.name}' has no input field '${e.key.name}'${near ? `: did you mean '${near}'?` : inputFields.length ? `; its fields are ${inputFields.map((x) => x.name.name).join(", ")}.` : "; it takes no input."}`,
          near ? this.replaceFix(`Change to '${near}'`, near) : {},
        );
        continue;
      }
      const expected = literalFits(e.value, fieldKind(f));
      if (expected)
        this.report(
          e.value,
          "unknown-tool-input",
          `Input '${e.key.name}' of tool '${tool.name}' is ${typeExprText(f.fieldType)}; found ${valueKind(e.value)} (expected ${expected}).`,
        );
    }
  }

  private test(decl: Declaration, owner: Span, label: string): void {
    const p = props(decl.body);
    const agentRef = p.get("agent")?.value;
    const agent =
      agentRef && agentRef.type === "Reference"
        ? lookup(this.table, "agent", agentRef.segments[0].name)
        : undefined;
    let memoryFields: string[] | undefined;
    if (agent) {
      const mem = props(agent.decl.body).get("memory")?.value;
      const memSym =
        mem && mem.type === "Reference" ? lookup(this.table, "memory", mem.segments[0].name) : undefined;
      memoryFields = memSym
        ? fields(blocks(memSym.decl.body).get("fields")?.body).map((f) => f.name.name)
        : [];
    }
    // Which backend the test runs on: the implicit local one unless it names a non-local backend.
    const backendRef = p.get("backend")?.value;
    let live: string | undefined;
    if (backendRef && backendRef.type === "Reference") {
      const sym = lookup(this.table, "backend", backendRef.segments[0].name);
      const provider = sym ? wordOf(props(sym.decl.body).get("provider")?.value) : "local";
      if (provider !== "local") live = backendRef.segments[0].name;
    }
    const steps = decl.body.members.filter((m): m is TestStep => m.type === "Step");
    if (!steps.some((s) => s.step === "send"))
      this.report(
        owner,
        "missing-property",
        `${label} has no 'send' step: add at least one, as in send "Hello".`,
        {
          fixes: [
            {
              kind: "insertProperty",
              property: "send",
              snippet: 'send "$1"',
              blockEnd: decl.body.end - 1,
              indent: "",
            },
          ],
        },
      );
    const isMemoryTool = (r: Reference) => r.segments.length === 1 && r.segments[0].name === MEMORY_TOOL;
    const toolRef = (r: Reference) => {
      if (!isMemoryTool(r)) return this.resolve(r, "tool", [MEMORY_TOOL]);
      // Only an agent whose memory has fields is given the built-in tool (language.md 3.5).
      if (memoryFields?.length === 0)
        this.report(
          r,
          "unknown-reference",
          `Agent '${agent?.name}' has no memory fields, so it has no '${MEMORY_TOOL}' tool: give it a memory with fields { ... }.`,
        );
      return undefined;
    };
    for (const s of steps) {
      if (live && s.step.startsWith("model."))
        this.report(
          s.keyword,
          "scripted-step-live",
          `Scripted 'model' steps only work on the local backend; this test runs on '${live}'. Remove the step or use backend: local.`,
        );
      switch (s.step) {
        case "model.calls":
          this.toolInput(s.input, toolRef(s.tool), memoryFields, isMemoryTool(s.tool));
          break;
        case "model.hands_off":
        case "expect.handoff":
          this.resolve(s.agent, "agent");
          break;
        case "tool.returns":
        case "tool.fails":
        case "approve":
        case "reject":
          toolRef(s.tool);
          break;
        case "expect.tool": {
          const t = toolRef(s.tool);
          if (s.with) this.toolInput(s.with, t, memoryFields, isMemoryTool(s.tool));
          break;
        }
        case "expect.memory": {
          const field = s.path.segments[1];
          if (memoryFields && !memoryFields.includes(field.name)) {
            const near = nearest(field.name, memoryFields);
            this.report(
              field,
              "unknown-reference",
              `The memory of agent '${agent?.name}' has no field '${field.name}'${near ? `: did you mean '${near}'?` : memoryFields.length ? `; its fields are ${memoryFields.join(", ")}.` : "."}`,
              near ? this.replaceFix(`Change to '${near}'`, near) : {},
            );
          }
          break;
        }
        case "expect.tokens":
        case "expect.turns":
          if (s.value.type !== "Number")
            this.report(
              s.value,
              "type-mismatch",
              `'expect ${s.step.slice(7)}' compares with a number; found ${valueKind(s.value)}.`,
            );
          else if (!["<", "<=", ">", ">=", "==", "!="].includes(s.op))
            this.report(s.opSpan, "type-mismatch", `'expect ${s.step.slice(7)}' takes == != < <= > or >=.`);
          break;
        case "expect.reply":
          if (s.op === "matches") {
            try {
              new RegExp(s.text.value);
            } catch (err) {
              this.report(s.text, "type-mismatch", `${regexProblem(err)}.`);
            }
          }
          break;
        default:
          break;
      }
    }
  }

  private line(offset: number): number {
    return LineIndex.of(this.text).position(offset).line + 1;
  }
}

/** A RegExp syntax error as one sentence (V8's message already starts "Invalid regular expression: "). */
function regexProblem(err: unknown): string {
  return `Invalid regular expression: ${(err as Error).message.replace(/^Invalid regular expression: /, "")}`;
}

/** A plain span: related information is data, not a piece of the AST. */
function spanOf(s: Span): Span {
  return { start: s.start, end: s.end };
}

/** "a tool", "an agent". */
function aKind(kind: DeclarationKind): string {
  return `${kind === "agent" || kind === "mcp" ? "an" : "a"} ${kind}`;
}

function wordOf(v: Value | undefined): string | undefined {
  if (!v) return undefined;
  if (v.type === "Reference") return referenceText(v);
  if (v.type === "String") return v.value;
  return undefined;
}

function stringOf(v: Value | undefined): string | undefined {
  return v && v.type === "String" ? v.value : undefined;
}

/** `duplicate-declaration` for every repeated kind and name in a closure, on the later declaration. */
export function duplicateDiagnostics(program: Program, table: SymbolTable, onlyIn?: string): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const dup of table.duplicates) {
    const name = dup.symbol.decl.name;
    if (!name || (onlyIn !== undefined && dup.symbol.path !== onlyIn)) continue;
    const firstText = program.get(dup.first.path)?.file.text ?? "";
    const line = LineIndex.of(firstText).position(dup.first.decl.start).line + 1;
    out.push(
      diagnostic(
        dup.symbol.path,
        name,
        "duplicate-declaration",
        `Duplicate ${dup.symbol.kind} '${dup.symbol.name}': already declared at ${path.basename(dup.first.path)}:${line}. Rename or remove one.`,
        {
          related: [
            {
              path: dup.first.path,
              span: spanOf(dup.first.decl.name ?? dup.first.decl),
              message: `First declaration of ${dup.symbol.kind} '${dup.symbol.name}'`,
            },
          ],
        },
      ),
    );
  }
  return out;
}

export function analyzeFile(program: Program, filePath: string): FileAnalysis {
  return new FileValidator(program, path.resolve(filePath)).run();
}

export const UNUSED_KINDS: ReadonlySet<DeclarationKind> = new Set([
  "tool",
  "context",
  "memory",
  "type",
  "backend",
]);

/**
 * Validates files and returns the diagnostics of every file in their
 * closures, deduplicated and sorted. Unused declarations are judged against
 * the references of every file the program has loaded.
 */
export function checkFiles(program: Program, roots: string[]): Diagnostic[] {
  const files = new Set<string>();
  for (const r of roots) for (const p of program.closure(r)) files.add(p);
  const analyses = new Map<string, FileAnalysis>();
  for (const f of program.allFiles()) analyses.set(f.file.path, analyzeFile(program, f.file.path));
  const used = new Set<Declaration>();
  for (const a of analyses.values()) {
    for (const r of a.references) if (r.target) used.add(r.target.decl);
    for (const d of a.implicitUses) used.add(d);
  }
  const out: Diagnostic[] = [];
  const seen = new Set<string>();
  const add = (d: Diagnostic) => {
    if (!files.has(d.path)) return;
    const key = `${d.path}\0${d.span.start}\0${d.span.end}\0${d.code}\0${d.message}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push(d);
  };
  for (const a of analyses.values()) a.diagnostics.forEach(add);
  for (const f of files) {
    const pf = program.get(f);
    for (const decl of pf?.file.declarations ?? []) {
      if (!UNUSED_KINDS.has(decl.kind) || used.has(decl) || !decl.name) continue;
      add(
        diagnostic(
          f,
          decl.name,
          "unused-declaration",
          `${decl.kind} '${declarationName(decl)}' is not used by any agent, tool or test.`,
          {
            unnecessary: true,
          },
        ),
      );
    }
  }
  return out.sort(compareDiagnostics);
}

export type { Identifier };
