// Code actions: the quick fixes of the diagnostics the client sends (their `data.fixes`, or the service's
// when the client dropped the data), and, when asked for, a fix-all source action.

import {
  CodeActionKind,
  type CodeAction,
  type CodeActionParams,
  type Diagnostic as LspDiagnostic,
  type TextEdit as LspTextEdit,
  type WorkspaceEdit,
} from "vscode-languageserver/node";
import { fixAll, quickFixes, type CodeActionData } from "../../language/codeActions";
import { SEVERITY, type Diagnostic, type DiagnosticCode, type FixData } from "../../language/diagnostics";
import type { TextEdit } from "../../language/format";
import { handler, type Feature, type FeatureContext } from "../context";

export const FIX_ALL_KIND = "source.fixAll.statecraft";

export const codeActionsFeature: Feature = {
  capabilities(client) {
    // Options (the kinds) may only be given to clients that understand code action literals.
    return client.textDocument?.codeAction?.codeActionLiteralSupport
      ? { codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix, FIX_ALL_KIND] } }
      : { codeActionProvider: true };
  },
  register(ctx) {
    ctx.connection.onCodeAction(handler(ctx, "codeAction", (params) => codeActions(ctx, params)));
  },
};

function codeActions(ctx: FeatureContext, params: CodeActionParams): CodeAction[] {
  const p = ctx.toPath(params.textDocument.uri);
  if (!ctx.file(p)) return [];
  const only = params.context.only;
  const wants = (kind: string) => !only || only.some((o) => kind === o || kind.startsWith(`${o}.`));
  const out: CodeAction[] = [];
  if (wants(CodeActionKind.QuickFix)) {
    let current: Diagnostic[] | undefined;
    const pairs: { lsp: LspDiagnostic; core: Diagnostic }[] = [];
    for (const lsp of params.context.diagnostics) {
      if (typeof lsp.code !== "string" || !(lsp.code in SEVERITY)) continue;
      const core = toCore(ctx, p, lsp, () => (current ??= ctx.service.diagnostics(p)));
      pairs.push({ lsp, core });
    }
    const actions = quickFixes(
      ctx.service,
      p,
      pairs.map((x) => x.core),
    );
    for (const a of actions) {
      const lsp = pairs.filter((x) => a.diagnostics.includes(x.core)).map((x) => x.lsp);
      out.push(toLspAction(ctx, params.textDocument.uri, p, a, lsp));
    }
  }
  // Source actions are only computed on request: the light bulb never asks for them.
  if (only?.some((o) => FIX_ALL_KIND === o || FIX_ALL_KIND.startsWith(`${o}.`))) {
    const all = fixAll(ctx.service, p);
    if (all) out.push(toLspAction(ctx, params.textDocument.uri, p, all, undefined));
  }
  return out;
}

/** The core diagnostic behind an LSP one: its fixes from `data`, else from the service's own diagnostics. */
function toCore(ctx: FeatureContext, p: string, lsp: LspDiagnostic, current: () => Diagnostic[]): Diagnostic {
  const code = lsp.code as DiagnosticCode;
  const span = { start: ctx.offset(p, lsp.range.start), end: ctx.offset(p, lsp.range.end) };
  const data = lsp.data as { fixes?: FixData[] } | undefined;
  const fixes = Array.isArray(data?.fixes)
    ? data.fixes
    : current().find((d) => d.code === code && d.span.start === span.start && d.span.end === span.end)?.fixes;
  return {
    path: p,
    span,
    code,
    severity: SEVERITY[code],
    message: typeof lsp.message === "string" ? lsp.message : lsp.message.value,
    ...(fixes ? { fixes } : {}),
  };
}

function toLspAction(
  ctx: FeatureContext,
  uri: string,
  p: string,
  a: CodeActionData,
  diagnostics: LspDiagnostic[] | undefined,
): CodeAction {
  const edits: LspTextEdit[] = a.edits.map((e: TextEdit) => ({
    range: ctx.range(p, e),
    newText: e.newText,
  }));
  const version = ctx.documents.get(uri)?.version;
  const edit: WorkspaceEdit =
    ctx.clientCapabilities.workspace?.workspaceEdit?.documentChanges && version !== undefined
      ? { documentChanges: [{ textDocument: { uri, version }, edits }] }
      : { changes: { [uri]: edits } };
  return {
    title: a.title,
    kind: a.kind === "quickfix" ? CodeActionKind.QuickFix : FIX_ALL_KIND,
    ...(diagnostics?.length ? { diagnostics } : {}),
    ...(a.isPreferred ? { isPreferred: true } : {}),
    edit,
  };
}
