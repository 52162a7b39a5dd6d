// Canonical layout for `.agent` files (LSP document and range formatting, CLI): only the whitespace
// between tokens and comments is rewritten and line breaks are kept, so no comment or meaning can change.

import type { CallValue, FieldDecl, TypeExpr } from "./ast";
import { LineIndex } from "./lineIndex";
import { parse } from "./parse";
import { tokenize, type Token, type TokenKind } from "./tokenize";

export interface FormatOptions {
  /** Spaces per indentation level; default 2. */
  indent?: number;
}

/** Replace `[start, end)` of the original text (UTF-16 offsets) by `newText`. */
export interface TextEdit {
  start: number;
  end: number;
  newText: string;
}

/** A token or a comment: what the formatter lays out. Its text is copied, bar whitespace at line ends. */
interface Item {
  kind: TokenKind | "comment";
  start: number;
  end: number;
  /** Block comment or text block: may span lines. */
  multiline: boolean;
  textBlock: boolean;
}

const OPENERS: ReadonlySet<string> = new Set(["{", "[", "("]);
const CLOSERS: ReadonlySet<string> = new Set(["}", "]", ")"]);
const NO_SPACE_BEFORE: ReadonlySet<string> = new Set([",", ":", "?", ".", ")", "]"]);

/** Formats a whole document, or says why it will not (syntax errors). */
export function format(
  text: string,
  options: FormatOptions = {},
): { text: string; changed: boolean } | { error: string } {
  const result = formatEdits(text, options);
  if ("error" in result) return result;
  const out = applyEdits(text, result.edits);
  return { text: out, changed: out !== text };
}

/**
 * The edits that format the lines overlapping `[start, end)`: the whole-document edits that begin on those
 * lines (each edit lies within one line and its line break). A file with syntax errors gets no edits.
 */
export function formatRange(
  text: string,
  start: number,
  end: number,
  options: FormatOptions = {},
): TextEdit[] {
  const result = formatEdits(text, options);
  if ("error" in result) return [];
  const lines = new LineIndex(text);
  const first = lines.position(Math.min(start, end)).line;
  const endPos = lines.position(Math.max(start, end));
  // A selection that ends at the start of a line does not include that line.
  const last = endPos.character === 0 && end > start ? Math.max(first, endPos.line - 1) : endPos.line;
  return result.edits.filter((e) => {
    const line = lines.position(e.start).line;
    return line >= first && line <= last;
  });
}

/**
 * The minimal edits that format the document, in source order and non-overlapping; every edit lies within one
 * line of the original text (including its line break), which is what makes range formatting a filter.
 */
export function formatEdits(
  text: string,
  options: FormatOptions = {},
): { edits: TextEdit[] } | { error: string } {
  const { file, diagnostics } = parse(text, "");
  const errors = diagnostics.filter((d) => d.severity === "error");
  if (errors.length > 0) {
    // An unclosed string usually causes the errors after it: name it first.
    const first = errors.find((d) => d.code === "unterminated-string") ?? errors[0];
    const at = new LineIndex(text).position(first.span.start);
    const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : "";
    return {
      error: `Cannot format a file with syntax errors: line ${at.line + 1}, column ${at.character + 1}: ${first.message}${more}`,
    };
  }
  const scan = tokenize(text);
  const tokens = scan.tokens.filter((t) => t.kind !== "eof");
  const items: Item[] = [
    ...tokens.map((t) => ({
      kind: t.kind,
      start: t.start,
      end: t.end,
      multiline: t.textBlock === true,
      textBlock: t.textBlock === true,
    })),
    ...scan.comments.map((c) => ({
      kind: "comment" as const,
      start: c.start,
      end: c.end,
      multiline: c.block,
      textBlock: false,
    })),
  ].sort((a, b) => a.start - b.start);

  const indent = Math.max(0, Math.floor(options.indent ?? 2));
  const edits = layout(text, items, " ".repeat(indent), tightOpeners(file, tokens));

  // The layout only touches whitespace outside strings, so this never fires; it guards the promise anyway.
  const after = tokenize(applyEdits(text, edits)).tokens;
  if (!sameTokens(scan.tokens, after))
    return {
      error: "Internal formatter error: the formatted text would not mean the same; the file was left as is.",
    };
  return { edits };
}

export function applyEdits(text: string, edits: readonly TextEdit[]): string {
  let out = "";
  let at = 0;
  for (const e of [...edits].sort((a, b) => a.start - b.start)) {
    out += text.slice(at, e.start) + e.newText;
    at = e.end;
  }
  return out + text.slice(at);
}

/**
 * Starts of the `(` and `[` that hug the name before them: a call's `(` (`env("K")`), `enum(`, and a list
 * field type's `[]` (`LineItem[]`). A parenthesised condition after `when`, `and`, `not` keeps its space.
 */
function tightOpeners(file: ReturnType<typeof parse>["file"], tokens: Token[]): Set<number> {
  const indexByEnd = new Map<number, number>();
  tokens.forEach((t, i) => indexByEnd.set(t.end, i));
  const tight = new Set<number>();
  const add = (index: number | undefined, kind: TokenKind) => {
    const t = index === undefined ? undefined : tokens[index];
    if (t && t.kind === kind) tight.add(t.start);
  };
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const n of node) visit(n);
      return;
    }
    if (!node || typeof node !== "object") return;
    if ((node as { type?: string }).type === "Call")
      add(next(indexByEnd.get((node as CallValue).callee.end)), "(");
    if ((node as { type?: string }).type === "Field") {
      const type: TypeExpr = (node as FieldDecl).fieldType;
      if (type.enumValues) add(next(indexByEnd.get(type.name.end)), "(");
      if (type.list) add(prev(indexByEnd.get(type.end)), "[");
    }
    for (const child of Object.values(node)) visit(child);
  };
  visit(file.imports);
  visit(file.declarations);
  return tight;
}

const next = (i: number | undefined) => (i === undefined ? undefined : i + 1);
const prev = (i: number | undefined) => (i === undefined ? undefined : i - 1);

/** Spaces between two items on the same line. */
function spacing(a: Item, b: Item, tight: ReadonlySet<number>): number {
  if (b.kind === "comment") return b.multiline && (a.kind === "(" || a.kind === "[") ? 0 : 1;
  if (NO_SPACE_BEFORE.has(b.kind)) return 0;
  if (a.kind === "comment") return 1;
  if (a.kind === "." || a.kind === "(" || a.kind === "[") return 0;
  if (b.kind === "(" || b.kind === "[") return tight.has(b.start) ? 0 : 1;
  if (a.kind === "{" && b.kind === "}") return 0;
  return 1;
}

/**
 * Walks the gaps between items. A gap without a line break becomes the canonical spacing; a gap with line
 * breaks keeps one break (two when the author left a blank line, except next to a bracket), drops trailing
 * whitespace and re-indents the next line. Edits are cut at line breaks so that each lies within one line.
 */
function layout(text: string, items: Item[], unit: string, tight: ReadonlySet<number>): TextEdit[] {
  const edits: TextEdit[] = [];
  const replace = (start: number, end: number, newText: string) => {
    if (text.slice(start, end) !== newText) edits.push({ start, end, newText });
  };
  // Each open bracket remembers the level of the line it was opened on: lines inside it are one deeper, and a
  // line starting with its closer is at the opener's level (so `[{` opened on one line indents once).
  const open: { kind: string; level: number }[] = [];
  let level = 0;
  // The kind that decides whether a blank line may follow: a comment trailing a line counts as the code
  // before it, so `agent a { // why` followed by a blank line still loses it.
  let lineEndKind = "";

  for (let i = 0; i <= items.length; i++) {
    const before = i > 0 ? items[i - 1] : undefined;
    const item = i < items.length ? items[i] : undefined;
    const gapStart = before ? before.end : 0;
    const gapEnd = item ? item.start : text.length;
    const breaks = countNewlines(text, gapStart, gapEnd);

    if (item && (breaks > 0 || !before)) {
      const top = open.length > 0 ? open[open.length - 1] : undefined;
      if (!top) level = 0;
      else level = CLOSERS.has(item.kind) ? top.level : top.level + 1;
    }

    if (breaks === 0) {
      if (before && item) replace(gapStart, gapEnd, " ".repeat(spacing(before, item, tight)));
      else if (before) replace(gapStart, gapEnd, "\n");
      else replace(gapStart, gapEnd, "");
    } else {
      const keepBlank =
        before !== undefined &&
        item !== undefined &&
        breaks > 1 &&
        !OPENERS.has(lineEndKind) &&
        !CLOSERS.has(item.kind);
      let pieceStart = gapStart;
      for (let line = 0; line < breaks; line++) {
        const newline = text.indexOf("\n", pieceStart);
        const keep = before !== undefined && (line === 0 || (line === 1 && keepBlank));
        replace(pieceStart, newline + 1, keep ? "\n" : "");
        pieceStart = newline + 1;
      }
      replace(pieceStart, gapEnd, item ? unit.repeat(level) : "");
    }

    if (!item) break;
    if (item.kind !== "comment" || breaks > 0 || !before) lineEndKind = item.kind;
    itemEdits(text, item, replace);
    if (OPENERS.has(item.kind)) open.push({ kind: item.kind, level });
    else if (CLOSERS.has(item.kind)) open.pop();
  }
  return edits;
}

/**
 * Inside an item: comments lose trailing whitespace on each line. A text block keeps its bytes, except that
 * its `\r\n` become `\n` like every other line break: its value is unchanged, because the scanner reads
 * `\r\n` in a text block as `\n`. Its lines are not re-indented, so its value never depends on the layout.
 */
function itemEdits(
  text: string,
  item: Item,
  replace: (start: number, end: number, newText: string) => void,
): void {
  if (item.kind === "comment") {
    const lineEnds: number[] = [];
    for (let j = text.indexOf("\n", item.start); j >= 0 && j < item.end; j = text.indexOf("\n", j + 1))
      lineEnds.push(j);
    lineEnds.push(item.end);
    for (const end of lineEnds) {
      let start = end;
      while (start > item.start && /[ \t\r]/.test(text[start - 1])) start--;
      replace(start, end, "");
    }
  } else if (item.textBlock) {
    for (let j = text.indexOf("\r\n", item.start); j >= 0 && j < item.end; j = text.indexOf("\r\n", j + 2))
      replace(j, j + 1, "");
  }
}

function countNewlines(text: string, start: number, end: number): number {
  let n = 0;
  for (let j = start; j < end; j++) if (text.charCodeAt(j) === 10) n++;
  return n;
}

function sameTokens(a: Token[], b: Token[]): boolean {
  return (
    a.length === b.length &&
    a.every(
      (t, i) =>
        t.kind === b[i].kind &&
        (t.value ?? t.text) === (b[i].value ?? b[i].text) &&
        t.newlineBefore === b[i].newlineBefore,
    )
  );
}
