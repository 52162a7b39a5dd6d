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
const RUN_LIMIT = 256;

// Unicode-property regexes cost ~0.2 us per character, so a plain scan rules out the common
// case first. It over-approximates each class (any non-ASCII character extends every run),
// so a text it passes has no run that LONG_RUN would match.
function mayHaveLongRun(text: string): boolean {
  let letters = 0;
  let symbols = 0;
  let spaces = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 128) {
      letters++;
      symbols++;
      spaces++;
    } else if ((c >= 97 && c <= 122) || (c >= 65 && c <= 90)) {
      letters++;
      symbols = spaces = 0;
    } else if (c === 32 || (c >= 9 && c <= 13)) {
      spaces++;
      letters = symbols = 0;
    } else if (c >= 48 && c <= 57) {
      letters = symbols = spaces = 0;
    } else {
      symbols++;
      letters = spaces = 0;
    }
    if (letters >= RUN_LIMIT || symbols >= RUN_LIMIT || spaces >= RUN_LIMIT) return true;
  }
  return false;
}

function countBpe(text: string, encoding: BpeEncoding): TokenCount {
  const enc = encoder(encoding);
  let tokens = 0;
  let last = 0;
  let chunked = false;
  for (const match of mayHaveLongRun(text) ? text.matchAll(LONG_RUN) : []) {
    chunked = true;
    if (match.index > last) tokens += enc.countTokens(text.slice(last, match.index), AS_PLAIN_TEXT);
    const run = match[0];
    for (let start = 0; start < run.length;) {
      let end = Math.min(start + RUN_LIMIT, run.length);
      // Never cut a surrogate pair: the halves would each encode as a replacement character.
      if (end < run.length && isLowSurrogate(run.charCodeAt(end))) end--;
      tokens += enc.countTokens(run.slice(start, end), AS_PLAIN_TEXT);
      start = end;
    }
    last = match.index + run.length;
  }
  if (last < text.length) tokens += enc.countTokens(last === 0 ? text : text.slice(last), AS_PLAIN_TEXT);
  return { tokens, exact: !chunked, encoding };
}

const isLowSurrogate = (code: number) => code >= 0xdc00 && code <= 0xdfff;

/**
 * Heuristic for tokenizers we cannot run (Claude, Nova, Llama, ...). It approximates a
 * modern ~100-200k-vocabulary BPE by mimicking its pre-tokenizer: a run of ASCII letters
 * costs one token per 6 letters (common words are one token), digits group by 3, a run of
 * ASCII symbols costs one token per 3 (`":"`, `});` merge), a non-ASCII code point costs 1
 * (CJK is about a token per character), and indentation or a line break costs 1 per
 * whitespace run. Against o200k_base it lands at 1.1-1.2x on English prose and code,
 * 1.2-1.3x on tool-schema JSON and 0.9x on dense JSON; erring high suits budget warnings.
 * Random base64 or hex, which BPE splits finely, come out at about 0.55x.
 */
function estimateTokens(text: string): number {
  let tokens = 0;
  let letters = 0;
  let digits = 0;
  let symbols = 0;
  let spaces = 0;
  let newline = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const letter = (c >= 97 && c <= 122) || (c >= 65 && c <= 90);
    const digit = c >= 48 && c <= 57;
    const space = c === 32 || c === 9 || c === 10 || c === 13;
    const symbol = c < 128 && !letter && !digit && !space;
    if (!letter && letters) tokens += Math.ceil(letters / 6);
    if (!digit && digits) tokens += Math.ceil(digits / 3);
    if (!symbol && symbols) tokens += Math.ceil(symbols / 3);
    if (!space && (spaces > 1 || newline)) tokens += 1;
    if (!letter) letters = 0;
    if (!digit) digits = 0;
    if (!symbol) symbols = 0;
    if (!space) {
      spaces = 0;
      newline = false;
    }
    if (letter) letters++;
    else if (digit) digits++;
    else if (symbol) symbols++;
    else if (space) {
      spaces++;
      if (c === 10) newline = true;
    } else if (!isLowSurrogate(c)) tokens += 1;
  }
  tokens += Math.ceil(letters / 6) + Math.ceil(digits / 3) + Math.ceil(symbols / 3);
  if (spaces > 1 || newline) tokens += 1;
  return tokens;
}

// Hovers and inlay hints recount the same sections on every keystroke, and the validator
// recounts unchanged context files on every pass, so exact counts are memoised per block.
// Bounded by entries and by total characters.
const CACHE_MAX_TEXT = 64 * 1024;
const CACHE_MAX_ENTRIES = 1024;
const CACHE_MAX_CHARS = 4 * 1024 * 1024;

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

function countBlock(block: string, encoding: BpeEncoding): TokenCount {
  const cache = caches[encoding];
  const hit = cache.get(block);
  if (hit) return hit;
  // Frozen because cached results are shared between callers.
  const count = Object.freeze(countBpe(block, encoding));
  if (block.length <= CACHE_MAX_TEXT) cache.set(block, count);
  return count;
}

// Large texts are counted in blocks so that an edit, or a re-validation of an unchanged big
// context file, only tokenizes what is not cached. Cutting after a newline that is followed
// by a printable ASCII character other than "/" is exact: in both encodings' pre-tokenizer
// patterns no piece continues past such a newline (o200k's punctuation piece may swallow a
// following "/"; whitespace pieces may span lines), and BPE never merges across pieces.
const BLOCK = 4096;

function isCutAfterNewline(code: number): boolean {
  return code > 32 && code < 127 && code !== 47;
}

/** Counts `text` as the API would bill it as message content (no chat framing tokens). */
export function countTokens(text: string, encoding: TokenEncoding): TokenCount {
  if (encoding === "estimate") {
    // The estimate is a linear scan: cheaper than hashing a cache key would be.
    return { tokens: estimateTokens(text), exact: false, encoding };
  }
  if (text.length === 0) return { tokens: 0, exact: true, encoding };
  if (text.length <= 2 * BLOCK) return countBlock(text, encoding);
  let tokens = 0;
  let exact = true;
  let start = 0;
  while (start < text.length) {
    let cut = text.indexOf("\n", start + BLOCK);
    while (cut !== -1 && !isCutAfterNewline(text.charCodeAt(cut + 1))) cut = text.indexOf("\n", cut + 1);
    const end = cut === -1 ? text.length : cut + 1;
    const count = countBlock(text.slice(start, end), encoding);
    tokens += count.tokens;
    exact &&= count.exact;
    start = end;
  }
  return { tokens, exact, encoding };
}

/** Uses the model's tokenizer; an unknown model (compatible, local, new ids) gets the estimate. */
export function countTokensForModel(text: string, model: ModelInfo | undefined): TokenCount {
  return countTokens(text, model?.tokenizer ?? "estimate");
}
