/**
 * What every route shares: the store, the runtime's port, authentication, and the rules that
 * cut across routes (tenant isolation, read-only tenants, If-Match, waiting for enforcement).
 */
import type { FastifyBaseLogger, FastifyRequest } from "fastify";
import { matchHostPattern, parseHostPattern } from "../config/patterns.js";
import type { LimitsConfig } from "../config/types.js";
import { LinkgateError } from "../errors/index.js";
import type { PageRequest, Store, StoredTenant, WriteMeta } from "../store/types.js";
import {
  AdminTokens,
  type AuthFailureLimits,
  AuthFailures,
  bearerToken,
  DEFAULT_AUTH_FAILURE_LIMITS,
  type Principal,
  principalOf,
} from "./auth.js";
import { ApiError } from "./errors.js";
import { lockoutGuard } from "./lockout.js";
import type { EnforcedTenants, PolicyPort } from "./port.js";
import { etagOf, type FoundTenant } from "./views.js";

export interface ControlPlaneOptions {
  /** null: tenants come from the configuration file only, and the API is read-only. */
  store: Store | null;
  port: PolicyPort;
  /** Admin bearer tokens (adminTokensFromEnv). */
  adminTokens: readonly string[];
  limits: LimitsConfig;
  authFailures?: AuthFailureLimits;
  /** linkgate's version, for /openapi.json. */
  version: string;
  /** The clock (tests). */
  now?: () => number;
}

/** How often the last use of tenant tokens is written to the store. */
const TOKEN_USE_FLUSH_MS = 1000;

/** Concurrent changes of one tenant, without If-Match, are retried this many times. */
const WRITE_ATTEMPTS = 3;

/** Reads the API answers from the tenants a process enforces while the store is down. */
const READS_FROM_COPY = new Set<PropertyKey>(["getTenant", "listTenants", "ruleStats"]);

function readFromCopy(copy: EnforcedTenants, key: PropertyKey, args: unknown[]): unknown {
  if (key === "getTenant") return copy.get(args[0] as string) ?? null;
  if (key === "listTenants") return copy.page(args[0] as PageRequest);
  return new Map(); // ruleStats: the hit counts are in the database only
}

/**
 * The store as the routes use it. Failures that are not about the request become
 * STORE_UNAVAILABLE (503). While the database is down (health() says so: every call fails, or
 * the call just made failed for that reason), reads of tenants answer from the copy this
 * process enforces, which the routes mark `Linkgate-Stale: true`; rule hit counts are unknown
 * then (none are given); everything else fails with STORE_UNAVAILABLE. health() and
 * onChange() are answered as they are (synchronous).
 */
function guardStore(store: Store, enforced: () => EnforcedTenants | null): Store {
  return new Proxy(store, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (typeof value !== "function") return value;
      if (key === "health" || key === "onChange") return value.bind(target);
      return async (...args: unknown[]) => {
        const copy = READS_FROM_COPY.has(key) ? enforced() : null;
        const down = () => target.health().state === "down";
        if (copy !== null && down()) return readFromCopy(copy, key, args);
        try {
          return await value.apply(target, args);
        } catch (error) {
          const unavailable =
            !(error instanceof LinkgateError) || error.code === "STORE_UNAVAILABLE";
          if (copy !== null && unavailable && down()) return readFromCopy(copy, key, args);
          if (error instanceof LinkgateError) throw error;
          throw new LinkgateError("STORE_UNAVAILABLE", `the store failed: ${String(error)}`, {
            cause: error,
          });
        }
      };
    },
  });
}

/** Whether an If-Match header value matches `etag` (strong comparison; "*" matches). */
function ifMatches(header: string, etag: string): boolean {
  return header
    .split(",")
    .map((v) => v.trim())
    .some((v) => v === "*" || v === etag);
}

export class ControlContext {
  readonly store: Store | null;
  readonly port: PolicyPort;
  readonly limits: LimitsConfig;
  readonly now: () => number;
  readonly #admins: AdminTokens;
  readonly #failures: AuthFailures;
  readonly #tokenUses = new Map<string, number>();
  #flushTimer: NodeJS.Timeout | null = null;
  #log: FastifyBaseLogger | null = null;

  constructor(options: ControlPlaneOptions) {
    this.store =
      options.store === null
        ? null
        : guardStore(options.store, () => options.port.enforcedTenants());
    this.port = options.port;
    this.limits = options.limits;
    this.now = options.now ?? Date.now;
    this.#admins = new AdminTokens(options.adminTokens);
    this.#failures = new AuthFailures(options.authFailures ?? DEFAULT_AUTH_FAILURE_LIMITS);
  }

  /** Starts writing token uses once a second; `stop` writes the last ones. */
  start(log: FastifyBaseLogger): void {
    this.#log = log;
    this.#flushTimer ??= setInterval(() => void this.#flushTokenUses(), TOKEN_USE_FLUSH_MS);
    this.#flushTimer.unref();
  }

  async stop(): Promise<void> {
    if (this.#flushTimer !== null) clearInterval(this.#flushTimer);
    this.#flushTimer = null;
    await this.#flushTokenUses();
  }

  async #flushTokenUses(): Promise<void> {
    if (this.store === null || this.#tokenUses.size === 0) return;
    const uses = [...this.#tokenUses].map(([id, at]) => ({ id, at }));
    this.#tokenUses.clear();
    try {
      await this.store.markTokensUsed(uses);
    } catch (error) {
      this.#log?.warn({ err: error }, "could not record the last use of tenant tokens");
    }
  }

  /**
   * Whether reads now answer from the tenants this process enforces rather than the store
   * (its database is down): such answers carry `Linkgate-Stale: true`.
   */
  readsStale(): boolean {
    return this.store?.health().state === "down" && this.port.enforcedTenants() !== null;
  }

  // -- who is calling -------------------------------------------------------------------------

  /** The principal of a request: 401 without a valid token, 429 after too many failures. */
  async authenticate(request: FastifyRequest): Promise<Principal> {
    const address = request.ip;
    const now = this.now();
    const wait = this.#failures.blockedFor(address, now);
    if (wait > 0) {
      throw new ApiError(
        "AUTH_RATE_LIMITED",
        "too many failed authentications from this address; retry later",
        { headers: { "retry-after": String(Math.ceil(wait / 1000)) } },
      );
    }
    const token = bearerToken(request.headers.authorization);
    if (token === null) {
      throw new ApiError("AUTH_REQUIRED", "send a token: Authorization: Bearer <token>", {
        headers: { "www-authenticate": 'Bearer realm="linkgate"' },
      });
    }
    const principal = await principalOf(token, this.#admins, this.store);
    if (principal === null) {
      this.#failures.failed(address, now);
      throw new ApiError("AUTH_INVALID", "the token is not valid, or it was revoked", {
        headers: { "www-authenticate": 'Bearer realm="linkgate", error="invalid_token"' },
      });
    }
    this.#failures.succeeded(address);
    if (principal.kind === "tenant") this.#tokenUses.set(principal.tokenId, now);
    return principal;
  }

  // -- which tenant ---------------------------------------------------------------------------

  /**
   * The tenant `id` as `principal` may see it. A tenant token sees its own tenant only: any
   * other id answers exactly as a tenant that does not exist (no existence leak).
   */
  async find(principal: Principal, id: string): Promise<FoundTenant> {
    const missing = () => new ApiError("TENANT_NOT_FOUND", `no tenant "${id}"`);
    if (principal.kind === "tenant" && principal.tenantId !== id) throw missing();
    const config = this.port.file().tenants.get(id);
    if (config !== undefined) return { managedBy: "config", config };
    const stored = this.store === null ? null : await this.store.getTenant(id);
    if (stored === null) throw missing();
    return { managedBy: "api", stored };
  }

  /** The store, for what only it keeps (tokens, observed identities, the audit log). */
  requireStore(): Store {
    if (this.store === null) {
      throw new ApiError(
        "STORE_NOT_CONFIGURED",
        "no store is configured (store: in the configuration file): tokens, observed identities and the audit log are kept there",
      );
    }
    return this.store;
  }

  /**
   * Changes API tenant `id`: finds it (404), refuses read-only cases (no store, a file
   * tenant) and stale If-Match (412), lets `apply` write it, computed from the revision it
   * read, and waits for the runtime to enforce it. A concurrent change of the same tenant
   * makes `apply` run again on the new state, unless the client sent If-Match.
   */
  async change<T extends { version: number }>(
    principal: Principal,
    id: string,
    ifMatch: string | undefined,
    apply: (store: Store, current: StoredTenant, meta: WriteMeta) => Promise<T>,
  ): Promise<{ result: T; headers: Record<string, string> }> {
    for (let attempt = 1; ; attempt++) {
      const found = await this.find(principal, id);
      const store = this.writableStore();
      if (found.managedBy === "config") {
        throw new ApiError(
          "TENANT_MANAGED_BY_CONFIG",
          `tenant "${id}" is defined in the configuration file; change it there`,
        );
      }
      if (ifMatch !== undefined && !ifMatches(ifMatch, etagOf(found))) {
        throw new ApiError(
          "PRECONDITION_FAILED",
          `If-Match ${ifMatch} does not match the current ETag ${etagOf(found)}: read the tenant again`,
        );
      }
      try {
        const result = await apply(store, found.stored, {
          actor: principal.actor,
          ifRevision: found.stored.revision,
        });
        return { result, headers: await this.enforced(result.version) };
      } catch (error) {
        const raced = error instanceof LinkgateError && error.code === "PRECONDITION_FAILED";
        if (!raced || ifMatch !== undefined || attempt >= WRITE_ATTEMPTS) throw error;
      }
    }
  }

  /** The store for a policy change: STORE_READ_ONLY without one. */
  writableStore(): Store {
    if (this.store === null) {
      throw new ApiError(
        "STORE_READ_ONLY",
        "the API is read-only: tenants come from the configuration file only (configure store: to register tenants over the API)",
      );
    }
    return this.store;
  }

  /**
   * Waits until the runtime enforces store change `version`, and says so in the headers: the
   * change is committed either way.
   */
  async enforced(version: number): Promise<Record<string, string>> {
    let enforced = true;
    try {
      await this.port.enforced(version);
    } catch (error) {
      enforced = false;
      this.#log?.warn({ err: error, version }, "a change was not confirmed as enforced in time");
    }
    return { "linkgate-version": String(version), "linkgate-enforced": String(enforced) };
  }

  /** The lockout guard, unless forced. */
  async guard(current: StoredTenant, next: StoredTenant, force: boolean): Promise<void> {
    if (force || this.store === null) return;
    await lockoutGuard(this.store, this.port, current, next, this.now());
  }

  /** RULES_LIMIT when an API tenant would hold more than limits.maxRulesPerTenant rules. */
  checkRuleCount(tenantId: string, count: number): void {
    const max = this.limits.maxRulesPerTenant;
    if (count > max) {
      throw new ApiError(
        "RULES_LIMIT",
        `tenant "${tenantId}" would have ${count} rules; limits.maxRulesPerTenant is ${max}`,
      );
    }
  }

  // -- ids and host names ---------------------------------------------------------------------

  async #exists(id: string): Promise<boolean> {
    if (this.port.file().tenants.has(id)) return true;
    return this.store !== null && (await this.store.getTenant(id)) !== null;
  }

  /** The tenant owning `host` exactly (a file tenant's or a store tenant's host names). */
  async #exactOwner(host: string): Promise<string | null> {
    for (const t of this.port.file().tenants.values()) if (t.hostnames.includes(host)) return t.id;
    if (this.store === null) return null;
    return (await this.store.hostnameOwners([host])).get(host) ?? null;
  }

  /** TENANT_EXISTS or HOSTNAME_TAKEN when a new tenant `id` would collide with another. */
  async checkNewTenant(id: string): Promise<void> {
    if (await this.#exists(id)) {
      throw new ApiError("TENANT_EXISTS", `a tenant "${id}" exists already`);
    }
    // A host pattern gives the new tenant host names: another tenant must not own them.
    for (const text of this.port.file().hostPatterns) {
      const host = text.replace("{tenant}", id);
      const owner = await this.#exactOwner(host);
      if (owner !== null && owner !== id) {
        throw new ApiError(
          "HOSTNAME_TAKEN",
          `the host pattern "${text}" gives tenant "${id}" the host name "${host}", which belongs to tenant "${owner}"`,
        );
      }
    }
  }

  /** HOSTNAME_TAKEN when one of `hostnames` belongs to another tenant, exactly or by pattern. */
  async checkHostnames(tenantId: string, hostnames: readonly string[]): Promise<void> {
    const patterns = this.port.file().hostPatterns.flatMap((text) => {
      const parsed = parseHostPattern(text);
      return parsed.ok ? [parsed.pattern] : [];
    });
    for (const host of hostnames) {
      const owner = await this.#exactOwner(host);
      if (owner !== null && owner !== tenantId) {
        throw new ApiError(
          "HOSTNAME_TAKEN",
          `the host name "${host}" belongs to tenant "${owner}"`,
        );
      }
      for (const pattern of patterns) {
        const label = matchHostPattern(pattern, host);
        if (label !== null && label !== tenantId && (await this.#exists(label))) {
          throw new ApiError(
            "HOSTNAME_TAKEN",
            `the host name "${host}" belongs to tenant "${label}" through the host pattern "${pattern.text}"`,
          );
        }
      }
    }
  }

  /** UPSTREAM_REQUIRED when a tenant would have no upstream and there is no default. */
  checkUpstream(upstream: string | null): void {
    if (upstream === null && !this.port.file().defaultUpstream) {
      throw new ApiError(
        "UPSTREAM_REQUIRED",
        "upstream: required, since routing.upstream is not set in the configuration",
      );
    }
  }
}
