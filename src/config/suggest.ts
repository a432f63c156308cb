/** "did you mean" suggestions for misspelt keys and values. */

function normalise(text: string): string {
  return text.toLowerCase().replace(/[-_\s]/g, "");
}

/** Levenshtein distance, with an early exit once it exceeds `limit`. */
export function editDistance(a: string, b: string, limit = Number.POSITIVE_INFINITY): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
      rowMin = Math.min(rowMin, cur[j]);
    }
    if (rowMin > limit) return limit + 1;
    prev = cur;
  }
  return prev[b.length];
}

/**
 * The candidate closest to `input`, if close enough to be a likely typo: the same up to case,
 * "-" and "_" ("trusted_proxies" -> "trustedProxies"), within an edit distance of 1 for short
 * words, 2 for words of 6+ characters and 3 for 12+, or a prefix of at least 3 characters
 * either way ("warning" -> "warn", "trusted" -> "trustedProxies").
 */
export function suggest(input: string, candidates: readonly string[]): string | null {
  const n = normalise(input);
  for (const c of candidates) if (normalise(c) === n) return c;
  const limit = n.length >= 12 ? 3 : n.length >= 6 ? 2 : 1;
  let best: string | null = null;
  let bestDistance = limit + 1;
  for (const c of candidates) {
    const d = editDistance(n, normalise(c), limit);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  if (best !== null) return best;
  let bestGap = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    const m = normalise(c);
    const short = Math.min(m.length, n.length);
    if (short >= 3 && (m.startsWith(n) || n.startsWith(m))) {
      const gap = Math.abs(m.length - n.length);
      if (gap < bestGap) {
        best = c;
        bestGap = gap;
      }
    }
  }
  return best;
}
