// The model an agent runs on and the token counts of the sections of its
// fixed context (instructions, context sources), as hovers and inlay hints
// show them. The rules are those of the context-budget check: the agent's
// `model` overrides its backend's, a local backend or a model the catalog does
// not know is counted with the estimate, and a context file is read through
// the injected file system.

import * as path from "node:path";
import { referenceText, type Declaration, type Value } from "./ast";
import { resolveModel, type ModelInfo } from "./catalog";
import { props } from "./compile";
import { declarationAt } from "./locate";
import type { FileSystem, Symbol, SymbolTable } from "./program";
import type { LanguageService } from "./languageService";
import { countTokensForModel, type TokenCount } from "./tokenCount";

export interface ModelChoice {
  /** The backend declaration; undefined for the implicit local backend. */
  backend: Symbol | undefined;
  provider: string;
  /** The agent's `model`, else the backend's. */
  modelId: string | undefined;
  /** The catalog entry (the built-in model of an offline provider); undefined when the catalog does not know the id. */
  info: ModelInfo | undefined;
  /** The backend's `context_window`, else the catalog's. */
  window: number | undefined;
  /** Where `window` comes from. */
  windowSource: "context_window" | "catalog" | undefined;
}

export const formatNumber = (n: number): string => n.toLocaleString("en-US");

/** `412 tokens (o200k_base)`, or `~412 tokens (estimate)` when the count is not exact. */
export function formatCount(count: TokenCount): string {
  return `${formatShortCount(count)} (${count.encoding})`;
}

/** `412 tokens`, or `~412 tokens` when the count is not exact: the short form for inlay hints. */
export function formatShortCount(count: TokenCount): string {
  return `${count.exact ? "" : "~"}${formatNumber(count.tokens)} ${count.tokens === 1 ? "token" : "tokens"}`;
}

export function wordValue(v: Value | undefined): string | undefined {
  if (v?.type === "Reference") return referenceText(v);
  if (v?.type === "String") return v.value;
  return undefined;
}

export function stringValue(v: Value | undefined): string | undefined {
  return v?.type === "String" ? v.value : undefined;
}

export function numberValue(v: Value | undefined): number | undefined {
  return v?.type === "Number" ? v.value : undefined;
}

/** The model a backend runs (`backend` undefined: the implicit local one), optionally overridden by an agent. */
export function backendModel(backend: Symbol | undefined, modelOverride?: string): ModelChoice {
  const p = backend ? props(backend.decl.body) : undefined;
  const provider = wordValue(p?.get("provider")?.value) ?? "local";
  const modelId = modelOverride ?? stringValue(p?.get("model")?.value);
  const info = resolveModel(provider, modelId);
  const declared = numberValue(p?.get("context_window")?.value);
  const window = declared ?? info?.contextWindow;
  const windowSource = declared !== undefined ? "context_window" : info ? "catalog" : undefined;
  return { backend, provider, modelId, info, window, windowSource };
}

/** The backend an agent names, else the only declared one, else the implicit local one. */
export function agentBackend(table: SymbolTable, agent: Declaration): Symbol | undefined {
  const ref = props(agent.body).get("backend")?.value;
  if (ref?.type === "Reference") return table.lookup("backend", ref.segments[0].name);
  const all = table.ofKind("backend");
  return all.length === 1 ? all[0] : undefined;
}

export function agentModel(table: SymbolTable, agent: Declaration): ModelChoice {
  const override = stringValue(props(agent.body).get("model")?.value);
  return backendModel(agentBackend(table, agent), override);
}

/** Tokens of an agent's instructions, with its model; undefined when it has no instructions string. */
export function instructionsTokens(table: SymbolTable, agent: Declaration): TokenCount | undefined {
  const text = stringValue(props(agent.body).get("instructions")?.value);
  return text === undefined ? undefined : countTokensForModel(text, agentModel(table, agent).info);
}

export type ContextSource =
  /** A `file(...)` source that could be read. */
  | { kind: "file"; path: string; relative: string; count: TokenCount; maxTokens: number | undefined }
  | { kind: "missing-file"; path: string; relative: string; maxTokens: number | undefined }
  /** `http`, `command` or `mcp`: read at run time, so only `max_tokens` is known. */
  | { kind: "runtime"; callee: string; maxTokens: number | undefined }
  | { kind: "none" };

/** Whether a counted file source is cut by `max_tokens`. */
export function truncated(source: ContextSource): boolean {
  return source.kind === "file" && source.maxTokens !== undefined && source.count.tokens > source.maxTokens;
}

/** What a context declaration puts into the model's context, counted with `model`. */
export function contextSource(fs: FileSystem, context: Symbol, model: ModelInfo | undefined): ContextSource {
  const p = props(context.decl.body);
  const maxTokens = numberValue(p.get("max_tokens")?.value);
  const from = p.get("from")?.value;
  if (from?.type !== "Call") return { kind: "none" };
  if (from.callee.name !== "file") return { kind: "runtime", callee: from.callee.name, maxTokens };
  const arg = from.args[0];
  if (arg?.type !== "String") return { kind: "none" };
  const target = path.resolve(path.dirname(context.path), arg.value);
  const text = fs.readFile(target);
  if (text === undefined) return { kind: "missing-file", path: target, relative: arg.value, maxTokens };
  return {
    kind: "file",
    path: target,
    relative: arg.value,
    count: countTokensForModel(text, model),
    maxTokens,
  };
}

/**
 * The model that counts a context: that of `agent` when given (the cursor is
 * in it), else that of the first agent that lists the context, else the
 * default backend of the context's own file.
 */
export function contextModel(
  service: LanguageService,
  context: Symbol,
  agent?: { decl: Declaration; path: string },
): { choice: ModelChoice; agentName: string | undefined } {
  const user = agent ?? firstAgentUsing(service, context);
  if (user) {
    const name = user.decl.name?.type === "Identifier" ? user.decl.name.name : undefined;
    return { choice: agentModel(service.program.symbols(user.path), user.decl), agentName: name };
  }
  const backends = service.program.symbols(context.path).ofKind("backend");
  return { choice: backendModel(backends.length === 1 ? backends[0] : undefined), agentName: undefined };
}

function firstAgentUsing(
  service: LanguageService,
  context: Symbol,
): { decl: Declaration; path: string } | undefined {
  for (const ref of service.referencesTo(context.decl)) {
    const file = service.program.get(ref.path)?.file;
    const decl = file && declarationAt(file, ref.span.start);
    const list = decl?.kind === "agent" ? props(decl.body).get("context") : undefined;
    if (decl && list && list.start <= ref.span.start && ref.span.end <= list.end)
      return { decl, path: ref.path };
  }
  return undefined;
}
