/**
 * The store on SQLite (node:sqlite): one file, one linkgate instance.
 *
 * The database is opened in WAL mode (readers never block the writer), with foreign keys on,
 * `synchronous = FULL` (a change the API has confirmed survives a power cut: a revocation
 * must not come back) and a busy timeout for other processes holding the file (a backup).
 *
 * node:sqlite is synchronous: each method runs to completion in one turn of the event loop, so
 * a write's reads and writes are one transaction that no other request interleaves with. The
 * statements are small (one tenant, one batch of counters), and the data plane never calls
 * the store: it hands its counters to a buffer that the runtime flushes once a second.
 */
import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";
import type { Enforcement } from "../../config/types.js";
import { newTokenId } from "../ids.js";
import {
  buildRules,
  ChangeListeners,
  currentTenant,
  fail,
  hostnameTaken,
  newTenant,
  page,
  ruleExists,
  ruleJson,
  ruleKey,
  tenantExists,
  tenantJson,
  tokenJson,
} from "../shared.js";
import type {
  ActivityBatch,
  AuditAction,
  AuditEntry,
  ChangeListener,
  ChangeSet,
  ObservedIdentity,
  ObservedProvider,
  Page,
  PageRequest,
  RuleInput,
  RuleStats,
  Store,
  StoredRule,
  StoredTenant,
  StoredToken,
  StoreHealth,
  StoreSnapshot,
  TenantInput,
  TenantSettings,
  TenantWrite,
  WriteMeta,
} from "../types.js";
import { migrate } from "./migrations.js";

export interface SqliteStoreOptions {
  /** The database file (created if absent), or ":memory:" (tests). */
  path: string;
  /** The clock (tests). */
  now?: () => number;
  /** Change-feed entries kept; older ones are pruned at open. Default 100 000. */
  feedRetention?: number;
  /** How long to wait for a lock held by another process, in ms. Default 2000. */
  busyTimeoutMs?: number;
  /** Called when a change listener throws (the change itself is committed). */
  onListenerError?: (error: unknown) => void;
}

type Row = Record<string, SQLInputValue>;

/** A rule as loadAll reads it: the columns of RULE_COLUMNS, in order. */
type RuleTuple = [string, string | null, string | null, string | null, number | null, number];

const TENANT_COLUMNS =
  "id, enforcement, upstream, restricted, public_internet, created_at, updated_at, revision";
const RULE_COLUMNS = "id, link, cidr, description, expires_at, created_at";

function num(value: SQLInputValue): number {
  return Number(value);
}

function numOrNull(value: SQLInputValue): number | null {
  return value === null ? null : Number(value);
}

function strOrNull(value: SQLInputValue): string | null {
  return value === null ? null : String(value);
}

function ruleOf(row: Row): StoredRule {
  return {
    id: String(row.id),
    link: strOrNull(row.link),
    cidr: strOrNull(row.cidr),
    description: strOrNull(row.description),
    expiresAt: numOrNull(row.expires_at),
    createdAt: num(row.created_at),
  };
}

function tokenOf(row: Row): StoredToken {
  return {
    id: String(row.id),
    tenantId: String(row.tenant_id),
    label: strOrNull(row.label),
    createdAt: num(row.created_at),
    createdBy: String(row.created_by),
    lastUsedAt: numOrNull(row.last_used_at),
    revokedAt: numOrNull(row.revoked_at),
  };
}

function observedOf(row: Row): ObservedIdentity {
  return {
    tenantId: String(row.tenant_id),
    identity: String(row.identity),
    provider: String(row.provider) as ObservedProvider,
    listener: String(row.listener),
    lastSource: strOrNull(row.last_source),
    firstSeenAt: num(row.first_seen_at),
    lastSeenAt: num(row.last_seen_at),
    allowed: num(row.allowed),
    denied: num(row.denied),
    lastReason: String(row.last_reason),
  };
}

export class SqliteStore implements Store {
  readonly #db: DatabaseSync;
  readonly #now: () => number;
  readonly #statements = new Map<string, StatementSync>();
  readonly #listeners: ChangeListeners;
  readonly #openedAt: number;
  #closed = false;

  private constructor(db: DatabaseSync, options: SqliteStoreOptions) {
    this.#db = db;
    this.#now = options.now ?? Date.now;
    this.#listeners = new ChangeListeners(options.onListenerError);
    this.#openedAt = this.#now();
  }

  /** Opens (or creates) the database and applies the migrations it lacks. */
  static open(options: SqliteStoreOptions): SqliteStore {
    const db = new DatabaseSync(options.path);
    try {
      db.exec(`PRAGMA busy_timeout = ${Math.trunc(options.busyTimeoutMs ?? 2000)}`);
      db.exec("PRAGMA journal_mode = WAL");
      db.exec("PRAGMA synchronous = FULL");
      db.exec("PRAGMA foreign_keys = ON");
      const store = new SqliteStore(db, options);
      migrate(db, store.#now());
      store.#pruneFeed(options.feedRetention ?? 100_000);
      return store;
    } catch (error) {
      db.close();
      throw error;
    }
  }

  #stmt(sql: string): StatementSync {
    let s = this.#statements.get(sql);
    if (s === undefined) {
      s = this.#db.prepare(sql);
      this.#statements.set(sql, s);
    }
    return s;
  }

  #all(sql: string, ...params: SQLInputValue[]): Row[] {
    return this.#stmt(sql).all(...params) as Row[];
  }

  #get(sql: string, ...params: SQLInputValue[]): Row | undefined {
    return this.#stmt(sql).get(...params) as Row | undefined;
  }

  #run(sql: string, ...params: SQLInputValue[]): void {
    this.#stmt(sql).run(...params);
  }

  /** Runs `fn` in one write transaction: all of it is committed, or none. */
  #transaction<T>(fn: () => T): T {
    if (this.#closed) fail("STORE_UNAVAILABLE", "the store is closed");
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      const result = fn();
      this.#db.exec("COMMIT");
      return result;
    } catch (error) {
      if (this.#db.isTransaction) this.#db.exec("ROLLBACK");
      throw error;
    }
  }

  #notify(version: number, tenantIds: readonly string[]): void {
    this.#listeners.emit({ version, tenantIds: [...tenantIds], complete: true });
  }

  #version(): number {
    const row = this.#get("SELECT seq FROM sqlite_sequence WHERE name = 'changes'");
    return row === undefined ? 0 : num(row.seq);
  }

  #pruneFeed(retention: number): void {
    const horizon = this.#version() - retention;
    if (horizon <= 0) return;
    this.#transaction(() => {
      this.#run("DELETE FROM changes WHERE version <= ?", horizon);
      this.#run("UPDATE store_meta SET value = max(value, ?) WHERE key = 'feed_floor'", horizon);
    });
  }

  // -- reading tenants ------------------------------------------------------------------------

  #assemble(row: Row, hostnames: string[], rules: StoredRule[]): StoredTenant {
    return {
      id: String(row.id),
      hostnames,
      upstream: strOrNull(row.upstream),
      enforcement: String(row.enforcement) as Enforcement,
      allow:
        num(row.restricted) === 1
          ? { publicInternet: num(row.public_internet) === 1, rules }
          : null,
      createdAt: num(row.created_at),
      updatedAt: num(row.updated_at),
      revision: num(row.revision),
    };
  }

  #readTenant(id: string): StoredTenant | null {
    const row = this.#get(`SELECT ${TENANT_COLUMNS} FROM tenants WHERE id = ?`, id);
    if (row === undefined) return null;
    const hostnames = this.#all(
      "SELECT hostname FROM tenant_hostnames WHERE tenant_id = ? ORDER BY position",
      id,
    ).map((r) => String(r.hostname));
    const rules = this.#all(
      `SELECT ${RULE_COLUMNS} FROM rules WHERE tenant_id = ? ORDER BY position`,
      id,
    ).map(ruleOf);
    return this.#assemble(row, hostnames, rules);
  }

  async loadAll(): Promise<StoreSnapshot> {
    // One read transaction: the rows and the version are one consistent snapshot.
    this.#db.exec("BEGIN");
    try {
      const version = this.#version();
      // Each tenant's host names and rules come as one JSON array, built by SQLite along the
      // (tenant, position) key: for a million rules this is several times faster than a row
      // per rule through node:sqlite, and JSON.parse is the fastest way into V8.
      const tenants: StoredTenant[] = [];
      for (const row of this.#all(`
        SELECT ${TENANT_COLUMNS},
          (SELECT json_group_array(hostname ORDER BY position)
             FROM tenant_hostnames WHERE tenant_id = tenants.id) AS hostnames_json,
          (SELECT json_group_array(json_array(${RULE_COLUMNS}) ORDER BY position)
             FROM rules WHERE tenant_id = tenants.id) AS rules_json
        FROM tenants ORDER BY id`)) {
        const rules = (JSON.parse(String(row.rules_json)) as RuleTuple[]).map(
          ([id, link, cidr, description, expiresAt, createdAt]): StoredRule => ({
            id,
            link,
            cidr,
            description,
            expiresAt,
            createdAt,
          }),
        );
        tenants.push(this.#assemble(row, JSON.parse(String(row.hostnames_json)), rules));
      }
      return { tenants, version };
    } finally {
      this.#db.exec("COMMIT");
    }
  }

  async getTenant(id: string): Promise<StoredTenant | null> {
    return this.#readTenant(id);
  }

  async listTenants(p: PageRequest): Promise<Page<StoredTenant>> {
    const ids = this.#all(
      "SELECT id FROM tenants WHERE id > ? ORDER BY id LIMIT ?",
      p.after ?? "",
      p.limit + 1,
    ).map((r) => String(r.id));
    const tenants = ids.map((id) => this.#readTenant(id) as StoredTenant);
    return page(tenants, p.limit, (t) => t.id);
  }

  async hostnameOwners(hostnames: readonly string[]): Promise<Map<string, string>> {
    const owners = new Map<string, string>();
    for (const h of hostnames) {
      const row = this.#get("SELECT tenant_id FROM tenant_hostnames WHERE hostname = ?", h);
      if (row !== undefined) owners.set(h, String(row.tenant_id));
    }
    return owners;
  }

  // -- writing tenants ------------------------------------------------------------------------

  /** The tenant, checked against the revision the change was computed from. */
  #current(id: string, meta: WriteMeta): StoredTenant {
    return currentTenant(id, this.#readTenant(id), meta);
  }

  /** Records a change of `tenantId` in the feed; its version becomes the tenant's revision. */
  #bump(tenantId: string, now: number, exists = true): number {
    const version = Number(
      this.#stmt("INSERT INTO changes (tenant_id, at) VALUES (?, ?)").run(tenantId, now)
        .lastInsertRowid,
    );
    if (exists) {
      this.#run(
        "UPDATE tenants SET revision = ?, updated_at = ? WHERE id = ?",
        version,
        now,
        tenantId,
      );
    }
    return version;
  }

  #audit(
    tenantId: string,
    at: number,
    actor: string,
    action: AuditAction,
    before: unknown,
    after: unknown,
    version: number | null,
  ): void {
    this.#run(
      "INSERT INTO audit (tenant_id, at, actor, action, before_json, after_json, version) VALUES (?, ?, ?, ?, ?, ?, ?)",
      tenantId,
      at,
      actor,
      action,
      before === null ? null : JSON.stringify(before),
      after === null ? null : JSON.stringify(after),
      version,
    );
  }

  #setHostnames(tenantId: string, hostnames: readonly string[]): void {
    for (const h of hostnames) {
      const row = this.#get("SELECT tenant_id FROM tenant_hostnames WHERE hostname = ?", h);
      if (row !== undefined && String(row.tenant_id) !== tenantId) {
        hostnameTaken(h, String(row.tenant_id));
      }
    }
    this.#run("DELETE FROM tenant_hostnames WHERE tenant_id = ?", tenantId);
    hostnames.forEach((h, i) => {
      this.#run(
        "INSERT INTO tenant_hostnames (hostname, tenant_id, position) VALUES (?, ?, ?)",
        h,
        tenantId,
        i,
      );
    });
  }

  #insertRule(tenantId: string, position: number, r: StoredRule): void {
    this.#run(
      "INSERT INTO rules (tenant_id, position, id, rule_key, link, cidr, description, expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
      tenantId,
      position,
      r.id,
      ruleKey(r.link, r.cidr),
      r.link,
      r.cidr,
      r.description,
      r.expiresAt,
      r.createdAt,
    );
  }

  /** Inserts a new tenant, inside a transaction; returns it and its version. */
  #insertTenant(input: TenantInput, now: number, actor: string): TenantWrite {
    if (this.#get("SELECT 1 AS x FROM tenants WHERE id = ?", input.id) !== undefined) {
      tenantExists(input.id);
    }
    const rules = buildRules(input.allow?.rules ?? [], now, []);
    const version = this.#bump(input.id, now, false);
    this.#run(
      `INSERT INTO tenants (${TENANT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      input.id,
      input.enforcement,
      input.upstream,
      input.allow === null ? 0 : 1,
      input.allow?.publicInternet === true ? 1 : 0,
      now,
      now,
      version,
    );
    this.#setHostnames(input.id, input.hostnames);
    rules.forEach((r, i) => {
      this.#insertRule(input.id, i, r);
    });
    const tenant = newTenant(input, rules, now, version);
    this.#audit(input.id, now, actor, "tenant.create", null, tenantJson(tenant, true), version);
    return { tenant, version };
  }

  async createTenant(input: TenantInput, meta: WriteMeta): Promise<TenantWrite> {
    const now = this.#now();
    const written = this.#transaction(() => this.#insertTenant(input, now, meta.actor));
    this.#notify(written.version, [input.id]);
    return written;
  }

  async importTenants(
    inputs: readonly TenantInput[],
    meta: WriteMeta,
  ): Promise<{ version: number }> {
    const now = this.#now();
    let version = 0;
    this.#transaction(() => {
      for (const input of inputs) version = this.#insertTenant(input, now, meta.actor).version;
    });
    if (inputs.length > 0)
      this.#notify(
        version,
        inputs.map((t) => t.id),
      );
    return { version: version === 0 ? this.#version() : version };
  }

  async updateTenant(id: string, settings: TenantSettings, meta: WriteMeta): Promise<TenantWrite> {
    const now = this.#now();
    const result = this.#transaction(() => {
      const before = this.#current(id, meta);
      if (settings.hostnames !== undefined) this.#setHostnames(id, settings.hostnames);
      const allow = settings.allow === undefined ? before.allow : settings.allow;
      const droppedRules = before.allow !== null && allow === null;
      if (droppedRules) {
        this.#run("DELETE FROM rules WHERE tenant_id = ?", id);
        this.#run("DELETE FROM rule_stats WHERE tenant_id = ?", id);
      }
      this.#run(
        "UPDATE tenants SET enforcement = ?, upstream = ?, restricted = ?, public_internet = ? WHERE id = ?",
        settings.enforcement ?? before.enforcement,
        settings.upstream === undefined ? before.upstream : settings.upstream,
        allow === null ? 0 : 1,
        allow?.publicInternet === true ? 1 : 0,
        id,
      );
      const version = this.#bump(id, now);
      const tenant = this.#readTenant(id) as StoredTenant;
      this.#audit(
        id,
        now,
        meta.actor,
        "tenant.update",
        tenantJson(before, droppedRules),
        tenantJson(tenant, false),
        version,
      );
      return { tenant, version };
    });
    this.#notify(result.version, [id]);
    return result;
  }

  async deleteTenant(id: string, meta: WriteMeta): Promise<{ version: number }> {
    const now = this.#now();
    const version = this.#transaction(() => {
      const before = this.#current(id, meta);
      // Rules and host names go with the tenant (foreign keys); the rest is keyed by id only.
      this.#run("DELETE FROM tenants WHERE id = ?", id);
      this.#run("DELETE FROM rule_stats WHERE tenant_id = ?", id);
      this.#run("DELETE FROM observed WHERE tenant_id = ?", id);
      this.#run("DELETE FROM tokens WHERE tenant_id = ?", id);
      const version = this.#bump(id, now, false);
      this.#audit(id, now, meta.actor, "tenant.delete", tenantJson(before, true), null, version);
      return version;
    });
    this.#notify(version, [id]);
    return { version };
  }

  async addRule(
    tenantId: string,
    input: RuleInput,
    meta: WriteMeta,
  ): Promise<TenantWrite & { rule: StoredRule }> {
    const now = this.#now();
    const result = this.#transaction(() => {
      const before = this.#current(tenantId, meta);
      const key = ruleKey(input.link, input.cidr);
      const existing = this.#get(
        "SELECT id FROM rules WHERE tenant_id = ? AND rule_key = ?",
        tenantId,
        key,
      );
      if (existing !== undefined) {
        ruleExists(tenantId, input, String(existing.id));
      }
      const [rule] = buildRules([input], now, []);
      const last = this.#get("SELECT max(position) AS p FROM rules WHERE tenant_id = ?", tenantId);
      this.#insertRule(
        tenantId,
        last?.p === null || last === undefined ? 0 : num(last.p) + 1,
        rule,
      );
      if (before.allow === null) {
        this.#run("UPDATE tenants SET restricted = 1, public_internet = 0 WHERE id = ?", tenantId);
      }
      const version = this.#bump(tenantId, now);
      this.#audit(tenantId, now, meta.actor, "rule.create", null, ruleJson(rule), version);
      return { tenant: this.#readTenant(tenantId) as StoredTenant, version, rule };
    });
    this.#notify(result.version, [tenantId]);
    return result;
  }

  async deleteRule(tenantId: string, ruleId: string, meta: WriteMeta): Promise<TenantWrite> {
    const now = this.#now();
    const result = this.#transaction(() => {
      const before = this.#current(tenantId, meta);
      const rule = before.allow?.rules.find((r) => r.id === ruleId);
      if (rule === undefined) fail("RULE_NOT_FOUND", `tenant "${tenantId}" has no rule ${ruleId}`);
      this.#run("DELETE FROM rules WHERE id = ?", ruleId);
      this.#run("DELETE FROM rule_stats WHERE tenant_id = ? AND rule_id = ?", tenantId, ruleId);
      const version = this.#bump(tenantId, now);
      this.#audit(tenantId, now, meta.actor, "rule.delete", ruleJson(rule), null, version);
      return { tenant: this.#readTenant(tenantId) as StoredTenant, version };
    });
    this.#notify(result.version, [tenantId]);
    return result;
  }

  async replaceRules(
    tenantId: string,
    inputs: readonly RuleInput[],
    meta: WriteMeta,
  ): Promise<TenantWrite> {
    const now = this.#now();
    const result = this.#transaction(() => {
      const before = this.#current(tenantId, meta);
      const previous = before.allow?.rules ?? [];
      const rules = buildRules(inputs, now, previous);
      this.#run("DELETE FROM rules WHERE tenant_id = ?", tenantId);
      rules.forEach((r, i) => {
        this.#insertRule(tenantId, i, r);
      });
      const keptIds = new Set(rules.map((r) => r.id));
      for (const r of previous) {
        if (!keptIds.has(r.id)) {
          this.#run("DELETE FROM rule_stats WHERE tenant_id = ? AND rule_id = ?", tenantId, r.id);
        }
      }
      if (before.allow === null) {
        this.#run("UPDATE tenants SET restricted = 1, public_internet = 0 WHERE id = ?", tenantId);
      }
      const version = this.#bump(tenantId, now);
      this.#audit(
        tenantId,
        now,
        meta.actor,
        "rules.replace",
        previous.map(ruleJson),
        rules.map(ruleJson),
        version,
      );
      return { tenant: this.#readTenant(tenantId) as StoredTenant, version };
    });
    this.#notify(result.version, [tenantId]);
    return result;
  }

  async ruleStats(tenantId: string): Promise<Map<string, RuleStats>> {
    const stats = new Map<string, RuleStats>();
    for (const row of this.#all(
      "SELECT rule_id, hits, last_hit_at FROM rule_stats WHERE tenant_id = ?",
      tenantId,
    )) {
      stats.set(String(row.rule_id), {
        hits: num(row.hits),
        lastHitAt: numOrNull(row.last_hit_at),
      });
    }
    return stats;
  }

  // -- tokens ---------------------------------------------------------------------------------

  async createToken(
    input: { tenantId: string; label: string | null; hash: Buffer },
    actor: string,
  ): Promise<StoredToken> {
    const now = this.#now();
    return this.#transaction(() => {
      const id = newTokenId();
      this.#run(
        "INSERT INTO tokens (id, tenant_id, hash, label, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?)",
        id,
        input.tenantId,
        input.hash,
        input.label,
        now,
        actor,
      );
      const token = tokenOf(this.#get("SELECT * FROM tokens WHERE id = ?", id) as Row);
      this.#audit(input.tenantId, now, actor, "token.create", null, tokenJson(token), null);
      return token;
    });
  }

  async listTokens(tenantId: string, p: PageRequest): Promise<Page<StoredToken>> {
    const rows = this.#all(
      "SELECT * FROM tokens WHERE tenant_id = ? AND id > ? ORDER BY id LIMIT ?",
      tenantId,
      p.after ?? "",
      p.limit + 1,
    ).map(tokenOf);
    return page(rows, p.limit, (t) => t.id);
  }

  async tokenByHash(hash: Buffer): Promise<StoredToken | null> {
    const row = this.#get("SELECT * FROM tokens WHERE hash = ?", hash);
    return row === undefined ? null : tokenOf(row);
  }

  async revokeToken(tenantId: string, tokenId: string, actor: string): Promise<StoredToken | null> {
    const now = this.#now();
    return this.#transaction(() => {
      const row = this.#get(
        "SELECT * FROM tokens WHERE id = ? AND tenant_id = ?",
        tokenId,
        tenantId,
      );
      if (row === undefined) return null;
      const before = tokenOf(row);
      if (before.revokedAt !== null) return before;
      this.#run("UPDATE tokens SET revoked_at = ? WHERE id = ?", now, tokenId);
      const after = tokenOf(this.#get("SELECT * FROM tokens WHERE id = ?", tokenId) as Row);
      this.#audit(tenantId, now, actor, "token.revoke", tokenJson(before), tokenJson(after), null);
      return after;
    });
  }

  async markTokensUsed(uses: readonly { id: string; at: number }[]): Promise<void> {
    if (uses.length === 0) return;
    this.#transaction(() => {
      for (const u of uses) {
        this.#run(
          "UPDATE tokens SET last_used_at = max(coalesce(last_used_at, 0), ?) WHERE id = ?",
          u.at,
          u.id,
        );
      }
    });
  }

  // -- audit ----------------------------------------------------------------------------------

  async listAudit(tenantId: string, p: PageRequest): Promise<Page<AuditEntry>> {
    const before = p.after === null ? Number.MAX_SAFE_INTEGER : Number(p.after);
    const rows = this.#all(
      "SELECT * FROM audit WHERE tenant_id = ? AND id < ? ORDER BY id DESC LIMIT ?",
      tenantId,
      before,
      p.limit + 1,
    ).map(
      (row): AuditEntry => ({
        id: num(row.id),
        tenantId: String(row.tenant_id),
        at: num(row.at),
        actor: String(row.actor),
        action: String(row.action) as AuditAction,
        before: row.before_json === null ? null : JSON.parse(String(row.before_json)),
        after: row.after_json === null ? null : JSON.parse(String(row.after_json)),
        version: numOrNull(row.version),
      }),
    );
    return page(rows, p.limit, (e) => String(e.id));
  }

  // -- counters and observed identities -------------------------------------------------------

  async recordActivity(batch: ActivityBatch): Promise<void> {
    if (batch.ruleHits.length === 0 && batch.observed.length === 0) return;
    this.#transaction(() => {
      // A store tenant's hits count only for rules it still has; a file tenant's always.
      const hit = this.#stmt(`
        INSERT INTO rule_stats (tenant_id, rule_id, hits, last_hit_at)
        SELECT ?1, ?2, ?3, ?4
        WHERE NOT EXISTS (SELECT 1 FROM tenants WHERE id = ?1)
           OR EXISTS (SELECT 1 FROM rules WHERE id = ?2 AND tenant_id = ?1)
        ON CONFLICT (tenant_id, rule_id) DO UPDATE SET
          hits = hits + excluded.hits,
          last_hit_at = max(coalesce(last_hit_at, 0), excluded.last_hit_at)`);
      for (const h of batch.ruleHits) hit.run(h.tenantId, h.ruleId, h.hits, h.lastHitAt);
      // In an upsert, every right-hand side reads the row as it was before the update.
      const seen = this.#stmt(`
        INSERT INTO observed (tenant_id, identity, provider, listener, last_source,
          first_seen_at, last_seen_at, allowed, denied, last_reason)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (tenant_id, identity) DO UPDATE SET
          allowed = allowed + excluded.allowed,
          denied = denied + excluded.denied,
          first_seen_at = min(first_seen_at, excluded.first_seen_at),
          provider = iif(excluded.last_seen_at >= last_seen_at, excluded.provider, provider),
          listener = iif(excluded.last_seen_at >= last_seen_at, excluded.listener, listener),
          last_source = iif(excluded.last_seen_at >= last_seen_at, excluded.last_source, last_source),
          last_reason = iif(excluded.last_seen_at >= last_seen_at, excluded.last_reason, last_reason),
          last_seen_at = max(last_seen_at, excluded.last_seen_at)`);
      for (const o of batch.observed) {
        seen.run(
          o.tenantId,
          o.identity,
          o.provider,
          o.listener,
          o.lastSource,
          o.firstSeenAt,
          o.lastSeenAt,
          o.allowed,
          o.denied,
          o.lastReason,
        );
      }
    });
  }

  async listObserved(
    tenantId: string,
    p: PageRequest & { since?: number },
  ): Promise<Page<ObservedIdentity>> {
    const rows = this.#all(
      "SELECT * FROM observed WHERE tenant_id = ? AND identity > ? AND last_seen_at >= ? ORDER BY identity LIMIT ?",
      tenantId,
      p.after ?? "",
      p.since ?? 0,
      p.limit + 1,
    ).map(observedOf);
    return page(rows, p.limit, (o) => o.identity);
  }

  async getObserved(tenantId: string, identity: string): Promise<ObservedIdentity | null> {
    const row = this.#get(
      "SELECT * FROM observed WHERE tenant_id = ? AND identity = ?",
      tenantId,
      identity,
    );
    return row === undefined ? null : observedOf(row);
  }

  // -- change feed ----------------------------------------------------------------------------

  async changesSince(version: number): Promise<ChangeSet> {
    const latest = this.#version();
    const floor = num(
      (this.#get("SELECT value FROM store_meta WHERE key = 'feed_floor'") as Row).value,
    );
    if (version < floor || version > latest) {
      return { version: latest, tenantIds: [], complete: false };
    }
    const tenantIds = this.#all(
      "SELECT tenant_id FROM changes WHERE version > ? GROUP BY tenant_id ORDER BY max(version)",
      version,
    ).map((r) => String(r.tenant_id));
    return { version: latest, tenantIds, complete: true };
  }

  onChange(listener: ChangeListener): () => void {
    return this.#listeners.add(listener);
  }

  /** Always up: the database is a file of this process. */
  health(): StoreHealth {
    return { state: "up", since: this.#openedAt, lastError: null };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#listeners.clear();
    this.#db.close();
  }
}
