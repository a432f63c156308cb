/**
 * Live connections by tenant and by Private Link identity, so that a policy change (or the
 * control plane revoking an endpoint) can find and close the connections whose permission it
 * withdraws. Only connections admitted for a tenant are registered.
 */
export class ConnectionRegistry<T> {
  readonly #byTenant = new Map<string, Set<T>>();
  readonly #byIdentity = new Map<string, Set<T>>();
  #size = 0;

  get size(): number {
    return this.#size;
  }

  add(tenant: string, identity: string | null, connection: T): void {
    if (addTo(this.#byTenant, tenant, connection)) this.#size++;
    if (identity !== null) addTo(this.#byIdentity, identity, connection);
  }

  delete(tenant: string, identity: string | null, connection: T): void {
    if (deleteFrom(this.#byTenant, tenant, connection)) this.#size--;
    if (identity !== null) deleteFrom(this.#byIdentity, identity, connection);
  }

  tenants(): IterableIterator<string> {
    return this.#byTenant.keys();
  }

  /** A snapshot, so callers may close connections (and so delete them) while iterating. */
  forTenant(tenant: string): T[] {
    return [...(this.#byTenant.get(tenant) ?? [])];
  }

  /** Live connections that came through the endpoint `identity` ("aws:vpce-…"), any tenant. */
  forIdentity(identity: string): T[] {
    return [...(this.#byIdentity.get(identity) ?? [])];
  }
}

function addTo<T>(map: Map<string, Set<T>>, key: string, value: T): boolean {
  let set = map.get(key);
  if (set === undefined) {
    set = new Set();
    map.set(key, set);
  }
  if (set.has(value)) return false;
  set.add(value);
  return true;
}

function deleteFrom<T>(map: Map<string, Set<T>>, key: string, value: T): boolean {
  const set = map.get(key);
  if (set === undefined || !set.delete(value)) return false;
  if (set.size === 0) map.delete(key);
  return true;
}
