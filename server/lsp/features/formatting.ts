// Document and range formatting with the core formatter; the client's tab size is the indent. A file with
// syntax errors is left alone (the formatter refuses it), and the log says why.

import type { FormattingOptions, Range, TextEdit as LspTextEdit } from "vscode-languageserver/node";
import { formatEdits, formatRange, type FormatOptions, type TextEdit } from "../../language/format";
import { handler, type Feature, type FeatureContext } from "../context";

export const formattingFeature: Feature = {
  capabilities() {
    return { documentFormattingProvider: true, documentRangeFormattingProvider: true };
  },
  register(ctx) {
    ctx.connection.onDocumentFormatting(
      handler(ctx, "formatting", (params) => edits(ctx, params.textDocument.uri, params.options)),
    );
    ctx.connection.onDocumentRangeFormatting(
      handler(ctx, "rangeFormatting", (params) =>
        edits(ctx, params.textDocument.uri, params.options, params.range),
      ),
    );
  },
};

function edits(ctx: FeatureContext, uri: string, options: FormattingOptions, range?: Range): LspTextEdit[] {
  const p = ctx.toPath(uri);
  const text = ctx.file(p)?.text;
  if (text === undefined) return [];
  const opts = formatOptions(options);
  const whole = formatEdits(text, opts);
  if ("error" in whole) {
    ctx.connection.console.info(`Not formatting ${uri}: ${whole.error}`);
    return [];
  }
  const result: TextEdit[] = range
    ? formatRange(text, ctx.offset(p, range.start), ctx.offset(p, range.end), opts)
    : whole.edits;
  return result.map((e) => ({ range: ctx.range(p, e), newText: e.newText }));
}

function formatOptions(options: FormattingOptions): FormatOptions {
  const size = options.tabSize;
  return Number.isInteger(size) && size > 0 ? { indent: size } : {};
}
