// Test helpers for the language core: an in-memory FileSystem rooted at /ws, a
// one-call "load these sources and check them", and range markers (⟦ and ⟧)
// that let a test write the expected range of a diagnostic inside its source.

import * as path from "node:path";
import type { Span } from "../../../server/language/ast";
import type { Diagnostic } from "../../../server/language/diagnostics";
import { Program, type FileSystem } from "../../../server/language/program";
import { checkFiles } from "../../../server/language/validate";

/** The workspace folder every in-memory file lives under. */
export const ROOT = "/ws";

/** Open and close markers of an expected range; neither is a token of the language. */
export const OPEN = "⟦";
export const CLOSE = "⟧";

/** An absolute path for a file name: relative names are taken relative to ROOT. */
export function wsPath(name: string): string {
  return path.resolve(ROOT, name);
}

/**
 * A FileSystem over `files` (names absolute or relative to ROOT); nothing else exists. A lone
 * surrogate U+DC80..U+DCFF in a text stands for a byte that is not UTF-8 (Python's
 * "surrogateescape"): reading gives U+FFFD there, as decoding such bytes does.
 */
export function memoryFileSystem(files: Record<string, string>): FileSystem {
  const byPath = new Map(Object.entries(files).map(([name, text]) => [wsPath(name), text]));
  const BAD = /[\uDC80-\uDCFF]/g;
  return {
    readFile: (p) => byPath.get(path.resolve(p))?.replace(BAD, "\uFFFD"),
    exists: (p) => byPath.has(path.resolve(p)),
    invalidEncoding: (p) => {
      const raw = byPath.get(path.resolve(p)) ?? "";
      const offset = raw.search(BAD);
      if (offset < 0) return undefined;
      const byte = Buffer.byteLength(raw.slice(0, offset).replace(BAD, "\uFFFD"));
      return { byte, offset, value: raw.charCodeAt(offset) - 0xdc00 };
    },
  };
}

/** The `.agent` files of `files`: the default roots (other files are data, such as file(...) targets). */
export function agentFiles(files: Record<string, string>): string[] {
  return Object.keys(files).filter((name) => name.endsWith(".agent"));
}

/** Loads `roots` (default: every `.agent` file), with what they import, into a fresh Program. */
export function loadSources(files: Record<string, string>, roots = agentFiles(files)): Program {
  const program = new Program(memoryFileSystem(files));
  for (const r of roots) program.load(wsPath(r));
  return program;
}

/** Loads the sources and runs `checkFiles` on `roots` (default: every `.agent` file). */
export function checkSources(files: Record<string, string>, roots = agentFiles(files)): Diagnostic[] {
  return checkFiles(loadSources(files, roots), roots.map(wsPath));
}

export interface Marked {
  /** The text without markers. */
  text: string;
  /** The marked ranges in the clean text, in order of their opening marker. */
  spans: Span[];
}

/** Strips ⟦ ⟧ markers (which may nest) and returns the clean text and the marked spans. */
export function marked(source: string): Marked {
  let text = "";
  const spans: Span[] = [];
  const open: number[] = [];
  for (const ch of source) {
    if (ch === OPEN) {
      open.push(spans.length);
      spans.push({ start: text.length, end: -1 });
    } else if (ch === CLOSE) {
      const i = open.pop();
      if (i === undefined) throw new Error(`Unbalanced ${CLOSE} at offset ${text.length} in:\n${source}`);
      spans[i].end = text.length;
    } else text += ch;
  }
  if (open.length) throw new Error(`Unclosed ${OPEN} in:\n${source}`);
  return { text, spans };
}

export interface MarkedSources {
  /** Clean sources, by name as given. */
  files: Record<string, string>;
  /** Marked spans by absolute path (files without markers are absent). */
  spans: Map<string, Span[]>;
}

/** `marked` over several files. */
export function markedSources(sources: Record<string, string>): MarkedSources {
  const files: Record<string, string> = {};
  const spans = new Map<string, Span[]>();
  for (const [name, source] of Object.entries(sources)) {
    const m = marked(source);
    files[name] = m.text;
    if (m.spans.length) spans.set(wsPath(name), m.spans);
  }
  return { files, spans };
}

/** The source text a diagnostic covers, for readable assertion messages. */
export function covered(files: Record<string, string>, d: Diagnostic): string {
  const name = Object.keys(files).find((n) => wsPath(n) === d.path);
  return name === undefined ? "" : files[name].slice(d.span.start, d.span.end);
}
