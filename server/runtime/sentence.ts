// Joining someone else's words (a provider's or a database's error message)
// into our own sentences: their text may or may not end with a full stop, and
// ours must not add a second one.

/** `text` ending in exactly one sentence mark: a full stop is added only when none is there. */
export function endSentence(text: string): string {
  const t = text.trimEnd();
  return /[.!?]$/.test(t) ? t : `${t}.`;
}
