// The providers a backend may name, one row each. Every place that treats
// providers differently reads this table: the schema (the `provider` enum, its
// docs and snippet), validation (`backend-mismatch`, the required `endpoint`,
// `unknown-model`, the key variable a `secret-literal` fix offers), hovers, code
// actions, the model catalog, and the messages of the CLI and the local
// backend. Adding a stateless provider is one row here (and its name in
// protocol's Provider union, which this table must match) plus its backend in
// server/backends (a case in createBackend's switch, which the compiler asks
// for) and its tests; test/unit/providers.test.ts checks that every site agrees
// with the table.

import { AZURE_MODELS, BEDROCK_MODELS, OPENAI_MODELS, type CatalogEntry } from "./catalogModels";
import type { BackendKind, Provider } from "../protocol/definition";

export type { BackendKind, Provider };

export interface ProviderRow {
  /** The backend kinds it runs under: stateless (the client holds the context) or stateful (the runtime does). */
  readonly kinds: readonly BackendKind[];
  /** How prose names it in a list of providers ("OpenAI", "Bedrock"). */
  readonly label: string;
  /** What it is: the hover on `provider: NAME`. */
  readonly doc: string;
  /** A gloss after its name where the `provider` property lists the providers, when the name alone does not say it. */
  readonly gloss?: string;
  /** The variable the fix for a literal `api_key` reads it from. */
  readonly keyVariable?: string;
  /** Set when a backend must name its `endpoint`: what that URL points at, and an example of one. */
  readonly endpoint?: { readonly what: string; readonly example: string };
  /**
   * The models it lists, and the decorations its ids may carry around a catalog id (OpenAI's dated
   * snapshots, Bedrock's inference profile prefixes). Without a catalog any model name is valid.
   */
  readonly catalog?: {
    readonly models: readonly CatalogEntry[];
    readonly ids: "dated-snapshots" | "inference-profiles";
  };
  /** The one model of a provider that runs offline (no network, no keys): it never calls a real model. */
  readonly builtinModel?: CatalogEntry;
}

/** The table; its order is the order completions, docs and messages list the providers in. */
export const PROVIDERS = {
  openai: {
    kinds: ["stateless"],
    label: "OpenAI",
    doc: "The OpenAI API.",
    keyVariable: "OPENAI_API_KEY",
    catalog: { models: OPENAI_MODELS, ids: "dated-snapshots" },
  },
  azure: {
    kinds: ["stateless"],
    label: "Azure",
    doc: "Azure OpenAI: `model` is the deployment name; needs `endpoint` and usually `api_version`.",
    keyVariable: "AZURE_OPENAI_API_KEY",
    endpoint: { what: "the Azure OpenAI resource", example: "https://YOUR-RESOURCE.openai.azure.com" },
    catalog: { models: AZURE_MODELS, ids: "dated-snapshots" },
  },
  compatible: {
    kinds: ["stateless"],
    label: "OpenAI-compatible servers",
    doc: "Any OpenAI-compatible server (Ollama, vLLM, LM Studio) at `endpoint`; any model name is valid.",
    gloss: "any OpenAI-compatible server",
    keyVariable: "OPENAI_API_KEY",
    endpoint: { what: "the server", example: "http://localhost:11434/v1" },
  },
  bedrock: {
    kinds: ["stateful"],
    label: "Bedrock",
    doc: "Amazon Bedrock, behind the stateful Statecraft runtime.",
    // A stateful backend's key is the bearer token of the runtime service that calls Bedrock.
    keyVariable: "STATECRAFT_TOKEN",
    catalog: { models: BEDROCK_MODELS, ids: "inference-profiles" },
  },
  local: {
    kinds: ["stateless", "stateful"],
    label: "local",
    doc: "The built-in offline model: scripted replies in tests, no network and no keys.",
    gloss: "the built-in offline model",
    builtinModel: { id: "local", contextWindow: 128000, tokenizer: "estimate" },
  },
} as const satisfies Record<Provider, ProviderRow>;

export const PROVIDER_NAMES = Object.keys(PROVIDERS) as Provider[];

/** The table with every row seen through ProviderRow, so that optional fields read alike. */
const ROWS: Readonly<Record<Provider, ProviderRow>> = PROVIDERS;

export function isProvider(name: string | undefined): name is Provider {
  return name !== undefined && Object.hasOwn(PROVIDERS, name);
}

/** The row of a provider name as written; undefined for a name that is not a provider. */
export function providerRow(name: string | undefined): ProviderRow | undefined {
  return isProvider(name) ? ROWS[name] : undefined;
}

/** The providers a backend of this kind may name. */
export function providersOfKind(kind: BackendKind): Provider[] {
  return PROVIDER_NAMES.filter((p) => ROWS[p].kinds.includes(kind));
}

/** The providers that call a real model (all but the offline ones). */
export function modelProviders(): Provider[] {
  return PROVIDER_NAMES.filter((p) => !ROWS[p].builtinModel);
}

/** The providers whose backends must name an `endpoint`. */
export function providersNeedingEndpoint(): Provider[] {
  return PROVIDER_NAMES.filter((p) => ROWS[p].endpoint);
}

/** "a, b or c". */
export function orList(words: readonly string[]): string {
  return words.length < 2 ? words.join("") : `${words.slice(0, -1).join(", ")} or ${words[words.length - 1]}`;
}

/** "a, b and c". */
export function andList(words: readonly string[]): string {
  return words.length < 2
    ? words.join("")
    : `${words.slice(0, -1).join(", ")} and ${words[words.length - 1]}`;
}
