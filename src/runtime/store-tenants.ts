/**
 * The store's side of the policy: the tenants registered over the API. Loaded at start (from
 * the store, or from the snapshot file while the database cannot be reached), then followed
 * through the store's change feed (ARCHITECTURE.md, seam 1):
 *
 *   store change (any process) -> changesSince(applied) -> those tenants read -> target.applyTenants
 *   (CompiledPolicy.withTenants: only they are compiled) -> applied version -> enforced() waiters
 *
 * Changes are applied one batch at a time, in version order; a notification is only a wake-up
 * (the feed is asked what changed since the version applied, so a missed or merged notification
 * loses nothing), and a feed pruned past that version means a full reload. A read that fails
 * (the database is down) is tried again every second, which is also how an instance catches
 * up after an outage; meanwhile the tenants in force stay as they are. A rule reaching its
 * `expiresAt` is dropped at that instant by a timer, like any other change, database or not.
 */
import type { TenantConfig } from "../config/types.js";
import type { Logger } from "../observability/index.js";
import {
  nextRuleExpiry,
  type Page,
  type PageRequest,
  type Store,
  type StoredTenant,
  type StoreSnapshot,
  tenantConfigOf,
} from "../store/index.js";

/** Where tenant changes are applied: this process's data plane, or every worker's. */
export interface TenantChangeTarget {
  /** Applies added or changed tenants (a config) and removed ones (null); resolves once in force. */
  applyTenants(changes: ReadonlyMap<string, TenantConfig | null>): Promise<void>;
}

interface Waiter {
  version: number;
  resolve(): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

/** How long after a failed read of the feed it is tried again. */
const RETRY_MS = 1000;

export class StoreTenants {
  readonly #store: Store;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #stored = new Map<string, StoredTenant>();
  /** Ids the configuration file defines: its tenant wins, the store's is not applied. */
  #shadowed: ReadonlySet<string> = new Set();
  #version: number;
  #target: TenantChangeTarget | null = null;
  #unsubscribe: () => void = () => {};
  /** A catch-up is running; `#again` asks for one more after it (a change came meanwhile). */
  #running: Promise<void> | null = null;
  #again = false;
  #waiters: Waiter[] = [];
  #expiry: NodeJS.Timeout | null = null;
  /**
   * Tenants with a rule yet to expire, and when the first will: the expiry timer looks at these
   * only (scanning every tenant's rules took about 100 ms per change with a million rules).
   */
  readonly #expiring = new Map<string, number>();
  #retry: NodeJS.Timeout | null = null;
  /** Reads are failing: said once, when it starts, and once when they work again. */
  #failing = false;
  #closed = false;
  /** Called after each batch of changes is in force (the snapshot file follows it). */
  onApplied: () => void = () => {};

  private constructor(store: Store, snapshot: StoreSnapshot, logger: Logger, now: () => number) {
    this.#store = store;
    this.#logger = logger;
    this.#now = now;
    this.#version = snapshot.version;
    for (const t of snapshot.tenants) this.#keep(t.id, t);
  }

  /** Reads every store tenant; changes are followed once `follow` is called. */
  static async load(
    store: Store,
    logger: Logger,
    now: () => number = Date.now,
  ): Promise<StoreTenants> {
    return new StoreTenants(store, await store.loadAll(), logger, now);
  }

  /**
   * The tenants of a snapshot file, for a start while `store` cannot be reached: they are
   * enforced as they are (expiring rules expire on time) until reads of the store work, and
   * the changes since the snapshot's version are applied.
   */
  static fromSnapshot(
    store: Store,
    snapshot: StoreSnapshot,
    logger: Logger,
    now: () => number = Date.now,
  ): StoreTenants {
    return new StoreTenants(store, snapshot, logger, now);
  }

  /** Keeps a tenant as read from the store (undefined: removed), and its next rule expiry. */
  #keep(id: string, t: StoredTenant | undefined): void {
    if (t === undefined) this.#stored.delete(id);
    else this.#stored.set(id, t);
    const next = t === undefined ? null : nextRuleExpiry(t, this.#now());
    if (next === null) this.#expiring.delete(id);
    else this.#expiring.set(id, next);
  }

  /** The change-feed version in force. */
  get version(): number {
    return this.#version;
  }

  get size(): number {
    return this.#stored.size;
  }

  /** The tenants in force and their version, as the snapshot file keeps them. */
  snapshot(): StoreSnapshot {
    return { tenants: [...this.#stored.values()], version: this.#version };
  }

  /** A tenant as in force (the API reads it while the store is down). */
  get(id: string): StoredTenant | undefined {
    return this.#stored.get(id);
  }

  /** Tenants as in force, by id, as the store pages them (the API, while the store is down). */
  page({ limit, after }: PageRequest): Page<StoredTenant> {
    const ids = [...this.#stored.keys()].filter((id) => after === null || id > after).sort();
    const items = ids.slice(0, limit).map((id) => this.#stored.get(id) as StoredTenant);
    return { items, next: ids.length > limit ? (items.at(-1)?.id ?? null) : null };
  }

  /** Store tenants as in force now (expired rules left out), except those the file shadows. */
  configs(): TenantConfig[] {
    const now = this.#now();
    const out: TenantConfig[] = [];
    for (const t of this.#stored.values()) {
      if (!this.#shadowed.has(t.id)) out.push(tenantConfigOf(t, now));
    }
    return out;
  }

  /** The file's tenant ids (after each file reload): those ids are the file's, not the store's. */
  setShadowed(ids: ReadonlySet<string>): void {
    this.#shadowed = ids;
  }

  /** Starts following the store's changes into `target`. */
  follow(target: TenantChangeTarget): void {
    this.#target = target;
    this.#unsubscribe = this.#store.onChange(() => this.#catchUp());
    this.#scheduleExpiry();
    this.#catchUp(); // anything committed between the load (or the snapshot) and now
  }

  /**
   * Resolves once store change `version` (and every one before it) is in force, or rejects
   * after `timeoutMs` (the change stays committed and will be applied).
   */
  enforced(version: number, timeoutMs: number): Promise<void> {
    if (version <= this.#version) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        version,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.#waiters = this.#waiters.filter((w) => w !== waiter);
          reject(new Error(`store change ${version} not in force after ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.#waiters.push(waiter);
      this.#catchUp(); // the write may not have notified yet (another process's, say)
    });
  }

  #catchUp(): void {
    if (this.#closed || this.#target === null) return;
    if (this.#running !== null) {
      this.#again = true;
      return;
    }
    this.#running = (async () => {
      do {
        this.#again = false;
        await this.#applyChanges();
      } while (this.#again && !this.#closed);
      if (this.#failing) {
        this.#logger.info({ version: this.#version }, "store change feed: read again, caught up");
      }
      this.#failing = false;
    })()
      .catch((error) => {
        if (!this.#failing) {
          this.#logger.warn(
            { err: error, version: this.#version },
            "store change feed: cannot read it; the tenants in force stay, retrying every second",
          );
        }
        this.#failing = true;
        this.#retry ??= setTimeout(() => {
          this.#retry = null;
          this.#catchUp();
        }, RETRY_MS);
      })
      .finally(() => {
        this.#running = null;
      });
  }

  /** One catch-up: what changed since the version applied, read and applied. */
  async #applyChanges(): Promise<void> {
    const store = this.#store;
    const changes = await store.changesSince(this.#version);
    if (!changes.complete) {
      // The feed was pruned past the version applied, or is behind it (a database restored
      // from a backup older than the snapshot started from): everything is read again, and
      // the database's version is the one in force from now on.
      const behind = changes.version < this.#version;
      this.#logger[behind ? "warn" : "info"](
        { versionInForce: this.#version, storeVersion: changes.version },
        behind
          ? "store change feed: the database is behind the policy in force (restored from an older backup?): reading everything again, the database's state wins"
          : "store change feed: pruned past the version in force: reading everything again",
      );
      const snapshot = await store.loadAll();
      const next = new Map(snapshot.tenants.map((t) => [t.id, t]));
      const ids = [...new Set([...this.#stored.keys(), ...next.keys()])];
      for (const id of ids) this.#keep(id, next.get(id));
      await this.#apply(ids);
      this.#version = snapshot.version;
      this.#advance(snapshot.version);
      return;
    }
    if (changes.version <= this.#version) return;
    for (const id of changes.tenantIds) this.#keep(id, (await store.getTenant(id)) ?? undefined);
    await this.#apply(changes.tenantIds);
    this.#advance(changes.version);
  }

  /** Applies these tenants as they are now in `#stored` (absent: removed). */
  async #apply(ids: readonly string[]): Promise<void> {
    const now = this.#now();
    const changes = new Map<string, TenantConfig | null>();
    for (const id of ids) {
      if (this.#shadowed.has(id)) continue;
      const t = this.#stored.get(id);
      changes.set(id, t === undefined ? null : tenantConfigOf(t, now));
    }
    if (changes.size > 0) await (this.#target as TenantChangeTarget).applyTenants(changes);
    this.#scheduleExpiry();
  }

  #advance(version: number): void {
    this.#version = Math.max(this.#version, version);
    this.onApplied();
    const done = this.#waiters.filter((w) => w.version <= this.#version);
    if (done.length === 0) return;
    this.#waiters = this.#waiters.filter((w) => w.version > this.#version);
    for (const w of done) {
      clearTimeout(w.timer);
      w.resolve();
    }
  }

  /** A timer for the next rule expiry of any tenant; when it fires, those tenants recompile. */
  #scheduleExpiry(): void {
    if (this.#expiry !== null) clearTimeout(this.#expiry);
    this.#expiry = null;
    if (this.#closed || this.#expiring.size === 0) return;
    let next = Number.POSITIVE_INFINITY;
    for (const at of this.#expiring.values()) if (at < next) next = at;
    // setTimeout's limit is about 24.8 days; a later expiry is rescheduled on the way.
    const delay = Math.min(Math.max(0, next - this.#now()), 2 ** 31 - 1);
    this.#expiry = setTimeout(() => this.#expire(), delay);
    this.#expiry.unref();
  }

  #expire(): void {
    this.#expiry = null;
    const now = this.#now();
    const due: string[] = [];
    for (const [id, at] of this.#expiring) if (at <= now) due.push(id);
    for (const id of due) this.#keep(id, this.#stored.get(id)); // its next expiry, if any
    void this.#apply(due).catch((error) =>
      this.#logger.error({ err: error }, "could not apply expired rules"),
    );
  }

  /** Stops following (on stop); waiters are told. */
  close(): void {
    this.#closed = true;
    this.#unsubscribe();
    if (this.#expiry !== null) clearTimeout(this.#expiry);
    if (this.#retry !== null) clearTimeout(this.#retry);
    for (const w of this.#waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(new Error("linkgate is stopping"));
    }
  }
}
