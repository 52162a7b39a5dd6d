// The model catalog and edit distance: lookups per provider (snapshots, inference profiles,
// Azure names), did-you-mean suggestions, and the catalog cross-checked against gpt-tokenizer.
import { strict as assert } from "node:assert";
import fc from "fast-check";
import { DEFAULT_ENCODING, modelToEncodingMap } from "gpt-tokenizer/mapping";
import * as openaiSpecs from "gpt-tokenizer/models.gen";
import {
  LOCAL_MODEL,
  lookupModel,
  modelsFor,
  nearestModel,
  type ModelInfo,
} from "../../server/language/catalog";
import { PROVIDER_NAMES, type Provider } from "../../server/language/providers";
import { editDistance, nearest } from "../../server/language/editDistance";

const PROVIDERS: readonly Provider[] = PROVIDER_NAMES;

describe("editDistance", () => {
  const cases: [string, string, number][] = [
    ["", "", 0],
    ["", "abc", 3],
    ["abc", "", 3],
    ["same", "same", 0],
    ["kitten", "sitting", 3],
    ["flaw", "lawn", 2],
    ["ab", "ba", 1], // adjacent transposition
    ["gpt-4.1-mnii", "gpt-4.1-mini", 1],
    ["ca", "abc", 3], // optimal string alignment: no edits inside a transposed pair
    ["tool", "tools", 1],
    ["temperature", "temprature", 1],
  ];
  for (const [a, b, d] of cases) {
    it(`${JSON.stringify(a)} -> ${JSON.stringify(b)} = ${d}`, () => {
      assert.equal(editDistance(a, b), d);
      assert.equal(editDistance(b, a), d);
    });
  }

  it("is symmetric and bounded by the lengths", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 12 }), fc.string({ maxLength: 12 }), (a, b) => {
        const d = editDistance(a, b);
        assert.equal(d, editDistance(b, a));
        assert.ok(d >= Math.abs(a.length - b.length) && d <= Math.max(a.length, b.length));
        assert.equal(d === 0, a === b);
      }),
    );
  });
});

describe("nearest", () => {
  const cases: [string, string[], string | undefined][] = [
    ["tols", ["tools", "memory"], "tools"],
    ["x", ["y"], "y"], // short names still allow one edit
    ["abc", ["abc"], undefined], // never the name itself
    ["abc", ["abc", "abd"], "abd"],
    ["cat", ["bat", "hat"], "bat"], // ties go to the earlier candidate
    ["cat", ["hat", "bat"], "hat"],
    ["cat", ["cart", "at"], "cart"],
    ["abcdef", ["abcdxy"], "abcdxy"], // 2 edits allowed at length 6
    ["abcdef", ["abcxyz"], undefined], // 3 edits are not
    ["model", ["temperature", "instructions"], undefined],
    ["anything", [], undefined],
  ];
  for (const [name, candidates, expected] of cases) {
    it(`${name} in [${candidates.join(", ")}] -> ${expected}`, () => {
      assert.equal(nearest(name, candidates), expected);
    });
  }

  it("accepts any iterable", () => {
    assert.equal(nearest("tols", new Set(["tools"]).keys()), "tools");
  });
});

describe("lookupModel", () => {
  const found: [Provider, string, string, number, ModelInfo["tokenizer"]][] = [
    ["openai", "gpt-4o", "gpt-4o", 128000, "o200k_base"],
    ["openai", "gpt-4o-mini", "gpt-4o-mini", 128000, "o200k_base"],
    ["openai", "gpt-4.1", "gpt-4.1", 1047576, "o200k_base"],
    ["openai", "gpt-4.1-mini", "gpt-4.1-mini", 1047576, "o200k_base"],
    ["openai", "gpt-4.1-nano", "gpt-4.1-nano", 1047576, "o200k_base"],
    ["openai", "o1", "o1", 200000, "o200k_base"],
    ["openai", "o3", "o3", 200000, "o200k_base"],
    ["openai", "o3-mini", "o3-mini", 200000, "o200k_base"],
    ["openai", "o4-mini", "o4-mini", 200000, "o200k_base"],
    ["openai", "gpt-4-turbo", "gpt-4-turbo", 128000, "cl100k_base"],
    ["openai", "gpt-3.5-turbo", "gpt-3.5-turbo", 16385, "cl100k_base"],
    ["openai", "gpt-5", "gpt-5", 400000, "o200k_base"],
    ["openai", "gpt-5-mini", "gpt-5-mini", 400000, "o200k_base"],
    ["openai", "gpt-5-nano", "gpt-5-nano", 400000, "o200k_base"],
    // dated snapshots resolve to their base entry
    ["openai", "gpt-4o-2024-08-06", "gpt-4o", 128000, "o200k_base"],
    ["openai", "gpt-4o-mini-2024-07-18", "gpt-4o-mini", 128000, "o200k_base"],
    ["openai", "gpt-4.1-2025-04-14", "gpt-4.1", 1047576, "o200k_base"],
    ["openai", "gpt-4-turbo-2024-04-09", "gpt-4-turbo", 128000, "cl100k_base"],
    ["openai", "o3-2025-04-16", "o3", 200000, "o200k_base"],
    // Azure serves the OpenAI models, plus its own name for gpt-3.5-turbo
    ["azure", "gpt-4o", "gpt-4o", 128000, "o200k_base"],
    ["azure", "gpt-4.1-mini", "gpt-4.1-mini", 1047576, "o200k_base"],
    ["azure", "gpt-4o-2024-11-20", "gpt-4o", 128000, "o200k_base"],
    ["azure", "gpt-35-turbo", "gpt-35-turbo", 16385, "cl100k_base"],
    // Bedrock model ids and cross-region inference profiles
    [
      "bedrock",
      "anthropic.claude-3-5-sonnet-20240620-v1:0",
      "anthropic.claude-3-5-sonnet-20240620-v1:0",
      200000,
      "estimate",
    ],
    [
      "bedrock",
      "anthropic.claude-3-5-sonnet-20241022-v2:0",
      "anthropic.claude-3-5-sonnet-20241022-v2:0",
      200000,
      "estimate",
    ],
    [
      "bedrock",
      "anthropic.claude-3-5-haiku-20241022-v1:0",
      "anthropic.claude-3-5-haiku-20241022-v1:0",
      200000,
      "estimate",
    ],
    [
      "bedrock",
      "anthropic.claude-3-7-sonnet-20250219-v1:0",
      "anthropic.claude-3-7-sonnet-20250219-v1:0",
      200000,
      "estimate",
    ],
    [
      "bedrock",
      "anthropic.claude-sonnet-4-20250514-v1:0",
      "anthropic.claude-sonnet-4-20250514-v1:0",
      200000,
      "estimate",
    ],
    [
      "bedrock",
      "anthropic.claude-opus-4-20250514-v1:0",
      "anthropic.claude-opus-4-20250514-v1:0",
      200000,
      "estimate",
    ],
    [
      "bedrock",
      "anthropic.claude-3-haiku-20240307-v1:0",
      "anthropic.claude-3-haiku-20240307-v1:0",
      200000,
      "estimate",
    ],
    ["bedrock", "amazon.nova-pro-v1:0", "amazon.nova-pro-v1:0", 300000, "estimate"],
    ["bedrock", "amazon.nova-lite-v1:0", "amazon.nova-lite-v1:0", 300000, "estimate"],
    ["bedrock", "amazon.nova-micro-v1:0", "amazon.nova-micro-v1:0", 128000, "estimate"],
    ["bedrock", "meta.llama3-1-70b-instruct-v1:0", "meta.llama3-1-70b-instruct-v1:0", 128000, "estimate"],
    ["bedrock", "mistral.mistral-large-2407-v1:0", "mistral.mistral-large-2407-v1:0", 128000, "estimate"],
    ["bedrock", "cohere.command-r-plus-v1:0", "cohere.command-r-plus-v1:0", 128000, "estimate"],
    [
      "bedrock",
      "us.anthropic.claude-3-7-sonnet-20250219-v1:0",
      "anthropic.claude-3-7-sonnet-20250219-v1:0",
      200000,
      "estimate",
    ],
    [
      "bedrock",
      "eu.anthropic.claude-sonnet-4-20250514-v1:0",
      "anthropic.claude-sonnet-4-20250514-v1:0",
      200000,
      "estimate",
    ],
    [
      "bedrock",
      "apac.anthropic.claude-3-5-sonnet-20241022-v2:0",
      "anthropic.claude-3-5-sonnet-20241022-v2:0",
      200000,
      "estimate",
    ],
    [
      "bedrock",
      "global.anthropic.claude-sonnet-4-20250514-v1:0",
      "anthropic.claude-sonnet-4-20250514-v1:0",
      200000,
      "estimate",
    ],
    ["bedrock", "us.amazon.nova-pro-v1:0", "amazon.nova-pro-v1:0", 300000, "estimate"],
    ["bedrock", "us.meta.llama3-1-70b-instruct-v1:0", "meta.llama3-1-70b-instruct-v1:0", 128000, "estimate"],
  ];
  for (const [provider, id, canonical, contextWindow, tokenizer] of found) {
    it(`${provider} ${id}`, () => {
      const info = lookupModel(provider, id);
      assert.ok(info, `${provider} knows ${id}`);
      assert.deepEqual(
        {
          id: info.id,
          provider: info.provider,
          contextWindow: info.contextWindow,
          tokenizer: info.tokenizer,
        },
        { id: canonical, provider, contextWindow, tokenizer },
      );
    });
  }

  const missing: [Provider, string][] = [
    ["openai", "gpt-4.1-mnii"],
    ["openai", "GPT-4o"], // ids are case-sensitive at the provider
    ["openai", "gpt-4o-2024-08"], // not a full date
    ["openai", "gpt-4o-20240806"],
    ["openai", "gpt-7"],
    ["openai", "us.gpt-4o"], // inference profiles are a Bedrock notion
    ["openai", "anthropic.claude-3-5-sonnet-20240620-v1:0"],
    ["openai", "gpt-35-turbo"], // the Azure spelling
    ["azure", "my-deployment"],
    ["bedrock", "gpt-4o"],
    ["bedrock", "xx.anthropic.claude-3-haiku-20240307-v1:0"],
    ["bedrock", "us.eu.anthropic.claude-3-haiku-20240307-v1:0"],
    ["bedrock", "anthropic.claude-3-haiku-20240307-v1:0-2024-01-01"], // no dated snapshots on Bedrock
    ["compatible", "gpt-4o"], // any name is allowed there, so none is "known"
    ["compatible", "llama3.1:8b"],
    ["local", "local"],
    ["local", "gpt-4o"],
    ["openai", ""],
  ];
  for (const [provider, id] of missing) {
    it(`${provider} ${JSON.stringify(id)} is unknown`, () => {
      assert.equal(lookupModel(provider, id), undefined);
    });
  }
});

describe("modelsFor", () => {
  it("lists nothing for compatible and local", () => {
    assert.deepEqual(modelsFor("compatible"), []);
    assert.deepEqual(modelsFor("local"), []);
  });

  it("gives Azure every OpenAI model, labelled azure", () => {
    const azure = new Set(modelsFor("azure").map((m) => m.id));
    for (const m of modelsFor("openai")) assert.ok(azure.has(m.id), m.id);
  });

  for (const provider of PROVIDERS) {
    it(`${provider}: unique ids, own provider, sane figures, each entry found by lookupModel`, () => {
      const models = modelsFor(provider);
      assert.equal(new Set(models.map((m) => m.id)).size, models.length);
      for (const m of models) {
        assert.equal(m.provider, provider);
        assert.ok(Number.isInteger(m.contextWindow) && m.contextWindow > 0, m.id);
        if (m.maxOutputTokens !== undefined) assert.ok(m.maxOutputTokens <= m.contextWindow, m.id);
        assert.equal(lookupModel(provider, m.id), m);
        assert.ok(Object.isFrozen(m), `${m.id} is shared, so frozen`);
      }
    });
  }

  it("matches gpt-tokenizer's OpenAI metadata (context window, max output, encoding)", () => {
    const specs = openaiSpecs as unknown as Record<
      string,
      { context_window?: number; max_output_tokens?: number } | undefined
    >;
    const encodings = modelToEncodingMap as Record<string, string | undefined>;
    for (const m of modelsFor("openai")) {
      const spec = specs[m.id];
      assert.ok(spec, `gpt-tokenizer knows ${m.id}`);
      assert.equal(m.contextWindow, spec.context_window, `${m.id} context window`);
      assert.equal(m.maxOutputTokens, spec.max_output_tokens, `${m.id} max output`);
      assert.equal(m.tokenizer, encodings[m.id] ?? DEFAULT_ENCODING, `${m.id} encoding`);
    }
  });
});

describe("nearestModel", () => {
  const cases: [Provider, string, string | undefined][] = [
    ["openai", "gpt-4.1-mnii", "gpt-4.1-mini"],
    ["openai", "gpt4o", "gpt-4o"],
    ["openai", "gpt-4o-mnii", "gpt-4o-mini"],
    ["openai", "GPT-4o", "gpt-4o"], // case slips are suggested even past the typo threshold
    ["openai", "GPT-4.1-MINI", "gpt-4.1-mini"],
    ["openai", "gpt-4o-mnii-2024-07-18", "gpt-4o-mini-2024-07-18"], // keeps the snapshot date
    ["openai", "gtp-5", "gpt-5"],
    ["azure", "gpt-35-trubo", "gpt-35-turbo"],
    ["bedrock", "anthropic.claude-3-5-sonet-20241022-v2:0", "anthropic.claude-3-5-sonnet-20241022-v2:0"],
    [
      "bedrock",
      "us.anthropic.claude-3-5-sonet-20241022-v2:0",
      "us.anthropic.claude-3-5-sonnet-20241022-v2:0",
    ],
    ["bedrock", "amazon.nova-por-v1:0", "amazon.nova-pro-v1:0"],
    // known ids get no suggestion
    ["openai", "gpt-4o", undefined],
    ["openai", "o3", undefined],
    ["openai", "gpt-4o-2024-08-06", undefined],
    ["bedrock", "eu.amazon.nova-lite-v1:0", undefined],
    // nothing close
    ["openai", "llama3", undefined],
    ["openai", "my-company-finetune", undefined],
    ["bedrock", "gpt-4o", undefined],
    // providers that accept any name never suggest
    ["compatible", "gpt-4.1-mnii", undefined],
    ["local", "gpt-4.1-mnii", undefined],
  ];
  for (const [provider, id, expected] of cases) {
    it(`${provider} ${id} -> ${expected}`, () => {
      assert.equal(nearestModel(provider, id), expected);
    });
  }
});

describe("LOCAL_MODEL", () => {
  it("is the offline backend's default", () => {
    assert.deepEqual(
      { ...LOCAL_MODEL },
      { id: "local", provider: "local", contextWindow: 128000, tokenizer: "estimate" },
    );
    assert.ok(Object.isFrozen(LOCAL_MODEL));
  });
});
