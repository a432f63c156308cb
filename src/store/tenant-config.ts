/**
 * A store tenant as the policy compiler takes it (src/config's TenantConfig): what the runtime
 * compiles, and what the control plane hands the runtime to judge a proposed change.
 */
import { parseHostPort } from "../config/address.js";
import type { TenantConfig } from "../config/types.js";
import type { StoredTenant } from "./types.js";

/**
 * The tenant as it is in force at `now`: rules whose `expiresAt` has come are left out (an
 * expired rule admits nothing, exactly as if it had been deleted).
 */
export function tenantConfigOf(t: StoredTenant, now: number): TenantConfig {
  let upstream: TenantConfig["upstream"] = null;
  if (t.upstream !== null) {
    const parsed = parseHostPort(t.upstream, { ipOnly: false, allowPortZero: false });
    if (!parsed.ok) throw new Error(`internal: tenant ${t.id} has an unchecked upstream`);
    upstream = parsed.value;
  }
  return {
    id: t.id,
    hostnames: [...t.hostnames],
    upstream,
    enforcement: t.enforcement,
    allow:
      t.allow === null
        ? null
        : {
            publicInternet: t.allow.publicInternet,
            rules: t.allow.rules
              .filter((r) => r.expiresAt === null || r.expiresAt > now)
              .map((r) => ({ id: r.id, link: r.link, cidr: r.cidr, description: r.description })),
          },
  };
}

/**
 * The next instant after `now` at which one of the tenant's rules expires, or null. The
 * runtime recompiles the tenant then (tenantConfigOf drops the rule), so that an expiring rule
 * stops admitting on time, like any revocation.
 */
export function nextRuleExpiry(t: StoredTenant, now: number): number | null {
  let next: number | null = null;
  for (const r of t.allow?.rules ?? []) {
    if (r.expiresAt !== null && r.expiresAt > now && (next === null || r.expiresAt < next)) {
      next = r.expiresAt;
    }
  }
  return next;
}
