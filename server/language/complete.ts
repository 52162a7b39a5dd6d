// Completion for `.agent` files, aware of where the cursor is. The file being
// edited is usually broken at the cursor, so the context comes from the tokens
// before it: a stack of the brackets still open (each remembering the words
// that opened it) and the words of the statement being written. The AST only
// supplies facts about declarations (a memory's fields, an agent's vars, a
// tool's input). Pure: plain items out; the LSP layer converts them.

import * as path from "node:path";
import {
  DECLARATION_KINDS,
  TRAJECTORY_MODES,
  type Block,
  type BlockMode,
  type Declaration,
  type DeclarationKind,
  type FieldDecl,
  type Span,
} from "./ast";
import { blocks, fields, props } from "./compile";
import { connectionInfo, identityText } from "./connections";
import { BUILTIN_JUDGES } from "./evalIR";
import { blockModeFor } from "./parse";
import type { Symbol, SymbolTable } from "./program";
import {
  BUILTIN_CALLS,
  BUILTIN_JUDGE_DOCS,
  CASE_SCHEMA,
  DECLARATION_SCHEMAS,
  FIELD_TYPES,
  OAUTH2_KEYS,
  KIND_DOCS,
  describeType,
  type BlockSchema,
  type BuiltinCall,
  type PropSpec,
  type PropType,
} from "./schema";
import type { LanguageService } from "./languageService";
import { tokenize, type ScanResult, type Token, type TokenKind } from "./tokenize";
import { MEMORY_TOOL } from "../protocol/names";

export type CompletionKind =
  | "keyword"
  | "property"
  | "reference"
  | "enum"
  | "field"
  | "snippet"
  | "function"
  | "file"
  | "folder"
  | "step";

export interface CompletionItem {
  label: string;
  kind: CompletionKind;
  detail?: string;
  documentation?: string;
  /** Text to insert instead of the label; a snippet when `isSnippet`. */
  insertText?: string;
  isSnippet?: boolean;
  /** The text the item replaces (the word being typed); the cursor alone when absent. */
  replaceSpan?: Span;
  /** The inserted text leads to more choices: the editor should ask for completions again. */
  retrigger?: boolean;
}

export interface CompletionOptions {
  /** The character whose typing asked for completion; undefined when the user asked or typed a word. */
  triggerCharacter?: string;
}

// ---- the bracket stack ---------------------------------------------------------

/** A token of a statement, or a bracketed group already closed (kind "group", text its opener). */
interface Word {
  kind: TokenKind | "group";
  text: string;
  start: number;
  end: number;
}

type FrameContext =
  /** The file's top level. */
  | { t: "top" }
  /** A declaration body or a nested block; `schema` when the language knows its properties. */
  | { t: "block"; mode: BlockMode; schema: BlockSchema | undefined }
  /** An object value; `keys` it may have, or the input fields of `tool` (test steps). */
  | { t: "object"; keys?: readonly string[]; tool?: string }
  | { t: "list"; of: PropType | undefined }
  | { t: "call"; callee: string }
  /** Parentheses in a policy condition. */
  | { t: "group" };

interface Frame {
  ctx: FrameContext;
  /** The opening bracket (undefined at the top level). */
  opener: Token | undefined;
  /** The words of the statement that opened this frame, before the bracket. */
  owner: Word[];
  /** The declaration this frame is in. */
  decl: { kind: DeclarationKind; start: number } | undefined;
  /** Words of the statement being written at this level. */
  stmt: Word[];
  /** Members, keys or list items already written at this level. */
  names: Set<string>;
  /** Commas so far at this level (a call's argument index). */
  commas: number;
}

const CLOSERS: Partial<Record<TokenKind, TokenKind>> = { "}": "{", "]": "[", ")": "(" };

// An editor asks for completion and signature help on the same keystroke, over the same text:
// the last scan is kept so that the second request does not tokenize again.
let lastScan: { text: string; scan: ScanResult } | undefined;

/** The tokens and comments of `text` (never mutated by the callers). */
export function tokensOf(text: string): ScanResult {
  if (lastScan?.text !== text) lastScan = { text, scan: tokenize(text) };
  return lastScan.scan;
}

/** Whether tokens[i] starts a declaration or an import on a new line (the parser ends open blocks there). */
export function startsDeclaration(tokens: readonly Token[], i: number): boolean {
  const t = tokens[i];
  if (t.kind !== "ident" || !t.newlineBefore) return false;
  if (t.text === "import") return tokens[i + 1]?.kind === "string";
  if (!(DECLARATION_KINDS as readonly string[]).includes(t.text)) return false;
  const name = tokens[i + 1];
  return (name?.kind === "ident" || name?.kind === "string") && tokens[i + 2]?.kind === "{";
}

function frame(ctx: FrameContext, parent: Frame | undefined, opener?: Token, decl?: Frame["decl"]): Frame {
  return {
    ctx,
    opener,
    owner: parent ? [...parent.stmt] : [],
    decl: decl ?? parent?.decl,
    stmt: [],
    names: new Set(),
    commas: 0,
  };
}

const isBlockLike = (f: Frame) => f.ctx.t === "block" || f.ctx.t === "top" || f.ctx.t === "object";

function endStatement(f: Frame): void {
  const [first, second] = f.stmt;
  if (f.ctx.t === "list") {
    if (first?.kind === "ident") f.names.add(first.text);
  } else if (
    (first?.kind === "ident" || first?.kind === "string") &&
    (second?.kind === ":" || second?.kind === "?" || (second?.kind === "group" && second.text === "{"))
  )
    f.names.add(first.kind === "string" ? first.text.slice(1, -1) : first.text);
  f.stmt = [];
}

/** The context of a bracket opened in `parent` after the words of its current statement. */
function openFrame(parent: Frame, t: Token): Frame {
  const owner = parent.stmt;
  const last = owner[owner.length - 1];
  const pc = parent.ctx;
  const propSpec = (name: string): PropSpec | undefined =>
    pc.t === "block" ? pc.schema?.props[name] : undefined;
  const afterColon = last?.kind === ":" && owner.length >= 2 ? owner[owner.length - 2].text : undefined;
  if (t.kind === "(") {
    if (last?.kind === "ident" && last.end === t.start)
      return frame({ t: "call", callee: last.text }, parent, t);
    return frame({ t: "group" }, parent, t);
  }
  if (t.kind === "[") {
    // `expect trajectory [...]` in an eval case lists tools.
    if (pc.t === "block" && pc.mode === "case" && owner.map((w) => w.text).join(" ") === "expect trajectory")
      return frame({ t: "list", of: { t: "ref", kind: "tool" } }, parent, t);
    const spec = afterColon !== undefined ? propSpec(afterColon) : undefined;
    return frame({ t: "list", of: spec?.type.t === "list" ? spec.type.of : undefined }, parent, t);
  }
  if (pc.t === "top") {
    const kind = owner[0]?.text as DeclarationKind;
    if (owner[0]?.kind === "ident" && (DECLARATION_KINDS as readonly string[]).includes(kind)) {
      const mode: BlockMode =
        kind === "type" ? "fields" : kind === "test" ? "test" : kind === "eval" ? "eval" : "members";
      return frame({ t: "block", mode, schema: DECLARATION_SCHEMAS[kind] }, parent, t, {
        kind,
        start: owner[0].start,
      });
    }
    return frame({ t: "block", mode: "members", schema: undefined }, parent, t);
  }
  if (pc.t === "block") {
    const words = owner.map((w) => w.text);
    if (pc.mode === "eval" && words[0] === "case")
      return frame({ t: "block", mode: "case", schema: CASE_SCHEMA }, parent, t);
    if (owner.length === 1 && last.kind === "ident") {
      const type = propSpec(last.text)?.type;
      const mode = blockModeFor(parent.decl?.kind, last.text);
      return frame({ t: "block", mode, schema: type?.t === "block" ? type.block : undefined }, parent, t);
    }
    const steps = pc.mode === "test" || pc.mode === "case";
    if (steps && words[0] === "model" && words[1] === "calls" && owner.length === 3)
      return frame({ t: "object", tool: words[2] }, parent, t);
    if (steps && /^expect tool \w+ called with$/.test(words.join(" ")))
      return frame({ t: "object", tool: words[2] }, parent, t);
    if (last?.kind === "ident" && last.text === "oauth2" && owner[owner.length - 2]?.kind === ":")
      return frame({ t: "object", keys: Object.keys(OAUTH2_KEYS) }, parent, t);
    if (afterColon !== undefined) {
      const type = propSpec(afterColon)?.type;
      return frame(
        { t: "object", keys: type?.t === "object" && type.keys ? Object.keys(type.keys) : undefined },
        parent,
        t,
      );
    }
  }
  return frame({ t: "object" }, parent, t);
}

/** The open brackets after scanning tokens[0 .. upto), outermost first. */
function scan(tokens: readonly Token[], upto: number): Frame[] {
  const top = frame({ t: "top" }, undefined);
  let stack: Frame[] = [top];
  for (let i = 0; i < upto; i++) {
    const t = tokens[i];
    if (t.kind === "eof") break;
    if (startsDeclaration(tokens, i)) {
      stack = [top];
      endStatement(top);
    }
    const f = stack[stack.length - 1];
    if (t.newlineBefore && isBlockLike(f)) endStatement(f);
    else if (
      // `{ kind: stateless provider: local }`: a member may follow another on the same line.
      f.ctx.t === "block" &&
      f.stmt.length >= 3 &&
      f.stmt[1].kind === ":" &&
      t.kind === "ident" &&
      tokens[i + 1]?.kind === ":"
    )
      endStatement(f);
    if (t.kind === ",") {
      f.commas++;
      endStatement(f);
    } else if (t.kind === "{" || t.kind === "[" || t.kind === "(") {
      stack.push(openFrame(f, t));
    } else if (CLOSERS[t.kind]) {
      const at = stack.findLastIndex((s) => s.opener?.kind === CLOSERS[t.kind]);
      if (at > 0) {
        const opener = stack[at].opener!;
        stack = stack.slice(0, at);
        stack[at - 1].stmt.push({ kind: "group", text: opener.text, start: opener.start, end: t.end });
      }
    } else f.stmt.push(t);
  }
  return stack;
}

// ---- the request ---------------------------------------------------------------

interface Site {
  service: LanguageService;
  path: string;
  text: string;
  offset: number;
  stack: Frame[];
  frame: Frame;
  /** Words of the current statement before the word being typed. */
  stmt: string[];
  /** The word being typed. */
  word: Span;
  /** The token right after the word being typed. */
  next: Token | undefined;
  trigger: string | undefined;
  table: SymbolTable;
  /** Declarations of the file, to read facts from. */
  declarations: Declaration[];
}

/** Completion items at `offset` in a file the service knows. */
export function complete(
  service: LanguageService,
  filePath: string,
  offset: number,
  options: CompletionOptions = {},
): CompletionItem[] {
  const pf = service.program.get(filePath);
  if (!pf) return [];
  const text = pf.file.text;
  const { tokens, comments } = tokensOf(text);
  if (comments.some((c) => c.start < offset && (offset < c.end || (!c.block && offset === c.end)))) return [];
  let at = tokens.findIndex((t) => t.end >= offset);
  if (at < 0) at = tokens.length - 1;
  const t = tokens[at];
  const inString =
    t.kind === "string" &&
    t.start < offset &&
    (offset < t.end || (t.terminated === false && offset <= t.end));
  let upto = at;
  let word: Span = { start: offset, end: offset };
  if (!inString && t.start < offset) {
    if (t.kind === "ident") word = { start: t.start, end: t.end };
    else if (t.kind === "number") return [];
    else upto = at + 1;
  }
  const stack = scan(tokens, upto);
  const f = stack[stack.length - 1];
  // The cursor (or the word at it) on a line of its own starts a new member.
  const last = tokens[upto - 1];
  if (!inString && isBlockLike(f) && (!last || text.slice(last.end, word.start).includes("\n")))
    endStatement(f);
  const site: Site = {
    service,
    path: pf.file.path,
    text,
    offset,
    stack,
    frame: f,
    stmt: f.stmt.map((w) => w.text),
    word,
    next: tokens[word.end > word.start ? at + 1 : upto],
    trigger: options.triggerCharacter,
    table: service.program.symbols(pf.file.path),
    declarations: pf.file.declarations,
  };
  if (inString) return stringCompletions(site, t);
  switch (f.ctx.t) {
    case "top":
      return site.stmt.length === 0 && !site.trigger ? topLevel(site) : [];
    case "block":
      return blockCompletions(site, f.ctx.mode, f.ctx.schema);
    case "object":
      return objectCompletions(site, f.ctx);
    case "list": {
      const call = stack[stack.length - 2]?.ctx;
      if (call?.t === "call" && call.callee === "sql" && stack[stack.length - 2].commas === 2)
        return sqlParamCompletions(site);
      return site.stmt.length === 0 && f.ctx.of?.t === "ref"
        ? references(site, f.ctx.of.kind).filter((i) => !f.names.has(i.label))
        : [];
    }
    case "call":
      if (site.stmt.length !== 0) return [];
      if (f.ctx.callee === "mcp" && f.commas === 0) return references(site, "mcp");
      if (f.ctx.callee === "sql" && f.commas === 0) return connections(site, true);
      if (f.ctx.callee === "http" && f.commas === 1) return connections(site, false);
      return [];
    case "group":
      return conditionCompletions(site);
  }
}

function item(
  site: Site,
  label: string,
  kind: CompletionKind,
  extra: Partial<CompletionItem> = {},
): CompletionItem {
  return { label, kind, replaceSpan: site.word, ...extra };
}

// ---- top level -----------------------------------------------------------------

/** Shifts the tab stops of a snippet so that its $1 becomes $first; returns the next free number. */
function renumber(snippet: string, first: number): [string, number] {
  let next = first;
  const out = snippet.replace(/\$(\d+)|\$\{(\d+)/g, (m, plain?: string, braced?: string) => {
    const n = Number(plain ?? braced);
    if (n === 0) return m;
    const shifted = n + first - 1;
    next = Math.max(next, shifted + 1);
    return plain !== undefined ? `$${shifted}` : `\${${shifted}`;
  });
  return [out, next];
}

/** `KIND name { required properties }`, built from the schema. */
export function declarationSnippet(kind: DeclarationKind): string {
  const name = kind === "test" ? '"${1:what it checks}"' : kind === "type" ? "${1:Name}" : "${1:name}";
  const members = Object.entries(DECLARATION_SCHEMAS[kind].props)
    .filter(([, spec]) => spec.required)
    .map(([prop, spec]) => spec.snippet ?? `${prop}: $1`);
  // The "at least one" rules of language.md 3.9 are not properties of the schema.
  if (kind === "type") members.push("${1:field}: ${2:string}");
  if (kind === "test") members.push('send "$1"');
  if (kind === "mcp") members.push('command: command("${1:node}", [$2])');
  let next = 2;
  const lines: string[] = [];
  for (const m of members) {
    const [s, n] = renumber(m, next);
    next = n;
    lines.push(...s.split("\n").map((l) => `\t${l}`));
  }
  return `${kind} ${name} {\n${lines.map((l) => `${l}\n`).join("")}\t$0\n}`;
}

function topLevel(site: Site): CompletionItem[] {
  return [
    ...DECLARATION_KINDS.map((kind) =>
      item(site, kind, "keyword", {
        detail: `${kind} declaration`,
        documentation: KIND_DOCS[kind],
        insertText: declarationSnippet(kind),
        isSnippet: true,
      }),
    ),
    item(site, "import", "keyword", {
      detail: "import a file",
      documentation: "Imports the declarations of another .agent file; the path is relative to this file.",
      insertText: 'import "$1"',
      isSnippet: true,
      retrigger: true,
    }),
  ];
}

// ---- blocks --------------------------------------------------------------------

/** The AST of the declaration the cursor's frame is in. */
function currentDeclaration(site: Site): Declaration | undefined {
  const start = site.frame.decl?.start;
  return site.declarations.find((d) => d.keyword.start === start);
}

function findBlock(block: Block, start: number): Block | undefined {
  if (block.start === start) return block;
  for (const m of block.members) {
    if (m.type !== "BlockMember") continue;
    const hit = findBlock(m.body, start);
    if (hit) return hit;
  }
  return undefined;
}

/** Members written in the cursor's block, before or after the cursor (not the one being edited). */
function writtenMembers(site: Site): Set<string> {
  const names = new Set(site.frame.names);
  const decl = currentDeclaration(site);
  const block = decl && site.frame.opener ? findBlock(decl.body, site.frame.opener.start) : undefined;
  for (const m of block?.members ?? []) {
    if (m.start <= site.offset && site.offset <= m.end) continue;
    if (m.type === "Property" || m.type === "BlockMember") names.add(m.name.name);
  }
  return names;
}

/** Whether the value of a property of this type has completions of its own. */
function hasValueCompletions(t: PropType): boolean {
  return ["enum", "boolean", "ref", "call", "secret", "typeRef"].includes(t.t);
}

function propertyItem(site: Site, name: string, spec: PropSpec): CompletionItem {
  const nested = spec.type.t === "block" || spec.type.t === "fields";
  // A name typed before an existing ':' or '{' is replaced on its own.
  const nameOnly =
    site.next && !site.next.newlineBefore && (site.next.kind === ":" || site.next.kind === "{");
  const base = {
    detail: spec.required ? `${describeType(spec.type)} (required)` : describeType(spec.type),
    documentation: spec.doc,
  };
  if (nameOnly) return item(site, name, "property", base);
  if (nested)
    return item(site, name, "property", { ...base, insertText: `${name} {\n\t$0\n}`, isSnippet: true });
  if (spec.snippet)
    return item(site, name, "property", {
      ...base,
      insertText: spec.snippet,
      isSnippet: true,
      // `agent: $1` leaves the cursor where a name goes; choices (`${1|a,b|}`) show their own list.
      retrigger: hasValueCompletions(spec.type) && /: \$1$/.test(spec.snippet),
    });
  return item(site, name, "property", {
    ...base,
    insertText: `${name}: `,
    retrigger: hasValueCompletions(spec.type),
  });
}

const STEP_DOCS: Record<string, [string, string]> = {
  send: ['send "$1"', "One user turn."],
  model: ["model ", "Script the model's next output: replies, calls or hands_off (local backend only)."],
  tool: ["tool ", 'Mock a tool\'s next result: tool TOOL returns VALUE, or tool TOOL fails "message".'],
  approve: ["approve ", "Approve the tool's next approval request."],
  reject: ["reject ", "Reject the tool's next approval request."],
  expect: ["expect ", "Check the last turn: reply, tool, handoff, memory, tokens or turns."],
};

function blockCompletions(site: Site, mode: BlockMode, schema: BlockSchema | undefined): CompletionItem[] {
  const stmt = site.stmt;
  if (stmt.length === 0) {
    if (site.trigger || mode === "fields") return [];
    const written = writtenMembers(site);
    const out = Object.entries(schema?.props ?? {})
      .filter(([name]) => !written.has(name))
      .map(([name, spec]) => propertyItem(site, name, spec));
    if (mode === "policy")
      out.push(
        item(site, "deny", "keyword", {
          detail: "deny TOOL when CONDITION",
          documentation:
            "A rule that stops a tool call whose input matches the condition, as in deny refund when input.amount > 500.",
          insertText: "deny ",
          retrigger: true,
        }),
      );
    if (mode === "eval")
      out.push(
        ...[
          item(site, "judge", "keyword", {
            detail: 'judge "criterion" [at_least N]',
            documentation: "A criterion every case is scored on by the judge backend (0 to 1).",
            insertText: 'judge "$1"',
            isSnippet: true,
          }),
          item(site, "case", "step", {
            detail: 'case "name" { ... }',
            documentation: "A case: a test body (send, expect, ...) plus eval criteria, or a simulate block.",
            insertText: 'case "${1:name}" {\n\tsend "$2"\n\t$0\n}',
            isSnippet: true,
          }),
        ],
      );
    if (mode === "test" || mode === "case")
      for (const [step, [insertText, documentation]] of Object.entries(
        mode === "case" ? { ...STEP_DOCS, ...CASE_STEP_DOCS } : STEP_DOCS,
      ))
        out.push(
          item(site, step, "step", {
            detail: "test step",
            documentation,
            insertText,
            isSnippet: insertText.includes("$"),
            retrigger: !insertText.includes("$"),
          }),
        );
    return out;
  }
  if (mode === "fields")
    return (stmt.length === 2 && stmt[1] === ":") || (stmt.length === 3 && stmt[1] === "?" && stmt[2] === ":")
      ? fieldTypes(site)
      : [];
  if (mode === "policy" && stmt[0] === "deny") return conditionCompletions(site);
  if ((mode === "eval" || mode === "case") && stmt[0] === "judge" && stmt.length === 1)
    return judgeCompletions(site, mode === "case");
  if (
    (mode === "eval" || mode === "case") &&
    stmt[0] === "expect" &&
    stmt[1] === "trajectory" &&
    stmt.length === 3
  )
    return words(
      site,
      TRAJECTORY_MODES.map((m) => [m, m, TRAJECTORY_MODE_TEXT[m]]),
    );
  if ((mode === "test" || mode === "case") && site.frame.stmt[0]?.kind === "ident" && stmt[1] !== ":")
    return stepCompletions(site, mode === "case");
  if (stmt.length === 2 && stmt[1] === ":") {
    const spec = schema?.props[stmt[0]];
    if (!spec) return [];
    const values = valueCompletions(site, spec.type);
    const localNamed =
      (mode === "test" && stmt[0] === "backend") ||
      (mode === "eval" && (stmt[0] === "judge" || stmt[0] === "backends"));
    if (localNamed && !values.some((v) => v.label === "local"))
      values.push(
        item(site, "local", "reference", {
          detail: "the built-in local backend",
          documentation: "Scripted and offline: model steps are replayed, no network, no keys.",
        }),
      );
    return values;
  }
  return [];
}

const CALL_SNIPPETS: Record<BuiltinCall, string> = {
  env: 'env("${1:NAME}")',
  file: 'file("${1:path}")',
  http: 'http("${1|GET,POST,PUT,PATCH,DELETE|}", "${2:https://}")',
  command: 'command("${1:node}", [${2:"script.js"}])',
  mcp: 'mcp(${1:server}, "${2:tool}")',
  sql: 'sql(${1:connection}, "${2:select 1}", [$3])',
  bearer: 'bearer(env("${1:TOKEN}"))',
  header: 'header("${1:X-Api-Key}", env("${2:API_KEY}"))',
  basic: 'basic(env("${1:USERNAME}"), env("${2:PASSWORD}"))',
  oauth2:
    'oauth2 {\n  token_url: "${1:https://}"\n  client_id: env("${2:CLIENT_ID}")\n  client_secret: env("${3:CLIENT_SECRET}")\n  scopes: [$4]\n}',
  user_token: 'user_token("${1:name}")',
};

function callItem(site: Site, callee: BuiltinCall): CompletionItem {
  let snippet = CALL_SNIPPETS[callee];
  const servers = callee === "mcp" ? site.table.ofKind("mcp").map((s) => s.name) : [];
  if (servers.length) snippet = `mcp(\${1|${servers.join(",")}|}, "\${2:tool}")`;
  return item(site, callee, "function", {
    detail: BUILTIN_CALLS[callee].label,
    documentation: BUILTIN_CALLS[callee].doc,
    insertText: snippet,
    isSnippet: true,
  });
}

function valueCompletions(site: Site, type: PropType): CompletionItem[] {
  switch (type.t) {
    case "enum":
      return type.values.map((v) => item(site, v, "enum"));
    case "boolean":
      return ["true", "false"].map((v) => item(site, v, "keyword"));
    case "ref":
      return references(site, type.kind);
    case "call":
      return type.callees.map((c) => callItem(site, c));
    case "secret":
      return [callItem(site, "env")];
    case "typeRef":
      return fieldTypes(site);
    default:
      return [];
  }
}

function fieldTypes(site: Site): CompletionItem[] {
  return [
    ...FIELD_TYPES.map((t) => item(site, t, "keyword", { detail: "field type" })),
    item(site, "enum", "snippet", {
      detail: 'enum("a", "b")',
      documentation: "One of the given strings.",
      insertText: 'enum("$1")',
      isSnippet: true,
    }),
    ...references(site, "type"),
  ];
}

/** The connections http(...) (sql: false) or sql(...) (sql: true) may go through; an env url may be either. */
function connections(site: Site, sql: boolean): CompletionItem[] {
  return site.table
    .ofKind("connection")
    .filter((s) => (connectionInfo(s.decl).sql ?? sql) === sql)
    .map((s) => {
      const info = connectionInfo(s.decl);
      const url = typeof info.url === "string" ? info.url : info.url ? `env("${info.url.env}")` : "";
      return item(site, s.name, "reference", {
        detail: `connection${info.auth ? ` (${info.auth})` : ""}`,
        documentation: `${url}: ${identityText(info, s.decl)}.`,
      });
    });
}

/** A sql(...) parameter: a root (input., user., session.), then its fields. */
function sqlParamCompletions(site: Site): CompletionItem[] {
  const roots = templateRoots(site);
  if (!roots) return [];
  const stmt = site.stmt;
  if (stmt.length === 0)
    return [...roots.keys()].map((r) =>
      item(site, r, "keyword", {
        insertText: `${r}.`,
        detail: "sql parameter",
        documentation: TEMPLATE_ROOT_DOCS[r],
        retrigger: true,
      }),
    );
  if (stmt.length === 2 && stmt[1] === ".") return roots.get(stmt[0])?.() ?? [];
  return [];
}

/** Declarations of a kind visible from the file. */
function references(site: Site, kind: DeclarationKind): CompletionItem[] {
  return site.table.ofKind(kind).map((s) => referenceItem(site, s));
}

function referenceItem(site: Site, s: Symbol): CompletionItem {
  const description = props(s.decl.body).get("description")?.value;
  const elsewhere = s.path !== site.path ? ` (${path.basename(s.path)})` : "";
  return item(site, s.name, "reference", {
    detail: `${s.kind}${elsewhere}`,
    documentation: description?.type === "String" ? description.value : undefined,
  });
}

// ---- declarations' facts -----------------------------------------------------------

function fieldItem(site: Site, f: FieldDecl, declPath: string, insertText?: string): CompletionItem {
  const source = site.service.program.get(declPath)?.file.text ?? "";
  const type = source.slice(f.fieldType.start, f.fieldType.end);
  return item(site, f.name.name, "field", {
    detail: f.optional ? `${type} (optional)` : type,
    documentation: f.description?.value,
    insertText,
  });
}

function toolInput(site: Site, name: string | undefined): { fields: FieldDecl[]; path: string } | undefined {
  const tool = name === undefined ? undefined : site.table.lookup("tool", name);
  return tool && { fields: fields(blocks(tool.decl.body).get("input")?.body), path: tool.path };
}

function agentMemory(
  site: Site,
  agent: Declaration | undefined,
): { fields: FieldDecl[]; path: string } | undefined {
  const ref = agent && props(agent.body).get("memory")?.value;
  const memory = ref?.type === "Reference" ? site.table.lookup("memory", ref.segments[0].name) : undefined;
  return memory && { fields: fields(blocks(memory.decl.body).get("fields")?.body), path: memory.path };
}

/** The agent a test runs, from the test declaration the cursor is in. */
function testAgent(site: Site): Declaration | undefined {
  const test = currentDeclaration(site);
  const ref = test && props(test.body).get("agent")?.value;
  return ref?.type === "Reference" ? site.table.lookup("agent", ref.segments[0].name)?.decl : undefined;
}

// ---- test steps ------------------------------------------------------------------

function words(site: Site, list: [string, string, string?][]): CompletionItem[] {
  return list.map(([label, insertText, documentation]) =>
    item(site, label, "keyword", {
      insertText,
      documentation,
      isSnippet: insertText.includes("$"),
      // Words that lead to a name or a field ask for the next list at once.
      retrigger: /[ .]$|\{ \$0 \}$/.test(insertText),
    }),
  );
}

/** Tools a test step may name: the visible tools, and `remember` when the agent has memory fields. */
function testTools(site: Site): CompletionItem[] {
  const out = references(site, "tool");
  if (agentMemory(site, testAgent(site))?.fields.length)
    out.push(
      item(site, MEMORY_TOOL, "reference", {
        detail: "built-in memory tool",
        documentation: "Writes a field of the agent's memory: { field, value }.",
      }),
    );
  return out;
}

/** The steps only eval cases have (evals.md section 1). */
const CASE_STEP_DOCS: Record<string, [string, string]> = {
  judge: ['judge "$1"', "A criterion the judge backend scores the case on (0 to 1), or a built-in judge."],
  score: [
    'score command("${1:node}", ["${2:scorer.js}"])',
    'A program that scores the case\'s session: prints {"score", "reason"}.',
  ],
  user: ['user says "$1"', "The next message of a simulated user on a local simulate backend."],
  expected: ['expected "$1"', "The reference answer, read by the correctness judge."],
  goal: ['goal "$1"', "The user's goal, read by the goal_success judge."],
};

const TRAJECTORY_MODE_TEXT: Record<string, string> = {
  in_order: "The listed tools were called in this order (the default).",
  exact: "The case's tool calls are exactly the list.",
  any_order: "Every listed tool was called, in any order.",
};

/** After `judge`: the built-in judges (and, in a case, `scores` for a local judge's scripted answer). */
function judgeCompletions(site: Site, inCase: boolean): CompletionItem[] {
  const out = BUILTIN_JUDGES.map((name) =>
    item(site, name, "enum", { detail: "built-in judge", documentation: BUILTIN_JUDGE_DOCS[name] }),
  );
  if (inCase)
    out.push(
      item(site, "scores", "keyword", {
        detail: 'judge scores N "reason"',
        documentation: "A scripted answer of a local judge, consumed in order by the judge criteria.",
        insertText: 'scores ${1:0.8} "$2"',
        isSnippet: true,
      }),
    );
  return out;
}

function stepCompletions(site: Site, inCase = false): CompletionItem[] {
  const s = site.stmt.join(" ");
  if (inCase && s === "expect")
    return words(site, [
      ["reply", "reply ", "The last reply: contains or matches a string."],
      ["tool", "tool ", "The tools of the case: called, not called or denied."],
      [
        "trajectory",
        "trajectory [$1]",
        "The tool calls of the whole case: in_order (default), exact or any_order.",
      ],
      ["handoff", "handoff ", "The last turn handed off to an agent."],
      ["memory", "memory.", "A memory field after the last turn, as in memory.open_tickets == 0."],
      ["tokens", "tokens ", "Tokens used so far, as in tokens < 10000."],
      ["turns", "turns ", "Turns so far, as in turns <= 3."],
    ]);
  if (inCase && s === "user")
    return words(site, [["says", 'says "$1"', "A scripted message of the simulated user."]]);
  switch (s) {
    case "model":
      return words(site, [
        ["replies", 'replies "$1"', "The model's scripted reply."],
        ["calls", "calls ", "A scripted tool call: calls TOOL { input }."],
        ["hands_off", "hands_off ", "A scripted handoff to another agent."],
      ]);
    case "model calls":
    case "tool":
    case "approve":
    case "reject":
    case "expect tool":
      return testTools(site);
    case "model hands_off":
    case "expect handoff":
      return references(site, "agent");
    case "expect":
      return words(site, [
        ["reply", "reply ", "The last reply: contains or matches a string."],
        ["tool", "tool ", "The tools of the last turn: called, not called or denied."],
        ["handoff", "handoff ", "The last turn handed off to an agent."],
        ["memory", "memory.", "A memory field after the last turn, as in memory.open_tickets == 0."],
        ["tokens", "tokens ", "Tokens used so far, as in tokens < 10000."],
        ["turns", "turns ", "Turns so far, as in turns <= 3."],
      ]);
    case "expect reply":
      return words(site, [
        ["contains", 'contains "$1"'],
        ["matches", 'matches "$1"'],
      ]);
    case "expect memory .": {
      const memory = agentMemory(site, testAgent(site));
      return memory ? memory.fields.map((f) => fieldItem(site, f, memory.path)) : [];
    }
  }
  if (site.stmt.length === 2 && site.stmt[0] === "tool")
    return words(site, [
      ["returns", "returns ", "Mock the tool's next result."],
      ["fails", 'fails "$1"', "Mock a tool error with this message."],
    ]);
  if (site.stmt.length === 3 && s.startsWith("expect tool "))
    return words(site, [
      ["called", "called", "The tool ran; add 'with { ... }' to check its input."],
      ["not called", "not called", "The tool did not run."],
      [
        "denied",
        "denied",
        "The model asked for the tool and a policy rule or a rejected approval stopped it.",
      ],
    ]);
  if (site.stmt.length === 4 && s.startsWith("expect tool ") && site.stmt[3] === "called")
    return words(site, [["with", "with { $0 }", "Check the input fields of the call."]]);
  if (site.stmt.length === 4 && s.startsWith("expect tool ") && site.stmt[3] === "not")
    return words(site, [["called", "called"]]);
  return [];
}

function objectCompletions(site: Site, ctx: { keys?: readonly string[]; tool?: string }): CompletionItem[] {
  if (site.stmt.length !== 0) return [];
  const written = site.frame.names;
  if (ctx.tool === MEMORY_TOOL)
    return [
      ["field", "The memory field to write."],
      ["value", "The new value, checked against the field's type."],
    ]
      .filter(([k]) => !written.has(k))
      .map(([k, doc]) => item(site, k, "field", { documentation: doc, insertText: `${k}: ` }));
  if (ctx.tool !== undefined) {
    const input = toolInput(site, ctx.tool);
    return (input?.fields ?? [])
      .filter((f) => !written.has(f.name.name))
      .map((f) => fieldItem(site, f, input!.path, `${f.name.name}: `));
  }
  return (ctx.keys ?? [])
    .filter((k) => !written.has(k))
    .map((k) => item(site, k, "field", { insertText: `${k}: ` }));
}

// ---- policy conditions -------------------------------------------------------------

function conditionCompletions(site: Site): CompletionItem[] {
  // The rule is the statement of the innermost block: parentheses may sit between it and the cursor.
  const rule =
    [...site.stack]
      .reverse()
      .find((f) => f.ctx.t === "block")
      ?.stmt.map((w) => w.text) ?? [];
  if (rule[0] !== "deny") return [];
  const stmt = site.stmt;
  if (site.frame.ctx.t === "block" && stmt.length === 1) return references(site, "tool");
  if (site.frame.ctx.t === "block" && stmt.length === 2)
    return words(site, [
      ["when", "when ", "The condition over the tool's input, as in when input.amount > 500."],
    ]);
  const [last, beforeLast] = [stmt[stmt.length - 1], stmt[stmt.length - 2]];
  if (last === "." && beforeLast === "input") {
    const input = toolInput(site, rule[1]);
    return input ? input.fields.map((f) => fieldItem(site, f, input.path)) : [];
  }
  if (stmt.length === 0 || ["when", "and", "or", "not"].includes(last))
    return words(site, [
      ["input", "input.", "The input of the denied tool: input.FIELD."],
      ["not", "not ", "Negates the condition after it."],
    ]);
  return [];
}

// ---- strings: templates and import paths ------------------------------------------------

const TEMPLATE_ROOT_DOCS: Record<string, string> = {
  vars: "The agent's vars { ... }.",
  memory: "The fields of the agent's memory.",
  user: "The user the session runs for: id, name (supplied at run time).",
  session: "The session: id, turn.",
  input: "The tool's input fields.",
};

type TemplateRoots = Map<string, () => CompletionItem[]>;

function fixedFields(site: Site, names: string[]): () => CompletionItem[] {
  return () => names.map((n) => item(site, n, "field"));
}

/** The template roots allowed in the string at the cursor (language.md 3.6; docs/language.md, Interpretations 4). */
function templateRoots(site: Site): TemplateRoots | undefined {
  const decl = site.stack[1];
  if (!decl?.decl) return undefined;
  const user = fixedFields(site, ["id", "name"]);
  const session = fixedFields(site, ["id", "turn"]);
  const ast = currentDeclaration(site);
  if (decl.decl.kind === "agent" && site.stack.length === 2 && site.stmt.join(" ") === "instructions :") {
    const vars = ast ? (blocks(ast.body).get("vars")?.body.members ?? []) : [];
    return new Map([
      [
        "vars",
        () =>
          vars.flatMap((m) =>
            m.type === "Property"
              ? [item(site, m.name.name, "field", { detail: site.text.slice(m.value.start, m.value.end) })]
              : [],
          ),
      ],
      [
        "memory",
        () => {
          const memory = agentMemory(site, ast);
          return memory ? memory.fields.map((f) => fieldItem(site, f, memory.path)) : [];
        },
      ],
      ["user", user],
      ["session", session],
    ]);
  }
  const call = site.stack.find((f) => f.ctx.t === "call");
  const callee = call?.ctx.t === "call" ? call.ctx.callee : undefined;
  const property = call?.owner[0]?.text;
  if (decl.decl.kind === "tool" && property === "run" && callee !== undefined) {
    const input = ast ? fields(blocks(ast.body).get("input")?.body) : [];
    return new Map([
      ["input", () => input.map((f) => fieldItem(site, f, site.path))],
      ["user", user],
      ["session", session],
    ]);
  }
  if (decl.decl.kind === "context" && property === "from" && callee !== undefined && callee !== "file")
    return new Map([
      ["user", user],
      ["session", session],
    ]);
  return undefined;
}

function stringCompletions(site: Site, s: Token): CompletionItem[] {
  const contentStart = s.start + (s.textBlock ? 3 : 1);
  const before = site.text.slice(contentStart, site.offset);
  if (site.stack.length === 1 && site.stmt.join(" ") === "import" && !s.textBlock)
    return importPaths(site, s, before);
  const open = before.lastIndexOf("{{");
  if (open < 0 || before.indexOf("}}", open) >= 0 || before[open - 1] === "\\") return [];
  const inner = before.slice(open + 2);
  const m = /^\s*(?:([A-Za-z_]\w*)\s*\.\s*)?([A-Za-z_]\w*)?$/.exec(inner);
  if (!m) return [];
  // The word being typed runs on past the cursor over identifier characters.
  const after = /^\w*/.exec(site.text.slice(site.offset))![0].length;
  site.word = { start: site.offset - (m[2]?.length ?? 0), end: site.offset + after };
  const roots = templateRoots(site);
  if (!roots) return [];
  if (m[1] === undefined)
    return [...roots.keys()].map((r) =>
      item(site, r, "keyword", { detail: "template root", documentation: TEMPLATE_ROOT_DOCS[r] }),
    );
  return roots.get(m[1])?.() ?? [];
}

/** Relative paths of the other `.agent` files the service knows, one folder level at a time. */
function importPaths(site: Site, s: Token, typed: string): CompletionItem[] {
  const slash = typed.lastIndexOf("/");
  const dir = typed.slice(0, slash + 1);
  const base = dir.replace(/^(\.\/)+/, "");
  const contentEnd = s.terminated ? s.end - 1 : s.end;
  site.word = { start: site.offset - (typed.length - dir.length), end: Math.max(site.offset, contentEnd) };
  const imported = new Set(site.service.program.get(site.path)?.imports.map((i) => i.target));
  const seen = new Set<string>();
  const out: CompletionItem[] = [];
  for (const file of site.service.files()) {
    if (file === site.path || imported.has(file) || !file.endsWith(".agent")) continue;
    const rel = path.relative(path.dirname(site.path), file).split(path.sep).join("/");
    if (!rel.startsWith(base)) continue;
    const rest = rel.slice(base.length);
    const folder = rest.includes("/") ? rest.slice(0, rest.indexOf("/") + 1) : undefined;
    const label = folder ?? rest;
    if (seen.has(label)) continue;
    seen.add(label);
    out.push(
      item(site, label, folder ? "folder" : "file", {
        detail: folder ? "folder" : rel,
        retrigger: folder !== undefined,
      }),
    );
  }
  return out;
}
