import type { HostPattern } from "../config/patterns.js";

/**
 * Host name -> tenant. Exact host names first, then patterns such as "{tenant}.api.example.com"
 * in configuration order, where {tenant} is exactly one DNS label. The cost is one Map lookup
 * plus one per pattern, whatever the number of tenants; two lookups for a host seen before.
 */

/** A host pattern as the resolver matches it: fixed text around the {tenant} label. */
export interface HostMatcher {
  /** The pattern as written. */
  text: string;
  /** Text before the {tenant} label ("" or ending in "."). */
  prefix: string;
  /** Text after the {tenant} label ("" or starting with "."). */
  suffix: string;
}

/** The matcher for a pattern validated by the configuration ("{tenant}.api.example.com"). */
export function hostMatcher(p: HostPattern): HostMatcher {
  const before = p.labels.slice(0, p.tenantIndex);
  const after = p.labels.slice(p.tenantIndex + 1);
  return {
    text: p.text,
    prefix: before.length === 0 ? "" : `${before.join(".")}.`,
    suffix: after.length === 0 ? "" : `.${after.join(".")}`,
  };
}

/**
 * Host names resolved through a pattern, remembered per resolver (a compiled policy has one,
 * so a reload starts afresh): the next connection to the same host is one more Map lookup
 * after the exact one, instead of the pattern's string work. Bounded: forgotten all at once
 * when full, so names nobody registered (a scan) cannot grow it.
 */
const LEARNED_HOSTS_MAX = 4096;

export class HostResolver<T> {
  readonly #exact: ReadonlyMap<string, T>;
  readonly #byId: ReadonlyMap<string, T>;
  readonly #patterns: readonly HostMatcher[];
  /** Pattern results by host name, a miss (null) included. */
  readonly #learned = new Map<string, T | null>();

  constructor(
    exact: ReadonlyMap<string, T>,
    byId: ReadonlyMap<string, T>,
    patterns: readonly HostMatcher[],
  ) {
    this.#exact = exact;
    this.#byId = byId;
    this.#patterns = patterns;
  }

  /** The tenant for a lower-case host name (no trailing dot), or null. */
  resolve(host: string): T | null {
    const exact = this.#exact.get(host);
    if (exact !== undefined) return exact;
    if (this.#patterns.length === 0) return null;
    const learned = this.#learned.get(host);
    if (learned !== undefined) return learned;
    const tenant = this.#matchPatterns(host);
    if (this.#learned.size >= LEARNED_HOSTS_MAX) this.#learned.clear();
    this.#learned.set(host, tenant);
    return tenant;
  }

  #matchPatterns(host: string): T | null {
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
