// Quick fixes for the validator's diagnostics, as plain edits (UTF-16 offsets into one file): did-you-mean
// replacements, missing properties, stub declarations for unknown names, secrets moved into env(...), and
// removal of unused declarations. The language server turns them into LSP code actions.

import {
  DECLARATION_KINDS,
  declarationName,
  type Block,
  type Declaration,
  type DeclarationKind,
  type SourceFile,
} from "./ast";
import type { Diagnostic, FixData } from "./diagnostics";
import type { TextEdit } from "./format";
import { LineIndex } from "./lineIndex";
import { children, declarationAt } from "./locate";
import type { LanguageService } from "./languageService";
import { providerRow } from "./providers";

export type CodeActionKind = "quickfix" | "source.fixAll.statecraft";

export interface CodeActionData {
  title: string;
  kind: CodeActionKind;
  /** The diagnostics the action fixes (the ones it was computed from). */
  diagnostics: Diagnostic[];
  /** Edits of the diagnostics' file, non-overlapping. */
  edits: TextEdit[];
  /** The one obvious fix (a single did-you-mean): editors apply it with a keystroke, fix-all applies it. */
  isPreferred?: boolean;
}

/** Codes whose `replace` fix is a did-you-mean: the nearest valid name. */
const DID_YOU_MEAN: ReadonlySet<string> = new Set([
  "unknown-reference",
  "unknown-property",
  "invalid-enum",
  "unknown-model",
  "undefined-template-variable",
  "unknown-tool-input",
]);

/** Kinds a stub can be created for; a test is never the target of a reference. */
const CREATABLE: ReadonlySet<DeclarationKind> = new Set(DECLARATION_KINDS.filter((k) => k !== "test"));

/** The quick fixes for `diagnostics` of the file at `path`, in the order of the diagnostics. */
export function quickFixes(
  service: LanguageService,
  path: string,
  diagnostics: Diagnostic[],
): CodeActionData[] {
  const file = service.program.get(path)?.file;
  if (!file) return [];
  const out: CodeActionData[] = [];
  for (const d of diagnostics) out.push(...fixesFor(service, file, d));
  return out;
}

/** One action applying every preferred fix of the file, or undefined when there is none. */
export function fixAll(service: LanguageService, path: string): CodeActionData | undefined {
  const preferred = quickFixes(service, path, service.diagnostics(path)).filter((a) => a.isPreferred);
  const edits: TextEdit[] = [];
  const fixed: Diagnostic[] = [];
  // Two fixes of one span (or of overlapping spans) cannot both apply: the first wins.
  const clash = (e: TextEdit, x: TextEdit) => e.start === x.start || (e.start < x.end && x.start < e.end);
  for (const a of preferred) {
    if (a.edits.some((e) => edits.some((x) => clash(e, x)))) continue;
    edits.push(...a.edits);
    fixed.push(...a.diagnostics);
  }
  if (edits.length === 0) return undefined;
  return {
    title: `Fix all: apply ${edits.length === 1 ? "the did-you-mean fix" : `${edits.length} did-you-mean fixes`}`,
    kind: "source.fixAll.statecraft",
    diagnostics: fixed,
    edits: edits.sort((a, b) => a.start - b.start),
  };
}

function fixesFor(service: LanguageService, file: SourceFile, d: Diagnostic): CodeActionData[] {
  const out: CodeActionData[] = [];
  const action = (title: string, edits: TextEdit[], isPreferred?: boolean) =>
    out.push({ title, kind: "quickfix", diagnostics: [d], edits, ...(isPreferred ? { isPreferred } : {}) });
  const fixes = d.fixes ?? [];
  const replaces = fixes.filter((f): f is Extract<FixData, { kind: "replace" }> => f.kind === "replace");
  for (const f of replaces) {
    const edit = { start: d.span.start, end: d.span.end, newText: f.text };
    if (d.code === "secret-literal") action(`Move the secret into ${f.text}`, [edit]);
    else action(f.title, [edit], DID_YOU_MEAN.has(d.code) && replaces.length === 1);
  }
  for (const f of fixes) {
    if (f.kind === "insertProperty") {
      const edit = insertProperty(service, file, f);
      if (edit)
        action(f.property === "send" ? "Add missing step 'send'" : `Add missing property '${f.property}'`, [
          edit,
        ]);
    } else if (f.kind === "edits") {
      action(
        f.title,
        f.edits.map((e) => ({ start: e.start, end: e.end, newText: e.text })),
        d.code === "sql-template",
      );
    } else if (f.kind === "createDeclaration" && CREATABLE.has(f.declKind as DeclarationKind)) {
      const created = createDeclaration(service, file, f.declKind as DeclarationKind, f.name, f.after);
      if (!out.some((a) => a.title === created.title)) action(created.title, [created.edit]);
    }
  }
  if (d.code === "unknown-reference") {
    const created = createForReference(service, file, d);
    if (created && !out.some((a) => a.title === created.title)) action(created.title, [created.edit]);
  }
  if (d.code === "unused-declaration") {
    const decl = file.declarations.find((x) => x.name && x.name.start === d.span.start);
    if (decl)
      action(`Remove unused ${decl.kind} '${declarationName(decl)}'`, [removeDeclaration(file.text, decl)]);
  }
  return out;
}

// ---- missing properties -----------------------------------------------------------------------

/**
 * Adds a property line before the closing brace of the block that ends at `fix.blockEnd`: on a line of its
 * own, indented like the block's members, or inline when the block is written on one line.
 */
function insertProperty(
  service: LanguageService,
  file: SourceFile,
  fix: Extract<FixData, { kind: "insertProperty" }>,
): TextEdit | undefined {
  const text = file.text;
  const block = blockEndingAt(file, fix.blockEnd);
  if (!block) return undefined;
  const decl = declarationAt(file, fix.blockEnd);
  const owner = decl && decl.body === block ? decl : undefined;
  const line = plainProperty(service, file, owner, fix);
  const lines = new LineIndex(text);
  const braceLine = lines.position(fix.blockEnd).line;
  const lineStart = lines.lineStart(braceLine);
  const beforeBrace = text.slice(lineStart, fix.blockEnd);
  if (!block.closed) {
    return { start: fix.blockEnd, end: fix.blockEnd, newText: `\n${memberIndent(text, block, "")}${line}` };
  }
  if (/^[ \t]*$/.test(beforeBrace)) {
    // `}` on its own line: a new line above it.
    return {
      start: lineStart,
      end: lineStart,
      newText: `${memberIndent(text, block, beforeBrace)}${line}\n`,
    };
  }
  // A block on one line (`{ kind: stateless }`, `{}`): the property goes inline, as language.md allows.
  let s = fix.blockEnd;
  while (s > block.start + 1 && (text[s - 1] === " " || text[s - 1] === "\t")) s--;
  return { start: s, end: fix.blockEnd, newText: ` ${line} ` };
}

/** The block whose closing brace is at `offset` (or, unclosed, which ends there). */
function blockEndingAt(file: SourceFile, offset: number): Block | undefined {
  let found: Block | undefined;
  const visit = (node: object): void => {
    if (found) return;
    const b = node as Partial<Block>;
    if (Array.isArray(b.members) && typeof b.mode === "string" && typeof b.end === "number") {
      const block = node as Block;
      if ((block.closed ? block.end - 1 : block.end) === offset) {
        found = block;
        return;
      }
    }
    for (const c of children(node)) visit(c);
  };
  for (const d of file.declarations) visit(d);
  return found;
}

/** The indentation of the block's members (the first one on a line of its own), else one level past `outer`. */
function memberIndent(text: string, block: Block, outer: string): string {
  const lines = new LineIndex(text);
  for (const m of block.members) {
    const start = lines.lineStart(lines.position(m.start).line);
    const lead = text.slice(start, m.start);
    if (start > block.start && /^[ \t]*$/.test(lead)) return lead;
  }
  return outer + (outer.includes("\t") ? "\t" : "  ");
}

/**
 * The property as plain text: the schema's snippet with each placeholder replaced by its default (the first
 * choice, the default text, or nothing), except where a better default is known from the declaration.
 */
function plainProperty(
  service: LanguageService,
  file: SourceFile,
  owner: Declaration | undefined,
  fix: Extract<FixData, { kind: "insertProperty" }>,
): string {
  switch (`${owner?.kind ?? ""}.${fix.property}`) {
    case "backend.provider":
      // `local` is valid with both kinds and runs offline, so the fix never causes a backend-mismatch.
      return "provider: local";
    case "backend.endpoint": {
      const example = providerRow(ownerProvider(owner))?.endpoint?.example ?? "http://localhost:11434/v1";
      return `endpoint: ${JSON.stringify(example)}`;
    }
    case "agent.instructions":
      return 'instructions: ""';
    case "test.agent": {
      const agents = service.visible(file.path, "agent");
      return `agent: ${agents[0]?.name ?? "agent_name"}`;
    }
    case "test.send":
      return 'send "Hello"';
  }
  return stripSnippet(fix.snippet);
}

function ownerProvider(decl: Declaration | undefined): string | undefined {
  for (const m of decl?.body.members ?? []) {
    if (m.type !== "Property" || m.name.name !== "provider") continue;
    const v = m.value;
    if (v.type === "Reference") return v.segments.map((s) => s.name).join(".");
    if (v.type === "String") return v.value;
  }
  return undefined;
}

/** `kind: ${1|stateless,stateful|}` -> `kind: stateless`; `"${1:x}"` -> `"x"`; `$1`, `$0` -> nothing. */
export function stripSnippet(snippet: string): string {
  return snippet
    .replace(/\$\{\d+\|([^,|}]*)[^}]*\|\}/g, "$1")
    .replace(/\$\{\d+:([^}]*)\}/g, "$1")
    .replace(/\$\{\d+\}|\$\d+/g, "")
    .replace(/\\([$}\\])/g, "$1");
}

// ---- stub declarations -------------------------------------------------------------------------

/** "Create tool 'X'" for an unknown name whose expected kind (from the resolved references) can be declared. */
function createForReference(
  service: LanguageService,
  file: SourceFile,
  d: Diagnostic,
): { title: string; edit: TextEdit } | undefined {
  const ref = service
    .analysis(file.path)
    .references.find((r) => !r.target && r.span.start === d.span.start && r.span.end === d.span.end);
  if (!ref || !CREATABLE.has(ref.expected)) return undefined;
  const decl = declarationAt(file, d.span.start);
  if (!decl) return undefined;
  return createDeclaration(service, file, ref.expected, file.text.slice(d.span.start, d.span.end), decl.end);
}

function createDeclaration(
  service: LanguageService,
  file: SourceFile,
  kind: DeclarationKind,
  name: string,
  after: number,
): { title: string; edit: TextEdit } {
  return {
    title: `Create ${kind} '${name}'`,
    edit: { start: after, end: after, newText: `\n\n${stub(service, file, kind, name)}` },
  };
}

/** The smallest declaration of a kind that is valid as written; the user fills in the empty strings. */
function stub(service: LanguageService, file: SourceFile, kind: DeclarationKind, name: string): string {
  const body: string[] = [];
  switch (kind) {
    case "tool":
      body.push('description: ""');
      break;
    case "type":
      body.push("id: string");
      break;
    case "memory":
      body.push("scope: session");
      break;
    case "agent": {
      body.push('instructions: ""');
      const backends = service.visible(file.path, "backend");
      if (backends.length > 1) body.push(`backend: ${backends[0].name}`);
      break;
    }
    case "context":
      body.push(`from: file("${name}.md")`);
      break;
    case "backend":
      body.push("kind: stateless", "provider: local");
      break;
    case "mcp":
      body.push('command: command("node", ["server.js"])');
      break;
    case "test":
      break;
  }
  return `${kind} ${name} {\n${body.map((l) => `  ${l}\n`).join("")}}`;
}

// ---- unused declarations -----------------------------------------------------------------------

/**
 * Deletes a declaration with the rest of its last line (a trailing comment included) and the blank line after
 * it; at the end of the file, the blank lines before it instead. Comments above it are kept: they may head
 * more than this declaration.
 */
export function removeDeclaration(text: string, decl: Declaration): TextEdit {
  const lines = new LineIndex(text);
  const lineStart = lines.lineStart(lines.position(decl.start).line);
  let start = decl.start;
  let end = decl.end;
  if (!/^[ \t]*$/.test(text.slice(lineStart, decl.start))) {
    // It shares its line with code before it: take only the declaration and the spaces before it.
    while (start > lineStart && (text[start - 1] === " " || text[start - 1] === "\t")) start--;
    return { start, end, newText: "" };
  }
  start = lineStart;
  const rest = /^[ \t]*(\/\/[^\n]*)?(\r?\n|$)/.exec(text.slice(end));
  if (rest) {
    end += rest[0].length;
    const blank = /^[ \t]*\r?\n/.exec(text.slice(end));
    if (blank) end += blank[0].length;
  }
  if (/^\s*$/.test(text.slice(end))) {
    // Nothing follows: drop the blank lines before the declaration instead, keeping one final newline.
    end = text.length;
    while (start > 0 && /\s/.test(text[start - 1])) start--;
    return { start, end, newText: start > 0 ? "\n" : "" };
  }
  return { start, end, newText: "" };
}
