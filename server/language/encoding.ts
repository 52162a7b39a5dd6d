// Text from bytes: `.agent` files are UTF-8. A file that is not is decoded
// with U+FFFD in place of its bad bytes (what editors show), and the first bad
// byte is reported, so that nothing writes the replacement characters back.

export interface DecodedText {
  text: string;
  /** When the bytes are not valid UTF-8: the first bad byte, as a byte offset and as an offset in `text`. */
  invalid?: { byte: number; offset: number; value: number };
}

/** The byte offset of the first byte that does not belong to a well-formed UTF-8 sequence, or -1. */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i];
    if (b < 0x80) {
      i++;
      continue;
    }
    // Lead byte: how many continuation bytes, and the allowed range of the first one (no overlongs, no surrogates, <= U+10FFFF).
    let n: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) n = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      n = 2;
      if (b === 0xe0) lo = 0xa0;
      if (b === 0xed) hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      n = 3;
      if (b === 0xf0) lo = 0x90;
      if (b === 0xf4) hi = 0x8f;
    } else return i;
    for (let k = 1; k <= n; k++) {
      const c = bytes[i + k];
      if (c === undefined) return i;
      if (k === 1 ? c < lo || c > hi : c < 0x80 || c > 0xbf) return i;
    }
    i += n + 1;
  }
  return -1;
}

// A byte order mark stays in the text, as Node's own "utf8" decoding keeps it.
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });

export function decodeUtf8(bytes: Uint8Array): DecodedText {
  const text = decoder.decode(bytes);
  // Valid text has no replacement character unless the file wrote one: only then is a scan needed.
  if (!text.includes("\uFFFD")) return { text };
  const byte = firstInvalidUtf8(bytes);
  if (byte < 0) return { text };
  return {
    text,
    invalid: { byte, offset: decoder.decode(bytes.subarray(0, byte)).length, value: bytes[byte] },
  };
}

/** One line for a file that is not UTF-8: where the first bad byte is. */
export function invalidEncodingMessage(invalid: NonNullable<DecodedText["invalid"]>): string {
  const hex = invalid.value.toString(16).toUpperCase().padStart(2, "0");
  return `the file is not valid UTF-8: byte 0x${hex} at byte offset ${invalid.byte} is not part of a UTF-8 character; save the file as UTF-8`;
}

/**
 * Control characters shown as escapes (`\x1B`, `\u009B`): text that quotes a file or an
 * argument never moves the cursor, changes colours or rings the terminal. Line breaks and
 * tabs are left alone unless `all` (one-line messages quoting user input).
 */
export function printable(text: string, all = false): string {
  // \p{Cc}: U+0000..U+001F, U+007F..U+009F.
  return text.replace(all ? /\p{Cc}/gu : /(?![\n\t])\p{Cc}/gu, (c) => {
    const code = c.charCodeAt(0);
    if (all && c === "\n") return "\\n";
    if (all && c === "\t") return "\\t";
    return code < 0x80
      ? `\\x${code.toString(16).toUpperCase().padStart(2, "0")}`
      : `\\u00${code.toString(16).toUpperCase()}`;
  });
}
