// Inlay hints: token counts after instructions and context sources, and
// context windows after model ids, for the visible range.

import { inlayHints } from "../../language/inlayHints";
import { handler, type Feature } from "../context";

export const inlayHintsFeature: Feature = {
  capabilities: () => ({ inlayHintProvider: true }),
  register(ctx) {
    ctx.connection.languages.inlayHint.on(
      handler(ctx, "inlayHints", (params) => {
        const p = ctx.toPath(params.textDocument.uri);
        if (!ctx.file(p)) return null;
        const range = { start: ctx.offset(p, params.range.start), end: ctx.offset(p, params.range.end) };
        const index = ctx.lineIndex(p);
        return inlayHints(ctx.service, p, range).map((h) => ({
          position: index.position(h.offset),
          label: h.label,
          tooltip: h.tooltip,
          paddingLeft: true,
        }));
      }),
    );
  },
};
