/**
 * A read-only map made of a base map and the changes on top of it, so that a policy that differs
 * from the one in force by a tenant or two shares its maps instead of copying them (100,000
 * tenants: a copy of the two maps took about 50 ms per change; a lookup here costs one more
 * lookup in a small map). When the changes on top grow to a sizeable share of the base, the next
 * derivation flattens them into a plain Map: the cost of a copy, once per that many changes.
 *
 * Iteration order: the base's entries not changed since, then the changed ones in the order
 * they were last changed, which is the order a full compile of "kept tenants, then changed
 * ones" gives (CompiledPolicy.withTenants relies on it).
 */

const REMOVED: unique symbol = Symbol("removed");
type Slot<V> = V | typeof REMOVED;

/** Changes kept on top at most: this many, or an eighth of the base, whichever is larger. */
const MIN_TOP = 1024;

export class LayeredMap<K, V> implements ReadonlyMap<K, V> {
  readonly #base: ReadonlyMap<K, V>;
  readonly #top: ReadonlyMap<K, Slot<V>>;
  readonly size: number;

  private constructor(base: ReadonlyMap<K, V>, top: ReadonlyMap<K, Slot<V>>, size: number) {
    this.#base = base;
    this.#top = top;
    this.size = size;
  }

  /** `map` with `changes` applied (a value, or undefined: removed); `map` is not modified. */
  static with<K, V>(
    map: ReadonlyMap<K, V>,
    changes: ReadonlyMap<K, V | undefined>,
  ): ReadonlyMap<K, V> {
    if (changes.size === 0) return map;
    const layered = map instanceof LayeredMap;
    const base: ReadonlyMap<K, V> = layered ? (map as LayeredMap<K, V>).#base : map;
    const top = new Map<K, Slot<V>>(layered ? (map as LayeredMap<K, V>).#top : []);
    let size = map.size;
    for (const [k, v] of changes) {
      const had = map.has(k);
      top.delete(k); // re-inserted at the end: a changed entry iterates after the others
      if (v === undefined) {
        if (had) size--;
        if (base.has(k)) top.set(k, REMOVED);
      } else {
        if (!had) size++;
        top.set(k, v);
      }
    }
    if (top.size > Math.max(MIN_TOP, base.size / 8)) {
      const flat = new Map<K, V>();
      for (const [k, v] of new LayeredMap(base, top, size)) flat.set(k, v);
      return flat;
    }
    return new LayeredMap(base, top, size);
  }

  get(key: K): V | undefined {
    const v = this.#top.get(key);
    if (v !== undefined) return v === REMOVED ? undefined : v;
    return this.#base.get(key);
  }

  has(key: K): boolean {
    const v = this.#top.get(key);
    if (v !== undefined) return v !== REMOVED;
    return this.#base.has(key);
  }

  *entries(): MapIterator<[K, V]> {
    for (const entry of this.#base) if (!this.#top.has(entry[0])) yield entry;
    for (const [k, v] of this.#top) if (v !== REMOVED) yield [k, v];
  }

  *keys(): MapIterator<K> {
    for (const [k] of this.entries()) yield k;
  }

  *values(): MapIterator<V> {
    for (const [, v] of this.entries()) yield v;
  }

  forEach(callback: (value: V, key: K, map: ReadonlyMap<K, V>) => void, thisArg?: unknown): void {
    for (const [k, v] of this.entries()) callback.call(thisArg, v, k, this);
  }

  [Symbol.iterator](): MapIterator<[K, V]> {
    return this.entries();
  }
}
