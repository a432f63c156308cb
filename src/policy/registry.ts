/**
 * Live connections by tenant, so that a policy change can find and close the connections whose
 * permission it revokes. Only connections that were admitted for a tenant are registered.
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
    if (!set.has(connection)) {
      set.add(connection);
      this.#size++;
    }
  }

  delete(tenant: string, connection: T): void {
    const set = this.#byTenant.get(tenant);
    if (set?.delete(connection)) {
      this.#size--;
      if (set.size === 0) this.#byTenant.delete(tenant);
    }
  }

  tenants(): IterableIterator<string> {
    return this.#byTenant.keys();
  }

  /** A snapshot, so callers may close connections (and so delete them) while iterating. */
  forTenant(tenant: string): T[] {
    return [...(this.#byTenant.get(tenant) ?? [])];
  }
}
