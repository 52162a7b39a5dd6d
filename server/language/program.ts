// A set of parsed `.agent` files and the import graph between them. Every
// file sees the declarations of the files reachable from it through imports
// (its closure); the symbol table of a closure lists them by kind and name.
// File access goes only through the injected FileSystem, so the CLI, the
// language server (with open-editor overlays) and tests share this code.

import * as path from "node:path";
import type { Declaration, DeclarationKind, Import, SourceFile } from "./ast";
import { declarationName } from "./ast";
import type { Diagnostic } from "./diagnostics";
import { parse } from "./parse";

export interface FileSystem {
  /** The file's text, or undefined when it cannot be read. */
  readFile(path: string): string | undefined;
  exists(path: string): boolean;
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

export interface SymbolTable {
  byKind: Map<DeclarationKind, Map<string, Symbol>>;
  /** Declarations that repeat the kind and name of an earlier one in the closure. */
  duplicates: { symbol: Symbol; first: Symbol }[];
  /** Files of the closure, in import order (the root first). */
  files: string[];
}

export function resolveImportPath(fromFile: string, importPath: string): string {
  return path.resolve(path.dirname(fromFile), importPath);
}

export class Program {
  private readonly files = new Map<string, ProgramFile>();
  private readonly symbolCache = new Map<string, SymbolTable>();

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
    const pf: ProgramFile = { file: parsed.file, parseDiagnostics: parsed.diagnostics, imports: [] };
    this.files.set(key, pf);
    this.symbolCache.clear();
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
    if (this.files.delete(path.resolve(filePath))) this.symbolCache.clear();
  }

  get(filePath: string): ProgramFile | undefined {
    return this.files.get(path.resolve(filePath));
  }

  allFiles(): ProgramFile[] {
    return [...this.files.values()];
  }

  /** The files reachable from `root` through imports, root first, each once (cycles allowed). */
  closure(root: string): string[] {
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
    visit(path.resolve(root));
    return order;
  }

  /** Files whose closure contains `filePath`: the ones to re-validate when it changes. */
  dependants(filePath: string): string[] {
    const key = path.resolve(filePath);
    return [...this.files.keys()].filter((p) => p !== key && this.closure(p).includes(key));
  }

  symbols(root: string): SymbolTable {
    const files = this.closure(root);
    const cacheKey = files.join("\0");
    const cached = this.symbolCache.get(cacheKey);
    if (cached) return cached;
    const byKind = new Map<DeclarationKind, Map<string, Symbol>>();
    const duplicates: SymbolTable["duplicates"] = [];
    for (const p of files) {
      const pf = this.files.get(p);
      if (!pf) continue;
      for (const decl of pf.file.declarations) {
        const name = declarationName(decl);
        if (name === undefined) continue;
        let table = byKind.get(decl.kind);
        if (!table) byKind.set(decl.kind, (table = new Map()));
        const symbol: Symbol = { kind: decl.kind, name, decl, path: p };
        const first = table.get(name);
        if (first) duplicates.push({ symbol, first });
        else table.set(name, symbol);
      }
    }
    const result = { byKind, duplicates, files };
    this.symbolCache.set(cacheKey, result);
    return result;
  }
}

export function lookup(table: SymbolTable, kind: DeclarationKind, name: string): Symbol | undefined {
  return table.byKind.get(kind)?.get(name);
}

export function symbolsOfKind(table: SymbolTable, kind: DeclarationKind): Symbol[] {
  return [...(table.byKind.get(kind)?.values() ?? [])];
}
