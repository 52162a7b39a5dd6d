// What every check of one file works with: the program and the file's symbol
// table, the diagnostics and resolved references found so far, and the two
// operations every check uses (report a diagnostic, resolve a reference). The
// declaration being checked is kept here too, since a few generic checks read
// it (a test may name the implicit `local` backend; a literal api_key is
// answered with the key variable of the backend's provider).

import { referenceText, type Declaration, type DeclarationKind, type Reference, type Span } from "../ast";
import { diagnostic, type Diagnostic, type DiagnosticCode, type FixData } from "../diagnostics";
import { nearest } from "../editDistance";
import { LineIndex } from "../lineIndex";
import { lookup, type Program, type Symbol, type SymbolTable } from "../program";
import { aKind, spanOf } from "./values";

export interface ResolvedReference {
  /** The file and span of the name at the reference site. */
  path: string;
  span: Span;
  expected: DeclarationKind;
  /** The name referred to (also when it resolves to nothing). */
  name: string;
  target: Symbol | undefined;
}

export class Checker {
  readonly diagnostics: Diagnostic[] = [];
  readonly references: ResolvedReference[] = [];
  /**
   * Declarations used without a reference (the only backend, used by agents that name none), and
   * duplicate declarations, which are reported as such rather than as unused.
   */
  readonly implicitUses: Declaration[] = [];
  readonly table: SymbolTable;
  readonly text: string;
  /** The declaration being checked. */
  declaration: Declaration | undefined;
  /** The provider word of the last backend declaration checked. */
  backendProvider: string | undefined;

  constructor(
    readonly program: Program,
    readonly filePath: string,
  ) {
    this.table = program.symbols(filePath);
    this.text = program.get(filePath)?.file.text ?? "";
  }

  /** Whether property `name` may name the built-in `local` backend: a test's backend, an eval's backends and judge. */
  localBackendAllowed(name: string): boolean {
    if (this.declaration?.kind === "test") return name === "backend";
    if (this.declaration?.kind === "eval")
      return name === "backend" || name === "backends" || name === "judge";
    return false;
  }

  report(
    span: Span,
    code: DiagnosticCode,
    message: string,
    extra: Partial<Diagnostic> = {},
    file = this.filePath,
  ): void {
    this.diagnostics.push(diagnostic(file, span, code, message, extra));
  }

  replaceFix(title: string, text: string): { fixes: FixData[] } {
    return { fixes: [{ kind: "replace", title, text }] };
  }

  /** The 1-based line of an offset in this file. */
  line(offset: number): number {
    return LineIndex.of(this.text).position(offset).line + 1;
  }

  /** Resolves a reference to a declaration of `kind`, reporting unknown names and names of the wrong kind. */
  resolve(ref: Reference, kind: DeclarationKind, extraNames: string[] = []): Symbol | undefined {
    const first = ref.segments[0];
    if (ref.segments.length > 1) {
      this.report(
        ref,
        "type-mismatch",
        `Expected the name of ${aKind(kind)}; found '${referenceText(ref)}'.`,
      );
      return undefined;
    }
    const name = first.name;
    const target = lookup(this.table, kind, name);
    if (target) {
      this.references.push({ path: this.filePath, span: first, expected: kind, name, target });
      return target;
    }
    if (extraNames.includes(name)) return undefined;
    const other = this.table.anyKind(name);
    if (other) {
      this.references.push({ path: this.filePath, span: first, expected: kind, name, target: undefined });
      this.report(
        first,
        "wrong-kind",
        `'${name}' is ${aKind(other.kind)}, but ${aKind(kind)} is expected here.`,
        {
          related: [
            {
              path: other.path,
              span: spanOf(other.decl.name ?? other.decl),
              message: `${other.kind} '${name}' is declared here`,
            },
          ],
        },
      );
      return undefined;
    }
    const candidates = [...this.table.ofKind(kind).map((s) => s.name), ...extraNames];
    const near = nearest(name, candidates);
    this.references.push({ path: this.filePath, span: first, expected: kind, name, target: undefined });
    this.report(
      first,
      "unknown-reference",
      `Unknown ${kind} '${name}'${near ? `: did you mean '${near}'?` : candidates.length ? `: declared ${kind}s are ${candidates.slice(0, 8).join(", ")}.` : `: no ${kind} is declared in this file or its imports.`}`,
      near ? this.replaceFix(`Change to '${near}'`, near) : {},
    );
    return undefined;
  }
}

/** A rule of one declaration kind; `owner` is the span its declaration-level diagnostics go on. */
export type DeclarationCheck = (c: Checker, decl: Declaration, owner: Span, label: string) => void;
