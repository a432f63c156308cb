/**
 * The store on PostgreSQL (postgres.js): one database for a fleet of linkgate instances.
 *
 * Transactions. Every policy write (tenants and rules) starts by locking the one row of
 * `store_state`, the change feed's counter, and bumps it before it commits: policy writes of
 * the whole fleet run one at a time, each reading what the previous one committed (the checks
 * of host names, rules and revisions are exact, as with SQLite), and their versions follow
 * commit order with no gap (a rolled-back write gives its version back). The same transaction
 * records its changes in `changes` and sends `NOTIFY linkgate_changes, '<version>'`, which
 * PostgreSQL delivers at commit only. Counters, observations and tokens take no such lock:
 * many instances flush them concurrently, in key order (no deadlock between two batches).
 *
 * The change feed. Each store listens on a dedicated session (postgres.js reconnects it by
 * itself) and delivers changes to its listeners by reading `changes` after the last version it
 * delivered, in version order: whichever instance made them, whatever notifications were
 * lost. It reads again on a notification of a newer version, after a write of its own (the
 * write resolves once its listeners have heard of it, as with SQLite), when the listening
 * session is back after a disconnection, and on every health check, which also compares the
 * versions (a lost notification is caught within one check interval).
 *
 * Health. A call that fails to reach the database (refused, reset, closed, timed out, the
 * server shutting down) marks the store down: from then on every call fails at once with
 * STORE_UNAVAILABLE instead of waiting for a connection, and a health check every
 * `checkIntervalMs` tries the database until it answers again; then the store is up, and the
 * feed catches up with what was committed meanwhile.
 */
import postgres, { type TransactionSql } from "postgres";
import type { Enforcement } from "../../config/types.js";
import { LinkgateError } from "../../errors/index.js";
import { ActivityBuffer } from "../activity.js";
import { newTokenId } from "../ids.js";
import {
  buildRules,
  ChangeListeners,
  currentTenant,
  fail,
  hostnameTaken,
  iso,
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

export interface PostgresStoreOptions {
  /** postgres:// or postgresql:// URL. */
  url: string;
  /** Connections of the pool (the listening session is one more). Default 10. */
  poolSize?: number;
  /** How long a connection attempt or a health check may take, in ms. Default 5000. */
  connectTimeoutMs?: number;
  /** How often the health check runs (and catches lost notifications), in ms. Default 1000. */
  checkIntervalMs?: number;
  /** Change-feed entries kept; older ones are pruned at open. Default 100 000. */
  feedRetention?: number;
  /** The clock (tests). */
  now?: () => number;
  /** Called when a change listener throws (the change itself is committed). */
  onListenerError?: (error: unknown) => void;
  /** Called when the store goes down or comes back up. */
  onHealthChange?: (health: StoreHealth) => void;
}

/** The notification channel of the change feed; the payload is the version, in decimal. */
export const CHANGES_CHANNEL = "linkgate_changes";

/**
 * postgres.js with BIGINT read as a number (times in ms and versions stay below 2^53), and
 * without its query of the array types on every new connection (`fetch_types`): the library
 * does not handle that query's failure, so a connection reset while it runs (a server stopping
 * or restarting) was an unhandled rejection. Lists are passed as JSON text instead (jsonList).
 */
function connect(url: string, options: Omit<postgres.Options<never>, "types" | "fetch_types">) {
  return postgres(url, {
    ...options,
    fetch_types: false,
    types: {
      bigint: {
        to: 20,
        from: [20],
        serialize: (value: number) => String(value),
        parse: (value: string) => Number(value),
      },
    },
  });
}

type Db = ReturnType<typeof connect>;
type Tx = TransactionSql<{ bigint: number }>;

/** Errors of reaching the database (as opposed to errors of a statement). */
const CONNECTION_ERRORS = new Set([
  // postgres.js
  "CONNECTION_CLOSED",
  "CONNECTION_DESTROYED",
  "CONNECTION_ENDED",
  "CONNECT_TIMEOUT",
  // sockets and name resolution
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  // PostgreSQL: shutting down, starting, out of connections, no such database
  "57P01",
  "57P02",
  "57P03",
  "53300",
  "3D000",
]);

function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== "string") return false;
  // SQLSTATE classes 08 (connection exception) and 28 (authentication: a rotated password).
  return CONNECTION_ERRORS.has(code) || code.startsWith("08") || code.startsWith("28");
}

/** Deadlocks and serialization failures: the transaction is retried. */
function isRetryable(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "40P01" || code === "40001";
}

const TRANSACTION_ATTEMPTS = 3;

/** A tenant row with its host names and rules, as JSON arrays built by PostgreSQL. */
interface TenantRow {
  id: string;
  enforcement: Enforcement;
  upstream: string | null;
  restricted: boolean;
  public_internet: boolean;
  created_at: number;
  updated_at: number;
  revision: number;
  hostnames: string[];
  rules: RuleTuple[];
}

/** A rule as tenant rows carry it: id, link, cidr, description, expires_at, created_at. */
type RuleTuple = [string, string | null, string | null, string | null, number | null, number];

interface TokenRow {
  id: string;
  tenant_id: string;
  label: string | null;
  created_at: number;
  created_by: string;
  last_used_at: number | null;
  revoked_at: number | null;
}

interface ObservedRow {
  tenant_id: string;
  identity: string;
  provider: ObservedProvider;
  listener: string;
  last_source: string | null;
  first_seen_at: number;
  last_seen_at: number;
  allowed: number;
  denied: number;
  last_reason: string;
}

interface AuditRow {
  id: number;
  tenant_id: string;
  at: number;
  actor: string;
  action: AuditAction;
  before_json: unknown;
  after_json: unknown;
  version: number | null;
}

function tenantOf(row: TenantRow): StoredTenant {
  const rules = row.rules.map(
    ([id, link, cidr, description, expiresAt, createdAt]): StoredRule => ({
      id,
      link,
      cidr,
      description,
      expiresAt,
      createdAt,
    }),
  );
  return {
    id: row.id,
    hostnames: row.hostnames,
    upstream: row.upstream,
    enforcement: row.enforcement,
    allow: row.restricted ? { publicInternet: row.public_internet, rules } : null,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    revision: row.revision,
  };
}

function tokenOf(row: TokenRow): StoredToken {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    label: row.label,
    createdAt: row.created_at,
    createdBy: row.created_by,
    lastUsedAt: row.last_used_at,
    revokedAt: row.revoked_at,
  };
}

function observedOf(row: ObservedRow): ObservedIdentity {
  return {
    tenantId: row.tenant_id,
    identity: row.identity,
    provider: row.provider,
    listener: row.listener,
    lastSource: row.last_source,
    firstSeenAt: row.first_seen_at,
    lastSeenAt: row.last_seen_at,
    allowed: row.allowed,
    denied: row.denied,
    lastReason: row.last_reason,
  };
}

/** Rows per statement of a bulk insert: bounds the size of one message to the server. */
const BULK_ROWS = 20_000;

function chunks<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += BULK_ROWS) out.push(items.slice(i, i + BULK_ROWS));
  return out;
}

/**
 * Rows of a bulk statement as one JSON text, which the statement reads with
 * `json_to_recordset(${jsonRows(rows)}::text::json) AS r(column type, ...)`: no limit on the
 * number of parameters, no array literal to encode, and several times faster than unnest over
 * arrays for long texts such as audit entries. (As text: a json parameter would be encoded
 * once more.)
 */
function jsonRows(rows: readonly object[]): string {
  return JSON.stringify(rows);
}

/**
 * A list of texts as one JSON text, which a statement reads with
 * `= ANY(ARRAY(SELECT json_array_elements_text(${jsonList(values)}::text::json)))`: an array
 * parameter would need the array types that connect() does not fetch.
 */
function jsonList(values: readonly string[]): string {
  return JSON.stringify(values);
}

/** A change of the feed as the follower reads it. */
interface FeedRow {
  version: number;
  write_version: number;
  tenant_id: string;
}

/** An audit entry to insert. */
interface AuditInsert {
  tenantId: string;
  action: AuditAction;
  before: unknown;
  after: unknown;
  version: number | null;
}

/** What a policy write hands out inside its transaction. */
interface PolicyTx {
  tx: Tx;
  now: number;
  /** The next version, recorded as a change of `tenantId`. */
  bump(tenantId: string): number;
}

export class PostgresStore implements Store {
  readonly #sql: Db;
  readonly #now: () => number;
  readonly #listeners: ChangeListeners;
  readonly #onHealthChange: (health: StoreHealth) => void;
  readonly #checkTimeoutMs: number;
  #health: StoreHealth;
  #closed = false;
  #checkTimer: NodeJS.Timeout | undefined;
  /** The health check in flight, and when it started (performance.now()). */
  #checking: { promise: Promise<void>; startedAt: number } | null = null;
  /** The last version delivered to listeners; -1 until the feed is followed. */
  #delivered = -1;
  /** The delivery pass in flight, and whether another must follow it. */
  #following: Promise<void> | null = null;
  #followAgain = false;

  private constructor(sql: Db, options: PostgresStoreOptions) {
    this.#sql = sql;
    this.#now = options.now ?? Date.now;
    this.#listeners = new ChangeListeners(options.onListenerError);
    this.#onHealthChange = options.onHealthChange ?? (() => {});
    this.#checkTimeoutMs = options.connectTimeoutMs ?? 5000;
    this.#health = { state: "up", since: this.#now(), lastError: null };
  }

  /**
   * Connects, applies the migrations the database lacks (once for the whole fleet), prunes the
   * change feed, and starts following it. STORE_UNAVAILABLE when the database cannot be
   * reached, STORE_UNSUPPORTED when its schema is newer than this linkgate.
   */
  static async open(options: PostgresStoreOptions): Promise<PostgresStore> {
    const connectTimeoutMs = options.connectTimeoutMs ?? 5000;
    const sql = connect(options.url, {
      max: options.poolSize ?? 10,
      connect_timeout: connectTimeoutMs / 1000,
      // Reconnect within a second of the server's return, with jitter across a fleet (the
      // library's default backoff grows to 20 s).
      backoff: (attempt: number) => (0.5 + Math.random() / 2) * Math.min(0.05 * 2 ** attempt, 1),
      onnotice: () => {},
      connection: { application_name: "linkgate" },
    });
    const store = new PostgresStore(sql, options);
    try {
      await migrate(sql, store.#now());
      await store.#pruneFeed(options.feedRetention ?? 100_000);
      await store.#follow(true);
    } catch (error) {
      await sql.end({ timeout: 1 });
      if (isConnectionError(error)) {
        throw new LinkgateError(
          "STORE_UNAVAILABLE",
          `cannot reach the PostgreSQL store: ${String((error as Error).message)}`,
          { cause: error },
        );
      }
      throw error;
    }
    store.#checkTimer = setInterval(() => void store.#check(), options.checkIntervalMs ?? 1000);
    store.#checkTimer.unref();
    return store;
  }

  // -- health ---------------------------------------------------------------------------------

  health(): StoreHealth {
    return { ...this.#health };
  }

  #setHealth(state: "up" | "down", error?: unknown): void {
    if (error !== undefined) this.#health.lastError = String((error as Error)?.message ?? error);
    if (this.#health.state === state || this.#closed) return;
    this.#health = { ...this.#health, state, since: this.#now() };
    this.#onHealthChange(this.health());
    // Back up: catch up with what was committed meanwhile. Down: try again at once, in case
    // only one connection was lost (the next checks follow the interval).
    if (state === "up") void this.#follow();
    else void this.#check();
  }

  /**
   * The health check: reads the feed's version within the connect timeout; up if it answers
   * (and delivers changes whose notification was lost), down otherwise.
   */
  #check(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    if (this.#checking !== null) {
      // A check that hangs (a stopped server keeps its connections open) means down.
      if (performance.now() - this.#checking.startedAt > this.#checkTimeoutMs) {
        this.#setHealth("down", new Error("the database did not answer a health check in time"));
      }
      return this.#checking.promise;
    }
    const promise = (async () => {
      try {
        const [{ version }] = await this.#sql<{ version: number }[]>`
          SELECT version FROM store_state`;
        this.#setHealth("up");
        if (version > this.#delivered) await this.#follow();
      } catch (error) {
        if (!this.#closed) this.#setHealth("down", error);
      } finally {
        this.#checking = null;
      }
    })();
    this.#checking = { promise, startedAt: performance.now() };
    return promise;
  }

  /** Runs `fn` against the database: STORE_UNAVAILABLE at once while it is down. */
  async #use<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#closed) fail("STORE_UNAVAILABLE", "the store is closed");
    if (this.#health.state === "down") {
      fail(
        "STORE_UNAVAILABLE",
        `the PostgreSQL store is unreachable since ${iso(this.#health.since)}: ${this.#health.lastError}`,
      );
    }
    try {
      return await fn();
    } catch (error) {
      if (!isConnectionError(error)) throw error;
      this.#setHealth("down", error);
      throw new LinkgateError(
        "STORE_UNAVAILABLE",
        `the PostgreSQL store failed: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }

  /** One transaction, retried on a deadlock or serialization failure. */
  #transaction<T>(fn: (tx: Tx) => Promise<T>, mode = "read write"): Promise<T> {
    return this.#use(async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          return (await this.#sql.begin(mode, fn)) as T;
        } catch (error) {
          if (!isRetryable(error) || attempt >= TRANSACTION_ATTEMPTS) throw error;
        }
      }
    });
  }

  /**
   * A policy write: locks the feed's counter, runs `fn`, records the versions it bumped as
   * changes with their notification, and commits; then waits until the listeners have heard
   * of it. Resolves with `fn`'s result and the write's (last) version.
   */
  async #policyWrite<T>(fn: (w: PolicyTx) => Promise<T>): Promise<{ result: T; version: number }> {
    const now = this.#now();
    const written = await this.#transaction(async (tx) => {
      const [{ version: base }] = await tx<{ version: number }[]>`
        SELECT version FROM store_state FOR UPDATE`;
      const tenantIds: string[] = [];
      const bump = (tenantId: string) => {
        tenantIds.push(tenantId);
        return base + tenantIds.length;
      };
      const result = await fn({ tx, now, bump });
      const last = base + tenantIds.length;
      const changes = tenantIds.map((tenant_id, i) => ({ version: base + 1 + i, tenant_id }));
      for (const part of chunks(changes)) {
        await tx`
          INSERT INTO changes (version, write_version, tenant_id, at)
          SELECT version, ${last}, tenant_id, ${now}
          FROM json_to_recordset(${jsonRows(part)}::text::json) AS c(version bigint, tenant_id text)`;
      }
      await tx`UPDATE store_state SET version = ${last}`;
      await tx`SELECT pg_notify(${CHANGES_CHANNEL}, ${String(last)})`;
      return { result, version: last };
    });
    if (written.version > this.#delivered) await this.#follow();
    return written as { result: T; version: number };
  }

  // -- the change feed ------------------------------------------------------------------------

  /** The feed's version, floor and the changes after `after`, from one snapshot. */
  async #feedAfter(after: number): Promise<{ version: number; floor: number; changes: FeedRow[] }> {
    return this.#transaction(async (tx) => {
      const [state] = await tx<{ version: number; feed_floor: number }[]>`
        SELECT version, feed_floor FROM store_state`;
      const changes =
        after < state.feed_floor || after >= state.version
          ? []
          : await tx<FeedRow[]>`
            SELECT version, write_version, tenant_id FROM changes
            WHERE version > ${after} ORDER BY version`;
      return { version: state.version, floor: state.feed_floor, changes };
    }, "isolation level repeatable read read only");
  }

  /**
   * Delivers what was committed after the last delivered version, in version order, one change
   * per write. A call while a pass runs is served by one more pass after it, which sees what
   * was committed before the call. With `start` (at open), subscribes to notifications first,
   * then starts from the current version: a change committed meanwhile is read, not missed.
   * Never rejects but at open: when the database is unreachable, the health check and the
   * reconnection of the listening session follow again.
   */
  #follow(start = false): Promise<void> {
    if (this.#following !== null) {
      this.#followAgain = true;
      return this.#following;
    }
    const pass = async () => {
      try {
        if (start) {
          await this.#sql.listen(
            CHANGES_CHANNEL,
            (payload) => {
              if (Number(payload) > this.#delivered) void this.#follow();
            },
            // Every (re)connection of the listening session: what was missed while it was away.
            () => {
              if (this.#delivered >= 0) void this.#check();
            },
          );
          this.#delivered = (await this.#feedAfter(Number.MAX_SAFE_INTEGER)).version;
        }
        do {
          this.#followAgain = false;
          await this.#deliverAfter(this.#delivered);
        } while (this.#followAgain && !this.#closed);
      } finally {
        // Here, not in a callback of the promise: a call from now on starts a new pass.
        this.#following = null;
      }
    };
    const following = pass().catch((error) => {
      if (start) throw error;
    });
    this.#following = following;
    return following;
  }

  /** One pass of #follow: reads the changes after `delivered` and tells the listeners. */
  async #deliverAfter(delivered: number): Promise<void> {
    const feed = await this.#feedAfter(delivered);
    if (feed.version <= delivered) return;
    if (delivered < feed.floor) {
      this.#delivered = feed.version;
      this.#listeners.emit({ version: feed.version, tenantIds: [], complete: false });
      return;
    }
    let i = 0;
    while (i < feed.changes.length) {
      const version = feed.changes[i].write_version;
      const tenantIds = new Set<string>();
      for (; i < feed.changes.length && feed.changes[i].write_version === version; i++) {
        tenantIds.add(feed.changes[i].tenant_id);
      }
      this.#delivered = version;
      this.#listeners.emit({ version, tenantIds: [...tenantIds], complete: true });
    }
  }

  async #pruneFeed(retention: number): Promise<void> {
    await this.#transaction(async (tx) => {
      const [{ version }] = await tx<{ version: number }[]>`
        SELECT version FROM store_state FOR UPDATE`;
      const horizon = version - retention;
      if (horizon <= 0) return;
      await tx`DELETE FROM changes WHERE version <= ${horizon}`;
      await tx`UPDATE store_state SET feed_floor = greatest(feed_floor, ${horizon})`;
    });
  }

  async changesSince(version: number): Promise<ChangeSet> {
    const feed = await this.#feedAfter(version);
    if (version < feed.floor || version > feed.version) {
      return { version: feed.version, tenantIds: [], complete: false };
    }
    // Each tenant once, where it last changed: the order SQLite's GROUP BY gives.
    const last = new Map<string, number>();
    for (const c of feed.changes) last.set(c.tenant_id, c.version);
    const tenantIds = [...last].sort((a, b) => a[1] - b[1]).map(([id]) => id);
    return { version: feed.version, tenantIds, complete: true };
  }

  onChange(listener: ChangeListener): () => void {
    return this.#listeners.add(listener);
  }

  // -- reading tenants ------------------------------------------------------------------------

  /**
   * Tenant rows, each with its host names and rules as JSON arrays in position order, built by
   * a lookup per tenant: for a few tenants (by id, or a page). loadAll reads them all its way.
   */
  #tenants(db: Db | Tx, where: postgres.PendingQuery<postgres.Row[]>) {
    return db<TenantRow[]>`
      SELECT t.id, t.enforcement, t.upstream, t.restricted, t.public_internet,
        t.created_at, t.updated_at, t.revision,
        coalesce((SELECT json_agg(h.hostname ORDER BY h.position)
          FROM tenant_hostnames h WHERE h.tenant_id = t.id), '[]') AS hostnames,
        coalesce((SELECT json_agg(json_build_array(r.id, r.link, r.cidr, r.description,
            r.expires_at, r.created_at) ORDER BY r.position)
          FROM rules r WHERE r.tenant_id = t.id), '[]') AS rules
      FROM tenants t ${where}`;
  }

  async #readTenant(db: Db | Tx, id: string): Promise<StoredTenant | null> {
    const [row] = await this.#tenants(db, db`WHERE t.id = ${id}`);
    return row === undefined ? null : tenantOf(row);
  }

  async loadAll(): Promise<StoreSnapshot> {
    // One snapshot: the tenants are exactly those of the version read with them.
    return this.#transaction(async (tx) => {
      const [{ version }] = await tx<{ version: number }[]>`SELECT version FROM store_state`;
      // The rows of #tenants, but each table aggregated in one ordered pass and merged by
      // tenant id: for a million rules, about twice as fast as a lookup per tenant.
      const rows = await tx<TenantRow[]>`
        SELECT t.id, t.enforcement, t.upstream, t.restricted, t.public_internet,
          t.created_at, t.updated_at, t.revision,
          coalesce(h.hostnames, '[]') AS hostnames, coalesce(r.rules, '[]') AS rules
        FROM tenants t
        LEFT JOIN (
          SELECT tenant_id, json_agg(hostname ORDER BY position) AS hostnames
          FROM tenant_hostnames GROUP BY tenant_id
        ) h ON h.tenant_id = t.id
        LEFT JOIN (
          SELECT tenant_id, json_agg(json_build_array(id, link, cidr, description, expires_at,
            created_at) ORDER BY position) AS rules
          FROM rules GROUP BY tenant_id
        ) r ON r.tenant_id = t.id
        ORDER BY t.id`;
      return { tenants: rows.map(tenantOf), version };
    }, "isolation level repeatable read read only");
  }

  async getTenant(id: string): Promise<StoredTenant | null> {
    return this.#use(() => this.#readTenant(this.#sql, id));
  }

  async listTenants(p: PageRequest): Promise<Page<StoredTenant>> {
    const rows = await this.#use(() =>
      this.#tenants(
        this.#sql,
        this.#sql`WHERE t.id > ${p.after ?? ""} ORDER BY t.id LIMIT ${p.limit + 1}`,
      ),
    );
    return page(rows.map(tenantOf), p.limit, (t) => t.id);
  }

  async hostnameOwners(hostnames: readonly string[]): Promise<Map<string, string>> {
    const rows = await this.#use(
      () => this.#sql<{ hostname: string; tenant_id: string }[]>`
        SELECT hostname, tenant_id FROM tenant_hostnames
        WHERE hostname = ANY(ARRAY(SELECT json_array_elements_text(${jsonList(hostnames)}::text::json)))`,
    );
    return new Map(rows.map((r) => [r.hostname, r.tenant_id]));
  }

  // -- writing tenants ------------------------------------------------------------------------

  async #current({ tx }: PolicyTx, id: string, meta: WriteMeta): Promise<StoredTenant> {
    return currentTenant(id, await this.#readTenant(tx, id), meta);
  }

  /** Bumps the version for a change of an existing tenant: it becomes its revision. */
  async #touch(w: PolicyTx, tenantId: string): Promise<number> {
    const version = w.bump(tenantId);
    await w.tx`UPDATE tenants SET revision = ${version}, updated_at = ${w.now}
      WHERE id = ${tenantId}`;
    return version;
  }

  async #audit(w: PolicyTx | { tx: Tx; now: number }, actor: string, entries: AuditInsert[]) {
    const rows = entries.map((e) => ({
      tenant_id: e.tenantId,
      action: e.action,
      before_json: e.before,
      after_json: e.after,
      version: e.version,
    }));
    for (const part of chunks(rows)) {
      await w.tx`
        INSERT INTO audit (tenant_id, at, actor, action, before_json, after_json, version)
        SELECT tenant_id, ${w.now}, ${actor}, action, before_json, after_json, version
        FROM json_to_recordset(${jsonRows(part)}::text::json) AS a(tenant_id text, action text,
          before_json json, after_json json, version bigint)`;
    }
  }

  /** The owners of these host names other than `tenantId`: HOSTNAME_TAKEN for the first. */
  async #checkHostnames(tx: Tx, tenantId: string, hostnames: readonly string[]): Promise<void> {
    const owners = new Map(
      (
        await tx<{ hostname: string; tenant_id: string }[]>`
          SELECT hostname, tenant_id FROM tenant_hostnames
          WHERE hostname = ANY(ARRAY(SELECT json_array_elements_text(${jsonList(hostnames)}::text::json)))`
      ).map((r) => [r.hostname, r.tenant_id]),
    );
    for (const h of hostnames) {
      const owner = owners.get(h);
      if (owner !== undefined && owner !== tenantId) hostnameTaken(h, owner);
    }
  }

  async #insertHostnames(tx: Tx, rows: { tenantId: string; hostname: string; position: number }[]) {
    const records = rows.map((r) => ({
      hostname: r.hostname,
      tenant_id: r.tenantId,
      position: r.position,
    }));
    for (const part of chunks(records)) {
      await tx`
        INSERT INTO tenant_hostnames (hostname, tenant_id, position)
        SELECT hostname, tenant_id, position
        FROM json_to_recordset(${jsonRows(part)}::text::json)
          AS h(hostname text, tenant_id text, position int)`;
    }
  }

  async #insertRules(tx: Tx, rows: { tenantId: string; position: number; rule: StoredRule }[]) {
    const records = rows.map(({ tenantId, position, rule: r }) => ({
      tenant_id: tenantId,
      position,
      id: r.id,
      rule_key: ruleKey(r.link, r.cidr),
      link: r.link,
      cidr: r.cidr,
      description: r.description,
      expires_at: r.expiresAt,
      created_at: r.createdAt,
    }));
    for (const part of chunks(records)) {
      await tx`
        INSERT INTO rules (tenant_id, position, id, rule_key, link, cidr, description,
          expires_at, created_at)
        SELECT tenant_id, position, id, rule_key, link, cidr, description, expires_at, created_at
        FROM json_to_recordset(${jsonRows(part)}::text::json) AS r(tenant_id text, position int,
          id text, rule_key text, link text, cidr text, description text, expires_at bigint,
          created_at bigint)`;
    }
  }

  /**
   * Inserts new tenants, in a policy write, with a few statements whatever their number: the
   * checks run on the whole list first, in order, so that the first conflict is the one
   * creating them one by one would meet.
   */
  async #insertTenants(w: PolicyTx, inputs: readonly TenantInput[], actor: string) {
    const { tx, now } = w;
    const ids = inputs.map((t) => t.id);
    const existing = new Set(
      (
        await tx<{ id: string }[]>`
          SELECT id FROM tenants
          WHERE id = ANY(ARRAY(SELECT json_array_elements_text(${jsonList(ids)}::text::json)))`
      ).map((r) => r.id),
    );
    const hostnames = inputs.flatMap((t) => t.hostnames);
    const owners = new Map(
      (
        await tx<{ hostname: string; tenant_id: string }[]>`
          SELECT hostname, tenant_id FROM tenant_hostnames
          WHERE hostname = ANY(ARRAY(SELECT json_array_elements_text(${jsonList(hostnames)}::text::json)))`
      ).map((r) => [r.hostname, r.tenant_id]),
    );
    const tenants: StoredTenant[] = [];
    for (const input of inputs) {
      if (existing.has(input.id)) tenantExists(input.id);
      existing.add(input.id);
      const rules = buildRules(input.allow?.rules ?? [], now, []);
      for (const h of input.hostnames) {
        const owner = owners.get(h);
        if (owner !== undefined && owner !== input.id) hostnameTaken(h, owner);
        owners.set(h, input.id);
      }
      tenants.push(newTenant(input, rules, now, w.bump(input.id)));
    }
    const records = tenants.map((t) => ({
      id: t.id,
      enforcement: t.enforcement,
      upstream: t.upstream,
      restricted: t.allow !== null,
      public_internet: t.allow?.publicInternet === true,
      revision: t.revision,
    }));
    for (const part of chunks(records)) {
      await tx`
        INSERT INTO tenants (id, enforcement, upstream, restricted, public_internet,
          created_at, updated_at, revision)
        SELECT id, enforcement, upstream, restricted, public_internet, ${now}, ${now}, revision
        FROM json_to_recordset(${jsonRows(part)}::text::json) AS t(id text, enforcement text,
          upstream text, restricted boolean, public_internet boolean, revision bigint)`;
    }
    await this.#insertHostnames(
      tx,
      tenants.flatMap((t) =>
        t.hostnames.map((hostname, position) => ({ tenantId: t.id, hostname, position })),
      ),
    );
    await this.#insertRules(
      tx,
      tenants.flatMap((t) =>
        (t.allow?.rules ?? []).map((rule, position) => ({ tenantId: t.id, position, rule })),
      ),
    );
    await this.#audit(
      w,
      actor,
      tenants.map((t) => ({
        tenantId: t.id,
        action: "tenant.create",
        before: null,
        after: tenantJson(t, true),
        version: t.revision,
      })),
    );
    return tenants;
  }

  async createTenant(input: TenantInput, meta: WriteMeta): Promise<TenantWrite> {
    const { result } = await this.#policyWrite((w) => this.#insertTenants(w, [input], meta.actor));
    return { tenant: result[0], version: result[0].revision };
  }

  async importTenants(
    inputs: readonly TenantInput[],
    meta: WriteMeta,
  ): Promise<{ version: number }> {
    if (inputs.length === 0) {
      const [{ version }] = await this.#use(
        () => this.#sql<{ version: number }[]>`SELECT version FROM store_state`,
      );
      return { version };
    }
    const { version } = await this.#policyWrite((w) => this.#insertTenants(w, inputs, meta.actor));
    return { version };
  }

  async updateTenant(id: string, settings: TenantSettings, meta: WriteMeta): Promise<TenantWrite> {
    const { result } = await this.#policyWrite(async (w) => {
      const { tx } = w;
      const before = await this.#current(w, id, meta);
      if (settings.hostnames !== undefined) {
        await this.#checkHostnames(tx, id, settings.hostnames);
        await tx`DELETE FROM tenant_hostnames WHERE tenant_id = ${id}`;
        await this.#insertHostnames(
          tx,
          settings.hostnames.map((hostname, position) => ({ tenantId: id, hostname, position })),
        );
      }
      const allow = settings.allow === undefined ? before.allow : settings.allow;
      const droppedRules = before.allow !== null && allow === null;
      if (droppedRules) {
        await tx`DELETE FROM rules WHERE tenant_id = ${id}`;
        await tx`DELETE FROM rule_stats WHERE tenant_id = ${id}`;
      }
      await tx`
        UPDATE tenants SET
          enforcement = ${settings.enforcement ?? before.enforcement},
          upstream = ${settings.upstream === undefined ? before.upstream : settings.upstream},
          restricted = ${allow !== null},
          public_internet = ${allow?.publicInternet === true}
        WHERE id = ${id}`;
      const version = await this.#touch(w, id);
      const tenant = (await this.#readTenant(tx, id)) as StoredTenant;
      await this.#audit(w, meta.actor, [
        {
          tenantId: id,
          action: "tenant.update",
          before: tenantJson(before, droppedRules),
          after: tenantJson(tenant, false),
          version,
        },
      ]);
      return { tenant, version };
    });
    return result;
  }

  async deleteTenant(id: string, meta: WriteMeta): Promise<{ version: number }> {
    const { result } = await this.#policyWrite(async (w) => {
      const { tx } = w;
      const before = await this.#current(w, id, meta);
      // Rules and host names go with the tenant (foreign keys); the rest is keyed by id only.
      await tx`DELETE FROM tenants WHERE id = ${id}`;
      await tx`DELETE FROM rule_stats WHERE tenant_id = ${id}`;
      await tx`DELETE FROM observed WHERE tenant_id = ${id}`;
      await tx`DELETE FROM tokens WHERE tenant_id = ${id}`;
      const version = w.bump(id);
      await this.#audit(w, meta.actor, [
        {
          tenantId: id,
          action: "tenant.delete",
          before: tenantJson(before, true),
          after: null,
          version,
        },
      ]);
      return { version };
    });
    return result;
  }

  async addRule(
    tenantId: string,
    input: RuleInput,
    meta: WriteMeta,
  ): Promise<TenantWrite & { rule: StoredRule }> {
    const { result } = await this.#policyWrite(async (w) => {
      const { tx } = w;
      const before = await this.#current(w, tenantId, meta);
      const [existing] = await tx<{ id: string }[]>`
        SELECT id FROM rules
        WHERE tenant_id = ${tenantId} AND rule_key = ${ruleKey(input.link, input.cidr)}`;
      if (existing !== undefined) ruleExists(tenantId, input, existing.id);
      const [rule] = buildRules([input], w.now, []);
      const [{ position }] = await tx<{ position: number }[]>`
        SELECT coalesce(max(position) + 1, 0) AS position FROM rules WHERE tenant_id = ${tenantId}`;
      await this.#insertRules(tx, [{ tenantId, position, rule }]);
      if (before.allow === null) {
        await tx`UPDATE tenants SET restricted = true, public_internet = false
          WHERE id = ${tenantId}`;
      }
      const version = await this.#touch(w, tenantId);
      await this.#audit(w, meta.actor, [
        { tenantId, action: "rule.create", before: null, after: ruleJson(rule), version },
      ]);
      return { tenant: (await this.#readTenant(tx, tenantId)) as StoredTenant, version, rule };
    });
    return result;
  }

  async deleteRule(tenantId: string, ruleId: string, meta: WriteMeta): Promise<TenantWrite> {
    const { result } = await this.#policyWrite(async (w) => {
      const { tx } = w;
      const before = await this.#current(w, tenantId, meta);
      const rule = before.allow?.rules.find((r) => r.id === ruleId);
      if (rule === undefined) fail("RULE_NOT_FOUND", `tenant "${tenantId}" has no rule ${ruleId}`);
      await tx`DELETE FROM rules WHERE id = ${ruleId}`;
      await tx`DELETE FROM rule_stats WHERE tenant_id = ${tenantId} AND rule_id = ${ruleId}`;
      const version = await this.#touch(w, tenantId);
      await this.#audit(w, meta.actor, [
        { tenantId, action: "rule.delete", before: ruleJson(rule), after: null, version },
      ]);
      return { tenant: (await this.#readTenant(tx, tenantId)) as StoredTenant, version };
    });
    return result;
  }

  async replaceRules(
    tenantId: string,
    inputs: readonly RuleInput[],
    meta: WriteMeta,
  ): Promise<TenantWrite> {
    const { result } = await this.#policyWrite(async (w) => {
      const { tx } = w;
      const before = await this.#current(w, tenantId, meta);
      const previous = before.allow?.rules ?? [];
      const rules = buildRules(inputs, w.now, previous);
      await tx`DELETE FROM rules WHERE tenant_id = ${tenantId}`;
      await this.#insertRules(
        tx,
        rules.map((rule, position) => ({ tenantId, position, rule })),
      );
      const keptIds = new Set(rules.map((r) => r.id));
      const dropped = previous.filter((r) => !keptIds.has(r.id)).map((r) => r.id);
      await tx`DELETE FROM rule_stats
        WHERE tenant_id = ${tenantId}
          AND rule_id = ANY(ARRAY(SELECT json_array_elements_text(${jsonList(dropped)}::text::json)))`;
      if (before.allow === null) {
        await tx`UPDATE tenants SET restricted = true, public_internet = false
          WHERE id = ${tenantId}`;
      }
      const version = await this.#touch(w, tenantId);
      await this.#audit(w, meta.actor, [
        {
          tenantId,
          action: "rules.replace",
          before: previous.map(ruleJson),
          after: rules.map(ruleJson),
          version,
        },
      ]);
      return { tenant: (await this.#readTenant(tx, tenantId)) as StoredTenant, version };
    });
    return result;
  }

  async ruleStats(tenantId: string): Promise<Map<string, RuleStats>> {
    const rows = await this.#use(
      () => this.#sql<{ rule_id: string; hits: number; last_hit_at: number | null }[]>`
        SELECT rule_id, hits, last_hit_at FROM rule_stats WHERE tenant_id = ${tenantId}`,
    );
    return new Map(rows.map((r) => [r.rule_id, { hits: r.hits, lastHitAt: r.last_hit_at }]));
  }

  // -- tokens ---------------------------------------------------------------------------------

  async createToken(
    input: { tenantId: string; label: string | null; hash: Buffer },
    actor: string,
  ): Promise<StoredToken> {
    const now = this.#now();
    return this.#transaction(async (tx) => {
      const [row] = await tx<TokenRow[]>`
        INSERT INTO tokens (id, tenant_id, hash, label, created_at, created_by)
        VALUES (${newTokenId()}, ${input.tenantId}, ${input.hash}, ${input.label}, ${now}, ${actor})
        RETURNING *`;
      const token = tokenOf(row);
      await this.#audit({ tx, now }, actor, [
        {
          tenantId: input.tenantId,
          action: "token.create",
          before: null,
          after: tokenJson(token),
          version: null,
        },
      ]);
      return token;
    });
  }

  async listTokens(tenantId: string, p: PageRequest): Promise<Page<StoredToken>> {
    const rows = await this.#use(
      () => this.#sql<TokenRow[]>`
        SELECT * FROM tokens WHERE tenant_id = ${tenantId} AND id > ${p.after ?? ""}
        ORDER BY id LIMIT ${p.limit + 1}`,
    );
    return page(rows.map(tokenOf), p.limit, (t) => t.id);
  }

  async tokenByHash(hash: Buffer): Promise<StoredToken | null> {
    const [row] = await this.#use(
      () => this.#sql<TokenRow[]>`SELECT * FROM tokens WHERE hash = ${hash}`,
    );
    return row === undefined ? null : tokenOf(row);
  }

  async revokeToken(tenantId: string, tokenId: string, actor: string): Promise<StoredToken | null> {
    const now = this.#now();
    return this.#transaction(async (tx) => {
      const [row] = await tx<TokenRow[]>`
        SELECT * FROM tokens WHERE id = ${tokenId} AND tenant_id = ${tenantId} FOR UPDATE`;
      if (row === undefined) return null;
      const before = tokenOf(row);
      if (before.revokedAt !== null) return before;
      const [updated] = await tx<TokenRow[]>`
        UPDATE tokens SET revoked_at = ${now} WHERE id = ${tokenId} RETURNING *`;
      const after = tokenOf(updated);
      await this.#audit({ tx, now }, actor, [
        {
          tenantId,
          action: "token.revoke",
          before: tokenJson(before),
          after: tokenJson(after),
          version: null,
        },
      ]);
      return after;
    });
  }

  async markTokensUsed(uses: readonly { id: string; at: number }[]): Promise<void> {
    if (uses.length === 0) return;
    const latest = new Map<string, number>();
    for (const u of uses) latest.set(u.id, Math.max(latest.get(u.id) ?? 0, u.at));
    const rows = [...latest].map(([id, at]) => ({ id, at }));
    // A transaction of one statement: retried if it deadlocks with another instance's.
    await this.#transaction(
      (tx) => tx`
        UPDATE tokens SET last_used_at = greatest(coalesce(tokens.last_used_at, 0), u.at)
        FROM json_to_recordset(${jsonRows(rows)}::text::json) AS u(id text, at bigint)
        WHERE tokens.id = u.id`,
    );
  }

  // -- audit ----------------------------------------------------------------------------------

  async listAudit(tenantId: string, p: PageRequest): Promise<Page<AuditEntry>> {
    const before = p.after === null ? Number.MAX_SAFE_INTEGER : Number(p.after);
    const rows = await this.#use(
      () => this.#sql<AuditRow[]>`
        SELECT * FROM audit WHERE tenant_id = ${tenantId} AND id < ${before}
        ORDER BY id DESC LIMIT ${p.limit + 1}`,
    );
    return page(
      rows.map(
        (row): AuditEntry => ({
          id: row.id,
          tenantId: row.tenant_id,
          at: row.at,
          actor: row.actor,
          action: row.action,
          before: row.before_json,
          after: row.after_json,
          version: row.version,
        }),
      ),
      p.limit,
      (e) => String(e.id),
    );
  }

  // -- counters and observed identities -------------------------------------------------------

  async recordActivity(batch: ActivityBatch): Promise<void> {
    if (batch.ruleHits.length === 0 && batch.observed.length === 0) return;
    // One row per key (a key twice in one upsert is an error), merged by the buffer's rules.
    const merged = new ActivityBuffer({ maxEntries: Number.POSITIVE_INFINITY });
    merged.restore(batch);
    const { ruleHits, observed } = merged.drain();
    const hits = ruleHits.map((h) => ({
      tenant_id: h.tenantId,
      rule_id: h.ruleId,
      hits: h.hits,
      last_hit_at: h.lastHitAt,
    }));
    const seen = observed.map((o) => ({
      tenant_id: o.tenantId,
      identity: o.identity,
      provider: o.provider,
      listener: o.listener,
      last_source: o.lastSource,
      first_seen_at: o.firstSeenAt,
      last_seen_at: o.lastSeenAt,
      allowed: o.allowed,
      denied: o.denied,
      last_reason: o.lastReason,
    }));
    // Rows go in key order (the order of the primary keys): concurrent batches of several
    // instances lock common rows in one order, and do not deadlock.
    await this.#transaction(async (tx) => {
      for (const part of chunks(hits)) {
        // A store tenant's hits count only for rules it still has; a file tenant's always.
        await tx`
          INSERT INTO rule_stats (tenant_id, rule_id, hits, last_hit_at)
          SELECT h.tenant_id, h.rule_id, h.hits, h.last_hit_at
          FROM json_to_recordset(${jsonRows(part)}::text::json) AS h(tenant_id text,
            rule_id text, hits bigint, last_hit_at bigint)
          WHERE NOT EXISTS (SELECT 1 FROM tenants t WHERE t.id = h.tenant_id)
             OR EXISTS (SELECT 1 FROM rules r WHERE r.id = h.rule_id AND r.tenant_id = h.tenant_id)
          ORDER BY h.tenant_id COLLATE "C", h.rule_id COLLATE "C"
          ON CONFLICT (tenant_id, rule_id) DO UPDATE SET
            hits = rule_stats.hits + excluded.hits,
            last_hit_at = greatest(rule_stats.last_hit_at, excluded.last_hit_at)`;
      }
      for (const part of chunks(seen)) {
        await tx`
          INSERT INTO observed AS o (tenant_id, identity, provider, listener, last_source,
            first_seen_at, last_seen_at, allowed, denied, last_reason)
          SELECT tenant_id, identity, provider, listener, last_source,
            first_seen_at, last_seen_at, allowed, denied, last_reason
          FROM json_to_recordset(${jsonRows(part)}::text::json) AS b(tenant_id text,
            identity text, provider text, listener text, last_source text,
            first_seen_at bigint, last_seen_at bigint, allowed bigint, denied bigint,
            last_reason text)
          ORDER BY tenant_id COLLATE "C", identity COLLATE "C"
          ON CONFLICT (tenant_id, identity) DO UPDATE SET
            allowed = o.allowed + excluded.allowed,
            denied = o.denied + excluded.denied,
            first_seen_at = least(o.first_seen_at, excluded.first_seen_at),
            provider = CASE WHEN excluded.last_seen_at >= o.last_seen_at
              THEN excluded.provider ELSE o.provider END,
            listener = CASE WHEN excluded.last_seen_at >= o.last_seen_at
              THEN excluded.listener ELSE o.listener END,
            last_source = CASE WHEN excluded.last_seen_at >= o.last_seen_at
              THEN excluded.last_source ELSE o.last_source END,
            last_reason = CASE WHEN excluded.last_seen_at >= o.last_seen_at
              THEN excluded.last_reason ELSE o.last_reason END,
            last_seen_at = greatest(o.last_seen_at, excluded.last_seen_at)`;
      }
    });
  }

  async listObserved(
    tenantId: string,
    p: PageRequest & { since?: number },
  ): Promise<Page<ObservedIdentity>> {
    const rows = await this.#use(
      () => this.#sql<ObservedRow[]>`
        SELECT * FROM observed
        WHERE tenant_id = ${tenantId} AND identity > ${p.after ?? ""}
          AND last_seen_at >= ${p.since ?? 0}
        ORDER BY identity LIMIT ${p.limit + 1}`,
    );
    return page(rows.map(observedOf), p.limit, (o) => o.identity);
  }

  async getObserved(tenantId: string, identity: string): Promise<ObservedIdentity | null> {
    const [row] = await this.#use(
      () => this.#sql<ObservedRow[]>`
        SELECT * FROM observed WHERE tenant_id = ${tenantId} AND identity = ${identity}`,
    );
    return row === undefined ? null : observedOf(row);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#checkTimer);
    this.#listeners.clear();
    // Ends the listening session too.
    await this.#sql.end({ timeout: 5 });
  }
}
