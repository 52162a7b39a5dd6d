// Navigation over the protocol: definition, references, rename (with
// prepareRename), document and workspace symbols. Thin adapters over
// language/navigation.ts and language/structure.ts; they only convert paths
// and spans to URIs and ranges, and refusals to errors the editor shows.

import {
  LSPErrorCodes,
  ResponseError,
  SymbolKind,
  type DocumentSymbol,
  type Location,
  type LocationLink,
  type SymbolInformation,
  type TextEdit,
} from "vscode-languageserver/node";
import type { Span } from "../../language/ast";
import {
  definitionAt,
  prepareRename,
  referencesAt,
  renameEdits,
  workspaceSymbols,
  type NavTarget,
} from "../../language/navigation";
import { documentSymbols, type OutlineKind, type OutlineNode } from "../../language/structure";
import { handler, type Feature, type FeatureContext } from "../context";
import { STRUCTURE_FEATURES } from "./structure";

/** Outline kinds as LSP symbol kinds (the icons the editor shows). */
export const SYMBOL_KINDS: Record<OutlineKind, SymbolKind> = {
  backend: SymbolKind.Module,
  type: SymbolKind.Struct,
  tool: SymbolKind.Function,
  context: SymbolKind.Namespace,
  memory: SymbolKind.Variable,
  agent: SymbolKind.Class,
  mcp: SymbolKind.Package,
  connection: SymbolKind.Interface,
  test: SymbolKind.Method,
  eval: SymbolKind.Method,
  case: SymbolKind.Method,
  property: SymbolKind.Property,
  block: SymbolKind.Object,
  field: SymbolKind.Field,
  rule: SymbolKind.Operator,
  step: SymbolKind.Event,
  entry: SymbolKind.Key,
};

function location(ctx: FeatureContext, p: string, span: Span): Location {
  return { uri: ctx.toUri(p), range: ctx.range(p, span) };
}

export const definitionFeature: Feature = {
  capabilities: () => ({ definitionProvider: true }),
  register(ctx) {
    ctx.connection.onDefinition(
      handler(ctx, "definition", (params): Location[] | LocationLink[] | null => {
        const p = ctx.toPath(params.textDocument.uri);
        if (!ctx.file(p)) return null;
        const def = definitionAt(ctx.service, p, ctx.offset(p, params.position));
        if (!def) return null;
        if (ctx.clientCapabilities.textDocument?.definition?.linkSupport)
          return def.targets.map((t: NavTarget): LocationLink => ({
            originSelectionRange: ctx.range(p, def.origin),
            targetUri: ctx.toUri(t.path),
            targetRange: ctx.range(t.path, t.range),
            targetSelectionRange: ctx.range(t.path, t.selection),
          }));
        return def.targets.map((t) => location(ctx, t.path, t.selection));
      }),
    );
  },
};

export const referencesFeature: Feature = {
  capabilities: () => ({ referencesProvider: true }),
  register(ctx) {
    ctx.connection.onReferences(
      handler(ctx, "references", (params) => {
        const p = ctx.toPath(params.textDocument.uri);
        if (!ctx.file(p)) return null;
        const offset = ctx.offset(p, params.position);
        return referencesAt(ctx.service, p, offset, params.context.includeDeclaration).map((l) =>
          location(ctx, l.path, l.span),
        );
      }),
    );
  },
};

export const renameFeature: Feature = {
  capabilities: (client) => ({
    renameProvider: client.textDocument?.rename?.prepareSupport ? { prepareProvider: true } : true,
  }),
  register(ctx) {
    ctx.connection.onPrepareRename(
      handler(ctx, "prepareRename", (params) => {
        const p = ctx.toPath(params.textDocument.uri);
        const check = prepareRename(ctx.service, p, ctx.offset(p, params.position));
        if (!check.ok) return new ResponseError<void>(LSPErrorCodes.RequestFailed, check.message);
        return { range: ctx.range(p, check.span), placeholder: check.placeholder };
      }),
    );
    ctx.connection.onRenameRequest(
      handler(ctx, "rename", (params) => {
        const p = ctx.toPath(params.textDocument.uri);
        const result = renameEdits(ctx.service, p, ctx.offset(p, params.position), params.newName);
        if (!result.ok) return new ResponseError<never>(LSPErrorCodes.RequestFailed, result.message);
        const changes: Record<string, TextEdit[]> = {};
        for (const e of result.edits)
          (changes[ctx.toUri(e.path)] ??= []).push({ range: ctx.range(e.path, e.span), newText: e.newText });
        return { changes };
      }),
    );
  },
};

export const documentSymbolFeature: Feature = {
  capabilities: () => ({ documentSymbolProvider: { label: "Statecraft" } }),
  register(ctx) {
    ctx.connection.onDocumentSymbol(
      handler(ctx, "documentSymbol", (params): DocumentSymbol[] | SymbolInformation[] | null => {
        const p = ctx.toPath(params.textDocument.uri);
        const file = ctx.file(p);
        if (!file) return null;
        const outline = documentSymbols(file);
        const toSymbol = (n: OutlineNode): DocumentSymbol => ({
          name: n.name,
          detail: n.detail,
          kind: SYMBOL_KINDS[n.kind],
          range: ctx.range(p, n.range),
          selectionRange: ctx.range(p, n.selection),
          children: n.children.map(toSymbol),
        });
        if (ctx.clientCapabilities.textDocument?.documentSymbol?.hierarchicalDocumentSymbolSupport)
          return outline.map(toSymbol);
        // Older clients: a flat list, each entry naming its container.
        const flat: SymbolInformation[] = [];
        const walk = (n: OutlineNode, container: string | undefined) => {
          flat.push({
            name: n.name,
            kind: SYMBOL_KINDS[n.kind],
            location: location(ctx, p, n.range),
            containerName: container,
          });
          for (const c of n.children) walk(c, n.name);
        };
        for (const n of outline) walk(n, undefined);
        return flat;
      }),
    );
  },
};

export const workspaceSymbolFeature: Feature = {
  capabilities: () => ({ workspaceSymbolProvider: true }),
  register(ctx) {
    ctx.connection.onWorkspaceSymbol(
      handler(ctx, "workspaceSymbol", (params): SymbolInformation[] =>
        workspaceSymbols(ctx.service, params.query).map((s) => ({
          name: s.name,
          kind: SYMBOL_KINDS[s.kind],
          location: location(ctx, s.path, s.selection),
          containerName: s.kind,
        })),
      ),
    );
  },
};

/** The navigation and structure features, in registration order. */
export const NAVIGATION_FEATURES: Feature[] = [
  definitionFeature,
  referencesFeature,
  renameFeature,
  documentSymbolFeature,
  workspaceSymbolFeature,
  ...STRUCTURE_FEATURES,
];
