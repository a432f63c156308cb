/**
 * Host name -> tenant. Exact host names first, then patterns such as "{tenant}.api.example.com"
 * in configuration order, where {tenant} is exactly one DNS label. The cost is one Map lookup
 * plus one per pattern, whatever the number of tenants.
 */

export interface HostPattern {
  /** The pattern as written. */
  text: string;
  /** Fixed text before the {tenant} label ("" or ending in "."). */
  prefix: string;
  /** Fixed text after the {tenant} label ("" or starting with "."). */
  suffix: string;
}

/** Splits "{tenant}.api.example.com" into prefix "" and suffix ".api.example.com". */
export function parseHostPattern(text: string): HostPattern | null {
  const at = text.indexOf("{tenant}");
  if (at < 0 || text.indexOf("{tenant}", at + 1) >= 0) return null;
  const prefix = text.slice(0, at).toLowerCase();
  const suffix = text.slice(at + "{tenant}".length).toLowerCase();
  if ((prefix !== "" && !prefix.endsWith(".")) || (suffix !== "" && !suffix.startsWith(".")))
    return null;
  return { text, prefix, suffix };
}

export class HostResolver<T> {
  readonly #exact: Map<string, T>;
  readonly #byId: Map<string, T>;
  readonly #patterns: readonly HostPattern[];

  constructor(exact: Map<string, T>, byId: Map<string, T>, patterns: readonly HostPattern[]) {
    this.#exact = exact;
    this.#byId = byId;
    this.#patterns = patterns;
  }

  /** The tenant for a lower-case host name (no trailing dot), or null. */
  resolve(host: string): T | null {
    const exact = this.#exact.get(host);
    if (exact !== undefined) return exact;
    for (const p of this.#patterns) {
      const labelEnd = host.length - p.suffix.length;
      if (labelEnd <= p.prefix.length) continue;
      if (!host.endsWith(p.suffix) || !host.startsWith(p.prefix)) continue;
      const label = host.slice(p.prefix.length, labelEnd);
      if (label.includes(".")) continue;
      const tenant = this.#byId.get(label);
      if (tenant !== undefined) return tenant;
    }
    return null;
  }
}
