/**
 * Which host names belong to which tenant, mapped exactly as linkgate maps the SNI: a tenant's
 * exact host names first (`tenants[].hostnames`), then the host patterns
 * (`routing.hostPatterns`, such as "{tenant}.api.example.com"). The patterns are parsed by
 * linkgate's own configuration parser, so a backend given the same lists agrees with the
 * gateway on every name.
 */
import { labelProblem } from "../config/dns.js";
import {
  type HostPattern,
  matchHostPattern,
  parseHostPattern,
  patternConflict,
} from "../config/patterns.js";
import { LinkgateError } from "../errors/index.js";

export interface TenantHostsOptions {
  /** linkgate's `routing.hostPatterns`, e.g. ["{tenant}.api.example.com"]. */
  hostPatterns?: readonly string[];
  /** linkgate's `tenants[].hostnames`, by tenant id: { megacorp: ["api.megacorp.com"] }. */
  hostnames?: Readonly<Record<string, readonly string[]>>;
}

function bad(message: string): never {
  throw new LinkgateError("BACKEND_BAD_OPTION", message);
}

/**
 * The host name in a Host header, an :authority or a TLS server name: lower case, without the
 * port and one trailing dot. Null for anything that is not a DNS host name (an IP literal, a
 * bad port, characters a host name cannot have): such a name belongs to no tenant.
 */
export function hostName(authority: string): string | null {
  let host = authority;
  const colon = host.indexOf(":");
  if (colon >= 0) {
    if (!/^[0-9]{1,5}$/.test(host.slice(colon + 1))) return null; // "[::1]:443" lands here too
    host = host.slice(0, colon);
  }
  host = host.toLowerCase();
  if (host.endsWith(".")) host = host.slice(0, -1);
  if (host.length === 0 || host.length > 253) return null;
  const labels = host.split(".");
  for (const label of labels) if (labelProblem(label) !== null) return null;
  // A name whose last label is a number is an IPv4 address to resolvers and URL parsers.
  if (/^[0-9]+$/.test(labels[labels.length - 1])) return null;
  return host;
}

export class TenantHosts {
  readonly #patterns: readonly HostPattern[];
  readonly #exact = new Map<string, string>();

  /** Throws a LinkgateError (BACKEND_BAD_OPTION) for what linkgate's configuration rejects. */
  constructor(options: TenantHostsOptions) {
    const patterns: HostPattern[] = [];
    for (const text of options.hostPatterns ?? []) {
      const parsed = parseHostPattern(text);
      if (!parsed.ok) bad(`host pattern "${text}" ${parsed.message}`);
      for (const other of patterns) {
        const host = patternConflict(other, parsed.pattern);
        if (host !== null) {
          bad(`host patterns "${other.text}" and "${text}" give ${host} two different tenants`);
        }
      }
      patterns.push(parsed.pattern);
    }
    this.#patterns = patterns;
    for (const [tenant, names] of Object.entries(options.hostnames ?? {})) {
      const problem = labelProblem(tenant);
      if (problem !== null) bad(`tenant id "${tenant}" ${problem}`);
      for (const name of names) {
        if (hostName(name) !== name) bad(`"${name}" is not a lower-case DNS host name`);
        const owner = this.#exact.get(name);
        if (owner !== undefined && owner !== tenant) {
          bad(`host name ${name} is given to both ${owner} and ${tenant}`);
        }
        this.#exact.set(name, tenant);
      }
    }
    if (patterns.length === 0 && this.#exact.size === 0) {
      bad("TenantHosts needs hostPatterns or hostnames: with neither, no host belongs to a tenant");
    }
  }

  /**
   * The tenant id that `host` maps to, or null. `host` may be written as in a Host header
   * ("MegaCorp.api.example.com:443"). A pattern gives its {tenant} label whether or not such a
   * tenant exists: compare the result with a tenant id (hostBelongsToTenant does).
   */
  tenantOf(host: string): string | null {
    const name = hostName(host);
    if (name === null) return null;
    const exact = this.#exact.get(name);
    if (exact !== undefined) return exact;
    for (const p of this.#patterns) {
      const label = matchHostPattern(p, name);
      if (label !== null) return label;
    }
    return null;
  }

  /** Whether `host` (as in a Host header) is one of `tenant`'s host names. */
  hostBelongsToTenant(host: string, tenant: string): boolean {
    return this.tenantOf(host) === tenant;
  }
}
