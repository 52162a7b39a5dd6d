// Built-in model catalog: context windows and tokenizers for the `unknown-model` and
// `context-budget` diagnostics, `context_window` defaults, hovers and token accounting.
import type { CatalogEntry, ModelInfo } from "./catalogModels";
import { nearest } from "./editDistance";
import { isProvider, PROVIDER_NAMES, PROVIDERS, providerRow, type Provider } from "./providers";

export type { ModelInfo } from "./catalogModels";

const tagged = (provider: Provider, entry: CatalogEntry): ModelInfo => Object.freeze({ ...entry, provider });

/** Default for the built-in offline backend; `lookupModel("local", ...)` is always undefined. */
export const LOCAL_MODEL: ModelInfo = tagged("local", PROVIDERS.local.builtinModel);

// The models of the offline providers, which no catalog lists.
const BUILTIN = new Map<Provider, ModelInfo>(
  PROVIDER_NAMES.flatMap((provider) => {
    const model = providerRow(provider)?.builtinModel;
    if (!model) return [];
    return [[provider, provider === "local" ? LOCAL_MODEL : tagged(provider, model)] as const];
  }),
);

const NONE: readonly ModelInfo[] = Object.freeze([]);

// Frozen because every caller shares these objects.
const MODELS = new Map<Provider, readonly ModelInfo[]>(
  PROVIDER_NAMES.map((provider) => {
    const catalog = providerRow(provider)?.catalog;
    const models = catalog?.models.map((e) => tagged(provider, e)) ?? [];
    return [provider, models.length ? Object.freeze(models) : NONE];
  }),
);
const BY_ID = new Map<Provider, ReadonlyMap<string, ModelInfo>>(
  [...MODELS]
    .filter(([p]) => providerRow(p)?.catalog)
    .map(([p, models]) => [p, new Map(models.map((m) => [m.id, m]))]),
);

// OpenAI pins versions as `<id>-YYYY-MM-DD` (gpt-4o-2024-08-06); the figures are the family's.
const DATED_SNAPSHOT = /^(.+)(-\d{4}-\d{2}-\d{2})$/;
// Bedrock cross-region inference profiles: `us.anthropic.claude-...`. Geographies beyond
// us/eu/apac/global exist (and AWS keeps adding them), so accept the ones AWS documents.
const BEDROCK_PROFILE = /^(us\.|eu\.|apac\.|global\.|us-gov\.|jp\.|au\.|ca\.)(.+)$/;

/** Catalog ids the provider lists; empty for a provider without a catalog (`compatible`, `local`), which accepts any name. */
export function modelsFor(provider: Provider): readonly ModelInfo[] {
  return MODELS.get(provider) ?? NONE;
}

interface Split {
  prefix: string;
  core: string;
  suffix: string;
}

// Separates the part that names a catalog entry from the decorations the provider allows
// around it, so lookups and suggestions work on the catalog id and keep the decorations.
function split(provider: Provider, id: string): Split {
  const ids = providerRow(provider)?.catalog?.ids;
  if (ids === "inference-profiles") {
    const m = BEDROCK_PROFILE.exec(id);
    if (m) return { prefix: m[1], core: m[2], suffix: "" };
  } else if (ids === "dated-snapshots") {
    const m = DATED_SNAPSHOT.exec(id);
    if (m) return { prefix: "", core: m[1], suffix: m[2] };
  }
  return { prefix: "", core: id, suffix: "" };
}

function table(provider: Provider): ReadonlyMap<string, ModelInfo> | undefined {
  return BY_ID.get(provider);
}

/**
 * The catalog entry for a model id. Dated OpenAI snapshots and Bedrock inference profile
 * ids resolve to their base entry, whose `id` is the catalog id, not the one passed in.
 * Always undefined for a provider without a catalog (any name is valid there), and for a name
 * that is not a provider.
 */
export function lookupModel(provider: string, id: string): ModelInfo | undefined {
  if (!isProvider(provider)) return undefined;
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
export function nearestModel(provider: string, id: string): string | undefined {
  if (!isProvider(provider)) return undefined;
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

/**
 * What a backend runs: the offline provider's built-in model, else the catalog entry of
 * `id`; undefined when the backend names no model or the catalog does not know it.
 */
export function resolveModel(provider: string, id: string | undefined): ModelInfo | undefined {
  if (!isProvider(provider)) return undefined;
  const builtin = BUILTIN.get(provider);
  if (builtin) return builtin;
  return id === undefined ? undefined : lookupModel(provider, id);
}
