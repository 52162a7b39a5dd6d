// Token counting for the `context-budget` diagnostic, hovers, inlay hints and the runtime's
// per-section accounting: exact BPE counts for OpenAI encodings, a labelled estimate otherwise.
import type { ModelInfo } from "./catalog";

export type TokenEncoding = "o200k_base" | "cl100k_base" | "estimate";

export interface TokenCount {
  tokens: number;
  /** False for the heuristic estimate and for the rare texts counted in chunks (see LONG_RUN). */
  exact: boolean;
  encoding: TokenEncoding;
}

type BpeEncoding = Exclude<TokenEncoding, "estimate">;

interface Encoder {
  countTokens(text: string, options: { disallowedSpecial: Set<string> }): number;
}

// The rank tables are megabytes of JavaScript that take a few hundred ms to evaluate, so
// they load on first use rather than at server start. Literal `require` paths let esbuild
// bundle them while still deferring evaluation until the call.
let o200k: Encoder | undefined;
let cl100k: Encoder | undefined;
function encoder(encoding: BpeEncoding): Encoder {
  if (encoding === "o200k_base") {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (o200k ??= require("gpt-tokenizer/encoding/o200k_base") as Encoder);
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (cl100k ??= require("gpt-tokenizer/encoding/cl100k_base") as Encoder);
}

// Instructions and context files may quote "<|endoftext|>" and the like. The APIs count
// such text as ordinary characters, while gpt-tokenizer throws on it by default.
const AS_PLAIN_TEXT = { disallowedSpecial: new Set<string>() };

// BPE merging is quadratic in the length of one pre-tokenizer piece, and a piece is a run
// of one character class: 100k repeated letters take ~13 s, and unspaced CJK is slow even
// at a few thousand characters. Runs this long are counted in chunks, which may be off by
// about one token per cut, so such counts are reported as not exact.
const LONG_RUN = /[\p{L}\p{M}]{256,}|[^\s\p{L}\p{N}]{256,}|\s{256,}/gu;
const RUN_CHUNK = 256;

function countBpe(text: string, encoding: BpeEncoding): TokenCount {
  const enc = encoder(encoding);
  LONG_RUN.lastIndex = 0;
  if (!LONG_RUN.test(text)) {
    return { tokens: enc.countTokens(text, AS_PLAIN_TEXT), exact: true, encoding };
  }
  let tokens = 0;
  let last = 0;
  for (const match of text.matchAll(LONG_RUN)) {
    if (match.index > last) tokens += enc.countTokens(text.slice(last, match.index), AS_PLAIN_TEXT);
    const run = match[0];
    for (let start = 0; start < run.length;) {
      let end = Math.min(start + RUN_CHUNK, run.length);
      // Never cut a surrogate pair: the halves would each encode as a replacement character.
      if (end < run.length && isLowSurrogate(run.charCodeAt(end))) end--;
      tokens += enc.countTokens(run.slice(start, end), AS_PLAIN_TEXT);
      start = end;
    }
    last = match.index + run.length;
  }
  if (last < text.length) tokens += enc.countTokens(text.slice(last), AS_PLAIN_TEXT);
  return { tokens, exact: false, encoding };
}

const isLowSurrogate = (code: number) => code >= 0xdc00 && code <= 0xdfff;

/**
 * Heuristic for tokenizers we cannot run (Claude, Nova, Llama, ...). It approximates a
 * modern ~100-200k-vocabulary BPE by modelling its pre-tokenizer: a letter run costs one
 * token per 5 letters (common words are one token), digits group by 3, an ASCII symbol
 * costs 0.6 (some merge, as in `":"`), a non-ASCII code point costs 1 (CJK is about one
 * token per character), and indentation or line breaks cost 1 per whitespace run. Against
 * o200k_base it lands at 1.1-1.25x on English prose and code and 0.85-0.95x on JSON;
 * erring high suits budget warnings. Far off for random base64/hex (about 0.55x).
 */
function estimateTokens(text: string): number {
  let tokens = 0;
  let letters = 0;
  let digits = 0;
  let spaces = 0;
  let newline = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const isSpace = c === 32 || c === 9 || c === 10 || c === 13;
    if (!isSpace && (spaces > 1 || newline)) tokens += 1;
    if (!isSpace) {
      spaces = 0;
      newline = false;
    }
    if ((c >= 97 && c <= 122) || (c >= 65 && c <= 90)) {
      if (digits) tokens += Math.ceil(digits / 3);
      digits = 0;
      letters++;
      continue;
    }
    if (c >= 48 && c <= 57) {
      if (letters) tokens += Math.ceil(letters / 5);
      letters = 0;
      digits++;
      continue;
    }
    if (letters) tokens += Math.ceil(letters / 5);
    if (digits) tokens += Math.ceil(digits / 3);
    letters = digits = 0;
    if (isSpace) {
      spaces++;
      if (c === 10) newline = true;
    } else if (c < 128) tokens += 0.6;
    else if (!isLowSurrogate(c)) tokens += 1;
  }
  if (letters) tokens += Math.ceil(letters / 5);
  if (digits) tokens += Math.ceil(digits / 3);
  if (spaces > 1 || newline) tokens += 1;
  return Math.ceil(tokens);
}

// Hovers and inlay hints recount the same sections on every keystroke, so exact counts are
// memoised. Bounded by entries and by total characters; big texts are not worth keeping.
const CACHE_MAX_TEXT = 64 * 1024;
const CACHE_MAX_ENTRIES = 512;
const CACHE_MAX_CHARS = 2 * 1024 * 1024;

class LruCache {
  private readonly map = new Map<string, TokenCount>();
  private chars = 0;

  get(text: string): TokenCount | undefined {
    const hit = this.map.get(text);
    if (hit) {
      // Map iteration order is insertion order: re-inserting marks it most recently used.
      this.map.delete(text);
      this.map.set(text, hit);
    }
    return hit;
  }

  set(text: string, count: TokenCount): void {
    // Callers pass slices of whole documents; V8 slices keep their parent string alive, so
    // store a detached copy or the cache would pin every document version it has seen.
    const key = JSON.parse(JSON.stringify(text)) as string;
    this.map.set(key, count);
    this.chars += key.length;
    while (this.map.size > CACHE_MAX_ENTRIES || this.chars > CACHE_MAX_CHARS) {
      const oldest = this.map.keys().next().value as string;
      this.map.delete(oldest);
      this.chars -= oldest.length;
    }
  }
}

const caches: Record<BpeEncoding, LruCache> = { o200k_base: new LruCache(), cl100k_base: new LruCache() };

/** Counts `text` as the API would bill it as message content (no chat framing tokens). */
export function countTokens(text: string, encoding: TokenEncoding): TokenCount {
  if (encoding === "estimate") {
    // The estimate is a linear scan: cheaper than hashing a cache key would be.
    return { tokens: estimateTokens(text), exact: false, encoding };
  }
  if (text.length === 0) return { tokens: 0, exact: true, encoding };
  const cache = caches[encoding];
  const hit = cache.get(text);
  if (hit) return hit;
  // Frozen because cached results are shared between callers.
  const count = Object.freeze(countBpe(text, encoding));
  if (text.length <= CACHE_MAX_TEXT) cache.set(text, count);
  return count;
}

/** Uses the model's tokenizer; an unknown model (compatible, local, new ids) gets the estimate. */
export function countTokensForModel(text: string, model: ModelInfo | undefined): TokenCount {
  return countTokens(text, model?.tokenizer ?? "estimate");
}
