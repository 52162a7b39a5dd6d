// The shape of one file for the editor: the outline (document symbols),
// folding ranges and selection ranges. Pure functions of a parsed file.

import {
  declarationName,
  type Block,
  type Declaration,
  type DeclarationKind,
  type Member,
  type SourceFile,
  type Span,
  type Value,
} from "./ast";
import { LineIndex } from "./lineIndex";
import { children, nodesAt, type AnyNode } from "./locate";

// ---- document symbols ---------------------------------------------------------------------------

/** What an outline entry is; the language server maps these to LSP symbol kinds. */
export type OutlineKind =
  DeclarationKind | "case" | "property" | "block" | "field" | "rule" | "step" | "entry";

export interface OutlineNode {
  name: string;
  detail?: string;
  kind: OutlineKind;
  /** The whole node. */
  range: Span;
  /** Its name (what the editor highlights), inside `range`. */
  selection: Span;
  children: OutlineNode[];
}

const DETAIL_LENGTH = 48;
/** A span without the rest of its node. */
const span = (s: Span): Span => ({ start: s.start, end: s.end });
const STEP_LENGTH = 64;

/** Source text on one line, white space collapsed, cut at `max` characters. */
function summary(text: string, span: Span, max: number): string {
  const s = text.slice(span.start, span.end).replace(/\s+/g, " ").trim();
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

function valueDetail(text: string, v: Value): string | undefined {
  if (v.type === "Missing") return undefined;
  if (v.type === "String" && v.textBlock) {
    const first = v.value.split("\n").find((l) => l.trim()) ?? "";
    return `"""${summary(first, { start: 0, end: first.length }, DETAIL_LENGTH - 6)}"""`;
  }
  return summary(text, v, DETAIL_LENGTH);
}

function memberNodes(text: string, block: Block): OutlineNode[] {
  return block.members.map((m) => memberNode(text, m));
}

function memberNode(text: string, m: Member): OutlineNode {
  switch (m.type) {
    case "Property":
      return {
        name: m.name.name,
        detail: valueDetail(text, m.value),
        kind: "property",
        range: span(m),
        selection: span(m.name),
        children:
          m.value.type === "Object"
            ? m.value.entries.map((e) => ({
                name: e.key.name,
                detail: valueDetail(text, e.value),
                kind: "entry" as const,
                range: span(e),
                selection: span(e.key),
                children: [],
              }))
            : [],
      };
    case "BlockMember":
      return {
        name: m.name.name,
        kind: "block",
        range: span(m),
        selection: span(m.name),
        children: memberNodes(text, m.body),
      };
    case "Field":
      return {
        name: m.optional ? `${m.name.name}?` : m.name.name,
        detail: summary(text, m.fieldType, DETAIL_LENGTH),
        kind: "field",
        range: span(m),
        selection: span(m.name),
        children: [],
      };
    case "Deny":
      return {
        name: summary(text, { start: m.keyword.start, end: m.tool.end }, STEP_LENGTH),
        detail: m.condition ? `when ${summary(text, m.condition, DETAIL_LENGTH)}` : undefined,
        kind: "rule",
        range: span(m),
        selection: { start: m.keyword.start, end: m.tool.end },
        children: [],
      };
    case "Step":
      return {
        name: summary(text, m, STEP_LENGTH),
        kind: "step",
        range: span(m),
        selection: span(m),
        children: [],
      };
    case "Case":
      return {
        name: m.name ? m.name.value : "(unnamed case)",
        detail: "case",
        kind: "case",
        range: span(m),
        selection: span(m.name ?? m.keyword),
        children: memberNodes(text, m.body),
      };
  }
}

/** The outline of a file: each declaration with its properties, blocks, fields, policy rules and test steps. */
export function documentSymbols(file: SourceFile): OutlineNode[] {
  return file.declarations.map((d: Declaration) => ({
    name: declarationName(d) || `(unnamed ${d.kind})`,
    detail: d.kind,
    kind: d.kind,
    range: span(d),
    selection: span(d.name ?? d.keyword),
    children: memberNodes(file.text, d.body),
  }));
}

// ---- folding ranges -----------------------------------------------------------------------------

export interface Fold {
  startLine: number;
  endLine: number;
  kind?: "comment" | "region" | "imports";
}

const REGION = /^\/\/\s*#(end)?region\b/;

/**
 * Folding ranges: declarations and nested blocks, text blocks, lists,
 * objects and calls that span lines (the closing line stays visible), runs
 * of line comments and block comments, `// #region` ... `// #endregion`,
 * and a run of imports.
 */
export function foldingRanges(file: SourceFile): Fold[] {
  const text = file.text;
  const lines = new LineIndex(text);
  const line = (offset: number) => lines.position(offset).line;
  const folds: Fold[] = [];
  const add = (startLine: number, endLine: number, kind?: Fold["kind"]) => {
    if (endLine > startLine) folds.push(kind ? { startLine, endLine, kind } : { startLine, endLine });
  };
  /** From the line of `start` to the line before its closing token (kept visible), or to `end` when unclosed. */
  const bracket = (start: number, end: number, closed: boolean, closer: string) =>
    add(line(start), closed ? line(end - closer.length) - 1 : line(end));
  const closes = (node: Span, closer: string) => text.slice(node.end - closer.length, node.end) === closer;

  const visit = (node: AnyNode) => {
    switch (node.type) {
      case "Declaration":
      case "BlockMember": {
        const body = node.body as Block;
        bracket(node.start, body.end, body.closed, "}");
        break;
      }
      case "List":
        bracket(node.start, node.end, closes(node, "]"), "]");
        break;
      case "Object":
        bracket(node.start, node.end, closes(node, "}"), "}");
        break;
      case "Call":
        bracket(node.start, node.end, closes(node, ")"), ")");
        break;
      case "String":
        if (node.textBlock) bracket(node.start, node.end, node.terminated === true, '"""');
        break;
    }
    for (const c of children(node)) visit(c);
  };
  for (const d of file.declarations) visit(d as unknown as AnyNode);

  // Comments: runs of whole-line `//` comments, block comments, and regions.
  const regions: number[] = [];
  let run: { start: number; end: number } | undefined;
  const endRun = () => {
    if (run) add(run.start, run.end, "comment");
    run = undefined;
  };
  for (const c of file.comments) {
    const l = line(c.start);
    const ownLine = text.slice(lines.lineStart(l), c.start).trim() === "";
    const region = !c.block && ownLine ? REGION.exec(c.text) : null;
    if (region) {
      endRun();
      if (!region[1]) regions.push(l);
      else if (regions.length) add(regions.pop()!, l, "region");
      continue;
    }
    if (c.block) {
      endRun();
      add(l, line(c.end), "comment");
      continue;
    }
    if (!ownLine) {
      endRun();
      continue;
    }
    if (run && run.end === l - 1) run.end = l;
    else {
      endRun();
      run = { start: l, end: l };
    }
  }
  endRun();

  // A run of imports on consecutive lines.
  let imports: { start: number; end: number } | undefined;
  for (const imp of file.imports) {
    const l = line(imp.start);
    if (imports && line(imports.end) >= l - 1) imports.end = imp.end;
    else {
      if (imports) add(line(imports.start), line(imports.end), "imports");
      imports = { start: imp.start, end: imp.end };
    }
  }
  if (imports) add(line(imports.start), line(imports.end), "imports");

  // One range per start line: the outermost.
  const byStart = new Map<number, Fold>();
  for (const f of folds) {
    const have = byStart.get(f.startLine);
    if (!have || f.endLine > have.endLine) byStart.set(f.startLine, f);
  }
  return [...byStart.values()].sort((a, b) => a.startLine - b.startLine);
}

// ---- selection ranges ---------------------------------------------------------------------------

/**
 * The spans to grow a selection through, innermost first: a comment or the
 * token under the cursor, then each enclosing node of the syntax tree (for
 * example identifier, property, block, declaration), then the whole file.
 * Each span strictly contains the one before it.
 */
export function selectionRanges(file: SourceFile, offset: number): Span[] {
  const spans: Span[] = [{ start: 0, end: file.text.length }];
  for (const node of nodesAt(file, offset)) {
    spans.push(node);
    if (node.type === "String") {
      // The text between the quotes, before the whole string.
      const q = node.textBlock ? 3 : 1;
      const inner = { start: node.start + q, end: node.terminated ? node.end - q : node.end };
      if (inner.start <= offset && offset <= inner.end) spans.push(inner);
    }
  }
  const comment = file.comments.find((c) => c.start <= offset && offset < c.end);
  if (comment) spans.push(comment);
  const out: Span[] = [];
  for (const s of spans.reverse()) {
    if (s.end <= s.start) continue;
    const last = out[out.length - 1];
    if (!last) out.push({ start: s.start, end: s.end });
    else if (s.start <= last.start && last.end <= s.end && (s.start < last.start || last.end < s.end))
      out.push({ start: s.start, end: s.end });
  }
  return out;
}
