// The error-tolerant recursive-descent parser. It never throws: each broken
// construct yields one diagnostic and the parser resynchronises at the next
// member (a new line or ',') or declaration boundary, so later declarations
// still parse. Missing pieces become zero-width nodes.

import {
  DECLARATION_KINDS,
  TRAJECTORY_MODES,
  type Block,
  type AtLeast,
  type BlockMode,
  type CallValue,
  type CaseBlock,
  type CompareOp,
  type Declaration,
  type DeclarationKind,
  type DenyRule,
  type Expr,
  type FieldDecl,
  type Identifier,
  type Import,
  type ListValue,
  type Member,
  type ObjectEntry,
  type ObjectValue,
  type Reference,
  type SourceFile,
  type Span,
  type Step,
  type StringLiteral,
  type TypeExpr,
  type Value,
} from "./ast";
import { diagnostic, type Diagnostic } from "./diagnostics";
import { printable } from "./encoding";
import { nearest } from "./editDistance";
import { tokenize, type Token, type TokenKind } from "./tokenize";

export interface ParseResult {
  file: SourceFile;
  diagnostics: Diagnostic[];
}

export const STEP_KEYWORDS = ["send", "model", "tool", "approve", "reject", "expect"] as const;
/** The words that start the steps only eval cases have (evals.md section 1). */
export const EVAL_STEP_KEYWORDS = ["judge", "score", "user", "expected", "goal"] as const;
/** A step without its end offset (distributes over the union). */
type StepInit = Step extends infer T ? (T extends Step ? Omit<T, "end"> : never) : never;

/** Deepest nesting of blocks, values and parentheses the parser follows. */
export const MAX_DEPTH = 200;

const COMPARE_TOKENS: ReadonlySet<string> = new Set(["==", "!=", "<", "<=", ">", ">="]);

/** Which parsing mode a nested block gets, by enclosing declaration kind and block name. */
export function blockModeFor(declKind: DeclarationKind | undefined, blockName: string): BlockMode {
  if (declKind === "tool" && blockName === "input") return "fields";
  if (declKind === "memory" && blockName === "fields") return "fields";
  if (declKind === "agent" && blockName === "policy") return "policy";
  return "members";
}

class Parser {
  private pos = 0;
  private readonly diagnostics: Diagnostic[] = [];
  private lastErrorEnd = -1;
  /** Set when a declaration keyword at the start of a line ended unclosed blocks early. */
  private abortedBlocks = false;
  private declKind: DeclarationKind | undefined;

  constructor(
    private readonly tokens: Token[],
    private readonly path: string,
  ) {}

  run(): { imports: Import[]; declarations: Declaration[]; diagnostics: Diagnostic[] } {
    const imports: Import[] = [];
    const declarations: Declaration[] = [];
    while (this.peek().kind !== "eof") {
      const t = this.peek();
      if (t.kind === "ident" && t.text === "import") {
        const imp = this.parseImport();
        if (imp) imports.push(imp);
      } else if (t.kind === "ident" && (DECLARATION_KINDS as readonly string[]).includes(t.text)) {
        declarations.push(this.parseDeclaration());
      } else {
        this.recoverTopLevel(t);
      }
    }
    return { imports, declarations, diagnostics: this.diagnostics };
  }

  // ---- token helpers -------------------------------------------------------

  private peek(k = 0): Token {
    return this.tokens[Math.min(this.pos + k, this.tokens.length - 1)];
  }

  private next(): Token {
    const t = this.peek();
    if (t.kind !== "eof") this.pos++;
    return t;
  }

  private at(kind: TokenKind, text?: string): boolean {
    const t = this.peek();
    return t.kind === kind && (text === undefined || t.text === text);
  }

  /** "Not closed" errors: a cascade when an unterminated text block or comment swallowed the closer. */
  readonly unclosed = new Set<Diagnostic>();
  private depth = 0;

  private error(span: Span, message: string, unclosed = false): void {
    // One error per broken construct: nothing inside a span already reported.
    if (span.start < this.lastErrorEnd) return;
    const d = diagnostic(this.path, span, "syntax", message);
    this.diagnostics.push(d);
    if (unclosed) this.unclosed.add(d);
    this.lastErrorEnd = Math.max(span.end, span.start + 1);
  }

  /**
   * Guards recursion: past MAX_DEPTH levels of nesting, one error and the
   * rest of the declaration is skipped, instead of overflowing the stack.
   */
  private tooDeep(): boolean {
    if (this.depth < MAX_DEPTH) return false;
    const t = this.peek();
    this.error(t, `Nesting deeper than ${MAX_DEPTH} levels is not supported.`);
    while (this.peek().kind !== "eof" && !this.isDeclarationStart()) this.next();
    return true;
  }

  private describe(t: Token): string {
    if (t.kind === "eof") return "the end of the file";
    if (t.kind === "string") return "a string";
    if (t.kind === "number") return `the number ${t.text}`;
    return `'${printable(t.text, true)}'`;
  }

  private ident(t: Token): Identifier {
    return { type: "Identifier", name: t.text, start: t.start, end: t.end };
  }

  private stringLit(t: Token): StringLiteral {
    return {
      type: "String",
      value: t.value ?? "",
      textBlock: t.textBlock ?? false,
      template: t.template ?? t.value ?? "",
      templates: t.templates ?? [],
      terminated: t.terminated ?? true,
      start: t.start,
      end: t.end,
    };
  }

  private isDeclarationStart(k = 0): boolean {
    const t = this.peek(k);
    if (t.kind !== "ident" || !t.newlineBefore) return false;
    if (t.text === "import") return this.peek(k + 1).kind === "string";
    if (!(DECLARATION_KINDS as readonly string[]).includes(t.text)) return false;
    const name = this.peek(k + 1);
    return (name.kind === "ident" || name.kind === "string") && this.peek(k + 2).kind === "{";
  }

  /**
   * Skips a bracketed group starting at the current token. It stops (without
   * consuming) at a closing bracket that does not match, which belongs to an
   * enclosing block, and, in a list or call, at a line that starts a member.
   */
  private skipGroup(): void {
    const CLOSE: Record<string, TokenKind> = { "{": "}", "[": "]", "(": ")" };
    const stack: TokenKind[] = [CLOSE[this.next().kind]];
    while (stack.length && this.peek().kind !== "eof") {
      if (this.isDeclarationStart()) return;
      const t = this.peek();
      const top = stack[stack.length - 1];
      if (t.kind === "}" || t.kind === "]" || t.kind === ")") {
        if (t.kind !== top) return;
        stack.pop();
      } else if (t.kind === "{" || t.kind === "[" || t.kind === "(") stack.push(CLOSE[t.kind]);
      else if (top !== "}" && t.newlineBefore && t.kind === "ident" && this.peek(1).kind === ":") return;
      this.next();
    }
  }

  /**
   * Skips the rest of a broken line (or up to a `}` that closes the enclosing
   * block). When the construct that failed started at `from` and the parser
   * has already moved to a new line, that line is left alone.
   */
  private skipToLineEnd(from?: number): void {
    if (from !== undefined && this.pos > from && this.peek().newlineBefore) return;
    while (true) {
      const t = this.peek();
      if (t.kind === "eof" || t.kind === "}" || this.isDeclarationStart()) return;
      const before = this.pos;
      if (t.kind === "{" || t.kind === "[" || t.kind === "(") this.skipGroup();
      if (this.pos === before) this.next();
      if (this.peek().newlineBefore) return;
    }
  }

  // ---- top level -------------------------------------------------------------

  private parseImport(): Import | undefined {
    const kw = this.ident(this.next());
    if (!this.at("string")) {
      this.error(
        { start: kw.start, end: kw.end },
        `Expected a path string after 'import', for example import "tools.agent"; found ${this.describe(this.peek())}.`,
      );
      this.skipToLineEnd();
      return undefined;
    }
    const path = this.stringLit(this.next());
    return { type: "Import", keyword: kw, path, start: kw.start, end: path.end };
  }

  private recoverTopLevel(t: Token): void {
    let message: string;
    const kinds = DECLARATION_KINDS.join(", ");
    if (t.kind === "ident") {
      const near = nearest(t.text, [...DECLARATION_KINDS, "import"]);
      message = `Unknown declaration kind '${t.text}': expected one of ${kinds}, or import${near ? ` (did you mean '${near}'?)` : ""}.`;
    } else {
      message = `Expected a declaration (${kinds}) or an import; found ${this.describe(t)}.`;
    }
    this.error({ start: t.start, end: t.end }, message);
    // Skip the broken declaration, including a body in braces if it has one.
    this.next();
    while (this.peek().kind !== "eof") {
      const p = this.peek();
      if (
        p.newlineBefore &&
        p.kind === "ident" &&
        (p.text === "import" || (DECLARATION_KINDS as readonly string[]).includes(p.text))
      )
        return;
      if (p.kind === "{" || p.kind === "[" || p.kind === "(") {
        this.skipGroup();
        continue;
      }
      this.next();
    }
  }

  private parseDeclaration(): Declaration {
    const kwTok = this.next();
    const keyword = this.ident(kwTok);
    const kind = kwTok.text as DeclarationKind;
    this.declKind = kind;
    let name: Identifier | StringLiteral | undefined;
    const t = this.peek();
    if (t.kind === "ident" && !t.newlineBefore) {
      name = this.ident(this.next());
    } else if (t.kind === "string" && !t.newlineBefore) {
      const s = this.stringLit(this.next());
      if (kind === "test") name = s;
      else {
        this.error(s, `A ${kind}'s name must be an identifier (letters, digits, '_'), not a string.`);
        name = { type: "Identifier", name: s.value, start: s.start, end: s.end };
      }
    } else {
      this.error(
        { start: keyword.start, end: keyword.end },
        `Expected a name after '${kind}', for example ${kind} ${kind === "test" ? '"it works"' : "my_" + kind} { ... }.`,
      );
    }
    let body: Block;
    if (this.at("{")) {
      body = this.parseBlock(
        kind === "type" ? "fields" : kind === "test" ? "test" : kind === "eval" ? "eval" : "members",
      );
    } else {
      const here = this.peek();
      this.error(
        { start: here.start, end: here.kind === "eof" ? here.start : here.end },
        `Expected '{' to start the body of ${kind}${name ? ` '${name.type === "Identifier" ? name.name : name.value}'` : ""}; found ${this.describe(here)}.`,
      );
      const at = name ? name.end : keyword.end;
      body = { mode: "members", members: [], closed: false, start: at, end: at };
      // Skip what is left of this declaration.
      while (this.peek().kind !== "eof" && !this.isDeclarationStart()) {
        if (this.at("{")) this.skipGroup();
        else this.next();
      }
    }
    this.abortedBlocks = false;
    return { type: "Declaration", kind, keyword, name, body, start: keyword.start, end: body.end };
  }

  // ---- blocks and members ---------------------------------------------------------

  private parseBlock(mode: BlockMode): Block {
    const open = this.next(); // '{'
    const members: Member[] = [];
    if (this.tooDeep()) return { mode, members, closed: false, start: open.start, end: open.end };
    this.depth++;
    try {
      return this.parseBlockMembers(mode, open, members);
    } finally {
      this.depth--;
    }
  }

  private parseBlockMembers(mode: BlockMode, open: Token, members: Member[]): Block {
    while (true) {
      const t = this.peek();
      if (t.kind === "}") {
        const close = this.next();
        return { mode, members, closed: true, start: open.start, end: close.end };
      }
      if (t.kind === "eof" || this.isDeclarationStart() || this.abortedBlocks) {
        if (!this.abortedBlocks) {
          this.error({ start: open.start, end: open.end }, "This '{' is not closed: expected '}'.", true);
          this.abortedBlocks = true;
        }
        const end = members.length ? members[members.length - 1].end : open.end;
        return { mode, members, closed: false, start: open.start, end };
      }
      if (t.kind === ",") {
        this.error(t, "Unexpected ',': expected a member before it.");
        this.next();
        continue;
      }
      const memberStart = this.pos;
      const member = this.parseMember(mode);
      if (member) members.push(member);
      else {
        this.skipToLineEnd(memberStart);
        continue;
      }
      // Separator: a comma, a new line, or the end of the block.
      const after = this.peek();
      if (after.kind === ",") this.next();
      else if (
        after.kind !== "}" &&
        after.kind !== "eof" &&
        !after.newlineBefore &&
        // `{ kind: stateless provider: local }`: a property or block may follow on the same line without a comma.
        !(after.kind === "ident" && (this.peek(1).kind === ":" || this.peek(1).kind === "{")) &&
        !(after.kind === "string" && mode === "members" && this.peek(1).kind === ":")
      ) {
        this.error(after, `Expected a new line or ',' after this member; found ${this.describe(after)}.`);
        this.skipToLineEnd();
      }
    }
  }

  private parseMember(mode: BlockMode): Member | undefined {
    const t = this.peek();
    if (t.kind === "string" && mode === "members" && this.peek(1).kind === ":") {
      // `"X-Tenant": "acme"`: a name that is not an identifier (HTTP headers).
      const key = this.next();
      const name: Identifier = { type: "Identifier", name: key.value ?? "", start: key.start, end: key.end };
      this.next(); // ':'
      const value = this.valueAfterColon(`a value for '${name.name}'`);
      return { type: "Property", name, value, start: name.start, end: value.end };
    }
    if (t.kind !== "ident") {
      this.error(t, `Expected ${this.memberHint(mode)}; found ${this.describe(t)}.`);
      return undefined;
    }
    const n1 = this.peek(1);
    if (mode === "fields" && (n1.kind === ":" || n1.kind === "?")) return this.parseField();
    if (n1.kind === ":") {
      const name = this.ident(this.next());
      this.next(); // ':'
      const value = this.valueAfterColon(`a value for '${name.name}'`);
      return { type: "Property", name, value, start: name.start, end: value.end };
    }
    if (mode === "eval" && t.text === "case") return this.parseCase();
    if (mode === "eval" && t.text === "judge") return this.parseStep(mode);
    if (n1.kind === "{" && !((mode === "test" || mode === "case") && t.text === "expect")) {
      const name = this.ident(this.next());
      const body = this.parseBlock(blockModeFor(this.declKind, name.name));
      return { type: "BlockMember", name, body, start: name.start, end: body.end };
    }
    if (mode === "policy" && t.text === "deny") return this.parseDeny();
    if ((mode === "test" || mode === "case") && (STEP_KEYWORDS as readonly string[]).includes(t.text))
      return this.parseStep(mode);
    if (mode === "case" && (EVAL_STEP_KEYWORDS as readonly string[]).includes(t.text))
      return this.parseStep(mode);
    this.error(
      { start: t.start, end: n1.kind === "eof" || n1.newlineBefore ? t.end : n1.end },
      `Expected ${this.memberHint(mode)} after '${t.text}'; found ${this.describe(n1)}.`,
    );
    return undefined;
  }

  private memberHint(mode: BlockMode): string {
    switch (mode) {
      case "fields":
        return "a field ('name: type' or 'name?: type')";
      case "policy":
        return "a property ('name: value') or a rule ('deny TOOL when CONDITION')";
      case "test":
        return "a property ('name: value') or a step (send, model, tool, approve, reject, expect)";
      case "eval":
        return "a property ('name: value'), a criterion ('judge \"...\"') or a case ('case \"name\" { ... }')";
      case "case":
        return "a property ('name: value'), a block (user { ... }, simulate { ... }) or a step (send, model, tool, approve, reject, expect, judge, score, user says, expected, goal)";
      default:
        return "a property ('name: value') or a block ('name { ... }')";
    }
  }

  private parseField(): FieldDecl | undefined {
    const name = this.ident(this.next());
    let optional = false;
    if (this.at("?")) {
      this.next();
      optional = true;
    }
    if (!this.at(":")) {
      this.error(
        this.peek(),
        `Expected ':' and a type after field '${name.name}'; found ${this.describe(this.peek())}.`,
      );
      return undefined;
    }
    this.next();
    const typeTok = this.peek();
    if (typeTok.kind !== "ident" || typeTok.newlineBefore) {
      this.error(
        typeTok.newlineBefore ? { start: name.start, end: name.end } : typeTok,
        `Expected a type for field '${name.name}' (string, number, integer, boolean, json, enum(...), a declared type, or T[]); found ${this.describe(typeTok)}.`,
      );
      return undefined;
    }
    const typeName = this.ident(this.next());
    const fieldType: TypeExpr = { name: typeName, list: false, start: typeName.start, end: typeName.end };
    if (this.at("(") && !this.peek().newlineBefore) {
      const open = this.next();
      const values: StringLiteral[] = [];
      while (!this.at(")")) {
        const v = this.peek();
        if (v.kind === "string") values.push(this.stringLit(this.next()));
        else {
          this.error(
            v,
            v.kind === "eof" || v.newlineBefore
              ? "This '(' is not closed: expected ')'."
              : `Expected a string among the values of ${typeName.name}(...); found ${this.describe(v)}.`,
          );
          if (v.newlineBefore || v.kind === "eof") return undefined;
          this.next();
        }
        if (this.at(",")) this.next();
        else if (!this.at(")")) {
          const bad = this.peek();
          this.error(
            bad.newlineBefore || bad.kind === "eof" ? open : bad,
            bad.newlineBefore || bad.kind === "eof"
              ? "This '(' is not closed: expected ')'."
              : `Expected ',' or ')'; found ${this.describe(bad)}.`,
          );
          return undefined;
        }
      }
      fieldType.end = this.next().end;
      fieldType.enumValues = values;
    }
    if (this.at("[") && this.peek(1).kind === "]" && !this.peek().newlineBefore) {
      this.next();
      fieldType.end = this.next().end;
      fieldType.list = true;
    }
    let description: StringLiteral | undefined;
    if (this.at("string") && !this.peek().newlineBefore) description = this.stringLit(this.next());
    return {
      type: "Field",
      name,
      optional,
      fieldType,
      description,
      start: name.start,
      end: description ? description.end : fieldType.end,
    };
  }

  // ---- values ---------------------------------------------------------------

  private missing(what: string): Value {
    const t = this.peek();
    const sameLine =
      t.kind !== "eof" && !t.newlineBefore && t.kind !== "}" && t.kind !== "]" && t.kind !== ",";
    const prev = this.tokens[Math.max(0, this.pos - 1)];
    const span = sameLine ? { start: t.start, end: t.end } : { start: prev.start, end: prev.end };
    this.error(
      span,
      `Expected ${what} (a string, number, true, false, null, a name, a list [...], an object {...} or a call such as env("KEY")); found ${this.describe(t)}.`,
    );
    const at = sameLine ? t.start : prev.end;
    if (sameLine && t.kind !== "{" && t.kind !== "[" && t.kind !== "(") this.next();
    return { type: "Missing", start: at, end: at };
  }

  private parseValue(what: string): Value {
    if (this.tooDeep()) {
      const at = this.peek().start;
      return { type: "Missing", start: at, end: at };
    }
    this.depth++;
    try {
      return this.parseValueInner(what);
    } finally {
      this.depth--;
    }
  }

  private parseValueInner(what: string): Value {
    const t = this.peek();
    switch (t.kind) {
      case "string":
        this.next();
        return this.stringLit(t);
      case "number": {
        this.next();
        const raw = t.text;
        const value = t.number ?? NaN;
        const isInteger = !/[.]/.test(raw) && Number.isInteger(value);
        return { type: "Number", value, raw, isInteger, start: t.start, end: t.end };
      }
      case "ident": {
        if (t.text === "true" || t.text === "false") {
          this.next();
          return { type: "Boolean", value: t.text === "true", start: t.start, end: t.end };
        }
        if (t.text === "null") {
          this.next();
          return { type: "Null", start: t.start, end: t.end };
        }
        if (this.peek(1).kind === "(" && !this.peek(1).newlineBefore) return this.parseCall();
        if (this.peek(1).kind === "{" && !this.peek(1).newlineBefore) return this.parseBracedCall();
        return this.parseReference();
      }
      case "[":
        return this.parseList();
      case "{":
        return this.parseObject();
      default:
        return this.missing(what);
    }
  }

  private parseReference(): Reference {
    const first = this.ident(this.next());
    const segments = [first];
    while (this.at(".") && this.peek(1).kind === "ident" && !this.peek().newlineBefore) {
      this.next();
      segments.push(this.ident(this.next()));
    }
    if (this.at(".") && !this.peek().newlineBefore) {
      const dot = this.next();
      this.error(dot, `Expected a name after '.'; found ${this.describe(this.peek())}.`);
    }
    return { type: "Reference", segments, start: first.start, end: segments[segments.length - 1].end };
  }

  /** A token at the start of a line that begins a member (`name:` or `name {`), or a closing brace. */
  private startsMemberLine(k = 0): boolean {
    const t = this.peek(k);
    if (!t.newlineBefore) return false;
    if (t.kind === "}" || t.kind === "eof") return true;
    const n = this.peek(k + 1).kind;
    return (
      (t.kind === "ident" && (n === ":" || n === "{" || n === "?")) || (t.kind === "string" && n === ":")
    );
  }

  /** The value after `name:`: missing (not taken from the next member's line) when the line ends there. */
  private valueAfterColon(what: string): Value {
    if (this.startsMemberLine()) return this.missing(what);
    return this.parseValue(what);
  }

  private parseCall(): Value {
    const callee = this.ident(this.next());
    const open = this.next(); // '('
    const args: Value[] = [];
    const unclosed = (): Value => {
      this.error(open, `This '(' of ${callee.name}(...) is not closed: expected ')'.`, true);
      const end = args.length ? args[args.length - 1].end : open.end;
      return { type: "Call", callee, args, argsSpan: { start: open.end, end }, start: callee.start, end };
    };
    while (!this.at(")")) {
      const t = this.peek();
      if (t.kind === "eof" || t.kind === "}" || this.isDeclarationStart() || this.startsMemberLine())
        return unclosed();
      const before = this.pos;
      args.push(this.parseValue(`an argument of ${callee.name}(...)`));
      if (this.pos === before) return unclosed();
      if (this.at(",")) this.next();
      else if (!this.at(")")) {
        const bad = this.peek();
        if (bad.kind === "eof" || bad.kind === "}" || bad.newlineBefore) return unclosed();
        this.error(bad, `Expected ',' or ')' in ${callee.name}(...); found ${this.describe(bad)}.`);
        while (!this.at(")") && !this.at("eof") && !this.at("}") && !this.peek().newlineBefore) this.next();
        if (!this.at(")")) return unclosed();
      }
    }
    const close = this.next();
    return {
      type: "Call",
      callee,
      args,
      argsSpan: { start: open.end, end: close.start },
      start: callee.start,
      end: close.end,
    };
  }

  /** `oauth2 { token_url: "..." }`: a call whose one argument is the object in braces. */
  private parseBracedCall(): Value {
    const callee = this.ident(this.next());
    const arg = this.parseObject();
    const argsSpan = {
      start: arg.start + 1,
      end: this.tokens[this.pos - 1]?.kind === "}" ? arg.end - 1 : arg.end,
    };
    return { type: "Call", callee, args: [arg], argsSpan, braces: true, start: callee.start, end: arg.end };
  }

  private parseList(): ListValue {
    const open = this.next();
    const items: Value[] = [];
    const unclosed = (): ListValue => {
      this.error(open, "This '[' is not closed: expected ']'.", true);
      const end = items.length ? items[items.length - 1].end : open.end;
      return { type: "List", items, start: open.start, end };
    };
    while (!this.at("]")) {
      const t = this.peek();
      if (
        t.kind === "eof" ||
        t.kind === "}" ||
        this.isDeclarationStart() ||
        (t.kind === "ident" && this.peek(1).kind === ":")
      )
        return unclosed();
      const before = this.pos;
      items.push(this.parseValue("a list item"));
      if (this.pos === before) return unclosed();
      if (this.at(",")) this.next();
      else if (!this.at("]")) {
        const bad = this.peek();
        if (bad.newlineBefore) {
          // A list may span lines, but items still need commas.
          const looksLikeItem =
            bad.kind === "string" ||
            bad.kind === "number" ||
            (bad.kind === "ident" && this.peek(1).kind !== ":");
          if (looksLikeItem && !this.isDeclarationStart())
            this.error(bad, `Expected ',' between list items; found ${this.describe(bad)}.`);
        } else if (bad.kind !== "eof" && bad.kind !== "}") {
          this.error(bad, `Expected ',' or ']' in the list; found ${this.describe(bad)}.`);
          this.next();
        }
      }
    }
    const close = this.next();
    return { type: "List", items, start: open.start, end: close.end };
  }

  private parseObject(): ObjectValue {
    const open = this.next();
    const entries: ObjectEntry[] = [];
    while (!this.at("}")) {
      const t = this.peek();
      if (t.kind === "eof" || this.isDeclarationStart()) {
        this.error(open, "This '{' is not closed: expected '}'.", true);
        const end = entries.length ? entries[entries.length - 1].end : open.end;
        return { type: "Object", entries, start: open.start, end };
      }
      if (t.kind === ",") {
        this.next();
        continue;
      }
      if ((t.kind !== "ident" && t.kind !== "string") || this.peek(1).kind !== ":") {
        this.error(t, `Expected 'name: value' in the object; found ${this.describe(t)}.`);
        // Skip to the next entry boundary.
        while (!this.at("}") && !this.at("eof") && !this.at(",") && !this.isDeclarationStart()) {
          if (this.at("{") || this.at("[") || this.at("(")) this.skipGroup();
          else this.next();
          if (this.peek().newlineBefore) break;
        }
        continue;
      }
      const keyTok = this.next();
      const key: Identifier =
        keyTok.kind === "string"
          ? { type: "Identifier", name: keyTok.value ?? "", start: keyTok.start, end: keyTok.end }
          : this.ident(keyTok);
      this.next(); // ':'
      const value = this.valueAfterColon(`a value for '${key.name}'`);
      entries.push({ key, value, start: key.start, end: value.end });
      if (this.at(",")) this.next();
      else if (!this.at("}") && !this.peek().newlineBefore && !this.at("eof")) {
        const bad = this.peek();
        this.error(bad, `Expected ',' or '}' in the object; found ${this.describe(bad)}.`);
      }
    }
    const close = this.next();
    return { type: "Object", entries, start: open.start, end: close.end };
  }

  // ---- policy rules and expressions ------------------------------------------------

  private parseDeny(): DenyRule | undefined {
    const keyword = this.ident(this.next());
    const toolTok = this.peek();
    if (toolTok.kind !== "ident" || toolTok.newlineBefore || toolTok.text === "when") {
      this.error(keyword, `Expected a tool name after 'deny', as in 'deny refund when input.amount > 500'.`);
      return undefined;
    }
    const tool = this.parseReference();
    if (!this.at("ident", "when") || this.peek().newlineBefore) {
      this.error(
        { start: keyword.start, end: tool.end },
        `Expected 'when' and a condition after 'deny ${tool.segments.map((s) => s.name).join(".")}', as in 'deny refund when input.amount > 500'.`,
      );
      return undefined;
    }
    this.next();
    const condition = this.parseExpr(0);
    return {
      type: "Deny",
      keyword,
      tool,
      condition,
      start: keyword.start,
      end: condition ? condition.end : tool.end,
    };
  }

  /** Continuation tokens of an expression must be on the same line unless inside parentheses. */
  private exprContinues(parens: number): boolean {
    return parens > 0 || !this.peek().newlineBefore;
  }

  private parseExpr(parens: number): Expr | undefined {
    let left = this.parseAnd(parens);
    if (!left) return undefined;
    while (this.at("ident", "or") && this.exprContinues(parens)) {
      const op = this.next();
      const right = this.parseAnd(parens);
      if (!right) return undefined;
      left = { type: "Binary", op: "or", opSpan: op, left, right, start: left.start, end: right.end };
    }
    return left;
  }

  private parseAnd(parens: number): Expr | undefined {
    let left = this.parseNot(parens);
    if (!left) return undefined;
    while (this.at("ident", "and") && this.exprContinues(parens)) {
      const op = this.next();
      const right = this.parseNot(parens);
      if (!right) return undefined;
      left = { type: "Binary", op: "and", opSpan: op, left, right, start: left.start, end: right.end };
    }
    return left;
  }

  private parseNot(parens: number): Expr | undefined {
    if (this.at("ident", "not") && this.exprContinues(parens)) {
      const kw = this.next();
      if (this.tooDeep()) return undefined;
      this.depth++;
      const operand = this.parseNot(parens);
      this.depth--;
      if (!operand) return undefined;
      return { type: "Not", operand, start: kw.start, end: operand.end };
    }
    return this.parseComparison(parens);
  }

  private compareOp(): CompareOp | undefined {
    const t = this.peek();
    if (COMPARE_TOKENS.has(t.kind)) return t.kind as CompareOp;
    if (t.kind === "ident" && (t.text === "contains" || t.text === "matches")) return t.text;
    return undefined;
  }

  private parseComparison(parens: number): Expr | undefined {
    const left = this.parsePrimary(parens);
    if (!left) return undefined;
    const op = this.compareOp();
    if (!op || !this.exprContinues(parens)) return left;
    const opTok = this.next();
    const right = this.parsePrimary(parens);
    if (!right) return undefined;
    return { type: "Binary", op, opSpan: opTok, left, right, start: left.start, end: right.end };
  }

  private parsePrimary(parens: number): Expr | undefined {
    const t = this.peek();
    if (t.kind === "eof" || (t.newlineBefore && parens === 0)) {
      const prev = this.tokens[Math.max(0, this.pos - 1)];
      this.error(prev, "Expected a condition here, for example 'input.amount > 500'.");
      return undefined;
    }
    if (t.kind === "(") {
      const open = this.next();
      if (this.tooDeep()) return undefined;
      this.depth++;
      const inner = this.parseExpr(parens + 1);
      this.depth--;
      if (!inner) return undefined;
      if (!this.at(")")) {
        this.error(open, "This '(' is not closed: expected ')'.", true);
        return undefined;
      }
      const close = this.next();
      return { ...inner, start: open.start, end: close.end };
    }
    if (t.kind === "string" || t.kind === "number" || t.kind === "ident" || t.kind === "[") {
      const value = this.parseValue("a value");
      if (value.type === "Missing") return undefined;
      return { type: "ValueExpr", value, start: value.start, end: value.end };
    }
    this.error(
      t,
      `Expected a value, a path such as input.amount, 'not' or '(' in the condition; found ${this.describe(t)}.`,
    );
    return undefined;
  }

  // ---- test steps -------------------------------------------------------------------

  private sameLine(): boolean {
    return !this.peek().newlineBefore && this.peek().kind !== "eof";
  }

  private stepString(what: string, after: Span): StringLiteral | undefined {
    if (this.at("string") && this.sameLine()) return this.stringLit(this.next());
    this.error(
      this.sameLine() ? this.peek() : after,
      `Expected ${what} (a string); found ${this.describe(this.peek())}.`,
    );
    return undefined;
  }

  private stepRef(what: string, after: Span): Reference | undefined {
    if (this.at("ident") && this.sameLine()) return this.parseReference();
    this.error(
      this.sameLine() ? this.peek() : after,
      `Expected ${what}; found ${this.describe(this.peek())}.`,
    );
    return undefined;
  }

  private stepObject(what: string, after: Span): ObjectValue | undefined {
    if (this.at("{") && this.sameLine()) return this.parseObject();
    this.error(
      this.sameLine() ? this.peek() : after,
      `Expected ${what} (an object { name: value }); found ${this.describe(this.peek())}.`,
    );
    return undefined;
  }

  private stepWord(words: readonly string[], forms: string, after: Span): Token | undefined {
    const t = this.peek();
    if (t.kind === "ident" && words.includes(t.text) && this.sameLine()) return this.next();
    this.error(this.sameLine() ? t : after, `Expected ${forms}; found ${this.describe(t)}.`);
    return undefined;
  }

  private stepCompare(after: Span): { op: CompareOp; opSpan: Span; value: Value } | undefined {
    const op = this.compareOp();
    if (!op || !this.sameLine()) {
      this.error(
        this.sameLine() ? this.peek() : after,
        `Expected a comparison (== != < <= > >= contains matches); found ${this.describe(this.peek())}.`,
      );
      return undefined;
    }
    const opTok = this.next();
    if (!this.sameLine()) {
      this.error(opTok, `Expected a value after '${opTok.text}'.`);
      return undefined;
    }
    const value = this.parseValue("a value to compare with");
    if (value.type === "Missing") return undefined;
    return { op, opSpan: { start: opTok.start, end: opTok.end }, value };
  }

  /** `case "name" { ... }` in an eval. */
  private parseCase(): CaseBlock | undefined {
    const keyword = this.ident(this.next());
    let name: StringLiteral | undefined;
    if (this.at("string") && this.sameLine()) name = this.stringLit(this.next());
    else
      this.error(
        this.sameLine() && !this.at("{") ? this.peek() : keyword,
        `Expected the case's name (a string) after 'case', as in case "small refund" { ... }; found ${this.describe(this.peek())}.`,
      );
    if (!this.at("{") || !this.sameLine()) {
      if (name)
        this.error(
          this.sameLine() ? this.peek() : name,
          `Expected '{' to start the body of case "${name.value}"; found ${this.describe(this.peek())}.`,
        );
      return undefined;
    }
    const body = this.parseBlock("case");
    return { type: "Case", keyword, name, body, start: keyword.start, end: body.end };
  }

  /** An optional `at_least N` at the end of a judge or score criterion. */
  private atLeast(): AtLeast | undefined | null {
    if (!this.at("ident", "at_least") || !this.sameLine()) return undefined;
    const keyword = this.ident(this.next());
    if (!this.at("number") || !this.sameLine()) {
      this.error(
        this.sameLine() ? this.peek() : keyword,
        `Expected a threshold from 0 to 1 after 'at_least', as in at_least 0.7; found ${this.describe(this.peek())}.`,
      );
      return null;
    }
    const t = this.next();
    const value = {
      type: "Number" as const,
      value: t.number ?? NaN,
      raw: t.text,
      isInteger: !/[.]/.test(t.text),
    };
    return { keyword, value: { ...value, start: t.start, end: t.end }, start: keyword.start, end: t.end };
  }

  private parseStep(mode: BlockMode): Step | undefined {
    const kwTok = this.next();
    const keyword = this.ident(kwTok);
    const base = { type: "Step" as const, keyword, start: keyword.start };
    const done = (step: StepInit, end: Span): Step => ({ ...step, end: end.end }) as Step;
    switch (kwTok.text) {
      case "judge":
        return this.parseJudge(base, keyword, done, mode === "case");
      case "score": {
        const t = this.peek();
        if (!(
          t.kind === "ident" &&
          this.sameLine() &&
          this.peek(1).kind === "(" &&
          !this.peek(1).newlineBefore
        )) {
          this.error(
            this.sameLine() ? t : keyword,
            `Expected a scorer after 'score', as in score command("node", ["scorers/tone.js"]); found ${this.describe(t)}.`,
          );
          return undefined;
        }
        const command = this.parseCall() as CallValue;
        const atLeast = this.atLeast();
        if (atLeast === null) return undefined;
        return done({ ...base, step: "score", command, atLeast }, atLeast ?? command);
      }
      case "user": {
        const verb = this.stepWord(["says"], `'says "..."' after 'user' (or 'user { id: "..." }')`, keyword);
        if (!verb) return undefined;
        const text = this.stepString("the simulated user's message after 'user says'", verb);
        return text && done({ ...base, step: "user.says", verb: this.ident(verb), text }, text);
      }
      case "expected":
      case "goal": {
        const text = this.stepString(
          kwTok.text === "goal" ? "the user's goal after 'goal'" : "the reference answer after 'expected'",
          keyword,
        );
        return text && done({ ...base, step: kwTok.text, text }, text);
      }
      case "send": {
        const text = this.stepString("the user message after 'send'", keyword);
        return text && done({ ...base, step: "send", text }, text);
      }
      case "approve":
      case "reject": {
        const tool = this.stepRef(`a tool name after '${kwTok.text}'`, keyword);
        return tool && done({ ...base, step: kwTok.text, tool }, tool);
      }
      case "model": {
        const verb = this.stepWord(
          ["replies", "calls", "hands_off"],
          "'replies TEXT', 'calls TOOL { ... }' or 'hands_off AGENT' after 'model'",
          keyword,
        );
        if (!verb) return undefined;
        if (verb.text === "replies") {
          const text = this.stepString("the model's reply after 'model replies'", verb);
          return text && done({ ...base, step: "model.replies", text }, text);
        }
        if (verb.text === "calls") {
          const tool = this.stepRef("a tool name after 'model calls'", verb);
          if (!tool) return undefined;
          const input = this.stepObject(`the input of ${tool.segments[0].name}`, tool);
          return input && done({ ...base, step: "model.calls", tool, input }, input);
        }
        const agent = this.stepRef("an agent name after 'model hands_off'", verb);
        return agent && done({ ...base, step: "model.hands_off", agent }, agent);
      }
      case "tool": {
        const tool = this.stepRef("a tool name after 'tool'", keyword);
        if (!tool) return undefined;
        const verb = this.stepWord(
          ["returns", "fails"],
          "'returns VALUE' or 'fails \"message\"' after the tool name",
          tool,
        );
        if (!verb) return undefined;
        if (verb.text === "returns") {
          if (!this.sameLine()) {
            this.error(verb, "Expected the mocked result after 'returns'.");
            return undefined;
          }
          const value = this.parseValue("the mocked result");
          return value.type === "Missing"
            ? undefined
            : done({ ...base, step: "tool.returns", tool, value }, value);
        }
        const message = this.stepString("the error message after 'fails'", verb);
        return message && done({ ...base, step: "tool.fails", tool, message }, message);
      }
      case "expect":
        return this.parseExpect(base, keyword, done, mode === "case");
    }
    return undefined;
  }

  /** `judge "criterion" [at_least N]`, `judge NAME [at_least N]`, and in a case `judge scores N "reason"`. */
  private parseJudge(
    base: { type: "Step"; keyword: Identifier; start: number },
    keyword: Identifier,
    done: (step: StepInit, end: Span) => Step,
    inCase: boolean,
  ): Step | undefined {
    const t = this.peek();
    if (
      inCase &&
      t.kind === "ident" &&
      t.text === "scores" &&
      this.sameLine() &&
      this.peek(1).kind === "number"
    ) {
      const verb = this.ident(this.next());
      const n = this.next();
      const score = {
        type: "Number" as const,
        value: n.number ?? NaN,
        raw: n.text,
        isInteger: !/[.]/.test(n.text),
        start: n.start,
        end: n.end,
      };
      const reason = this.stepString(`the judge's reason after 'judge scores ${n.text}'`, score);
      return reason && done({ ...base, step: "judge.scores", verb, score, reason }, reason);
    }
    let criterion: StringLiteral | Identifier;
    if (t.kind === "string" && this.sameLine()) criterion = this.stringLit(this.next());
    else if (t.kind === "ident" && this.sameLine() && t.text !== "at_least")
      criterion = this.ident(this.next());
    else {
      this.error(
        this.sameLine() ? t : keyword,
        `Expected a criterion after 'judge': a string, as in judge "Confirms the amount.", or a built-in judge such as faithfulness${inCase ? `, or 'scores 0.8 "reason"'` : ""}; found ${this.describe(t)}.`,
      );
      return undefined;
    }
    const atLeast = this.atLeast();
    if (atLeast === null) return undefined;
    return done({ ...base, step: "judge", criterion, atLeast }, atLeast ?? criterion);
  }

  private parseExpect(
    base: { type: "Step"; keyword: Identifier; start: number },
    keyword: Identifier,
    done: (step: StepInit, end: Span) => Step,
    inCase: boolean,
  ): Step | undefined {
    const words = [
      "reply",
      "tool",
      "handoff",
      "memory",
      "tokens",
      "turns",
      ...(inCase ? ["trajectory"] : []),
    ];
    const forms = `'reply', 'tool', 'handoff', 'memory.FIELD', 'tokens'${inCase ? ", 'turns' or 'trajectory'" : " or 'turns'"} after 'expect'`;
    const what = this.stepWord(words, forms, keyword);
    if (!what) return undefined;
    switch (what.text) {
      case "trajectory": {
        if (!this.at("[") || !this.sameLine()) {
          this.error(
            this.sameLine() ? this.peek() : what,
            `Expected the list of tools after 'expect trajectory', as in expect trajectory [lookup_order, refund]; found ${this.describe(this.peek())}.`,
          );
          return undefined;
        }
        const tools = this.parseList();
        let mode: Identifier | undefined;
        if (this.sameLine() && this.at("ident")) {
          const m = this.stepWord(
            TRAJECTORY_MODES,
            TRAJECTORY_MODES.join(", ").replace(/, (\w+)$/, " or $1") + " after the list",
            tools,
          );
          if (!m) return undefined;
          mode = this.ident(m);
        }
        return done({ ...base, step: "expect.trajectory", tools, mode }, mode ?? tools);
      }
      case "reply": {
        const op = this.stepWord(
          ["contains", "matches"],
          "'contains' or 'matches' after 'expect reply'",
          what,
        );
        if (!op) return undefined;
        const text = this.stepString(`the text after 'expect reply ${op.text}'`, op);
        return (
          text && done({ ...base, step: "expect.reply", op: op.text as "contains" | "matches", text }, text)
        );
      }
      case "tool": {
        const tool = this.stepRef("a tool name after 'expect tool'", what);
        if (!tool) return undefined;
        const outcome = this.stepWord(
          ["called", "not", "denied"],
          "'called', 'called with { ... }', 'not called' or 'denied'",
          tool,
        );
        if (!outcome) return undefined;
        if (outcome.text === "denied")
          return done({ ...base, step: "expect.tool", tool, outcome: "denied" }, outcome);
        if (outcome.text === "not") {
          const called = this.stepWord(["called"], "'called' after 'not'", outcome);
          return called && done({ ...base, step: "expect.tool", tool, outcome: "not_called" }, called);
        }
        if (this.at("ident", "with") && this.sameLine()) {
          const w = this.next();
          const input = this.stepObject("the expected input after 'with'", w);
          return input && done({ ...base, step: "expect.tool", tool, outcome: "called", with: input }, input);
        }
        return done({ ...base, step: "expect.tool", tool, outcome: "called" }, outcome);
      }
      case "handoff": {
        const agent = this.stepRef("an agent name after 'expect handoff'", what);
        return agent && done({ ...base, step: "expect.handoff", agent }, agent);
      }
      case "memory": {
        this.pos--; // re-read `memory` as the first segment of the path
        const path = this.parseReference();
        if (path.segments.length < 2) {
          this.error(
            path,
            "Expected a memory field after 'expect', as in 'expect memory.open_tickets == 0'.",
          );
          return undefined;
        }
        const cmp = this.stepCompare(path);
        return cmp && done({ ...base, step: "expect.memory", path, ...cmp }, cmp.value);
      }
      default: {
        const cmp = this.stepCompare(what);
        return (
          cmp &&
          done(
            { ...base, step: what.text === "tokens" ? "expect.tokens" : "expect.turns", ...cmp },
            cmp.value,
          )
        );
      }
    }
  }
}

export function parse(text: string, path: string): ParseResult {
  const scan = tokenize(text);
  const parser = new Parser(scan.tokens, path);
  const { imports, declarations, diagnostics: all } = parser.run();
  // An unterminated text block or block comment runs to the end of the file: brackets opened before it
  // can never close, and saying so again would be a cascade.
  const swallowedFrom = Math.min(Infinity, ...scan.errors.filter((e) => e.runsToEnd).map((e) => e.start));
  const diagnostics = all.filter(
    (d) => !(swallowedFrom < Infinity && parser.unclosed.has(d) && d.span.start < swallowedFrom),
  );
  const lex = scan.errors.map((e) => diagnostic(path, e, e.code, e.message));
  // A lexical error and a parse error on the same spot are one problem: keep the lexical one.
  const parseErrors = diagnostics.filter(
    (d) => !lex.some((l) => d.span.start < l.span.end && l.span.start < d.span.end + 1),
  );
  return {
    file: { path, text, imports, declarations, comments: scan.comments },
    diagnostics: [...lex, ...parseErrors].sort((a, b) => a.span.start - b.span.start),
  };
}
