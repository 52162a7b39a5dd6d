// The shape of a document over the protocol: document links, folding ranges
// and selection ranges. Thin adapters over language/structure.ts and
// language/navigation.ts.

import { FoldingRangeKind, type FoldingRange, type SelectionRange } from "vscode-languageserver/node";
import { documentLinks } from "../../language/navigation";
import { foldingRanges, selectionRanges, type Fold } from "../../language/structure";
import { handler, type Feature } from "../context";

const FOLD_KINDS: Record<NonNullable<Fold["kind"]>, FoldingRangeKind> = {
  comment: FoldingRangeKind.Comment,
  region: FoldingRangeKind.Region,
  imports: FoldingRangeKind.Imports,
};

export const documentLinkFeature: Feature = {
  capabilities: () => ({ documentLinkProvider: { resolveProvider: false } }),
  register(ctx) {
    ctx.connection.onDocumentLinks(
      handler(ctx, "documentLinks", (params) => {
        const p = ctx.toPath(params.textDocument.uri);
        if (!ctx.file(p)) return null;
        return documentLinks(ctx.service, p).map((l) => ({
          range: ctx.range(p, l.span),
          target: ctx.toUri(l.target),
          tooltip: l.tooltip,
        }));
      }),
    );
  },
};

export const foldingRangeFeature: Feature = {
  capabilities: () => ({ foldingRangeProvider: true }),
  register(ctx) {
    ctx.connection.onFoldingRanges(
      handler(ctx, "foldingRanges", (params) => {
        const p = ctx.toPath(params.textDocument.uri);
        const file = ctx.file(p);
        if (!file) return null;
        const limit = ctx.clientCapabilities.textDocument?.foldingRange?.rangeLimit;
        const folds = foldingRanges(file).map((f): FoldingRange => ({
          startLine: f.startLine,
          endLine: f.endLine,
          ...(f.kind ? { kind: FOLD_KINDS[f.kind] } : {}),
        }));
        return limit !== undefined ? folds.slice(0, limit) : folds;
      }),
    );
  },
};

export const selectionRangeFeature: Feature = {
  capabilities: () => ({ selectionRangeProvider: true }),
  register(ctx) {
    ctx.connection.onSelectionRanges(
      handler(ctx, "selectionRanges", (params) => {
        const p = ctx.toPath(params.textDocument.uri);
        const file = ctx.file(p);
        if (!file) return null;
        return params.positions.map((pos) => {
          const spans = selectionRanges(file, ctx.offset(p, pos));
          let range: SelectionRange | undefined;
          for (const s of [...spans].reverse()) range = { range: ctx.range(p, s), parent: range };
          return range ?? { range: { start: pos, end: pos } };
        });
      }),
    );
  },
};

export const STRUCTURE_FEATURES: Feature[] = [
  documentLinkFeature,
  foldingRangeFeature,
  selectionRangeFeature,
];
