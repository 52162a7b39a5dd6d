// Semantic tokens, for a whole document or a range: the classification and
// encoding live in the language core; this adapter only declares the legend.

import type { SemanticTokensLegend } from "vscode-languageserver/node";
import {
  TOKEN_MODIFIERS,
  TOKEN_TYPES,
  encodeSemanticTokens,
  semanticTokens,
} from "../../language/semanticTokens";
import { handler, type Feature } from "../context";

export const SEMANTIC_TOKENS_LEGEND: SemanticTokensLegend = {
  tokenTypes: [...TOKEN_TYPES],
  tokenModifiers: [...TOKEN_MODIFIERS],
};

export const semanticTokensFeature: Feature = {
  capabilities: () => ({
    semanticTokensProvider: { legend: SEMANTIC_TOKENS_LEGEND, full: true, range: true },
  }),
  register(ctx) {
    ctx.connection.languages.semanticTokens.on(
      handler(ctx, "semanticTokens", (params) => {
        const p = ctx.toPath(params.textDocument.uri);
        if (!ctx.file(p)) return { data: [] };
        return { data: encodeSemanticTokens(semanticTokens(ctx.service, p)) };
      }),
    );
    ctx.connection.languages.semanticTokens.onRange(
      handler(ctx, "semanticTokens/range", (params) => {
        const p = ctx.toPath(params.textDocument.uri);
        if (!ctx.file(p)) return { data: [] };
        const range = { start: ctx.offset(p, params.range.start), end: ctx.offset(p, params.range.end) };
        return { data: encodeSemanticTokens(semanticTokens(ctx.service, p, range)) };
      }),
    );
  },
};
