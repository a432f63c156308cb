/**
 * What the API answers: tenants, rules, tokens, observed identities and audit entries as JSON
 * (times in RFC 3339, absent values null), for tenants of the store and of the configuration
 * file alike.
 */
import { createHash } from "node:crypto";
import { formatHostPort } from "../config/address.js";
import type { RuleConfig, TenantConfig } from "../config/types.js";
import { fileRuleId } from "../store/ids.js";
import type {
  AuditEntry,
  ObservedIdentity,
  RuleStats,
  StoredRule,
  StoredTenant,
  StoredToken,
} from "../store/types.js";

/** A tenant as the API finds it: in the configuration file, or in the store. */
export type FoundTenant =
  | { readonly managedBy: "config"; readonly config: TenantConfig }
  | { readonly managedBy: "api"; readonly stored: StoredTenant };

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function isoOrNull(ms: number | null): string | null {
  return ms === null ? null : iso(ms);
}

/**
 * The ETag: the store revision of a store tenant; a digest of a file tenant (it changes only
 * with a reload, and the API cannot change it anyway).
 */
export function etagOf(found: FoundTenant): string {
  if (found.managedBy === "api") return `"${found.stored.revision}"`;
  const digest = createHash("sha256").update(JSON.stringify(found.config)).digest("hex");
  return `"c-${digest.slice(0, 16)}"`;
}

export interface RuleJson {
  id: string;
  link: string | null;
  cidr: string | null;
  description: string | null;
  expiresAt: string | null;
  expired: boolean;
  createdAt: string | null;
  hits: number;
  lastHitAt: string | null;
}

export function storedRuleView(r: StoredRule, stats: RuleStats | undefined, now: number): RuleJson {
  return {
    id: r.id,
    link: r.link,
    cidr: r.cidr,
    description: r.description,
    expiresAt: isoOrNull(r.expiresAt),
    expired: r.expiresAt !== null && r.expiresAt <= now,
    createdAt: iso(r.createdAt),
    hits: stats?.hits ?? 0,
    lastHitAt: isoOrNull(stats?.lastHitAt ?? null),
  };
}

function fileRuleView(tenantId: string, r: RuleConfig, stats: Map<string, RuleStats>): RuleJson {
  const id = fileRuleId(tenantId, r.link, r.cidr);
  const s = stats.get(id);
  return {
    id,
    link: r.link,
    cidr: r.cidr,
    description: r.description,
    expiresAt: null,
    expired: false,
    createdAt: null,
    hits: s?.hits ?? 0,
    lastHitAt: isoOrNull(s?.lastHitAt ?? null),
  };
}

/** A tenant's rules, in order. */
export function rulesView(
  found: FoundTenant,
  stats: Map<string, RuleStats>,
  now: number,
): RuleJson[] {
  if (found.managedBy === "config") {
    return (found.config.allow?.rules ?? []).map((r) => fileRuleView(found.config.id, r, stats));
  }
  return (found.stored.allow?.rules ?? []).map((r) => storedRuleView(r, stats.get(r.id), now));
}

export function tenantView(found: FoundTenant, stats: Map<string, RuleStats>, now: number) {
  const rules = rulesView(found, stats, now);
  const common = { managedBy: found.managedBy, etag: etagOf(found) };
  if (found.managedBy === "config") {
    const c = found.config;
    return {
      id: c.id,
      hostnames: [...c.hostnames],
      upstream: c.upstream === null ? null : formatHostPort(c.upstream),
      enforcement: c.enforcement,
      allow: c.allow === null ? null : { publicInternet: c.allow.publicInternet, rules },
      ...common,
      createdAt: null,
      updatedAt: null,
    };
  }
  const t = found.stored;
  return {
    id: t.id,
    hostnames: [...t.hostnames],
    upstream: t.upstream,
    enforcement: t.enforcement,
    allow: t.allow === null ? null : { publicInternet: t.allow.publicInternet, rules },
    ...common,
    createdAt: iso(t.createdAt),
    updatedAt: iso(t.updatedAt),
  };
}

export function tokenView(t: StoredToken) {
  return {
    id: t.id,
    tenant: t.tenantId,
    label: t.label,
    createdAt: iso(t.createdAt),
    createdBy: t.createdBy,
    lastUsedAt: isoOrNull(t.lastUsedAt),
    revokedAt: isoOrNull(t.revokedAt),
  };
}

export function observedView(o: ObservedIdentity) {
  return {
    identity: o.identity,
    provider: o.provider,
    listener: o.listener,
    lastSource: o.lastSource,
    firstSeenAt: iso(o.firstSeenAt),
    lastSeenAt: iso(o.lastSeenAt),
    allowed: o.allowed,
    denied: o.denied,
    lastReason: o.lastReason,
  };
}

export function auditView(e: AuditEntry) {
  return {
    id: e.id,
    at: iso(e.at),
    actor: e.actor,
    action: e.action,
    before: e.before,
    after: e.after,
    version: e.version,
  };
}
