/**
 * A listener's live connections: a doubly linked list through two fields on each connection,
 * with a count. Adding and removing allocate nothing, hash nothing and leave nothing behind.
 *
 * Why not a Set: under `linkgate serve`, the listener's Set of connections (a long-lived object
 * in V8's old generation, with one add and one delete per connection) made V8 keep 3.3-4.6 MB
 * of ended connections alive through every young-generation collection, so that they were
 * copied twice and then moved to the old generation, where only a full collection reclaims
 * them (`node --trace-gc-nvp`, 5,000 connections a second: `promoted=` per scavenge). With
 * this list: 0.74-1.06 MB (docs/BENCHMARKS.md, "What each change gained").
 */

/** The fields a connection carries for its listener's list. */
export interface LiveItem {
  liveListed: boolean;
  livePrev: LiveItem | null;
  liveNext: LiveItem | null;
}

export class LiveConnections<T extends LiveItem> implements Iterable<T> {
  #head: T | null = null;
  #tail: T | null = null;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  add(item: T): void {
    if (item.liveListed) return;
    item.liveListed = true;
    item.livePrev = this.#tail;
    item.liveNext = null;
    if (this.#tail === null) this.#head = item;
    else this.#tail.liveNext = item;
    this.#tail = item;
    this.#size++;
  }

  /** Removes `item`; does nothing if it is not listed. */
  delete(item: T): void {
    if (!item.liveListed) return;
    const prev = item.livePrev as T | null;
    const next = item.liveNext as T | null;
    if (prev === null) this.#head = next;
    else prev.liveNext = next;
    if (next === null) this.#tail = prev;
    else next.livePrev = prev;
    item.livePrev = null;
    item.liveNext = null;
    item.liveListed = false;
    this.#size--;
  }

  /** In order of arrival. Copy it (`[...live]`) before closing connections while iterating. */
  *[Symbol.iterator](): Iterator<T> {
    for (let item = this.#head; item !== null; item = item.liveNext as T | null) yield item;
  }
}
