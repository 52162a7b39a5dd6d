// Diagnostics of the language core: plain data with a stable code, anchored
// to a span of one file. The LSP layer and the CLI convert them for display.

import type { Span } from "./ast";

export type Severity = "error" | "warning" | "info" | "hint";

export type DiagnosticCode =
  | "invalid-encoding"
  | "syntax"
  | "unterminated-string"
  | "import-not-found"
  | "file-not-found"
  | "duplicate-declaration"
  | "unknown-reference"
  | "wrong-kind"
  | "missing-property"
  | "unknown-property"
  | "duplicate-property"
  | "type-mismatch"
  | "out-of-range"
  | "invalid-enum"
  | "secret-literal"
  | "backend-mismatch"
  | "undefined-template-variable"
  | "unknown-tool-input"
  | "missing-scope"
  | "unused-declaration"
  | "context-budget"
  | "unknown-model"
  | "scripted-step-live"
  | "sql-template"
  | "acts-for-mismatch"
  | "judge-missing"
  | "dataset-line";

export const SEVERITY: Record<DiagnosticCode, Severity> = {
  "invalid-encoding": "error",
  syntax: "error",
  "unterminated-string": "error",
  "import-not-found": "error",
  "file-not-found": "warning",
  "duplicate-declaration": "error",
  "unknown-reference": "error",
  "wrong-kind": "error",
  "missing-property": "error",
  "unknown-property": "warning",
  "duplicate-property": "error",
  "type-mismatch": "error",
  "out-of-range": "error",
  "invalid-enum": "error",
  "secret-literal": "error",
  "backend-mismatch": "error",
  "undefined-template-variable": "error",
  "unknown-tool-input": "error",
  "missing-scope": "error",
  "unused-declaration": "hint",
  "context-budget": "warning",
  "unknown-model": "warning",
  "scripted-step-live": "error",
  "sql-template": "error",
  "acts-for-mismatch": "error",
  "judge-missing": "error",
  "dataset-line": "error",
};

export interface RelatedInformation {
  path: string;
  span: Span;
  message: string;
}

/**
 * Machine-readable data for code actions: what a mechanical fix would do.
 * `replace` swaps the diagnostic's span for `text`; `insertProperty` adds a
 * property line to the block that ends at `blockEnd`; `createDeclaration`
 * adds a stub declaration next to the one that needs it; `edits` is a fix of several places at once
 * (UTF-16 offsets of the diagnostic's file).
 */
export type FixData =
  | { kind: "replace"; text: string; title: string }
  | { kind: "insertProperty"; property: string; snippet: string; blockEnd: number; indent: string }
  | { kind: "createDeclaration"; declKind: string; name: string; after: number }
  | { kind: "edits"; title: string; edits: { start: number; end: number; text: string }[] };

export interface Diagnostic {
  path: string;
  span: Span;
  code: DiagnosticCode;
  severity: Severity;
  message: string;
  related?: RelatedInformation[];
  /** `unnecessary` for unused declarations (rendered faded by editors). */
  unnecessary?: boolean;
  fixes?: FixData[];
}

export function diagnostic(
  path: string,
  span: Span,
  code: DiagnosticCode,
  message: string,
  extra: Partial<Pick<Diagnostic, "related" | "unnecessary" | "fixes">> = {},
): Diagnostic {
  return {
    path,
    span: { start: span.start, end: span.end },
    code,
    severity: SEVERITY[code],
    message,
    ...extra,
  };
}

export function compareDiagnostics(a: Diagnostic, b: Diagnostic): number {
  if (a.path !== b.path) return a.path < b.path ? -1 : 1;
  return (
    a.span.start - b.span.start || a.span.end - b.span.end || (a.code < b.code ? -1 : a.code > b.code ? 1 : 0)
  );
}
