/**
 * The store's side of the policy: the tenants registered over the API. Loaded at start, then
 * followed through the store's change feed (ARCHITECTURE.md, seam 1):
 *
 *   store change (any process) -> changesSince(applied) -> those tenants read -> target.applyTenants
 *   (CompiledPolicy.withTenants: only they are compiled) -> applied version -> enforced() waiters
 *
 * Changes are applied one batch at a time, in version order; a notification is only a wake-up
 * (the feed is asked what changed since the version applied, so a missed or merged notification
 * loses nothing), and a feed pruned past that version means a full reload. A rule reaching its
 * `expiresAt` is dropped at that instant by a timer, like any other change.
 */
import type { TenantConfig } from "../config/types.js";
import type { Logger } from "../observability/index.js";
import { nextRuleExpiry, type Store, type StoredTenant, tenantConfigOf } from "../store/index.js";

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
  readonly store: Store;
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
  #closed = false;

  private constructor(store: Store, logger: Logger, now: () => number, version: number) {
    this.store = store;
    this.#logger = logger;
    this.#now = now;
    this.#version = version;
  }

  /** Reads every store tenant; changes are followed once `follow` is called. */
  static async load(
    store: Store,
    logger: Logger,
    now: () => number = Date.now,
  ): Promise<StoreTenants> {
    const snapshot = await store.loadAll();
    const st = new StoreTenants(store, logger, now, snapshot.version);
    for (const t of snapshot.tenants) st.#store(t.id, t);
    return st;
  }

  /** Keeps a tenant as read from the store (undefined: removed), and its next rule expiry. */
  #store(id: string, t: StoredTenant | undefined): void {
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
    this.#unsubscribe = this.store.onChange(() => this.#catchUp());
    this.#scheduleExpiry();
    this.#catchUp(); // anything committed between loadAll and now
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
    })()
      .catch((error) => {
        this.#logger.error({ err: error }, "store change feed: cannot read it; retrying");
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
    const changes = await this.store.changesSince(this.#version);
    if (changes.version <= this.#version) return;
    let ids: readonly string[] = changes.tenantIds;
    if (!changes.complete) {
      // The feed was pruned past the version applied: everything is read again.
      const snapshot = await this.store.loadAll();
      const next = new Map(snapshot.tenants.map((t) => [t.id, t]));
      ids = [...new Set([...this.#stored.keys(), ...next.keys()])];
      for (const id of ids) this.#store(id, next.get(id));
      await this.#apply(ids);
      this.#advance(snapshot.version);
      return;
    }
    for (const id of ids) this.#store(id, (await this.store.getTenant(id)) ?? undefined);
    await this.#apply(ids);
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
    for (const id of due) this.#store(id, this.#stored.get(id)); // its next expiry, if any
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
