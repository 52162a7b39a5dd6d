// A long-lived view of a workspace for the language server: the program with
// editor overlays, analyses cached per file and invalidated along the import
// graph, and the queries editor features share (diagnostics, the reference
// under a cursor, every reference to a declaration).

import * as path from "node:path";
import { declarationName, type Declaration, type DeclarationKind, type Span } from "./ast";
import { datasetPath } from "./compileEvals";
import { diagnostic, type Diagnostic } from "./diagnostics";
import { Program, type FileSystem, type Symbol } from "./program";
import {
  analyzeFile,
  duplicateDiagnostics,
  UNUSED_KINDS,
  type FileAnalysis,
  type ResolvedReference,
} from "./validate";

export interface DeclarationSite {
  symbol: Symbol;
  /** The declaration's name span in its file. */
  nameSpan: Span;
}

export class LanguageService {
  readonly program: Program;
  private readonly analyses = new Map<string, FileAnalysis>();
  /**
   * Analyses invalidated by an edit elsewhere, kept for what they say about
   * names: the references a file makes (kind and name) do not change when
   * another file does, so unused-declaration hints need not wait for them.
   */
  private readonly stale = new Map<string, FileAnalysis>();

  constructor(readonly fs: FileSystem) {
    this.program = new Program(fs);
  }

  /** Loads a file from the file system (a workspace scan) unless it is already known. */
  add(filePath: string): void {
    if (!this.program.get(filePath)) {
      this.program.load(filePath);
      this.invalidate(path.resolve(filePath));
    }
  }

  /** New text for a file (an edit); returns the files whose diagnostics may have changed. */
  update(filePath: string, text: string): string[] {
    const key = path.resolve(filePath);
    const before = new Set(this.program.dependants(key));
    this.program.update(key, text);
    for (const d of this.program.dependants(key)) before.add(d);
    const affected = [key, ...before];
    for (const f of affected) this.invalidateOne(f);
    this.stale.delete(key);
    return affected;
  }

  /** Forgets a file (deleted on disk); returns the files to re-validate. */
  remove(filePath: string): string[] {
    const key = path.resolve(filePath);
    const deps = this.program.dependants(key);
    this.program.remove(key);
    this.analyses.delete(key);
    this.stale.delete(key);
    for (const d of deps) {
      this.invalidateOne(d);
      // Re-read the importer so that its import of the removed file is re-resolved.
      const pf = this.program.get(d);
      if (pf) this.program.update(d, pf.file.text);
    }
    return deps;
  }

  private invalidate(key: string): void {
    this.invalidateOne(key);
    for (const d of this.program.dependants(key)) this.invalidateOne(d);
  }

  private invalidateOne(key: string): void {
    const a = this.analyses.get(key);
    if (a) this.stale.set(key, a);
    this.analyses.delete(key);
  }

  files(): string[] {
    return this.program.allFiles().map((f) => f.file.path);
  }

  analysis(filePath: string): FileAnalysis {
    const key = path.resolve(filePath);
    let a = this.analyses.get(key);
    if (!a) {
      a = analyzeFile(this.program, key);
      this.analyses.set(key, a);
      this.stale.delete(key);
    }
    return a;
  }

  /** A file's analysis, or its stale one if it was invalidated and has one (name-level questions only). */
  private namesOf(key: string): FileAnalysis {
    return this.analyses.get(key) ?? this.stale.get(key) ?? this.analysis(key);
  }

  private allAnalyses(): FileAnalysis[] {
    return this.files().map((f) => this.analysis(f));
  }

  /** Everything the editor shows for one file, unused declarations included. */
  diagnostics(filePath: string): Diagnostic[] {
    const key = path.resolve(filePath);
    const out: Diagnostic[] = [];
    const seen = new Set<string>();
    const push = (d: Diagnostic) => {
      const k = `${d.span.start}\0${d.span.end}\0${d.code}\0${d.message}`;
      if (d.path !== key || seen.has(k)) return;
      seen.add(k);
      out.push(d);
    };
    this.analysis(key).diagnostics.forEach(push);
    // Duplicates show in the closure of any file that sees both declarations: this file's and its importers'.
    for (const root of [key, ...this.program.dependants(key)])
      duplicateDiagnostics(this.program, this.program.symbols(root), key).forEach(push);
    const used = this.usedNames(key);
    for (const decl of this.program.get(key)?.file.declarations ?? []) {
      const name = declarationName(decl);
      if (
        !UNUSED_KINDS.has(decl.kind) ||
        !decl.name ||
        name === undefined ||
        used.has(`${decl.kind}:${name}`)
      )
        continue;
      push(
        diagnostic(
          key,
          decl.name,
          "unused-declaration",
          `${decl.kind} '${name}' is not used by any agent, tool or test.`,
          {
            unnecessary: true,
          },
        ),
      );
    }
    return out.sort((a, b) => a.span.start - b.span.start);
  }

  /**
   * `kind:name` keys of the declarations of `key` that something uses: a
   * reference of that kind and name in a file that can see `key` (itself or
   * an importer), or an implicit use (the only backend). Stale analyses are
   * good enough here, so an edit does not re-analyse every importer first.
   */
  private usedNames(key: string): Set<string> {
    const used = new Set<string>();
    for (const f of [key, ...this.program.dependants(key)]) {
      const a = this.namesOf(f);
      for (const r of a.references) used.add(`${r.expected}:${r.name}`);
      for (const d of a.implicitUses) {
        const n = declarationName(d);
        if (n !== undefined) used.add(`${d.kind}:${n}`);
      }
    }
    return used;
  }

  /** The resolved reference whose name covers `offset` in a file, if any. */
  referenceAt(filePath: string, offset: number): ResolvedReference | undefined {
    const a = this.analysis(filePath);
    return a.references.find((r) => r.span.start <= offset && offset <= r.span.end);
  }

  /** The declaration whose name covers `offset`, if the cursor is on a declaration's name. */
  declarationAt(filePath: string, offset: number): DeclarationSite | undefined {
    const key = path.resolve(filePath);
    const pf = this.program.get(key);
    for (const decl of pf?.file.declarations ?? []) {
      const n = decl.name;
      const name = declarationName(decl);
      if (n && name !== undefined && n.start <= offset && offset <= n.end)
        return { symbol: { kind: decl.kind, name, decl, path: key }, nameSpan: n };
    }
    return undefined;
  }

  /** The declaration under the cursor: at a reference or at a declaration's own name. */
  symbolAt(filePath: string, offset: number): DeclarationSite | undefined {
    const ref = this.referenceAt(filePath, offset);
    if (ref?.target) return { symbol: ref.target, nameSpan: ref.target.decl.name ?? ref.target.decl };
    return this.declarationAt(filePath, offset);
  }

  /** Every reference to a declaration across the workspace. */
  referencesTo(decl: Declaration): ResolvedReference[] {
    const out: ResolvedReference[] = [];
    const seen = new Set<string>();
    for (const a of this.allAnalyses()) {
      for (const r of a.references) {
        if (r.target?.decl !== decl) continue;
        const k = `${r.path}\0${r.span.start}`;
        if (seen.has(k)) continue;
        seen.add(k);
        out.push(r);
      }
    }
    return out;
  }

  /**
   * The diagnostics a file's analysis puts on data files it reads (the lines of an eval's dataset),
   * by data file.
   */
  dataDiagnostics(filePath: string): Map<string, Diagnostic[]> {
    const out = new Map<string, Diagnostic[]>();
    for (const d of this.analysis(filePath).diagnostics) {
      if (this.program.get(d.path)) continue;
      const list = out.get(d.path);
      if (list) list.push(d);
      else out.set(d.path, [d]);
    }
    return out;
  }

  /** A data file changed on disk: the files whose evals read it are re-validated; returns them. */
  dataChanged(dataPath: string): string[] {
    const key = path.resolve(dataPath);
    const readers = this.files().filter((f) =>
      (this.program.get(f)?.file.declarations ?? []).some(
        (d) => d.kind === "eval" && datasetPath(f, d) === key,
      ),
    );
    for (const f of readers) this.invalidateOne(f);
    return readers;
  }

  /** Declarations of a kind visible from a file (for completion). */
  visible(filePath: string, kind: DeclarationKind): Symbol[] {
    return this.program.symbols(path.resolve(filePath)).ofKind(kind);
  }
}
