// The built-in model catalog's figures: context windows, output limits and tokenizers of the
// models each provider lists. The provider table (providers.ts) says which list a provider
// uses; catalog.ts looks models up in them.
import type { Provider } from "./providers";

export interface ModelInfo {
  id: string;
  provider: Provider;
  /** Tokens, input and output together, as the provider documents it. */
  contextWindow: number;
  maxOutputTokens?: number;
  tokenizer: "o200k_base" | "cl100k_base" | "estimate";
  family?: string;
}

/** A catalog row before it is tagged with the provider that lists it. */
export type CatalogEntry = Omit<ModelInfo, "provider">;

// Figures are from OpenAI's model pages (they agree with gpt-tokenizer's model metadata,
// which the tests cross-check). Order matters: it breaks did-you-mean ties, so the
// models people most often mean come first.
export const OPENAI_MODELS: readonly CatalogEntry[] = [
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
const AZURE_ONLY_MODELS: readonly CatalogEntry[] = [
  {
    id: "gpt-35-turbo",
    contextWindow: 16385,
    maxOutputTokens: 4096,
    tokenizer: "cl100k_base",
    family: "gpt-3.5",
  },
];

export const AZURE_MODELS: readonly CatalogEntry[] = [...OPENAI_MODELS, ...AZURE_ONLY_MODELS];

// Bedrock model ids; cross-region inference profile ids are these with a geography
// prefix (see BEDROCK_PROFILE). Claude's tokenizer is not public, hence "estimate".
const claude = (id: string, maxOutputTokens: number): CatalogEntry => ({
  id,
  contextWindow: 200000,
  maxOutputTokens,
  tokenizer: "estimate",
  family: "claude",
});
export const BEDROCK_MODELS: readonly CatalogEntry[] = [
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
