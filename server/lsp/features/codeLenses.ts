// Code lenses: "▶ Run" and "Debug" above agents, "▶ Run test" above tests and "Run all tests in file" above
// the first test, "▶ Run Eval" above evals and their cases. The commands are the client's
// (client/src/commands.ts); arguments carry the document URI, or for evals `{ file, eval, case? }`.

import type { CodeLens } from "vscode-languageserver/node";
import { codeLenses } from "../../language/codeLenses";
import { handler, type Feature } from "../context";

export const codeLensesFeature: Feature = {
  capabilities() {
    return { codeLensProvider: { resolveProvider: false } };
  },
  register(ctx) {
    ctx.connection.onCodeLens(
      handler(ctx, "codeLens", (params): CodeLens[] => {
        const uri = params.textDocument.uri;
        const p = ctx.toPath(uri);
        const file = ctx.file(p);
        if (!file) return [];
        return codeLenses(file).map((l) => ({
          range: ctx.range(p, l.span),
          command: {
            title: l.title,
            command: l.command,
            arguments: [l.command === "statecraft.runEval" ? l.target : { uri, ...l.target }],
          },
        }));
      }),
    );
  },
};
