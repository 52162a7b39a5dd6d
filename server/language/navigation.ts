// Navigation over a workspace: go to definition, find references, rename,
// workspace symbols and document links. Pure functions of the language
// service: they answer in paths and spans, and the language server turns
// those into URIs and ranges.

import * as path from "node:path";
import {
  declarationName,
  type Declaration,
  type DeclarationKind,
  type Import,
  type ObjectEntry,
  type Reference,
  type SourceFile,
  type Span,
  type StringLiteral,
  type TemplateRef,
  type TestStep,
} from "./ast";
import { blocks, fields, props } from "./compile";
import { LineIndex } from "./lineIndex";
import { children, nodesAt, type AnyNode } from "./locate";
import { parse } from "./parse";
import type { Symbol, SymbolTable } from "./program";
import { BUILTIN_CALLS, FIELD_TYPES } from "./schema";
import type { LanguageService } from "./languageService";
import { MEMORY_TOOL } from "../protocol/names";

/** A place to jump to: the whole node (`range`) and its name (`selection`). */
export interface NavTarget {
  path: string;
  range: Span;
  selection: Span;
}

export interface Definition {
  /** The name under the cursor that the targets define. */
  origin: Span;
  targets: NavTarget[];
}

export interface NavLocation {
  path: string;
  span: Span;
}

export interface TextEditAt {
  path: string;
  span: Span;
  newText: string;
}

export type RenameCheck = { ok: true; span: Span; placeholder: string } | { ok: false; message: string };
export type RenameResult = { ok: true; edits: TextEditAt[] } | { ok: false; message: string };

const START_OF_FILE: Span = { start: 0, end: 0 };
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const LITERAL_WORDS = new Set(["true", "false", "null"]);
/** Built-in roots of templates, conditions and test expectations. */
const BUILTIN_ROOTS = new Set(["input", "memory", "vars", "user", "session"]);
const RENAMABLE =
  "Only declarations (backend, type, tool, context, memory, agent, mcp) and references to them can be renamed.";

const within = (s: Span, offset: number) => s.start <= offset && offset <= s.end;
/** A span without the rest of its node. */
const span = (s: Span): Span => ({ start: s.start, end: s.end });

function declTarget(symbol: Symbol): NavTarget {
  return {
    path: symbol.path,
    range: span(symbol.decl),
    selection: span(symbol.decl.name ?? symbol.decl.keyword),
  };
}

function memberTarget(filePath: string, node: Span & { name: Span }): NavTarget {
  return { path: filePath, range: span(node), selection: span(node.name) };
}

// ---- go to definition ---------------------------------------------------------------------------

/**
 * What the name at `offset` refers to: a declaration (from any reference or
 * from its own name), an imported file, a `file(...)` path, a memory field
 * in `{{ memory.field }}` or a test, a var in `{{ vars.name }}`, or a tool's
 * input field in `{{ input.x }}`, a policy condition or a test's tool input.
 */
export function definitionAt(
  service: LanguageService,
  filePath: string,
  offset: number,
): Definition | undefined {
  const key = path.resolve(filePath);
  const pf = service.program.get(key);
  if (!pf) return undefined;
  const ref = service.referenceAt(key, offset);
  if (ref) return ref.target ? { origin: span(ref.span), targets: [declTarget(ref.target)] } : undefined;
  const site = service.declarationAt(key, offset);
  if (site) return { origin: span(site.nameSpan), targets: [declTarget(site.symbol)] };

  const chain = nodesAt(pf.file, offset);
  const top = chain[0];
  if (top?.type === "Import") {
    const imp = pf.imports.find((i) => i.node === (top as unknown as Import));
    if (!imp?.found || !within(imp.node.path, offset)) return undefined;
    return {
      origin: span(imp.node.path),
      targets: [{ path: imp.target, range: START_OF_FILE, selection: START_OF_FILE }],
    };
  }
  const filePathArg = fileArgAt(chain, offset);
  if (filePathArg) {
    const target = path.resolve(path.dirname(key), filePathArg.value);
    if (!service.program.fs.exists(target)) return undefined;
    return {
      origin: span(filePathArg),
      targets: [{ path: target, range: START_OF_FILE, selection: START_OF_FILE }],
    };
  }
  if (top?.type !== "Declaration") return undefined;
  return memberDefinition(service.program.symbols(key), key, top as unknown as Declaration, chain, offset);
}

/** The string argument of a `file("...")` call under the cursor. */
function fileArgAt(chain: AnyNode[], offset: number): StringLiteral | undefined {
  for (let i = chain.length - 1; i > 0; i--) {
    const node = chain[i];
    const call = chain[i - 1];
    if (
      node.type === "String" &&
      call.type === "Call" &&
      (call.callee as { name: string }).name === "file" &&
      (call.args as AnyNode[])[0] === node &&
      within(node, offset)
    )
      return node as unknown as StringLiteral;
  }
  return undefined;
}

/** Where a built-in root's members are declared: a memory's fields, an agent's vars, a tool's input. */
interface MemberScope {
  container: NavTarget;
  member(name: string): NavTarget | undefined;
}

/** The fields of a block of a declaration; the root itself goes to the block, or to the declaration. */
function fieldScope(symbol: Symbol, blockName: string, rootIsBlock: boolean): MemberScope {
  const block = blocks(symbol.decl.body).get(blockName);
  const list = fields(block?.body);
  return {
    container: block && rootIsBlock ? memberTarget(symbol.path, block) : declTarget(symbol),
    member: (name) => {
      const f = list.find((x) => x.name.name === name);
      return f && memberTarget(symbol.path, f);
    },
  };
}

function refSymbol(table: SymbolTable, kind: DeclarationKind, ref: unknown): Symbol | undefined {
  const r = ref as Reference | undefined;
  return r?.type === "Reference" ? table.lookup(kind, r.segments[0].name) : undefined;
}

function memoryOfAgent(table: SymbolTable, agent: Declaration | undefined): MemberScope | undefined {
  const memory = agent && refSymbol(table, "memory", props(agent.body).get("memory")?.value);
  return memory && fieldScope(memory, "fields", false);
}

function agentOfTest(table: SymbolTable, test: Declaration): Declaration | undefined {
  return refSymbol(table, "agent", props(test.body).get("agent")?.value)?.decl;
}

function toolInput(table: SymbolTable, toolRef: Reference): MemberScope | undefined {
  const tool = refSymbol(table, "tool", toolRef);
  return tool && fieldScope(tool, "input", true);
}

function rootScope(
  table: SymbolTable,
  filePath: string,
  decl: Declaration,
  root: string,
): MemberScope | undefined {
  if (decl.kind === "agent" && root === "memory") return memoryOfAgent(table, decl);
  if (decl.kind === "agent" && root === "vars") {
    const vars = blocks(decl.body).get("vars");
    if (!vars) return undefined;
    return {
      container: memberTarget(filePath, vars),
      member: (name) => {
        const p = vars.body.members.find((m) => m.type === "Property" && m.name.name === name);
        return p && p.type === "Property" ? memberTarget(filePath, p) : undefined;
      },
    };
  }
  if (decl.kind === "tool" && root === "input")
    return fieldScope(
      { kind: "tool", name: declarationName(decl) ?? "", decl, path: filePath },
      "input",
      true,
    );
  return undefined;
}

/** `root.member` under the cursor: the root goes to its container, the member to its declaration. */
function pathTarget(
  scope: MemberScope | undefined,
  segments: Span[],
  names: string[],
  offset: number,
): Definition | undefined {
  const i = segments.findIndex((s) => within(s, offset));
  if (!scope || i < 0 || i > 1) return undefined;
  const target = i === 0 ? scope.container : scope.member(names[1]);
  return target && { origin: span(segments[i]), targets: [target] };
}

function memberDefinition(
  table: SymbolTable,
  filePath: string,
  decl: Declaration,
  chain: AnyNode[],
  offset: number,
): Definition | undefined {
  const template = chain.find((n) => Array.isArray(n.path) && Array.isArray(n.segments)) as
    TemplateRef | undefined;
  if (template)
    return pathTarget(
      rootScope(table, filePath, decl, template.path[0]),
      template.segments,
      template.path,
      offset,
    );

  const deny = chain.find((n) => n.type === "Deny");
  if (deny) {
    const ref = innermost<Reference>(chain, "Reference");
    const tool = (deny as unknown as { tool: Reference }).tool;
    if (!ref || ref === tool || ref.segments[0].name !== "input") return undefined;
    return pathTarget(
      toolInput(table, tool),
      ref.segments,
      ref.segments.map((s) => s.name),
      offset,
    );
  }

  const step = chain.find((n) => n.type === "Step") as unknown as TestStep | undefined;
  if (!step) return undefined;
  const memory = () => memoryOfAgent(table, agentOfTest(table, decl));
  if (step.step === "expect.memory")
    return pathTarget(
      memory(),
      step.path.segments,
      step.path.segments.map((s) => s.name),
      offset,
    );
  if (step.step !== "model.calls" && step.step !== "expect.tool") return undefined;
  const entry = chain.find((n) => "key" in n && "value" in n) as unknown as ObjectEntry | undefined;
  if (!entry) return undefined;
  const isMemoryTool = step.tool.segments.length === 1 && step.tool.segments[0].name === MEMORY_TOOL;
  if (!isMemoryTool && within(entry.key, offset)) {
    const target = toolInput(table, step.tool)?.member(entry.key.name);
    return target && { origin: span(entry.key), targets: [target] };
  }
  // `model calls remember { field: "open_tickets", ... }` names a memory field in a string.
  if (
    isMemoryTool &&
    entry.key.name === "field" &&
    entry.value.type === "String" &&
    within(entry.value, offset)
  ) {
    const target = memory()?.member(entry.value.value);
    return target && { origin: span(entry.value), targets: [target] };
  }
  return undefined;
}

function innermost<T>(chain: AnyNode[], type: string): T | undefined {
  for (let i = chain.length - 1; i >= 0; i--) if (chain[i].type === type) return chain[i] as unknown as T;
  return undefined;
}

// ---- references ---------------------------------------------------------------------------------

/** Every reference to the declaration under the cursor (at a reference or at its name), across the workspace. */
export function referencesAt(
  service: LanguageService,
  filePath: string,
  offset: number,
  includeDeclaration: boolean,
): NavLocation[] {
  const site = service.symbolAt(path.resolve(filePath), offset);
  if (!site) return [];
  const { decl } = site.symbol;
  const refs = service
    .referencesTo(decl)
    .map((r) => ({ path: r.path, span: span(r.span) }))
    .sort((a, b) => a.path.localeCompare(b.path) || a.span.start - b.span.start);
  return includeDeclaration && decl.name
    ? [{ path: site.symbol.path, span: span(decl.name) }, ...refs]
    : refs;
}

// ---- rename -------------------------------------------------------------------------------------

/** Whether the name at `offset` can be renamed: a declaration's name or a resolved reference to one. */
export function prepareRename(service: LanguageService, filePath: string, offset: number): RenameCheck {
  const key = path.resolve(filePath);
  const file = service.program.get(key)?.file;
  if (!file) return { ok: false, message: "This file is not part of the workspace." };
  const ref = service.referenceAt(key, offset);
  if (ref?.target) return { ok: true, span: span(ref.span), placeholder: ref.target.name };
  const site = service.declarationAt(key, offset);
  if (site) {
    if (site.symbol.kind === "test" || site.symbol.decl.name?.type === "String")
      return {
        ok: false,
        message: "A test is named by a string, not an identifier: edit the string to rename the test.",
      };
    return { ok: true, span: span(site.nameSpan), placeholder: site.symbol.name };
  }
  return { ok: false, message: refusal(file, offset) };
}

/** Why the thing under the cursor cannot be renamed, in one sentence. */
function refusal(file: SourceFile, offset: number): string {
  if (file.comments.some((c) => c.start <= offset && offset < c.end))
    return `Comments cannot be renamed. ${RENAMABLE}`;
  const chain = nodesAt(file, offset);
  const word = wordAt(file.text, offset);
  if (!word) return `Place the cursor on a name. ${RENAMABLE}`;
  const node = chain[chain.length - 1];
  const parent = chain[chain.length - 2];
  const keyword = `'${word}' is a keyword of the language and cannot be renamed.`;
  if (!node || node.type !== "Identifier") {
    if (node?.type === "Boolean" || node?.type === "Null") return keyword;
    if (node?.type === "String") return `Strings cannot be renamed. ${RENAMABLE}`;
    if (Array.isArray(node?.segments) || Array.isArray(parent?.segments))
      return `'${word}' is a template variable, not a declaration. ${RENAMABLE}`;
    // A word of a statement that is not a node of its own: `calls`, `when`, `returns`, `not called`...
    return keyword;
  }
  if (parent && parent.keyword === node) return keyword;
  if (parent?.type === "Call" && parent.callee === node) {
    return word in BUILTIN_CALLS
      ? `'${word}' is a built-in function and cannot be renamed.`
      : `'${word}' is not a declaration. ${RENAMABLE}`;
  }
  if (parent && "fieldType" in parent && parent.name === node)
    return `'${word}' is a field, not a declaration. ${RENAMABLE}`;
  if (parent && "list" in parent && parent.name === node)
    return (FIELD_TYPES as readonly string[]).includes(word) || word === "enum"
      ? `'${word}' is a built-in type and cannot be renamed.`
      : `'${word}' does not name a declared type, so there is nothing to rename.`;
  if (parent && (parent.type === "Property" || parent.type === "BlockMember") && parent.name === node)
    return `'${word}' is a property name, not a declaration. ${RENAMABLE}`;
  if (parent && "key" in parent && parent.key === node)
    return `'${word}' is a key of an object, not a declaration. ${RENAMABLE}`;
  if (parent?.type === "Reference") {
    const first = (parent.segments as unknown[])[0] === node;
    if (first && word === MEMORY_TOOL)
      return `'${MEMORY_TOOL}' is the built-in memory tool and cannot be renamed.`;
    if (first && word === "local") return `'local' is the built-in local backend and cannot be renamed.`;
    if (first && BUILTIN_ROOTS.has(word) && (parent.segments as unknown[]).length > 1)
      return `'${word}' is built in and cannot be renamed.`;
    return `'${word}' does not resolve to a declaration, so there is nothing to rename.`;
  }
  return `'${word}' cannot be renamed. ${RENAMABLE}`;
}

function wordAt(text: string, offset: number): string | undefined {
  let start = offset;
  let end = offset;
  while (start > 0 && /[A-Za-z0-9_]/.test(text[start - 1])) start--;
  while (end < text.length && /[A-Za-z0-9_]/.test(text[end])) end++;
  return end > start ? text.slice(start, end) : undefined;
}

/**
 * The edits that rename the declaration under the cursor to `newName`: its
 * name and every reference to it in every file. Refuses a name that is not
 * an identifier, that a built-in owns, that another declaration of the same
 * kind already has where the renamed one is visible, or that the parser
 * would read as a keyword at one of the edited places.
 */
export function renameEdits(
  service: LanguageService,
  filePath: string,
  offset: number,
  newName: string,
): RenameResult {
  const check = prepareRename(service, filePath, offset);
  if (!check.ok) return check;
  const site = service.symbolAt(path.resolve(filePath), offset);
  const nameSpan = site?.symbol.decl.name;
  if (!site || !nameSpan) return { ok: false, message: RENAMABLE };
  const { kind, decl } = site.symbol;
  if (!IDENTIFIER.test(newName))
    return {
      ok: false,
      message: `'${newName}' is not a valid name: use letters, digits and '_', not starting with a digit.`,
    };
  if (LITERAL_WORDS.has(newName))
    return { ok: false, message: `'${newName}' is a literal and cannot be the name of a ${kind}.` };
  if (kind === "type" && ((FIELD_TYPES as readonly string[]).includes(newName) || newName === "enum"))
    return { ok: false, message: `'${newName}' is a built-in type: choose another name for the type.` };
  if (kind === "tool" && newName === MEMORY_TOOL)
    return { ok: false, message: `'${MEMORY_TOOL}' is the built-in memory tool: choose another name.` };

  const edits: TextEditAt[] = [
    { path: site.symbol.path, span: span(nameSpan), newText: newName },
    ...service.referencesTo(decl).map((r) => ({ path: r.path, span: span(r.span), newText: newName })),
  ];
  const program = service.program;
  // Every file that sees the declaration, or is edited, must not see another one of that kind and name.
  const affected = new Set([
    site.symbol.path,
    ...program.dependants(site.symbol.path),
    ...edits.map((e) => e.path),
  ]);
  for (const f of affected) {
    const other = program.symbols(f).lookup(kind, newName);
    if (other && other.decl !== decl) {
      const line =
        new LineIndex(program.get(other.path)?.file.text ?? "").position(other.decl.start).line + 1;
      return {
        ok: false,
        message: `There is already a ${kind} named '${newName}' (${path.basename(other.path)}:${line}): choose another name.`,
      };
    }
  }
  // Keywords are contextual: make sure every edited file still parses the same way.
  for (const f of new Set(edits.map((e) => e.path))) {
    const pf = program.get(f);
    if (!pf) continue;
    const text = applyEdits(
      pf.file.text,
      edits.filter((e) => e.path === f),
    );
    const after = parse(text, f).diagnostics;
    if (after.length > pf.parseDiagnostics.length) {
      const line = new LineIndex(text).position(after[0].span.start).line + 1;
      return {
        ok: false,
        message: `'${newName}' cannot be used as the name of a ${kind}: it would be read as a keyword (${path.basename(f)}:${line}).`,
      };
    }
  }
  return {
    ok: true,
    edits: edits.sort((a, b) => a.path.localeCompare(b.path) || a.span.start - b.span.start),
  };
}

/** Applies non-overlapping edits to a text. */
export function applyEdits(text: string, edits: { span: Span; newText: string }[]): string {
  let out = text;
  for (const e of [...edits].sort((a, b) => b.span.start - a.span.start))
    out = out.slice(0, e.span.start) + e.newText + out.slice(e.span.end);
  return out;
}

// ---- workspace symbols --------------------------------------------------------------------------

export interface WorkspaceSymbol {
  name: string;
  kind: DeclarationKind;
  path: string;
  range: Span;
  selection: Span;
}

/**
 * How well a name matches a query, lower is better: exact, prefix,
 * substring, then the query's characters in order (fuzzy). Case-insensitive.
 */
export function matchScore(name: string, query: string): number | undefined {
  const q = query.trim().toLowerCase();
  const n = name.toLowerCase();
  if (!q || n === q) return 0;
  if (n.startsWith(q)) return 1;
  if (n.includes(q)) return 2;
  let i = 0;
  for (const c of n) if (c === q[i]) i++;
  return i === q.length ? 3 : undefined;
}

/** Every declaration in the workspace whose name matches `query`, best matches first. */
export function workspaceSymbols(service: LanguageService, query: string): WorkspaceSymbol[] {
  const out: (WorkspaceSymbol & { score: number })[] = [];
  for (const p of service.files()) {
    for (const decl of service.program.get(p)?.file.declarations ?? []) {
      const name = declarationName(decl);
      if (name === undefined || !decl.name) continue;
      const score = matchScore(name, query);
      if (score === undefined) continue;
      out.push({ name, kind: decl.kind, path: p, range: span(decl), selection: span(decl.name), score });
    }
  }
  out.sort((a, b) => a.score - b.score || a.name.localeCompare(b.name) || a.path.localeCompare(b.path));
  return out.map(({ score: _score, ...s }) => s);
}

// ---- document links ----------------------------------------------------------------------------

export interface DocumentLink {
  /** The path inside the quotes. */
  span: Span;
  target: string;
  tooltip: string;
}

/** The text between a string's quotes. */
function stringContent(s: StringLiteral): Span {
  const q = s.textBlock ? 3 : 1;
  return { start: s.start + q, end: s.terminated ? s.end - q : s.end };
}

/** Import strings (to the imported file) and `file("...")` paths (when the file exists). */
export function documentLinks(service: LanguageService, filePath: string): DocumentLink[] {
  const key = path.resolve(filePath);
  const pf = service.program.get(key);
  if (!pf) return [];
  const links: DocumentLink[] = [];
  for (const imp of pf.imports)
    if (imp.found)
      links.push({
        span: stringContent(imp.node.path),
        target: imp.target,
        tooltip: "Open the imported file",
      });
  const visit = (node: AnyNode) => {
    if (node.type === "Call" && (node.callee as { name: string }).name === "file") {
      const arg = (node.args as AnyNode[])[0];
      if (arg?.type === "String") {
        const s = arg as unknown as StringLiteral;
        const target = path.resolve(path.dirname(key), s.value);
        if (s.value && service.program.fs.exists(target))
          links.push({ span: stringContent(s), target, tooltip: "Open the file" });
      }
    }
    for (const c of children(node)) visit(c);
  };
  for (const decl of pf.file.declarations) visit(decl as unknown as AnyNode);
  return links;
}
