/**
 * What every store implementation shares, whatever the database: the rules a write builds and
 * the conflicts it refuses (with the same codes and messages), the shapes the audit log
 * records, pages, and the calling of change listeners. A database-specific store keeps only
 * its SQL, its transactions and its change feed.
 */
import { type ErrorCode, LinkgateError } from "../errors/index.js";
import { newRuleId } from "./ids.js";
import type {
  ChangeListener,
  ChangeSet,
  Page,
  RuleInput,
  StoredRule,
  StoredTenant,
  StoredToken,
  TenantInput,
  WriteMeta,
} from "./types.js";

/** A numbered change of schema; released ones are never edited. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** STORE_UNSUPPORTED: the database has a migration newer than any this linkgate knows. */
export function schemaTooNew(newest: number, latest: number): never {
  fail(
    "STORE_UNSUPPORTED",
    `the database has schema version ${newest}, newer than this linkgate knows (${latest}): upgrade linkgate`,
  );
}

export function fail(code: ErrorCode, message: string): never {
  throw new LinkgateError(code, message);
}

export function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

/**
 * The key that makes a rule unique in its tenant: link and cidr in one value, because a UNIQUE
 * constraint treats NULLs as distinct and this key must not.
 */
export function ruleKey(link: string | null, cidr: string | null): string {
  return `${link ?? ""} ${cidr ?? ""}`;
}

function ruleText(link: string | null, cidr: string | null): string {
  return [link === null ? null : `link ${link}`, cidr === null ? null : `cidr ${cidr}`]
    .filter((p) => p !== null)
    .join(", ");
}

/** RULE_DUPLICATE for addRule: the tenant has a rule `existingId` with this link and cidr. */
export function ruleExists(tenantId: string, input: RuleInput, existingId: string): never {
  fail(
    "RULE_DUPLICATE",
    `tenant "${tenantId}" has this rule (${ruleText(input.link, input.cidr)}) already: ${existingId}`,
  );
}

/** HOSTNAME_TAKEN: `hostname` belongs to tenant `owner`. */
export function hostnameTaken(hostname: string, owner: string): never {
  fail("HOSTNAME_TAKEN", `the host name "${hostname}" belongs to tenant "${owner}"`);
}

/** TENANT_EXISTS. */
export function tenantExists(id: string): never {
  fail("TENANT_EXISTS", `a tenant "${id}" exists already`);
}

/**
 * The rules of `inputs`, refusing duplicates (RULE_DUPLICATE); a rule whose link and cidr
 * match one of `kept` keeps that rule's id and creation time.
 */
export function buildRules(
  inputs: readonly RuleInput[],
  now: number,
  kept: readonly StoredRule[],
): StoredRule[] {
  const previous = new Map(kept.map((r) => [ruleKey(r.link, r.cidr), r]));
  const seen = new Set<string>();
  return inputs.map((input) => {
    const key = ruleKey(input.link, input.cidr);
    if (seen.has(key)) {
      fail("RULE_DUPLICATE", `the rule (${ruleText(input.link, input.cidr)}) is listed twice`);
    }
    seen.add(key);
    const old = previous.get(key);
    return {
      id: old?.id ?? newRuleId(),
      link: input.link,
      cidr: input.cidr,
      description: input.description,
      expiresAt: input.expiresAt,
      createdAt: old?.createdAt ?? now,
    };
  });
}

/** A tenant as createTenant makes it, at version `version`. */
export function newTenant(
  input: TenantInput,
  rules: StoredRule[],
  now: number,
  version: number,
): StoredTenant {
  return {
    id: input.id,
    hostnames: [...input.hostnames],
    upstream: input.upstream,
    enforcement: input.enforcement,
    allow: input.allow === null ? null : { publicInternet: input.allow.publicInternet, rules },
    createdAt: now,
    updatedAt: now,
    revision: version,
  };
}

/**
 * The tenant a change is computed from: TENANT_NOT_FOUND when there is none, PRECONDITION_FAILED
 * when it is not at the revision the change was computed from.
 */
export function currentTenant(
  id: string,
  tenant: StoredTenant | null,
  meta: WriteMeta,
): StoredTenant {
  if (tenant === null) fail("TENANT_NOT_FOUND", `no tenant "${id}"`);
  if (meta.ifRevision !== undefined && meta.ifRevision !== tenant.revision) {
    fail(
      "PRECONDITION_FAILED",
      `tenant "${id}" is at revision ${tenant.revision}, not ${meta.ifRevision}: read it again`,
    );
  }
  return tenant;
}

/** A rule as the audit log records it (times in ISO 8601, like the API). */
export function ruleJson(r: StoredRule): Record<string, unknown> {
  return {
    id: r.id,
    link: r.link,
    cidr: r.cidr,
    description: r.description,
    expiresAt: iso(r.expiresAt),
    createdAt: iso(r.createdAt),
  };
}

/** A tenant as the audit log records it; rules only when the change made or dropped them. */
export function tenantJson(t: StoredTenant, withRules: boolean): Record<string, unknown> {
  return {
    id: t.id,
    hostnames: t.hostnames,
    upstream: t.upstream,
    enforcement: t.enforcement,
    allow:
      t.allow === null
        ? null
        : withRules
          ? { publicInternet: t.allow.publicInternet, rules: t.allow.rules.map(ruleJson) }
          : { publicInternet: t.allow.publicInternet },
  };
}

/** A token as the audit log records it: never its hash. */
export function tokenJson(t: StoredToken): Record<string, unknown> {
  return { id: t.id, label: t.label, createdAt: iso(t.createdAt), revokedAt: iso(t.revokedAt) };
}

/** A page of `rows`, read with one row more than `limit` to know whether another page follows. */
export function page<T>(rows: T[], limit: number, key: (item: T) => string): Page<T> {
  if (rows.length <= limit) return { items: rows, next: null };
  const items = rows.slice(0, limit);
  return { items, next: key(items[items.length - 1]) };
}

/** The change listeners of a store: a listener that throws does not stop the others. */
export class ChangeListeners {
  readonly #listeners = new Set<ChangeListener>();
  readonly #onError: (error: unknown) => void;

  constructor(onError: ((error: unknown) => void) | undefined) {
    this.#onError =
      onError ?? ((error) => process.emitWarning(`store change listener failed: ${String(error)}`));
  }

  add(listener: ChangeListener): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  emit(change: ChangeSet): void {
    for (const listener of this.#listeners) {
      try {
        listener(change);
      } catch (error) {
        this.#onError(error);
      }
    }
  }

  clear(): void {
    this.#listeners.clear();
  }
}
