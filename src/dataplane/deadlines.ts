/**
 * Coarse deadlines for many connections with one timer (as undici's fast timers do): a
 * setTimeout and clearTimeout per connection cost more than the whole header phase's parsing.
 *
 * Items are kept in a doubly linked list through fields on the items themselves, so adding and
 * removing allocate nothing and cost O(1). A listener's timeouts are all the same length, so
 * appending keeps the list sorted by deadline; the tick walks from the head and stops at the
 * first item not yet due. Precision is the tick interval.
 */

let coarse = Date.now();

/**
 * Wall-clock milliseconds, refreshed whenever any list adds an item or ticks: at most one tick
 * interval old while a list holds items. For per-chunk bookkeeping (a relay's last activity),
 * where a clock call per chunk would cost more than the precision is worth.
 */
export function coarseNow(): number {
  return coarse;
}

export interface DeadlineItem {
  deadlineAt: number;
  deadlinePrev: DeadlineItem | null;
  deadlineNext: DeadlineItem | null;
  /** The list the item is in, or null. */
  deadlineList: DeadlineList<DeadlineItem> | null;
}

export class DeadlineList<T extends DeadlineItem> {
  #head: T | null = null;
  #tail: T | null = null;
  #size = 0;
  #timer: NodeJS.Timeout | null = null;
  readonly #onExpire: (item: T) => void;
  readonly #tickMs: number;

  constructor(onExpire: (item: T) => void, tickMs = 50) {
    this.#onExpire = onExpire;
    this.#tickMs = tickMs;
  }

  get size(): number {
    return this.#size;
  }

  /** Schedules `item` to expire `ms` from now (in this list only; it leaves any other). */
  add(item: T, ms: number): void {
    if (item.deadlineList !== null) item.deadlineList.delete(item);
    coarse = Date.now();
    item.deadlineAt = coarse + ms;
    // Usually the latest deadline: append. Otherwise walk back to keep the list sorted.
    let after = this.#tail;
    while (after !== null && after.deadlineAt > item.deadlineAt)
      after = after.deadlinePrev as T | null;
    item.deadlinePrev = after;
    item.deadlineNext = after === null ? this.#head : after.deadlineNext;
    if (item.deadlineNext !== null) item.deadlineNext.deadlinePrev = item;
    else this.#tail = item;
    if (after !== null) after.deadlineNext = item;
    else this.#head = item;
    item.deadlineList = this as unknown as DeadlineList<DeadlineItem>;
    this.#size++;
    if (this.#timer === null) {
      this.#timer = setInterval(tick, this.#tickMs, this as unknown as DeadlineList<DeadlineItem>);
      this.#timer.unref();
    }
  }

  /** Cancels `item`'s deadline; does nothing if it has none here. */
  delete(item: T): void {
    if (item.deadlineList !== (this as unknown as DeadlineList<DeadlineItem>)) return;
    const prev = item.deadlinePrev as T | null;
    const next = item.deadlineNext as T | null;
    if (prev === null) this.#head = next;
    else prev.deadlineNext = next;
    if (next === null) this.#tail = prev;
    else next.deadlinePrev = prev;
    item.deadlinePrev = null;
    item.deadlineNext = null;
    item.deadlineList = null;
    this.#size--;
    // The timer stays: the next tick stops it if the list is still empty. Stopping it here made
    // a list that keeps emptying (connections moving on to their next phase) start and stop a
    // timer for every connection.
  }

  /** Expires every item that is due; stops the timer when nothing is left to watch. */
  expire(now = Date.now()): void {
    coarse = now;
    if (this.#size === 0 && this.#timer !== null) {
      clearInterval(this.#timer);
      this.#timer = null;
      return;
    }
    let item = this.#head;
    while (item !== null && item.deadlineAt <= now) {
      this.delete(item);
      this.#onExpire(item);
      item = this.#head;
    }
  }
}

function tick(list: DeadlineList<DeadlineItem>): void {
  list.expire();
}
