// Diagnostics: pulled by clients that support textDocument/diagnostic,
// pushed to the others. Either way an edit re-validates the edited file and
// every file that imports it.

import {
  DiagnosticSeverity,
  DiagnosticTag,
  DocumentDiagnosticReportKind,
  type Diagnostic as LspDiagnostic,
} from "vscode-languageserver/node";
import type { Diagnostic } from "../../language/diagnostics";
import { handler, type Feature, type FeatureContext } from "../context";

const SEVERITY: Record<Diagnostic["severity"], DiagnosticSeverity> = {
  error: DiagnosticSeverity.Error,
  warning: DiagnosticSeverity.Warning,
  info: DiagnosticSeverity.Information,
  hint: DiagnosticSeverity.Hint,
};

export function toLspDiagnostic(ctx: FeatureContext, d: Diagnostic): LspDiagnostic {
  return {
    range: ctx.range(d.path, d.span),
    severity: SEVERITY[d.severity],
    code: d.code,
    source: "statecraft",
    message: d.message,
    tags: d.unnecessary ? [DiagnosticTag.Unnecessary] : undefined,
    relatedInformation: d.related?.map((r) => ({
      location: { uri: ctx.toUri(r.path), range: ctx.range(r.path, r.span) },
      message: r.message,
    })),
    data: d.fixes ? { fixes: d.fixes } : undefined,
  };
}

export const diagnosticsFeature: Feature = {
  capabilities(client) {
    return client.textDocument?.diagnostic !== undefined
      ? {
          diagnosticProvider: {
            identifier: "statecraft",
            interFileDependencies: true,
            workspaceDiagnostics: false,
          },
        }
      : {};
  },
  register(ctx) {
    ctx.connection.languages.diagnostics.on(
      handler(ctx, "diagnostics", (params) => {
        const p = ctx.toPath(params.textDocument.uri);
        return {
          kind: DocumentDiagnosticReportKind.Full,
          items: ctx.service.diagnostics(p).map((d) => toLspDiagnostic(ctx, d)),
        };
      }),
    );
  },
};

/** Tells the client that diagnostics of `paths` may have changed. */
export function publishDiagnostics(ctx: FeatureContext, paths: string[]): void {
  if (ctx.clientCapabilities.textDocument?.diagnostic) {
    if (ctx.clientCapabilities.workspace?.diagnostics?.refreshSupport)
      void ctx.connection.languages.diagnostics.refresh();
    return;
  }
  for (const p of paths) {
    if (!ctx.file(p)) continue;
    void ctx.connection.sendDiagnostics({
      uri: ctx.toUri(p),
      diagnostics: ctx.service.diagnostics(p).map((d) => toLspDiagnostic(ctx, d)),
    });
  }
}
