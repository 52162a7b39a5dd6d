// Token counting: exact counts against gpt-tokenizer itself (short strings, block-split large
// texts, chunked long runs), the labelled estimate, model dispatch and the cache.
import { strict as assert } from "node:assert";
import fc from "fast-check";
import * as cl100k from "gpt-tokenizer/encoding/cl100k_base";
import * as o200k from "gpt-tokenizer/encoding/o200k_base";
import { LOCAL_MODEL, lookupModel } from "../../server/language/catalog";
import { countTokens, countTokensForModel, type TokenEncoding } from "../../server/language/tokenCount";

type Bpe = Exclude<TokenEncoding, "estimate">;

/** The reference: the library counting the whole text in one go, special tokens as text. */
const reference = (text: string, encoding: Bpe) =>
  (encoding === "o200k_base" ? o200k : cl100k).countTokens(text, { disallowedSpecial: new Set() });

const BPE: Bpe[] = ["o200k_base", "cl100k_base"];

const SAMPLE = `import { lookup } from "./orders";

export async function refund(orderId: string, amount: number): Promise<void> {
  // Refunds over 500 need an approval.
  const order = await lookup(orderId);
  if (!order) {
    throw new Error(\`no order \${orderId}\`);
  }
  if (amount > 500) {
    return requestApproval({ orderId, amount, reason: "over limit" });
  }
  await order.refund(amount);
}
`;

describe("countTokens: exact encodings", () => {
  // Computed once with gpt-tokenizer 4.0.0; plausible by inspection ("hello" + " world").
  const cases: [string, number, number][] = [
    ["hello world", 2, 2],
    ["Hello, world!", 4, 4],
    ["The quick brown fox jumps over the lazy dog.", 10, 10],
    ["日本語のテキスト", 6, 8], // o200k's larger vocabulary covers more CJK
    ["Les modèles de langage découpent le texte.", 10, 12],
    ['refund(order_id: "A1", amount: 900)', 13, 13],
    ["<|endoftext|>", 7, 7], // special-token text counts as ordinary text instead of throwing
    [" ", 1, 1],
    ["\n", 1, 1],
  ];
  for (const [text, o200kTokens, cl100kTokens] of cases) {
    it(`${JSON.stringify(text)}: o200k ${o200kTokens}, cl100k ${cl100kTokens}`, () => {
      assert.deepEqual(countTokens(text, "o200k_base"), {
        tokens: o200kTokens,
        exact: true,
        encoding: "o200k_base",
      });
      assert.deepEqual(countTokens(text, "cl100k_base"), {
        tokens: cl100kTokens,
        exact: true,
        encoding: "cl100k_base",
      });
    });
  }

  for (const encoding of BPE) {
    it(`${encoding}: the empty string is 0 tokens, exactly`, () => {
      assert.deepEqual(countTokens("", encoding), { tokens: 0, exact: true, encoding });
    });
  }
});

describe("countTokens: large texts are counted in blocks, exactly", () => {
  // Fragments chosen to sit on either side of the block cuts: line starts with letters,
  // "/", punctuation and whitespace, blank lines, CRLF, contractions, digits, CJK, emoji.
  const fragment = fc.constantFrom(
    "\n",
    "\n\n",
    "\r\n",
    "  \n",
    "\n/",
    "\n//",
    ".\n",
    "\n  ",
    "\t",
    " ",
    "  ",
    "word",
    " word",
    "Word",
    "don't",
    "'s",
    "it's",
    "123456",
    " 42",
    "{",
    "}",
    '":"',
    "/path/to",
    "#",
    "- ",
    "日本語",
    "。",
    "😀",
    "é",
    "<|endoftext|>",
  );
  const largeText = fc.array(fragment, { minLength: 4000, maxLength: 8000 }).map((parts) => parts.join(""));

  for (const encoding of BPE) {
    it(`${encoding}: random large texts match the whole-text count`, function () {
      this.timeout(120000);
      fc.assert(
        fc.property(largeText, (text) => {
          assert.ok(text.length > 8192, "large enough to be split");
          assert.deepEqual(countTokens(text, encoding), {
            tokens: reference(text, encoding),
            exact: true,
            encoding,
          });
        }),
        { numRuns: 15 },
      );
    });

    it(`${encoding}: lines starting with "/" or whitespace are never cut before`, () => {
      // o200k's punctuation piece swallows ".\n/"; whitespace pieces swallow "\n  \n".
      for (const line of ["end.\n/path/to/file ", "x\n  \n  y", "a.\n\n/b", "w\r\n\tz"]) {
        const text = line.repeat(Math.ceil(20000 / line.length));
        assert.deepEqual(countTokens(text, encoding), {
          tokens: reference(text, encoding),
          exact: true,
          encoding,
        });
      }
    });

    it(`${encoding}: real source text matches, and an edited copy too`, () => {
      const text = Array.from({ length: 80 }, (_, i) => SAMPLE.replaceAll("lookup", `lookup${i}`)).join("\n");
      assert.ok(text.length > 20000);
      assert.equal(countTokens(text, encoding).tokens, reference(text, encoding));
      const edited = text.slice(0, 9000) + "refund" + text.slice(9000);
      assert.equal(countTokens(edited, encoding).tokens, reference(edited, encoding));
    });
  }
});

describe("countTokens: long runs", () => {
  for (const encoding of BPE) {
    it(`${encoding}: 200k repeated letters count quickly, flagged as not exact`, function () {
      this.timeout(20000);
      const started = Date.now();
      const count = countTokens("a".repeat(200000), encoding);
      assert.ok(Date.now() - started < 5000, "linear, not quadratic");
      assert.equal(count.exact, false);
      assert.equal(count.encoding, encoding);
      // "aaaaaaaa" is one token in both encodings: chunking at 256 loses nothing here.
      assert.equal(count.tokens, 25000);
    });

    it(`${encoding}: unspaced CJK and emoji stay within 1% of the whole-text count`, () => {
      const cjk = "日本語のテキストはトークン化されます中文文本也会被分词处理".repeat(70);
      const emoji = "😀".repeat(300); // surrogate pairs must not be cut in half
      for (const text of [cjk, emoji, `intro ${cjk} outro`]) {
        const count = countTokens(text, encoding);
        const expected = reference(text, encoding);
        assert.equal(count.exact, false);
        assert.ok(Math.abs(count.tokens - expected) <= expected / 100, `${count.tokens} vs ${expected}`);
      }
    });

    it(`${encoding}: runs under 256 characters are counted exactly`, () => {
      const text = `${"x".repeat(255)} ${"!".repeat(255)}\n${" ".repeat(254)}y ${"日".repeat(255)}`;
      assert.deepEqual(countTokens(text, encoding), {
        tokens: reference(text, encoding),
        exact: true,
        encoding,
      });
    });
  }
});

describe("countTokens: estimate", () => {
  it("is labelled as not exact", () => {
    const count = countTokens("hello world", "estimate");
    assert.equal(count.exact, false);
    assert.equal(count.encoding, "estimate");
    assert.ok(count.tokens >= 1 && count.tokens <= 4, String(count.tokens));
  });

  it("is 0 for the empty string", () => {
    assert.deepEqual(countTokens("", "estimate"), { tokens: 0, exact: false, encoding: "estimate" });
  });

  const texts: [string, string][] = [
    ["prose", "You are a helpful support agent for ACME. Be concise and polite. ".repeat(40)],
    ["code", SAMPLE],
    [
      "json",
      JSON.stringify({
        type: "object",
        properties: { order_id: { type: "string" }, n: { type: "integer" } },
      }),
    ],
    ["cjk", "日本語のテキストはトークン化されます。".repeat(20)],
  ];
  for (const [kind, text] of texts) {
    it(`${kind}: within 0.7x-1.5x of o200k_base`, () => {
      const estimate = countTokens(text, "estimate").tokens;
      const exact = countTokens(text, "o200k_base").tokens;
      assert.ok(estimate >= 0.7 * exact && estimate <= 1.5 * exact, `${estimate} vs ${exact}`);
    });
  }
});

describe("countTokens: cache", () => {
  for (const encoding of BPE) {
    it(`${encoding}: equal texts give the same frozen result`, () => {
      const text = `cache check ${encoding} ${Math.random()}`;
      const first = countTokens(text, encoding);
      const again = countTokens(text, encoding);
      const copy = countTokens([...text].join(""), encoding);
      assert.equal(again, first);
      assert.equal(copy, first);
      assert.ok(Object.isFrozen(first));
      assert.equal(first.tokens, reference(text, encoding));
    });
  }

  it("keeps encodings apart", () => {
    const text = "日本語のテキスト cache";
    assert.notEqual(countTokens(text, "o200k_base").tokens, countTokens(text, "cl100k_base").tokens);
    assert.equal(countTokens(text, "o200k_base").encoding, "o200k_base");
    assert.equal(countTokens(text, "cl100k_base").encoding, "cl100k_base");
  });
});

describe("countTokensForModel", () => {
  const cases: [string, Parameters<typeof countTokensForModel>[1], TokenEncoding][] = [
    ["gpt-4o", lookupModel("openai", "gpt-4o"), "o200k_base"],
    ["gpt-5 (azure)", lookupModel("azure", "gpt-5"), "o200k_base"],
    ["gpt-4-turbo", lookupModel("openai", "gpt-4-turbo"), "cl100k_base"],
    ["claude on bedrock", lookupModel("bedrock", "us.anthropic.claude-sonnet-4-20250514-v1:0"), "estimate"],
    ["the local model", LOCAL_MODEL, "estimate"],
    ["an unknown model", undefined, "estimate"],
  ];
  for (const [name, model, encoding] of cases) {
    it(`${name} -> ${encoding}`, () => {
      const count = countTokensForModel("Hello, world!", model);
      assert.equal(count.encoding, encoding);
      assert.equal(count.exact, encoding !== "estimate");
      assert.deepEqual(count, countTokens("Hello, world!", encoding));
    });
  }
});
