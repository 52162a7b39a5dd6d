// Semantic tokens: a classification of the words of a file that the TextMate
// grammar cannot make, because keywords are contextual and a name's colour
// depends on what it resolves to. The walk follows the schema, so a word is
// an enum member where its property takes enum words and a reference where
// it takes a declaration's name. Tokens never overlap and never span lines
// (a text block gives one token per line), and are encoded as LSP's relative
// five-integer groups with UTF-16 positions.

import * as path from "node:path";
import {
  type Block,
  type CallValue,
  type DeclarationKind,
  type Declaration,
  type DenyRule,
  type Expr,
  type FieldDecl,
  type Identifier,
  type ObjectValue,
  type Reference,
  type SourceFile,
  type AtLeast,
  type Span,
  type Step,
  type StringLiteral,
  type Value,
} from "./ast";
import { LineIndex } from "./lineIndex";
import { children } from "./locate";
import type { SymbolTable } from "./program";
import {
  BUILTIN_CALLS,
  CASE_SCHEMA,
  DECLARATION_SCHEMAS,
  FIELD_TYPES,
  type BlockSchema,
  type PropType,
} from "./schema";
import type { LanguageService } from "./languageService";
import { MEMORY_TOOL } from "../protocol/names";

/** The legend's token types, in the order their indexes are encoded. */
export const TOKEN_TYPES = [
  "keyword",
  "type",
  "function",
  "variable",
  "property",
  "enumMember",
  "string",
  "number",
  "comment",
  "operator",
  "parameter",
  "namespace",
] as const;
export type TokenType = (typeof TOKEN_TYPES)[number];

/** The legend's modifiers, bit i for entry i. */
export const TOKEN_MODIFIERS = ["declaration", "readonly", "defaultLibrary"] as const;
export type TokenModifier = (typeof TOKEN_MODIFIERS)[number];

/**
 * How declaration names and references to them are coloured: tools are
 * called, types are types, MCP servers group tools, and agents, memories,
 * contexts and backends are named values.
 */
export const KIND_TOKEN: Readonly<Record<DeclarationKind, TokenType>> = {
  tool: "function",
  type: "type",
  mcp: "namespace",
  connection: "namespace",
  agent: "variable",
  memory: "variable",
  context: "variable",
  backend: "variable",
  test: "variable",
  eval: "variable",
};

/** One token on one line; `character` and `length` count UTF-16 code units. */
export interface SemanticToken {
  line: number;
  character: number;
  length: number;
  type: TokenType;
  modifiers: TokenModifier[];
}

/** The template roots the language defines (user-defined names are only the fields under them). */
const TEMPLATE_ROOTS: ReadonlySet<string> = new Set(["vars", "memory", "user", "session", "input"]);
/** Comparison operators and the arrow, as they appear between the words of a statement. */
const STATEMENT_WORD = /[A-Za-z_][A-Za-z0-9_]*|==|!=|<=|>=|->|<|>/g;

/** The tokens of a file, or of the part of it that `range` (offsets) overlaps. */
export function semanticTokens(service: LanguageService, filePath: string, range?: Span): SemanticToken[] {
  const key = path.resolve(filePath);
  const file = service.program.get(key)?.file;
  if (!file) return [];
  const collector = new Collector(file, service.program.symbols(key));
  collector.collect();
  return layout(collector.raw, new LineIndex(file.text), range);
}

/** LSP's encoding: per token, line and start relative to the previous token, length, type index, modifier bits. */
export function encodeSemanticTokens(tokens: readonly SemanticToken[]): number[] {
  const data: number[] = [];
  let line = 0;
  let character = 0;
  for (const t of tokens) {
    const deltaLine = t.line - line;
    data.push(
      deltaLine,
      deltaLine === 0 ? t.character - character : t.character,
      t.length,
      TOKEN_TYPES.indexOf(t.type),
      t.modifiers.reduce((bits, m) => bits | (1 << TOKEN_MODIFIERS.indexOf(m)), 0),
    );
    line = t.line;
    character = t.character;
  }
  return data;
}

interface RawToken extends Span {
  type: TokenType;
  modifiers: TokenModifier[];
}

/** Sorts, drops overlaps, splits multi-line tokens per line, keeps those overlapping `range`. */
function layout(raw: RawToken[], index: LineIndex, range: Span | undefined): SemanticToken[] {
  raw.sort((a, b) => a.start - b.start || a.end - b.end);
  const out: SemanticToken[] = [];
  let last = 0;
  // Tokens come in source order, so the line of each is found by walking forward, not by searching.
  let line = 0;
  const lineOf = (offset: number) => {
    while (line + 1 < index.lineCount && index.lineStart(line + 1) <= offset) line++;
    return line;
  };
  for (const t of raw) {
    if (t.start < last) continue;
    last = t.end;
    const first = lineOf(t.start);
    const final = lineOf(t.end);
    for (let l = first; l <= final; l++) {
      const start = l === first ? t.start : index.lineStart(l);
      const end = l === final ? t.end : index.lineEnd(l);
      if (end <= start) continue;
      if (range && (end <= range.start || start >= range.end)) continue;
      out.push({
        line: l,
        character: start - index.lineStart(l),
        length: end - start,
        type: t.type,
        modifiers: t.modifiers,
      });
    }
  }
  return out;
}

class Collector {
  readonly raw: RawToken[] = [];
  private readonly text: string;
  private declKind: DeclarationKind | undefined;

  constructor(
    private readonly file: SourceFile,
    private readonly table: SymbolTable,
  ) {
    this.text = file.text;
  }

  /** Comments overlapping a span: a binary search, since a file may have thousands of both. */
  private commentsWithin(span: Span): Span[] {
    const comments = this.file.comments;
    let lo = 0;
    let hi = comments.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (comments[mid].end <= span.start) lo = mid + 1;
      else hi = mid;
    }
    const out: Span[] = [];
    for (let i = lo; i < comments.length && comments[i].start < span.end; i++) out.push(comments[i]);
    return out;
  }

  private add(span: Span, type: TokenType, modifiers: TokenModifier[] = []): void {
    if (span.end > span.start) this.raw.push({ start: span.start, end: span.end, type, modifiers });
  }

  collect(): void {
    for (const c of this.file.comments) this.add(c, "comment");
    for (const imp of this.file.imports) {
      this.add(imp.keyword, "keyword");
      this.string(imp.path);
    }
    for (const d of this.file.declarations) this.declaration(d);
  }

  private declaration(d: Declaration): void {
    this.declKind = d.kind;
    this.add(d.keyword, "keyword");
    if (d.name) this.add(d.name, d.name.type === "String" ? "string" : KIND_TOKEN[d.kind], ["declaration"]);
    if (d.kind === "type") this.members(d.body, undefined, "property");
    else this.members(d.body, DECLARATION_SCHEMAS[d.kind], "property");
  }

  /** `fieldRole`: how field names in this block are coloured (a tool's input fields are its parameters). */
  private members(block: Block, schema: BlockSchema | undefined, fieldRole: "property" | "parameter"): void {
    for (const m of block.members) {
      switch (m.type) {
        case "Property":
        case "BlockMember": {
          const name = m.name.name;
          const known = schema !== undefined && Object.hasOwn(schema.props, name);
          const type = known ? schema.props[name].type : schema?.open;
          // Entries of an open block (vars, env) declare their names.
          this.add(m.name, "property", !known && schema?.open ? ["declaration", "readonly"] : []);
          if (m.type === "Property") this.value(m.value, type);
          else
            this.members(
              m.body,
              type?.t === "block" ? type.block : undefined,
              this.declKind === "tool" && name === "input" ? "parameter" : "property",
            );
          break;
        }
        case "Field":
          this.field(m, fieldRole);
          break;
        case "Deny":
          this.deny(m);
          break;
        case "Step":
          this.step(m);
          break;
        case "Case":
          this.add(m.keyword, "keyword");
          if (m.name) this.string(m.name);
          this.members(m.body, CASE_SCHEMA, "property");
          break;
      }
    }
  }

  private field(f: FieldDecl, role: "property" | "parameter"): void {
    this.add(f.name, role, ["declaration"]);
    const t = f.fieldType.name;
    if ((FIELD_TYPES as readonly string[]).includes(t.name) || t.name === "enum")
      this.add(t, "type", ["defaultLibrary"]);
    else this.named(t, "type");
    for (const s of f.fieldType.enumValues ?? []) this.string(s);
    if (f.description) this.string(f.description);
  }

  // ---- values --------------------------------------------------------------------------------

  private value(v: Value, type: PropType | undefined): void {
    switch (v.type) {
      case "String":
        this.string(v);
        return;
      case "Number":
        this.add(v, "number");
        return;
      case "Boolean":
      case "Null":
        this.add(v, "keyword");
        return;
      case "Reference":
        this.reference(v, type);
        return;
      case "List":
        for (const item of v.items) this.value(item, type?.t === "list" ? type.of : undefined);
        return;
      case "Object": {
        const keys = type?.t === "object" ? type.keys : undefined;
        for (const e of v.entries) {
          this.add(e.key, "property");
          this.value(e.value, keys && Object.hasOwn(keys, e.key.name) ? keys[e.key.name] : undefined);
        }
        return;
      }
      case "Call":
        this.call(v);
        return;
      case "Missing":
        return;
    }
  }

  private call(v: CallValue): void {
    this.add(v.callee, "function", Object.hasOwn(BUILTIN_CALLS, v.callee.name) ? ["defaultLibrary"] : []);
    v.args.forEach((arg, i) =>
      this.value(arg, v.callee.name === "mcp" && i === 0 ? { t: "ref", kind: "mcp" } : undefined),
    );
  }

  private reference(v: Reference, type: PropType | undefined): void {
    const [first, ...rest] = v.segments;
    if (type?.t === "enum") {
      for (const s of v.segments) this.add(s, "enumMember");
      return;
    }
    if (type?.t === "ref") this.named(first, type.kind);
    else if (type?.t === "typeRef" && (FIELD_TYPES as readonly string[]).includes(first.name))
      this.add(first, "type", ["defaultLibrary"]);
    else if (type?.t === "typeRef") this.named(first, "type");
    else {
      const sym = this.table.anyKind(first.name);
      this.add(first, sym ? KIND_TOKEN[sym.kind] : "variable");
    }
    for (const s of rest) this.add(s, "property");
  }

  /** A name expected to be a declaration of `kind`, coloured by the kind it resolves to. */
  private named(id: Identifier, kind: DeclarationKind): void {
    const sym = this.table.lookup(kind, id.name) ?? this.table.anyKind(id.name);
    if (sym) return this.add(id, KIND_TOKEN[sym.kind]);
    // Built-in names that are not declarations: a test's `backend: local` and the memory tool.
    const scripted = this.declKind === "test" || this.declKind === "eval";
    if (scripted && kind === "backend" && id.name === "local")
      return this.add(id, "variable", ["defaultLibrary"]);
    if (scripted && kind === "tool" && id.name === MEMORY_TOOL)
      return this.add(id, "function", ["defaultLibrary"]);
    this.add(id, KIND_TOKEN[kind]);
  }

  /** A string, split around its templates: `{{ root.field }}` gives a variable and properties. */
  private string(s: StringLiteral): void {
    let pos = s.start;
    for (const t of s.templates) {
      const open = this.text.lastIndexOf("{{", t.start);
      const close = this.text.indexOf("}}", t.end);
      if (open < pos || close < 0 || close + 2 > s.end) continue;
      this.add({ start: pos, end: open }, "string");
      const root = t.path[0];
      t.segments.forEach((seg, i) => {
        if (i === 0) this.add(seg, "variable", TEMPLATE_ROOTS.has(root) ? ["defaultLibrary"] : []);
        else if (i === 1 && root === "input") this.add(seg, "parameter");
        else this.add(seg, "property", root === "vars" ? ["readonly"] : []);
      });
      pos = close + 2;
    }
    this.add({ start: pos, end: s.end }, "string");
  }

  // ---- statements ---------------------------------------------------------------------------

  private deny(d: DenyRule): void {
    this.add(d.keyword, "keyword");
    this.named(d.tool.segments[0], "tool");
    const covered: Span[] = [d.keyword, d.tool];
    if (d.condition) this.expr(d.condition, covered);
    this.statementWords(d, covered);
  }

  private expr(e: Expr, covered: Span[]): void {
    switch (e.type) {
      case "Binary":
        this.expr(e.left, covered);
        this.expr(e.right, covered);
        return;
      case "Not":
        this.expr(e.operand, covered);
        return;
      case "ValueExpr": {
        const v = e.value;
        covered.push(v);
        if (v.type === "Reference" && v.segments[0].name === "input") this.inputPath(v);
        else this.value(v, undefined);
      }
    }
  }

  /** `input.amount`: the tool's input and one of its parameters. */
  private inputPath(v: Reference): void {
    const [root, ...rest] = v.segments;
    this.add(root, "variable", ["defaultLibrary"]);
    rest.forEach((s, i) => this.add(s, i === 0 ? "parameter" : "property"));
  }

  private step(s: Step): void {
    this.add(s.keyword, "keyword");
    const tool = (r: Reference) => this.named(r.segments[0], "tool");
    const atLeast = (a: AtLeast | undefined) => {
      if (!a) return;
      this.add(a.keyword, "keyword");
      this.add(a.value, "number");
    };
    switch (s.step) {
      case "expect.trajectory":
        for (const item of s.tools.items) this.value(item, { t: "ref", kind: "tool" });
        if (s.mode) this.add(s.mode, "enumMember");
        break;
      case "judge":
        if (s.criterion.type === "String") this.string(s.criterion);
        else this.add(s.criterion, "function", ["defaultLibrary"]);
        atLeast(s.atLeast);
        break;
      case "score":
        this.call(s.command);
        atLeast(s.atLeast);
        break;
      case "judge.scores":
        this.add(s.verb, "keyword");
        this.add(s.score, "number");
        this.string(s.reason);
        break;
      case "user.says":
        this.add(s.verb, "keyword");
        this.string(s.text);
        break;
      case "expected":
      case "goal":
        this.string(s.text);
        break;
      case "send":
      case "model.replies":
      case "expect.reply":
        this.string(s.text);
        break;
      case "model.calls":
        tool(s.tool);
        this.input(s.input);
        break;
      case "model.hands_off":
      case "expect.handoff":
        this.named(s.agent.segments[0], "agent");
        break;
      case "tool.returns":
        tool(s.tool);
        this.value(s.value, undefined);
        break;
      case "tool.fails":
        tool(s.tool);
        this.string(s.message);
        break;
      case "approve":
      case "reject":
        tool(s.tool);
        break;
      case "expect.tool":
        tool(s.tool);
        if (s.with) this.input(s.with);
        break;
      case "expect.memory": {
        const [root, ...rest] = s.path.segments;
        this.add(root, "variable", ["defaultLibrary"]);
        for (const seg of rest) this.add(seg, "property");
        this.value(s.value, undefined);
        break;
      }
      case "expect.tokens":
      case "expect.turns":
        this.value(s.value, undefined);
        break;
    }
    this.statementWords(s, children(s));
  }

  /** A tool's input in a test step: its keys are the tool's parameters. */
  private input(o: ObjectValue): void {
    for (const e of o.entries) {
      this.add(e.key, "parameter");
      this.value(e.value, undefined);
    }
  }

  /**
   * The words of a statement that are not values (`when`, `and`, `not`,
   * `replies`, `called`, `with`, ...) are its keywords, and comparison signs
   * its operators: they are whatever lies between the statement's nodes.
   */
  private statementWords(stmt: Span, covered: Span[]): void {
    const nodes = [...covered, ...this.commentsWithin(stmt)].sort((a, b) => a.start - b.start);
    let pos = stmt.start;
    for (const node of [...nodes, { start: stmt.end, end: stmt.end }]) {
      if (node.start > pos) {
        for (const m of this.text.slice(pos, node.start).matchAll(STATEMENT_WORD)) {
          const start = pos + m.index;
          this.add({ start, end: start + m[0].length }, /^[A-Za-z_]/.test(m[0]) ? "keyword" : "operator");
        }
      }
      pos = Math.max(pos, node.end);
    }
  }
}
