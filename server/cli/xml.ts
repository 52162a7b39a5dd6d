// Escaping text for XML reports (JUnit). XML 1.0 cannot hold some characters even as references
// (NUL, most C0 controls, lone surrogates, U+FFFE/U+FFFF): they become U+FFFD, as C1 controls do,
// so that a model's stray control character never makes the whole report unreadable.

// \p{Cc} but tab and line breaks; \p{Cs}: a lone surrogate.
const INVALID = /(?![\t\n\r])\p{Cc}|\p{Cs}|[\uFFFE\uFFFF]/gu;

/** Text escaped for an XML attribute value (line breaks and tabs kept as references). */
export function xml(text: string): string {
  return text.replace(INVALID, "\uFFFD").replace(/[<>&"'\t\n\r]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Text escaped for element content, its line breaks kept as they are. */
export function xmlText(text: string): string {
  return text.replace(INVALID, "\uFFFD").replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
