// Inlay hints: what the fixed context costs, shown where it is written. After
// an agent's instructions, their token count; after a context's source, the
// tokens it adds (bounded by max_tokens); after a model id, the size of its
// context window.

import * as path from "node:path";
import { declarationName, type Declaration, type Span } from "./ast";
import { props } from "./compile";
import {
  agentBackend,
  backendModel,
  contextModel,
  contextSource,
  formatCount,
  formatNumber,
  formatShortCount,
  instructionsTokens,
  truncated,
  type ModelChoice,
} from "./sectionTokenCounts";
import type { LanguageService } from "./languageService";

export interface InlayHintItem {
  /** Where the hint goes: the end of the value it describes. */
  offset: number;
  /** The text shown (the editor adds a space before it). */
  label: string;
  tooltip?: string;
}

/** The hints of one file whose position lies within `range` (offsets, end inclusive). */
export function inlayHints(service: LanguageService, filePath: string, range: Span): InlayHintItem[] {
  const key = path.resolve(filePath);
  const file = service.program.get(key)?.file;
  if (!file) return [];
  const table = service.program.symbols(key);
  const out: InlayHintItem[] = [];
  const inRange = (offset: number) => range.start <= offset && offset <= range.end;
  for (const decl of file.declarations) {
    if (decl.end < range.start || decl.start > range.end) continue;
    const p = props(decl.body);
    switch (decl.kind) {
      case "agent": {
        const instructions = p.get("instructions")?.value;
        if (instructions?.type === "String" && inRange(instructions.end)) {
          const count = instructionsTokens(table, decl)!;
          out.push({ offset: instructions.end, label: formatShortCount(count), tooltip: formatCount(count) });
        }
        const model = p.get("model")?.value;
        if (model?.type === "String" && inRange(model.end)) {
          const hint = windowHint(backendModel(agentBackend(table, decl), model.value), model.end);
          if (hint) out.push(hint);
        }
        break;
      }
      case "context": {
        const from = p.get("from")?.value;
        if (from && from.type !== "Missing" && inRange(from.end)) {
          const hint = contextHint(service, key, decl, from.end);
          if (hint) out.push(hint);
        }
        break;
      }
      case "backend": {
        const model = p.get("model")?.value;
        if (model?.type === "String" && inRange(model.end)) {
          const sym = { kind: decl.kind, name: declarationName(decl) ?? "", decl, path: key };
          const hint = windowHint(backendModel(sym), model.end);
          if (hint) out.push(hint);
        }
        break;
      }
      default:
        break;
    }
  }
  return out;
}

function windowHint(choice: ModelChoice, offset: number): InlayHintItem | undefined {
  if (choice.window === undefined) return undefined;
  const source =
    choice.windowSource === "context_window" ? "the backend's context_window" : "the model catalog";
  return {
    offset,
    label: `${formatNumber(choice.window)}-token window`,
    tooltip: `Context window of ${choice.modelId ?? "the model"}: ${formatNumber(choice.window)} tokens, from ${source}.`,
  };
}

function contextHint(
  service: LanguageService,
  filePath: string,
  decl: Declaration,
  offset: number,
): InlayHintItem | undefined {
  const sym = { kind: decl.kind, name: declarationName(decl) ?? "", decl, path: filePath };
  const { choice } = contextModel(service, sym);
  const source = contextSource(service.program.fs, sym, choice.info);
  switch (source.kind) {
    case "file":
      if (truncated(source))
        return {
          offset,
          label: `≤ ${formatNumber(source.maxTokens!)} tokens`,
          tooltip: `${source.relative} is ${formatCount(source.count)}; max_tokens truncates it to ${formatNumber(source.maxTokens!)}.`,
        };
      return {
        offset,
        label: formatShortCount(source.count),
        tooltip: `${source.relative}: ${formatCount(source.count)}`,
      };
    case "runtime":
      return source.maxTokens === undefined
        ? undefined
        : {
            offset,
            label: `≤ ${formatNumber(source.maxTokens)} tokens`,
            tooltip: `Read at run time by ${source.callee}(...); max_tokens bounds it.`,
          };
    default:
      return undefined;
  }
}
