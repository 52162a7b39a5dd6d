// Edit distance for "did you mean" suggestions (unknown names, properties, model ids).
// Pure and allocation-light: it runs over every candidate on each validation pass.

/**
 * Optimal string alignment distance: Levenshtein plus adjacent transposition
 * ("mnii" -> "mini" costs 1), which is the commonest typo when typing names.
 * Compares UTF-16 code units; identifiers and model ids are ASCII in practice.
 */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  if (a.length === 0) return b.length;
  if (b.length === 0) return a.length;

  const n = b.length;
  // Three rolling rows instead of a full matrix: the transposition step looks two rows back.
  let prev2 = new Array<number>(n + 1).fill(0);
  let prev = new Array<number>(n + 1);
  let cur = new Array<number>(n + 1);
  for (let j = 0; j <= n; j++) prev[j] = j;

  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    const ai = a.charCodeAt(i - 1);
    for (let j = 1; j <= n; j++) {
      const bj = b.charCodeAt(j - 1);
      const cost = ai === bj ? 0 : 1;
      let d = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
      if (i > 1 && j > 1 && ai === b.charCodeAt(j - 2) && a.charCodeAt(i - 2) === bj) {
        d = Math.min(d, prev2[j - 2] + 1);
      }
      cur[j] = d;
    }
    const spare = prev2;
    prev2 = prev;
    prev = cur;
    cur = spare;
  }
  return prev[n];
}

/**
 * The closest candidate, if it is close enough to be a plausible typo: distance at
 * most max(1, floor(name.length / 3)), so short names need near-exact matches and a
 * suggestion is never a wild guess. The name itself is never suggested. Ties go to
 * the earlier candidate, so callers control preference by ordering.
 */
export function nearest(name: string, candidates: Iterable<string>): string | undefined {
  const limit = Math.max(1, Math.floor(name.length / 3));
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const candidate of candidates) {
    if (candidate === name) continue;
    // The length difference is a lower bound on the distance: skip hopeless candidates cheaply.
    if (Math.abs(candidate.length - name.length) >= bestDistance) continue;
    const d = editDistance(name, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}
