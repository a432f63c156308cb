/**
 * Durations as written in configuration: a whole number with a unit ("250ms", "5s", "1m",
 * "1h") or an integer number of milliseconds.
 */

/** The string form; the number is at most 9 digits, so every value is a safe integer. */
export const DURATION_PATTERN = "^(0|[1-9][0-9]{0,8})(ms|s|m|h)$";

const DURATION_RE = new RegExp(DURATION_PATTERN);
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds, or null when `value` is not a duration. */
export function parseDuration(value: unknown): number | null {
  if (typeof value === "number") {
    return Number.isSafeInteger(value) && value >= 0 ? value : null;
  }
  if (typeof value !== "string") return null;
  const m = DURATION_RE.exec(value);
  if (m === null) return null;
  return Number(m[1]) * UNIT_MS[m[2]];
}

/** The shortest exact text of a number of milliseconds: "0", "250ms", "5s", "1m", "1h". */
export function formatDurationMs(ms: number): string {
  if (ms === 0) return "0";
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
