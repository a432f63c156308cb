/**
 * Live connections by tenant, so that a policy change (a reload, or the control plane changing
 * a tenant's rules or endpoints) can find and close the connections whose permission it
 * withdraws. Only connections admitted for a tenant (or for the fallback, under NO_TENANT) are
 * registered. There is no second index by endpoint: every change is rechecked per tenant, and
 * an index no caller reads would cost every admitted connection an insert and a delete.
 *
 * Each tenant's connections are a doubly linked list through three fields on the connections
 * themselves (as the listener's list of live connections, src/dataplane/live-connections.ts,
 * whose fields a connection also carries: hence fields of its own here). Why not a Set per
 * tenant: the Set is long-lived, so the garbage collector holds it in its old generation, and
 * one add and one delete per connection kept every ended connection it had held alive through
 * each young-generation collection, until a full one. Under `linkgate serve` on Bun at 8,000
 * connections a second, every ended connection's two sockets (and all they point to) survived
 * each eden collection: 2 to 4 MB a collection, a full collection every 2 to 3 s (seen with
 * `bun:jsc`'s heapStats() after each collection, and BUN_JSC_logGC). With the lists, only the
 * live connections' do. A removed connection's fields are cleared, so an ended connection
 * points at no other.
 */

/** One tenant's list. */
export interface TenantConnections {
  readonly tenant: string;
  /** The registry the list belongs to: a connection is in one registry at most. */
  readonly registry: object;
}

interface TenantList<T> extends TenantConnections {
  head: T | null;
  tail: T | null;
  size: number;
}

/** The fields a connection carries for the registry: its tenant's list and its neighbours. */
export interface RegistryItem {
  registryList: TenantConnections | null;
  registryPrev: RegistryItem | null;
  registryNext: RegistryItem | null;
}

export class ConnectionRegistry<T extends RegistryItem> {
  readonly #byTenant = new Map<string, TenantList<T>>();
  #size = 0;

  get size(): number {
    return this.#size;
  }

  /** Adds `connection` under `tenant` (once; a connection registered under another moves). */
  add(tenant: string, connection: T): void {
    const current = connection.registryList as TenantList<T> | null;
    if (current !== null) {
      if (current.registry !== this) throw new Error("connection is in another registry");
      if (current.tenant === tenant) return;
      this.#unlink(current, connection);
    }
    let list = this.#byTenant.get(tenant);
    if (list === undefined) {
      list = { tenant, registry: this, head: null, tail: null, size: 0 };
      this.#byTenant.set(tenant, list);
    }
    connection.registryList = list;
    connection.registryPrev = list.tail;
    connection.registryNext = null;
    if (list.tail === null) list.head = connection;
    else list.tail.registryNext = connection;
    list.tail = connection;
    list.size++;
    this.#size++;
  }

  /** Removes `connection` from its tenant's list; does nothing if it is not in this registry. */
  remove(connection: T): void {
    const list = connection.registryList as TenantList<T> | null;
    if (list === null || list.registry !== this) return;
    this.#unlink(list, connection);
  }

  #unlink(list: TenantList<T>, connection: T): void {
    const prev = connection.registryPrev as T | null;
    const next = connection.registryNext as T | null;
    if (prev === null) list.head = next;
    else prev.registryNext = next;
    if (next === null) list.tail = prev;
    else next.registryPrev = prev;
    connection.registryList = null;
    connection.registryPrev = null;
    connection.registryNext = null;
    list.size--;
    this.#size--;
    if (list.size === 0) this.#byTenant.delete(list.tenant);
  }

  tenants(): IterableIterator<string> {
    return this.#byTenant.keys();
  }

  /** A snapshot in order of registration, so callers may close connections while iterating. */
  forTenant(tenant: string): T[] {
    const out: T[] = [];
    const list = this.#byTenant.get(tenant);
    for (let c = list?.head ?? null; c !== null; c = c.registryNext as T | null) out.push(c);
    return out;
  }
}
