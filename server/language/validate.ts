// The validator: resolves every reference with the kind expected at its site
// and checks a file's declarations against the schema table and the rules of
// language.md. It returns diagnostics and the resolved references (which the
// language server reuses for definition, references and rename). The checks
// live in validation/: the generic ones (a body against its schema, built-in
// calls, templates, field types) and the rules of each declaration kind,
// registered per kind in validation/rules.ts.

import * as path from "node:path";
import { declarationName, type Declaration, type DeclarationKind, type Span } from "./ast";
import { props } from "./compile";
import { compareDiagnostics, diagnostic, type Diagnostic } from "./diagnostics";
import { LineIndex } from "./lineIndex";
import type { Program, SymbolTable } from "./program";
import { DECLARATION_SCHEMAS } from "./schema";
import { Checker, type ResolvedReference } from "./validation/checker";
import { checkCredentials } from "./validation/credentialRules";
import { DECLARATION_CHECKS } from "./validation/rules";
import { checkBlock } from "./validation/schemaChecks";
import { spanOf, wordOf } from "./validation/values";

export type { ResolvedReference } from "./validation/checker";

export interface FileAnalysis {
  /** Diagnostics of this file, and duplicate declarations found in its closure (possibly in other files). */
  diagnostics: Diagnostic[];
  references: ResolvedReference[];
  /**
   * Declarations used without a reference (the only backend, used by agents that name none), and
   * duplicate declarations, which are reported as such rather than as unused.
   */
  implicitUses: Declaration[];
}

/** `duplicate-declaration` for every repeated kind and name in a closure, on the later declaration. */
export function duplicateDiagnostics(program: Program, table: SymbolTable, onlyIn?: string): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const dup of table.duplicates) {
    const name = dup.symbol.decl.name;
    if (!name || (onlyIn !== undefined && dup.symbol.path !== onlyIn)) continue;
    const firstText = program.get(dup.first.path)?.file.text ?? "";
    const line = LineIndex.of(firstText).position(dup.first.decl.start).line + 1;
    out.push(
      diagnostic(
        dup.symbol.path,
        name,
        "duplicate-declaration",
        `Duplicate ${dup.symbol.kind} '${dup.symbol.name}': already declared at ${path.basename(dup.first.path)}:${line}. Rename or remove one.`,
        {
          related: [
            {
              path: dup.first.path,
              span: spanOf(dup.first.decl.name ?? dup.first.decl),
              message: `First declaration of ${dup.symbol.kind} '${dup.symbol.name}'`,
            },
          ],
        },
      ),
    );
  }
  return out;
}

export function analyzeFile(program: Program, filePath: string): FileAnalysis {
  const c = new Checker(program, path.resolve(filePath));
  const pf = program.get(c.filePath);
  if (!pf) return { diagnostics: [], references: [], implicitUses: [] };
  c.diagnostics.push(...pf.parseDiagnostics);
  for (const imp of pf.imports) {
    if (!imp.found)
      c.report(
        imp.node.path,
        "import-not-found",
        `Cannot read '${imp.node.path.value}' (resolved to ${imp.target}): check the path, relative to this file.`,
      );
  }
  for (const d of duplicateDiagnostics(program, c.table)) c.diagnostics.push(d);
  // Already an error: not also "unused" (references resolve to the first declaration).
  for (const dup of c.table.duplicates) c.implicitUses.push(dup.symbol.decl);
  for (const decl of pf.file.declarations) checkDeclaration(c, decl);
  for (const decl of pf.file.declarations) checkCredentials(c, decl);
  // What the parser could not read is reported once, as a syntax error: a declaration with one is
  // not also told that the property or step it broke is missing.
  const broken = pf.file.declarations.filter((d) =>
    pf.parseDiagnostics.some((e) => d.start <= e.span.start && e.span.start < d.end),
  );
  const diagnostics = c.diagnostics.filter(
    (x) =>
      x.code !== "missing-property" ||
      x.path !== c.filePath ||
      !broken.some((d) => d.start <= x.span.start && x.span.end <= d.end),
  );
  return { diagnostics, references: c.references, implicitUses: c.implicitUses };
}

/** The generic check of the body against the kind's schema, then the kind's rules. */
function checkDeclaration(c: Checker, decl: Declaration): void {
  const label =
    decl.kind === "test"
      ? `test "${declarationName(decl) ?? ""}"`
      : `${decl.kind} '${declarationName(decl) ?? ""}'`;
  const owner: Span = decl.name ?? decl.keyword;
  c.declaration = decl;
  if (decl.kind === "backend") c.backendProvider = wordOf(props(decl.body).get("provider")?.value);
  // A type's body holds fields, not properties: its rule checks them.
  if (decl.kind !== "type") checkBlock(c, decl.body, DECLARATION_SCHEMAS[decl.kind], owner, label);
  for (const check of DECLARATION_CHECKS[decl.kind]) check(c, decl, owner, label);
  c.declaration = undefined;
}

export const UNUSED_KINDS: ReadonlySet<DeclarationKind> = new Set([
  "tool",
  "context",
  "memory",
  "type",
  "backend",
  "connection",
]);

/**
 * Validates files and returns the diagnostics of every file in their
 * closures (and of the datasets their evals read), deduplicated and sorted. Unused declarations are judged against
 * the references of every file the program has loaded.
 */
export function checkFiles(program: Program, roots: string[]): Diagnostic[] {
  const files = new Set<string>();
  for (const r of roots) for (const p of program.closure(r)) files.add(p);
  const analyses = new Map<string, FileAnalysis>();
  for (const f of program.allFiles()) analyses.set(f.file.path, analyzeFile(program, f.file.path));
  const used = new Set<Declaration>();
  for (const a of analyses.values()) {
    for (const r of a.references) if (r.target) used.add(r.target.decl);
    for (const d of a.implicitUses) used.add(d);
  }
  const out: Diagnostic[] = [];
  const seen = new Set<string>();
  // `data`: a diagnostic of a checked file on a file that is not .agent source (an eval's dataset line).
  const add = (d: Diagnostic, data = false) => {
    if (!files.has(d.path) && !data) return;
    const key = `${d.path}\0${d.span.start}\0${d.span.end}\0${d.code}\0${d.message}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push(d);
  };
  for (const [f, a] of analyses) for (const d of a.diagnostics) add(d, files.has(f) && !program.get(d.path));
  for (const f of files) {
    const pf = program.get(f);
    for (const decl of pf?.file.declarations ?? []) {
      if (!UNUSED_KINDS.has(decl.kind) || used.has(decl) || !decl.name) continue;
      add(
        diagnostic(
          f,
          decl.name,
          "unused-declaration",
          `${decl.kind} '${declarationName(decl)}' is not used by any agent, tool or test.`,
          {
            unnecessary: true,
          },
        ),
      );
    }
  }
  return out.sort(compareDiagnostics);
}
