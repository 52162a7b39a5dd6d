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

interface PublishQueue {
  pending: string[];
  scheduled: boolean;
}
const queues = new WeakMap<FeatureContext, PublishQueue>();

function sendDiagnostics(ctx: FeatureContext, p: string): void {
  if (!ctx.file(p)) return;
  void ctx.connection.sendDiagnostics({
    uri: ctx.toUri(p),
    diagnostics: ctx.service.diagnostics(p).map((d) => toLspDiagnostic(ctx, d)),
  });
}

/**
 * Tells the client that diagnostics of `paths` may have changed. The first
 * path (the edited file) is published at once; its importers follow one per
 * macrotask, so the editor sees the edited file's problems without waiting
 * for the whole import graph, and new edits and requests are not held up.
 */
export function publishDiagnostics(ctx: FeatureContext, paths: string[]): void {
  if (ctx.clientCapabilities.textDocument?.diagnostic) {
    if (ctx.clientCapabilities.workspace?.diagnostics?.refreshSupport)
      void ctx.connection.languages.diagnostics.refresh();
    return;
  }
  const [first, ...rest] = paths;
  let q = queues.get(ctx);
  if (!q) queues.set(ctx, (q = { pending: [], scheduled: false }));
  if (first !== undefined) {
    q.pending = q.pending.filter((p) => p !== first);
    sendDiagnostics(ctx, first);
  }
  for (const p of rest) if (!q.pending.includes(p)) q.pending.push(p);
  const queue = q;
  const drain = () => {
    const next = queue.pending.shift();
    if (next !== undefined) sendDiagnostics(ctx, next);
    if (queue.pending.length) setImmediate(drain);
    else queue.scheduled = false;
  };
  if (!queue.scheduled && queue.pending.length) {
    queue.scheduled = true;
    setImmediate(drain);
  }
}
