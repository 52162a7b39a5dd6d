// Hover: the markdown the language core writes for the name, keyword or value
// under the cursor.

import { MarkupKind } from "vscode-languageserver/node";
import { hover } from "../../language/hover";
import { handler, type Feature } from "../context";

export const hoverFeature: Feature = {
  capabilities: () => ({ hoverProvider: true }),
  register(ctx) {
    ctx.connection.onHover(
      handler(ctx, "hover", (params) => {
        const p = ctx.toPath(params.textDocument.uri);
        if (!ctx.file(p)) return null;
        const result = hover(ctx.service, p, ctx.offset(p, params.position));
        if (!result) return null;
        return {
          contents: { kind: MarkupKind.Markdown, value: result.markdown },
          range: ctx.range(p, result.span),
        };
      }),
    );
  },
};
