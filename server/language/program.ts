// A set of parsed `.agent` files and the import graph between them. Every
// file sees the declarations of the files reachable from it through imports
// (its closure); the symbol table of a closure lists them by kind and name.
// File access goes only through the injected FileSystem, so the CLI, the
// language server (with open-editor overlays) and tests share this code.

import * as path from "node:path";
import type { Declaration, DeclarationKind, Import, SourceFile } from "./ast";
import { declarationName } from "./ast";
import { diagnostic, type Diagnostic } from "./diagnostics";
import { invalidEncodingMessage, type DecodedText } from "./encoding";
import { parse } from "./parse";

export type InvalidEncoding = NonNullable<DecodedText["invalid"]>;

export interface FileSystem {
  /** The file's text, or undefined when it cannot be read. */
  readFile(path: string): string | undefined;
  exists(path: string): boolean;
  /**
   * When `text` is the file's content decoded from bytes that are not UTF-8: where the first
   * bad byte is (the text holds U+FFFD there). Only asked about text that holds a U+FFFD.
   */
  invalidEncoding?(path: string, text: string): InvalidEncoding | undefined;
}

export interface ProgramFile {
  file: SourceFile;
  parseDiagnostics: Diagnostic[];
  /** Each import with the absolute path it resolves to, and whether that file could be read. */
  imports: { node: Import; target: string; found: boolean }[];
}

export interface Symbol {
  kind: DeclarationKind;
  name: string;
  decl: Declaration;
  path: string;
}

/**
 * The declarations visible from one root file: those of its import closure.
 * A view over the program-wide index, so building one per file is cheap even
 * when closures are large.
 */
export class SymbolTable {
  private readonly order: Map<string, number>;
  private dups: { symbol: Symbol; first: Symbol }[] | undefined;

  constructor(
    private readonly index: ProgramIndex,
    /** Files of the closure, in import order (the root first). */
    readonly files: string[],
  ) {
    this.order = new Map(files.map((f, i) => [f, i]));
  }

  private visible(candidates: Symbol[] | undefined): Symbol[] {
    if (!candidates) return [];
    const out = candidates.filter((c) => this.order.has(c.path));
    if (out.length > 1)
      out.sort((a, b) => this.order.get(a.path)! - this.order.get(b.path)! || a.decl.start - b.decl.start);
    return out;
  }

  lookup(kind: DeclarationKind, name: string): Symbol | undefined {
    const candidates = this.index.byName.get(`${kind}:${name}`);
    // The common case, one declaration of that name, needs no sorting or allocation.
    if (candidates?.length === 1) return this.order.has(candidates[0].path) ? candidates[0] : undefined;
    return this.visible(candidates)[0];
  }

  /** Every visible declaration of a kind, the first of each name. */
  ofKind(kind: DeclarationKind): Symbol[] {
    const seen = new Set<string>();
    return this.visible(this.index.byKind.get(kind)).filter((s) => !seen.has(s.name) && seen.add(s.name));
  }

  /** Any visible declaration with this name, whatever its kind. */
  anyKind(name: string): Symbol | undefined {
    for (const kind of this.index.byKind.keys()) {
      const s = this.lookup(kind, name);
      if (s) return s;
    }
    return undefined;
  }

  /** Declarations that repeat the kind and name of an earlier one in the closure. */
  get duplicates(): { symbol: Symbol; first: Symbol }[] {
    if (!this.dups) {
      this.dups = [];
      for (const key of this.index.repeated) {
        const [first, ...rest] = this.visible(this.index.byName.get(key));
        for (const symbol of rest) this.dups.push({ symbol, first });
      }
    }
    return this.dups;
  }
}

interface ProgramIndex {
  byName: Map<string, Symbol[]>;
  byKind: Map<DeclarationKind, Symbol[]>;
  /** Keys declared more than once somewhere in the program. */
  repeated: string[];
}

export function resolveImportPath(fromFile: string, importPath: string): string {
  return path.resolve(path.dirname(fromFile), importPath);
}

export class Program {
  private readonly files = new Map<string, ProgramFile>();
  private index: ProgramIndex | undefined;
  private readonly closures = new Map<string, string[]>();
  private reverse: Map<string, string[]> | undefined;

  constructor(readonly fs: FileSystem) {}

  /** Parses `filePath` (from `text` when given, else through the file system) and, transitively, its imports. */
  load(filePath: string, text?: string): ProgramFile | undefined {
    const key = path.resolve(filePath);
    if (text === undefined) {
      const existing = this.files.get(key);
      if (existing) return existing;
    }
    const source = text ?? this.fs.readFile(key);
    if (source === undefined) return undefined;
    const parsed = parse(source, key);
    const invalid = source.includes("\uFFFD") ? this.fs.invalidEncoding?.(key, source) : undefined;
    if (invalid)
      parsed.diagnostics.unshift(
        diagnostic(
          key,
          { start: invalid.offset, end: invalid.offset + 1 },
          "invalid-encoding",
          invalidEncodingMessage(invalid),
        ),
      );
    const pf: ProgramFile = { file: parsed.file, parseDiagnostics: parsed.diagnostics, imports: [] };
    this.files.set(key, pf);
    this.invalidateGraph();
    for (const imp of parsed.file.imports) {
      const target = resolveImportPath(key, imp.path.value);
      pf.imports.push({ node: imp, target, found: false });
    }
    for (const entry of pf.imports) entry.found = this.load(entry.target) !== undefined;
    return pf;
  }

  /** Replaces a file's text (an editor change) and re-parses it; its dependants see the change. */
  update(filePath: string, text: string): ProgramFile | undefined {
    return this.load(filePath, text);
  }

  /** Forgets a file (deleted, or closed and re-read from disk next time). */
  remove(filePath: string): void {
    if (this.files.delete(path.resolve(filePath))) this.invalidateGraph();
  }

  get(filePath: string): ProgramFile | undefined {
    return this.files.get(path.resolve(filePath));
  }

  /** The text of a file of the program, or of a data file it reads (an eval's dataset), to place diagnostics in. */
  text(filePath: string): string | undefined {
    return this.get(filePath)?.file.text ?? this.fs.readFile(path.resolve(filePath));
  }

  allFiles(): ProgramFile[] {
    return [...this.files.values()];
  }

  /** The files reachable from `root` through imports, root first, each once (cycles allowed). */
  closure(root: string): string[] {
    const key = path.resolve(root);
    const cached = this.closures.get(key);
    if (cached) return cached;
    const order: string[] = [];
    const seen = new Set<string>();
    const visit = (p: string) => {
      if (seen.has(p)) return;
      seen.add(p);
      const pf = this.files.get(p);
      if (!pf) return;
      order.push(p);
      for (const imp of pf.imports) if (imp.found) visit(imp.target);
    };
    visit(key);
    this.closures.set(key, order);
    return order;
  }

  /** Files whose closure contains `filePath`: the ones to re-validate when it changes. */
  dependants(filePath: string): string[] {
    if (!this.reverse) {
      const reverse = new Map<string, string[]>();
      for (const p of this.files.keys())
        for (const q of this.closure(p)) {
          if (q === p) continue;
          const list = reverse.get(q);
          if (list) list.push(p);
          else reverse.set(q, [p]);
        }
      this.reverse = reverse;
    }
    return this.reverse.get(path.resolve(filePath)) ?? [];
  }

  /** The import graph or the set of files changed: closures, dependants and the symbol index are rebuilt lazily. */
  private invalidateGraph(): void {
    this.index = undefined;
    this.closures.clear();
    this.reverse = undefined;
  }

  symbols(root: string): SymbolTable {
    return new SymbolTable(this.buildIndex(), this.closure(root));
  }

  private buildIndex(): ProgramIndex {
    if (this.index) return this.index;
    const byName = new Map<string, Symbol[]>();
    const byKind = new Map<DeclarationKind, Symbol[]>();
    const repeated: string[] = [];
    for (const [p, pf] of this.files) {
      for (const decl of pf.file.declarations) {
        const name = declarationName(decl);
        if (name === undefined) continue;
        const symbol: Symbol = { kind: decl.kind, name, decl, path: p };
        const key = `${decl.kind}:${name}`;
        const list = byName.get(key);
        if (list) {
          if (list.length === 1) repeated.push(key);
          list.push(symbol);
        } else byName.set(key, [symbol]);
        const kindList = byKind.get(decl.kind);
        if (kindList) kindList.push(symbol);
        else byKind.set(decl.kind, [symbol]);
      }
    }
    return (this.index = { byName, byKind, repeated });
  }
}

export function lookup(table: SymbolTable, kind: DeclarationKind, name: string): Symbol | undefined {
  return table.lookup(kind, name);
}

export function symbolsOfKind(table: SymbolTable, kind: DeclarationKind): Symbol[] {
  return table.ofKind(kind);
}
