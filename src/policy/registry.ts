/**
 * Live connections by tenant, so that a policy change (a reload, or the control plane changing
 * a tenant's rules or endpoints) can find and close the connections whose permission it
 * withdraws. Only connections admitted for a tenant (or for the fallback, under NO_TENANT) are
 * registered. There is no second index by endpoint: every change is rechecked per tenant, and
 * an index no caller reads would cost every admitted connection a set insert and delete.
 */
export class ConnectionRegistry<T> {
  readonly #byTenant = new Map<string, Set<T>>();
  #size = 0;

  get size(): number {
    return this.#size;
  }

  add(tenant: string, connection: T): void {
    let set = this.#byTenant.get(tenant);
    if (set === undefined) {
      set = new Set();
      this.#byTenant.set(tenant, set);
    }
    if (set.has(connection)) return;
    set.add(connection);
    this.#size++;
  }

  delete(tenant: string, connection: T): void {
    const set = this.#byTenant.get(tenant);
    if (set === undefined || !set.delete(connection)) return;
    this.#size--;
    if (set.size === 0) this.#byTenant.delete(tenant);
  }

  tenants(): IterableIterator<string> {
    return this.#byTenant.keys();
  }

  /** A snapshot, so callers may close connections (and so delete them) while iterating. */
  forTenant(tenant: string): T[] {
    return [...(this.#byTenant.get(tenant) ?? [])];
  }
}
