/**
 * The store of an instance that started from its policy snapshot because the database could
 * not be reached: it tries to open the store again every `intervalMs`, in the background, and
 * until it succeeds every call fails at once with STORE_UNAVAILABLE (the API answers 503) and
 * health() says "down". Once open, every call goes to the store, and listeners subscribed
 * meanwhile hear its changes. (StoreTenants, whose reads failed meanwhile, retries them every
 * second: that is how the changes since the snapshot are caught up.)
 */
import { LinkgateError } from "../errors/index.js";
import type {
  ActivityBatch,
  AuditEntry,
  ChangeListener,
  ChangeSet,
  ObservedIdentity,
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
} from "../store/index.js";

export interface DeferredStoreOptions {
  /** Opens the store (openStore); rejects while the database cannot be reached. */
  open(): Promise<Store>;
  /** Why the first attempt, at start, failed. */
  firstError: unknown;
  intervalMs: number;
  /** The store is open: every call goes to it from now on. */
  onOpen(store: Store): void;
  /** An attempt failed for another reason than an unreachable database (a schema too new). */
  onError(error: unknown): void;
}

export class DeferredStore implements Store {
  readonly #options: DeferredStoreOptions;
  #store: Store | null = null;
  readonly #health: StoreHealth;
  /** Listeners subscribed before the store opened, and how to unsubscribe them from it. */
  readonly #early = new Map<ChangeListener, () => void>();
  #timer: NodeJS.Timeout | null = null;
  #attempt: Promise<void> | null = null;
  #closed = false;

  constructor(options: DeferredStoreOptions) {
    this.#options = options;
    this.#health = { state: "down", since: Date.now(), lastError: messageOf(options.firstError) };
    this.#schedule();
  }

  #schedule(): void {
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#attempt = this.#try().finally(() => {
        this.#attempt = null;
      });
    }, this.#options.intervalMs);
    this.#timer.unref();
  }

  async #try(): Promise<void> {
    let store: Store;
    try {
      store = await this.#options.open();
    } catch (error) {
      this.#health.lastError = messageOf(error);
      if (!(error instanceof LinkgateError && error.code === "STORE_UNAVAILABLE")) {
        this.#options.onError(error);
      }
      if (!this.#closed) this.#schedule();
      return;
    }
    if (this.#closed) {
      await store.close();
      return;
    }
    this.#store = store;
    for (const listener of this.#early.keys()) this.#early.set(listener, store.onChange(listener));
    this.#options.onOpen(store);
  }

  /** The store, or STORE_UNAVAILABLE while it is not open. */
  #open(): Store {
    if (this.#store !== null) return this.#store;
    throw new LinkgateError(
      "STORE_UNAVAILABLE",
      `the store has not been reached since linkgate started (it enforces its policy snapshot): ${this.#health.lastError}`,
    );
  }

  /** Whether the store is open (the database was reached). */
  get opened(): boolean {
    return this.#store !== null;
  }

  health(): StoreHealth {
    return this.#store?.health() ?? { ...this.#health };
  }

  onChange(listener: ChangeListener): () => void {
    if (this.#store !== null) return this.#store.onChange(listener);
    this.#early.set(listener, () => {});
    return () => {
      this.#early.get(listener)?.();
      this.#early.delete(listener);
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    await this.#attempt;
    await this.#store?.close();
  }

  // Every other call goes to the store once it is open.

  async loadAll(): Promise<StoreSnapshot> {
    return this.#open().loadAll();
  }
  async getTenant(id: string): Promise<StoredTenant | null> {
    return this.#open().getTenant(id);
  }
  async listTenants(page: PageRequest): Promise<Page<StoredTenant>> {
    return this.#open().listTenants(page);
  }
  async hostnameOwners(hostnames: readonly string[]): Promise<Map<string, string>> {
    return this.#open().hostnameOwners(hostnames);
  }
  async createTenant(input: TenantInput, meta: WriteMeta): Promise<TenantWrite> {
    return this.#open().createTenant(input, meta);
  }
  async importTenants(inputs: readonly TenantInput[], meta: WriteMeta) {
    return this.#open().importTenants(inputs, meta);
  }
  async updateTenant(id: string, settings: TenantSettings, meta: WriteMeta) {
    return this.#open().updateTenant(id, settings, meta);
  }
  async deleteTenant(id: string, meta: WriteMeta): Promise<{ version: number }> {
    return this.#open().deleteTenant(id, meta);
  }
  async addRule(
    tenantId: string,
    rule: RuleInput,
    meta: WriteMeta,
  ): Promise<TenantWrite & { rule: StoredRule }> {
    return this.#open().addRule(tenantId, rule, meta);
  }
  async deleteRule(tenantId: string, ruleId: string, meta: WriteMeta): Promise<TenantWrite> {
    return this.#open().deleteRule(tenantId, ruleId, meta);
  }
  async replaceRules(tenantId: string, rules: readonly RuleInput[], meta: WriteMeta) {
    return this.#open().replaceRules(tenantId, rules, meta);
  }
  async ruleStats(tenantId: string): Promise<Map<string, RuleStats>> {
    return this.#open().ruleStats(tenantId);
  }
  async createToken(
    input: { tenantId: string; label: string | null; hash: Buffer },
    actor: string,
  ): Promise<StoredToken> {
    return this.#open().createToken(input, actor);
  }
  async listTokens(tenantId: string, page: PageRequest): Promise<Page<StoredToken>> {
    return this.#open().listTokens(tenantId, page);
  }
  async tokenByHash(hash: Buffer): Promise<StoredToken | null> {
    return this.#open().tokenByHash(hash);
  }
  async revokeToken(tenantId: string, tokenId: string, actor: string) {
    return this.#open().revokeToken(tenantId, tokenId, actor);
  }
  async markTokensUsed(uses: readonly { id: string; at: number }[]): Promise<void> {
    return this.#open().markTokensUsed(uses);
  }
  async listAudit(tenantId: string, page: PageRequest): Promise<Page<AuditEntry>> {
    return this.#open().listAudit(tenantId, page);
  }
  async recordActivity(batch: ActivityBatch): Promise<void> {
    return this.#open().recordActivity(batch);
  }
  async listObserved(
    tenantId: string,
    page: PageRequest & { since?: number },
  ): Promise<Page<ObservedIdentity>> {
    return this.#open().listObserved(tenantId, page);
  }
  async getObserved(tenantId: string, identity: string): Promise<ObservedIdentity | null> {
    return this.#open().getObserved(tenantId, identity);
  }
  async changesSince(version: number): Promise<ChangeSet> {
    return this.#open().changesSince(version);
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
