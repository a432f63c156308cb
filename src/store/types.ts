/**
 * The store: where the control plane keeps API tenants and their rules, tenant tokens, the
 * audit log, per-rule hit counts and observed identities, with a change feed that the runtime
 * follows to enforce every change.
 *
 * One interface, one implementation per database (src/store/sqlite for one instance,
 * src/store/postgres for a fleet). Every method is async so that a networked database fits
 * behind it; nothing outside src/store knows which database is underneath (openStore picks it).
 *
 * Times are milliseconds since the epoch. Values are validated by the caller (src/control):
 * the store keeps them as given, and enforces only what must hold across concurrent writers:
 * unique tenant ids, host names and rules, and revisions (optimistic concurrency).
 */
import type { Enforcement } from "../config/types.js";

export interface StoredRule {
  /** Stable: "r_" and random characters; survives changes of the other fields. */
  readonly id: string;
  /** "aws:vpce-…", "azure:<uint32>", "gcp:<uint64>", or null (cidr-only rule). */
  readonly link: string | null;
  /** Canonical CIDR text, or null (link-only rule). */
  readonly cidr: string | null;
  readonly description: string | null;
  /** The rule stops admitting at this instant; null: never. */
  readonly expiresAt: number | null;
  readonly createdAt: number;
}

export interface StoredAllow {
  readonly publicInternet: boolean;
  readonly rules: readonly StoredRule[];
}

export interface StoredTenant {
  readonly id: string;
  readonly hostnames: readonly string[];
  /** "host:port" as written, or null: routing.upstream. */
  readonly upstream: string | null;
  readonly enforcement: Enforcement;
  /** null: no restriction configured (every connection is admitted). */
  readonly allow: StoredAllow | null;
  readonly createdAt: number;
  readonly updatedAt: number;
  /**
   * The store version of the tenant's last change. It only grows, and is never reused, even
   * by a tenant deleted and created again: it is the tenant's ETag.
   */
  readonly revision: number;
}

export interface RuleInput {
  link: string | null;
  cidr: string | null;
  description: string | null;
  expiresAt: number | null;
}

export interface TenantInput {
  id: string;
  hostnames: readonly string[];
  upstream: string | null;
  enforcement: Enforcement;
  allow: { publicInternet: boolean; rules: readonly RuleInput[] } | null;
}

/** A change of a tenant's settings; absent keys are left as they are. */
export interface TenantSettings {
  hostnames?: readonly string[];
  upstream?: string | null;
  enforcement?: Enforcement;
  /**
   * null lifts every restriction (and drops the rules); an object sets publicInternet, and
   * turns the allow list on (with no rules) if the tenant had none.
   */
  allow?: { publicInternet: boolean } | null;
}

/** Who makes a change, and the revision it was computed from. */
export interface WriteMeta {
  /** "admin:<fingerprint>" or "token:<id>": recorded in the audit log. */
  actor: string;
  /** Refuse the change (PRECONDITION_FAILED) unless the tenant's revision is this one. */
  ifRevision?: number;
}

export interface TenantWrite {
  tenant: StoredTenant;
  /** The change-feed version of this change: what the runtime reports as enforced. */
  version: number;
}

export interface PageRequest {
  /** At most this many items (at least 1). */
  limit: number;
  /** The key of the last item of the previous page, or null for the first page. */
  after: string | null;
}

export interface Page<T> {
  items: T[];
  /** The key to pass as `after` for the next page; null when this page is the last. */
  next: string | null;
}

export interface RuleStats {
  hits: number;
  lastHitAt: number | null;
}

export interface StoredToken {
  /** "tok_" and random characters; public (it names the token in lists and the audit log). */
  readonly id: string;
  readonly tenantId: string;
  readonly label: string | null;
  readonly createdAt: number;
  readonly createdBy: string;
  readonly lastUsedAt: number | null;
  readonly revokedAt: number | null;
}

export type AuditAction =
  | "tenant.create"
  | "tenant.update"
  | "tenant.delete"
  | "rule.create"
  | "rule.delete"
  | "rules.replace"
  | "token.create"
  | "token.revoke";

export interface AuditEntry {
  /** Increases with every entry: the newest has the highest. */
  readonly id: number;
  readonly tenantId: string;
  readonly at: number;
  readonly actor: string;
  readonly action: AuditAction;
  /** What changed, as JSON values: the tenant's settings, a rule, a rule list or a token. */
  readonly before: unknown;
  readonly after: unknown;
  /** The change-feed version (policy changes), or null (tokens). */
  readonly version: number | null;
}

export type ObservedProvider = "aws" | "azure" | "gcp" | "public";

/**
 * One identity (a Private Link endpoint, or for public traffic a source network) that reached
 * a tenant's host names, allowed or not, merged over every connection seen.
 */
export interface ObservedIdentity {
  readonly tenantId: string;
  /** "aws:vpce-…", "azure:…", "gcp:…", or "public:<network CIDR>" for public traffic. */
  readonly identity: string;
  readonly provider: ObservedProvider;
  /** The listener of the last connection. */
  readonly listener: string;
  /** The source address of the last connection. */
  readonly lastSource: string | null;
  readonly firstSeenAt: number;
  readonly lastSeenAt: number;
  /** Connections the tenant's rules admitted. */
  readonly allowed: number;
  /** Connections the rules refused (closed, or let through as "would deny" in report-only). */
  readonly denied: number;
  /** The decision reason of the last connection (a catalogue code). */
  readonly lastReason: string;
}

/** What the data plane saw since the last flush, merged into the store in one transaction. */
export interface ActivityBatch {
  ruleHits: readonly { tenantId: string; ruleId: string; hits: number; lastHitAt: number }[];
  observed: readonly ObservedIdentity[];
}

export interface StoreSnapshot {
  /** Every tenant of the store, by id, each with its rules. */
  tenants: StoredTenant[];
  /** The change-feed version this snapshot reflects: follow changes from here. */
  version: number;
}

export interface ChangeSet {
  /** The latest version: pass it to the next changesSince. */
  version: number;
  /** Tenants created, changed or deleted after the version asked about. */
  tenantIds: string[];
  /**
   * false when the feed no longer reaches back to the version asked about (old entries are
   * pruned): reload everything with loadAll.
   */
  complete: boolean;
}

/**
 * Told after every committed change of tenants' policies, once, in version order: `version` is
 * the change's (the last one's, for an import of many tenants), `tenantIds` the tenants it
 * changed. Nothing committed after a listener subscribes is left out: a listener that missed
 * changes it cannot be told (the feed was pruned behind it, as after a long outage of a
 * networked database) hears `complete: false` with the latest version, and reloads everything
 * with loadAll.
 */
export type ChangeListener = (change: ChangeSet) => void;

/** Whether the store's database answers. */
export interface StoreHealth {
  /**
   * "down": the database does not answer; every call fails with STORE_UNAVAILABLE, at once,
   * until the store has reconnected by itself.
   */
  state: "up" | "down";
  /** When the state last changed (or the store was opened). */
  since: number;
  /** Why it last went down (kept after it is back up); null if it never did. */
  lastError: string | null;
}

export interface Store {
  /** Every tenant with its rules, and the version it reflects (start-up, resynchronisation). */
  loadAll(): Promise<StoreSnapshot>;
  getTenant(id: string): Promise<StoredTenant | null>;
  /** Tenants by id; `after` is a tenant id. */
  listTenants(page: PageRequest): Promise<Page<StoredTenant>>;
  /** Which of these host names belong to a store tenant: host name -> tenant id. */
  hostnameOwners(hostnames: readonly string[]): Promise<Map<string, string>>;

  /** TENANT_EXISTS, HOSTNAME_TAKEN, RULE_DUPLICATE. */
  createTenant(input: TenantInput, meta: WriteMeta): Promise<TenantWrite>;
  /**
   * Creates many tenants in one transaction, all or none (imports, seeding a fleet): each gets
   * its version and audit entry as with createTenant; listeners hear of them in one change.
   */
  importTenants(inputs: readonly TenantInput[], meta: WriteMeta): Promise<{ version: number }>;
  /** TENANT_NOT_FOUND, PRECONDITION_FAILED, HOSTNAME_TAKEN. */
  updateTenant(id: string, settings: TenantSettings, meta: WriteMeta): Promise<TenantWrite>;
  /** Deletes the tenant, its rules, counters, observations and tokens; keeps its audit log. */
  deleteTenant(id: string, meta: WriteMeta): Promise<{ version: number }>;
  /** Appends a rule; turns the allow list on if the tenant had none. RULE_DUPLICATE. */
  addRule(
    tenantId: string,
    rule: RuleInput,
    meta: WriteMeta,
  ): Promise<TenantWrite & { rule: StoredRule }>;
  /** RULE_NOT_FOUND. */
  deleteRule(tenantId: string, ruleId: string, meta: WriteMeta): Promise<TenantWrite>;
  /**
   * Replaces the whole rule list in one transaction (turning the allow list on if it was off).
   * A rule with the link and cidr of a current one keeps its id, creation time and counters.
   */
  replaceRules(
    tenantId: string,
    rules: readonly RuleInput[],
    meta: WriteMeta,
  ): Promise<TenantWrite>;
  /** Hit counters of a tenant's rules (store and configuration-file rules alike), by rule id. */
  ruleStats(tenantId: string): Promise<Map<string, RuleStats>>;

  /** `hash` is the SHA-256 of the secret; the secret itself is never stored. */
  createToken(
    input: { tenantId: string; label: string | null; hash: Buffer },
    actor: string,
  ): Promise<StoredToken>;
  /** A tenant's tokens, revoked ones included, by id. */
  listTokens(tenantId: string, page: PageRequest): Promise<Page<StoredToken>>;
  tokenByHash(hash: Buffer): Promise<StoredToken | null>;
  /** Marks the token revoked (it stays listed); null when the tenant has no such token. */
  revokeToken(tenantId: string, tokenId: string, actor: string): Promise<StoredToken | null>;
  /** Records when tokens were last used, in one transaction. */
  markTokensUsed(uses: readonly { id: string; at: number }[]): Promise<void>;

  /** Newest first; `after` is the id of the last entry of the previous page. */
  listAudit(tenantId: string, page: PageRequest): Promise<Page<AuditEntry>>;

  /**
   * Merges a batch of counters in one transaction: hits add up, last-seen times and values
   * keep the newest, first-seen times the oldest. Counters of rules since deleted are dropped.
   */
  recordActivity(batch: ActivityBatch): Promise<void>;
  /** By identity; `since` keeps only identities seen at or after it. */
  listObserved(
    tenantId: string,
    page: PageRequest & { since?: number },
  ): Promise<Page<ObservedIdentity>>;
  getObserved(tenantId: string, identity: string): Promise<ObservedIdentity | null>;

  /** The tenants changed after `version`. */
  changesSince(version: number): Promise<ChangeSet>;
  /** Calls `listener` after each committed change; returns the unsubscribe function. */
  onChange(listener: ChangeListener): () => void;
  /** Whether the database answers, as the store last saw it; no database call. */
  health(): StoreHealth;
  close(): Promise<void>;
}
