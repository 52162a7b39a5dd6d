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
        publishDataDiagnostics(ctx, p);
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
  publishDataDiagnostics(ctx, p);
}

/** Per server: the diagnostics each .agent file last put on data files (dataset lines), by data file. */
const dataState = new WeakMap<FeatureContext, Map<string, Map<string, Diagnostic[]>>>();

/**
 * Pushes the diagnostics of the data files (eval datasets) that `p` reads, and clears those it no
 * longer reports. Data files are not documents of the language, so they are always pushed, also to
 * clients that pull the diagnostics of .agent files; each shows what every file reading it says.
 */
function publishDataDiagnostics(ctx: FeatureContext, p: string): void {
  let byFile = dataState.get(ctx);
  if (!byFile) dataState.set(ctx, (byFile = new Map()));
  const before = byFile.get(p);
  const now = ctx.file(p) ? ctx.service.dataDiagnostics(p) : new Map<string, Diagnostic[]>();
  if (!before?.size && !now.size) return;
  byFile.set(p, now);
  for (const data of new Set([...(before?.keys() ?? []), ...now.keys()])) {
    const all = [...byFile.values()].flatMap((m) => m.get(data) ?? []);
    const seen = new Set<string>();
    const unique = all.filter((d) => {
      const k = `${d.span.start}\0${d.span.end}\0${d.code}\0${d.message}`;
      return !seen.has(k) && seen.add(k);
    });
    void ctx.connection.sendDiagnostics({
      uri: ctx.toUri(data),
      diagnostics: unique.map((d) => toLspDiagnostic(ctx, d)),
    });
  }
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
