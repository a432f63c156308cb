/**
 * The current policy, swapped atomically. Readers take `holder.current` when they decide; a
 * swap replaces it in one assignment (JavaScript runs one thing at a time, so no connection
 * ever sees half a policy) and tells the listeners, which re-check live connections.
 */
import type { CompiledPolicy } from "./policy.js";

export type SwapListener = (next: CompiledPolicy, previous: CompiledPolicy) => void;

export class PolicyHolder {
  #current: CompiledPolicy;
  #generation = 1;
  readonly #listeners: SwapListener[] = [];

  constructor(initial: CompiledPolicy) {
    this.#current = initial;
  }

  get current(): CompiledPolicy {
    return this.#current;
  }

  /** Increases by one with every swap. */
  get generation(): number {
    return this.#generation;
  }

  onSwap(listener: SwapListener): void {
    this.#listeners.push(listener);
  }

  swap(next: CompiledPolicy): CompiledPolicy {
    const previous = this.#current;
    this.#current = next;
    this.#generation++;
    for (const l of this.#listeners) l(next, previous);
    return previous;
  }
}
