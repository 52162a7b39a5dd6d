// Built-in model catalog: context windows and tokenizers for the `unknown-model` and
// `context-budget` diagnostics, `context_window` defaults, hovers and token accounting.
import { nearest } from "./editDistance";

export type Provider = "openai" | "azure" | "compatible" | "bedrock" | "local";

export interface ModelInfo {
  id: string;
  provider: Provider;
  /** Tokens, input and output together, as the provider documents it. */
  contextWindow: number;
  maxOutputTokens?: number;
  tokenizer: "o200k_base" | "cl100k_base" | "estimate";
  family?: string;
}

/** Default for the built-in offline backend; `lookupModel("local", ...)` is always undefined. */
export const LOCAL_MODEL: ModelInfo = Object.freeze({
  id: "local",
  provider: "local",
  contextWindow: 128000,
  tokenizer: "estimate",
});

type Entry = Omit<ModelInfo, "provider">;

// Figures are from OpenAI's model pages (they agree with gpt-tokenizer's model metadata,
// which the tests cross-check). Order matters: it breaks did-you-mean ties, so the
// models people most often mean come first.
const OPENAI_ENTRIES: readonly Entry[] = [
  {
    id: "gpt-4.1",
    contextWindow: 1047576,
    maxOutputTokens: 32768,
    tokenizer: "o200k_base",
    family: "gpt-4.1",
  },
  {
    id: "gpt-4.1-mini",
    contextWindow: 1047576,
    maxOutputTokens: 32768,
    tokenizer: "o200k_base",
    family: "gpt-4.1",
  },
  {
    id: "gpt-4.1-nano",
    contextWindow: 1047576,
    maxOutputTokens: 32768,
    tokenizer: "o200k_base",
    family: "gpt-4.1",
  },
  { id: "gpt-4o", contextWindow: 128000, maxOutputTokens: 16384, tokenizer: "o200k_base", family: "gpt-4o" },
  {
    id: "gpt-4o-mini",
    contextWindow: 128000,
    maxOutputTokens: 16384,
    tokenizer: "o200k_base",
    family: "gpt-4o",
  },
  // gpt-5's 400k window includes output: OpenAI caps input at 272k.
  { id: "gpt-5", contextWindow: 400000, maxOutputTokens: 128000, tokenizer: "o200k_base", family: "gpt-5" },
  {
    id: "gpt-5-mini",
    contextWindow: 400000,
    maxOutputTokens: 128000,
    tokenizer: "o200k_base",
    family: "gpt-5",
  },
  {
    id: "gpt-5-nano",
    contextWindow: 400000,
    maxOutputTokens: 128000,
    tokenizer: "o200k_base",
    family: "gpt-5",
  },
  { id: "o1", contextWindow: 200000, maxOutputTokens: 100000, tokenizer: "o200k_base", family: "o-series" },
  {
    id: "o1-mini",
    contextWindow: 128000,
    maxOutputTokens: 65536,
    tokenizer: "o200k_base",
    family: "o-series",
  },
  { id: "o3", contextWindow: 200000, maxOutputTokens: 100000, tokenizer: "o200k_base", family: "o-series" },
  {
    id: "o3-mini",
    contextWindow: 200000,
    maxOutputTokens: 100000,
    tokenizer: "o200k_base",
    family: "o-series",
  },
  {
    id: "o3-pro",
    contextWindow: 200000,
    maxOutputTokens: 100000,
    tokenizer: "o200k_base",
    family: "o-series",
  },
  {
    id: "o4-mini",
    contextWindow: 200000,
    maxOutputTokens: 100000,
    tokenizer: "o200k_base",
    family: "o-series",
  },
  {
    id: "gpt-4-turbo",
    contextWindow: 128000,
    maxOutputTokens: 4096,
    tokenizer: "cl100k_base",
    family: "gpt-4",
  },
  { id: "gpt-4", contextWindow: 8192, maxOutputTokens: 8192, tokenizer: "cl100k_base", family: "gpt-4" },
  {
    id: "gpt-3.5-turbo",
    contextWindow: 16385,
    maxOutputTokens: 4096,
    tokenizer: "cl100k_base",
    family: "gpt-3.5",
  },
];

// Azure deploys the same OpenAI models, under one different name.
const AZURE_ONLY_ENTRIES: readonly Entry[] = [
  {
    id: "gpt-35-turbo",
    contextWindow: 16385,
    maxOutputTokens: 4096,
    tokenizer: "cl100k_base",
    family: "gpt-3.5",
  },
];

// Bedrock model ids; cross-region inference profile ids are these with a geography
// prefix (see BEDROCK_PROFILE). Claude's tokenizer is not public, hence "estimate".
const claude = (id: string, maxOutputTokens: number): Entry => ({
  id,
  contextWindow: 200000,
  maxOutputTokens,
  tokenizer: "estimate",
  family: "claude",
});
const BEDROCK_ENTRIES: readonly Entry[] = [
  claude("anthropic.claude-sonnet-4-20250514-v1:0", 64000),
  claude("anthropic.claude-opus-4-20250514-v1:0", 32000),
  claude("anthropic.claude-sonnet-4-5-20250929-v1:0", 64000),
  claude("anthropic.claude-haiku-4-5-20251001-v1:0", 64000),
  claude("anthropic.claude-opus-4-1-20250805-v1:0", 32000),
  claude("anthropic.claude-3-7-sonnet-20250219-v1:0", 64000),
  claude("anthropic.claude-3-5-sonnet-20241022-v2:0", 8192),
  claude("anthropic.claude-3-5-sonnet-20240620-v1:0", 8192),
  claude("anthropic.claude-3-5-haiku-20241022-v1:0", 8192),
  claude("anthropic.claude-3-haiku-20240307-v1:0", 4096),
  { id: "amazon.nova-pro-v1:0", contextWindow: 300000, tokenizer: "estimate", family: "nova" },
  { id: "amazon.nova-lite-v1:0", contextWindow: 300000, tokenizer: "estimate", family: "nova" },
  { id: "amazon.nova-micro-v1:0", contextWindow: 128000, tokenizer: "estimate", family: "nova" },
  { id: "meta.llama3-1-70b-instruct-v1:0", contextWindow: 128000, tokenizer: "estimate", family: "llama" },
  { id: "meta.llama3-1-8b-instruct-v1:0", contextWindow: 128000, tokenizer: "estimate", family: "llama" },
  { id: "meta.llama3-3-70b-instruct-v1:0", contextWindow: 128000, tokenizer: "estimate", family: "llama" },
  { id: "mistral.mistral-large-2407-v1:0", contextWindow: 128000, tokenizer: "estimate", family: "mistral" },
  { id: "cohere.command-r-plus-v1:0", contextWindow: 128000, tokenizer: "estimate", family: "command-r" },
  { id: "cohere.command-r-v1:0", contextWindow: 128000, tokenizer: "estimate", family: "command-r" },
];

function freezeAll(provider: Provider, entries: readonly Entry[]): readonly ModelInfo[] {
  // Frozen because every caller shares these objects.
  return Object.freeze(entries.map((e) => Object.freeze({ ...e, provider })));
}

const OPENAI = freezeAll("openai", OPENAI_ENTRIES);
const AZURE = freezeAll("azure", [...OPENAI_ENTRIES, ...AZURE_ONLY_ENTRIES]);
const BEDROCK = freezeAll("bedrock", BEDROCK_ENTRIES);
const NONE: readonly ModelInfo[] = Object.freeze([]);

const byId = (models: readonly ModelInfo[]) => new Map(models.map((m) => [m.id, m]));
const OPENAI_BY_ID = byId(OPENAI);
const AZURE_BY_ID = byId(AZURE);
const BEDROCK_BY_ID = byId(BEDROCK);

// OpenAI pins versions as `<id>-YYYY-MM-DD` (gpt-4o-2024-08-06); the figures are the family's.
const DATED_SNAPSHOT = /^(.+)(-\d{4}-\d{2}-\d{2})$/;
// Bedrock cross-region inference profiles: `us.anthropic.claude-...`. Geographies beyond
// us/eu/apac/global exist (and AWS keeps adding them), so accept the ones AWS documents.
const BEDROCK_PROFILE = /^(us\.|eu\.|apac\.|global\.|us-gov\.|jp\.|au\.|ca\.)(.+)$/;

/** Catalog ids the provider lists; empty for `compatible` and `local`, which accept any name. */
export function modelsFor(provider: Provider): readonly ModelInfo[] {
  switch (provider) {
    case "openai":
      return OPENAI;
    case "azure":
      return AZURE;
    case "bedrock":
      return BEDROCK;
    case "compatible":
    case "local":
      return NONE;
  }
}

interface Split {
  prefix: string;
  core: string;
  suffix: string;
}

// Separates the part that names a catalog entry from the decorations the provider allows
// around it, so lookups and suggestions work on the catalog id and keep the decorations.
function split(provider: Provider, id: string): Split {
  if (provider === "bedrock") {
    const m = BEDROCK_PROFILE.exec(id);
    if (m) return { prefix: m[1], core: m[2], suffix: "" };
  } else if (provider === "openai" || provider === "azure") {
    const m = DATED_SNAPSHOT.exec(id);
    if (m) return { prefix: "", core: m[1], suffix: m[2] };
  }
  return { prefix: "", core: id, suffix: "" };
}

function table(provider: Provider): ReadonlyMap<string, ModelInfo> | undefined {
  switch (provider) {
    case "openai":
      return OPENAI_BY_ID;
    case "azure":
      return AZURE_BY_ID;
    case "bedrock":
      return BEDROCK_BY_ID;
    default:
      return undefined;
  }
}

/**
 * The catalog entry for a model id. Dated OpenAI snapshots and Bedrock inference profile
 * ids resolve to their base entry, whose `id` is the catalog id, not the one passed in.
 * Always undefined for `compatible` and `local` (any name is valid there).
 */
export function lookupModel(provider: Provider, id: string): ModelInfo | undefined {
  const models = table(provider);
  if (!models) return undefined;
  const exact = models.get(id);
  if (exact) return exact;
  const { core } = split(provider, id);
  return core === id ? undefined : models.get(core);
}

/**
 * A did-you-mean for an id the catalog does not know, keeping any inference profile prefix
 * or snapshot date the user wrote. Undefined when the id is known or nothing is close.
 */
export function nearestModel(provider: Provider, id: string): string | undefined {
  const models = table(provider);
  if (!models || lookupModel(provider, id)) return undefined;
  const { prefix, core, suffix } = split(provider, id);
  // Model ids are case-sensitive at the providers, so a case slip is worth suggesting even
  // though its edit distance may exceed the typo threshold.
  const lower = core.toLowerCase();
  let match: string | undefined;
  for (const candidate of models.keys()) {
    if (candidate.toLowerCase() === lower) {
      match = candidate;
      break;
    }
  }
  match ??= nearest(core, models.keys());
  return match === undefined ? undefined : prefix + match + suffix;
}
