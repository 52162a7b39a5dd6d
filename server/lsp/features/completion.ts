// Completion: the core's items as LSP completion items, each with a text edit
// over the word being typed. Snippets are sent as snippets only to clients
// that support them; others get the snippet's default text.

import {
  CompletionItemKind,
  InsertTextFormat,
  MarkupKind,
  type CompletionItem as LspCompletionItem,
  type CompletionParams,
} from "vscode-languageserver/node";
import { complete, type CompletionItem, type CompletionKind } from "../../language/complete";
import { handler, type Feature, type FeatureContext } from "../context";
import { signatureHelpFeature } from "./signatureHelp";

export const COMPLETION_TRIGGERS = [".", ":", "{", '"', " ", "["];

const KIND: Record<CompletionKind, CompletionItemKind> = {
  keyword: CompletionItemKind.Keyword,
  property: CompletionItemKind.Property,
  reference: CompletionItemKind.Reference,
  enum: CompletionItemKind.EnumMember,
  field: CompletionItemKind.Field,
  snippet: CompletionItemKind.Snippet,
  function: CompletionItemKind.Function,
  file: CompletionItemKind.File,
  folder: CompletionItemKind.Folder,
  step: CompletionItemKind.Keyword,
};

/** A snippet's text with each placeholder replaced by its default (the first choice of a choice). */
export function snippetToPlain(snippet: string): string {
  let out = snippet;
  // Innermost placeholders first, so that nested ones resolve from the inside out.
  for (let prev = ""; prev !== out;) {
    prev = out;
    out = out
      .replace(/\$\{\d+\|([^,|}]*)[^|]*\|\}/g, "$1")
      .replace(/\$\{\d+:([^${}]*)\}/g, "$1")
      .replace(/\$\{\d+\}/g, "");
  }
  return out.replace(/\$\d+/g, "");
}

function toLspItem(
  ctx: FeatureContext,
  p: string,
  offset: number,
  item: CompletionItem,
  snippets: boolean,
  markdown: boolean,
): LspCompletionItem {
  const text = item.insertText ?? item.label;
  const asSnippet = item.isSnippet === true && snippets;
  return {
    label: item.label,
    kind: KIND[item.kind],
    detail: item.detail,
    documentation:
      item.documentation === undefined
        ? undefined
        : markdown
          ? { kind: MarkupKind.Markdown, value: item.documentation }
          : item.documentation,
    insertTextFormat: asSnippet ? InsertTextFormat.Snippet : InsertTextFormat.PlainText,
    textEdit: {
      range: ctx.range(p, item.replaceSpan ?? { start: offset, end: offset }),
      newText: asSnippet ? text : item.isSnippet ? snippetToPlain(text) : text,
    },
    command: item.retrigger ? { title: "Suggest", command: "editor.action.triggerSuggest" } : undefined,
  };
}

export const completionFeature: Feature = {
  capabilities() {
    return { completionProvider: { triggerCharacters: COMPLETION_TRIGGERS } };
  },
  register(ctx) {
    ctx.connection.onCompletion(
      handler(ctx, "completion", (params: CompletionParams) => {
        const p = ctx.toPath(params.textDocument.uri);
        if (!ctx.file(p)) return null;
        const offset = ctx.offset(p, params.position);
        const items = complete(ctx.service, p, offset, {
          triggerCharacter: params.context?.triggerCharacter,
        });
        const caps = ctx.clientCapabilities.textDocument?.completion?.completionItem;
        const snippets = caps?.snippetSupport === true;
        const markdown = caps?.documentationFormat?.includes(MarkupKind.Markdown) === true;
        return items.map((i) => toLspItem(ctx, p, offset, i, snippets, markdown));
      }),
    );
  },
};

/** Completion and signature help: what the server offers while a line is being typed. */
export const COMPLETION_FEATURES: Feature[] = [completionFeature, signatureHelpFeature];
