/** Merging the load generator's latency histograms, and the figures the tables print. */
import { median } from "./report.js";

export { median };

/** [bucket value in microseconds, count] pairs, as lgbench prints them. */
export type Histogram = [number, number][];

export function mergeHistograms(hists: readonly Histogram[]): Histogram {
  const m = new Map<number, number>();
  for (const h of hists) for (const [v, c] of h) m.set(v, (m.get(v) ?? 0) + c);
  return [...m.entries()].sort((a, b) => a[0] - b[0]);
}

/** The value at quantile p (0..1) of a histogram; 0 when it is empty. */
export function percentile(h: Histogram, p: number): number {
  const total = h.reduce((n, [, c]) => n + c, 0);
  if (total === 0) return 0;
  const want = Math.min(total - 1, Math.floor(p * total));
  let seen = 0;
  for (const [v, c] of h) {
    seen += c;
    if (seen > want) return v;
  }
  return h[h.length - 1][0];
}

export function fmt(n: number | null | undefined, digits = 0): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return "—";
  return n.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

export function ratio(a: number | null | undefined, b: number | null | undefined): string {
  if (a === null || a === undefined || b === null || b === undefined || b === 0) return "—";
  return `${(a / b).toFixed(2)}x`;
}
