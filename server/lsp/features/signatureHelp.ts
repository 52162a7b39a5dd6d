// Signature help for the built-in calls, shown while their arguments are typed.

import type { ParameterInformation, SignatureHelpParams } from "vscode-languageserver/node";
import { signatureAt } from "../../language/signature";
import { handler, type Feature } from "../context";

export const signatureHelpFeature: Feature = {
  capabilities() {
    return { signatureHelpProvider: { triggerCharacters: ["(", ","] } };
  },
  register(ctx) {
    ctx.connection.onSignatureHelp(
      handler(ctx, "signatureHelp", (params: SignatureHelpParams) => {
        const p = ctx.toPath(params.textDocument.uri);
        const file = ctx.file(p);
        if (!file) return null;
        const active = signatureAt(file.text, ctx.offset(p, params.position));
        if (!active) return null;
        const { label, doc, params: args } = active.signature;
        // Parameters as [start, end) offsets into the label: unambiguous even if a name repeats.
        let from = label.indexOf("(") + 1;
        const parameters: ParameterInformation[] = args.map((a) => {
          const start = label.indexOf(a.label, from);
          from = start + a.label.length;
          return { label: [start, from], documentation: a.doc };
        });
        return {
          signatures: [{ label, documentation: doc, parameters }],
          activeSignature: 0,
          activeParameter: active.activeParameter,
        };
      }),
    );
  },
};
