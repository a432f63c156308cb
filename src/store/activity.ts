/**
 * Per-rule hits and observed identities, counted in memory on the connection path and merged
 * into the store in batches. The connection path only increments entries of nested maps: no
 * store call, no promise, and no allocation for a rule or identity already seen since the last
 * flush. `flushActivity` drains the buffer into the store once per interval, in one
 * transaction; the data plane never waits for it.
 */
import { formatIp, parseIp } from "../ip/address.js";
import type { ActivityBatch, ObservedIdentity, ObservedProvider, Store } from "./types.js";

interface HitEntry {
  hits: number;
  lastHitAt: number;
}

type ObservedEntry = { -readonly [K in keyof ObservedIdentity]: ObservedIdentity[K] };

/** Distinct rules and identities held between two flushes, by default. */
const DEFAULT_MAX_ENTRIES = 100_000;

function nested<V>(map: Map<string, Map<string, V>>, key: string): Map<string, V> {
  let inner = map.get(key);
  if (inner === undefined) {
    inner = new Map();
    map.set(key, inner);
  }
  return inner;
}

/**
 * The observed identity of a public connection: the source network, "public:" and a /24
 * (IPv4) or /64 (IPv6), so that one client network is one entry whatever its addresses.
 * null when `source` is not an IP address.
 */
export function publicIdentity(source: string): string | null {
  const ip = parseIp(source);
  if (ip === null) return null;
  const prefix = ip.family === 4 ? 24 : 64;
  const network = new Uint8Array(ip.bytes);
  network.fill(0, prefix / 8);
  return `public:${formatIp(network)}/${prefix}`;
}

export class ActivityBuffer {
  readonly #hits = new Map<string, Map<string, HitEntry>>();
  readonly #observed = new Map<string, Map<string, ObservedEntry>>();
  readonly #maxEntries: number;
  #entries = 0;
  #dropped = 0;

  constructor(options: { maxEntries?: number } = {}) {
    this.#maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
  }

  /** Distinct rules and identities waiting for the next flush. */
  get size(): number {
    return this.#entries;
  }

  /** New rules and identities turned away because the buffer was full, since it was made. */
  get dropped(): number {
    return this.#dropped;
  }

  /** A connection admitted by rule `ruleId` of `tenantId` at `at`. */
  ruleHit(tenantId: string, ruleId: string, at: number): void {
    const rules = nested(this.#hits, tenantId);
    const entry = rules.get(ruleId);
    if (entry !== undefined) {
      entry.hits++;
      if (at > entry.lastHitAt) entry.lastHitAt = at;
    } else if (this.#room()) {
      rules.set(ruleId, { hits: 1, lastHitAt: at });
    }
  }

  /**
   * A connection for `tenantId` from `identity` ("aws:vpce-…", or publicIdentity(source) for
   * public traffic), `allowed` by the tenant's rules or not, for `reason`.
   */
  observe(
    tenantId: string,
    identity: string,
    provider: ObservedProvider,
    listener: string,
    source: string | null,
    allowed: boolean,
    reason: string,
    at: number,
  ): void {
    const identities = nested(this.#observed, tenantId);
    const e = identities.get(identity);
    if (e !== undefined) {
      if (allowed) e.allowed++;
      else e.denied++;
      if (at >= e.lastSeenAt) {
        e.lastSeenAt = at;
        e.listener = listener;
        e.lastSource = source;
        e.lastReason = reason;
      }
      if (at < e.firstSeenAt) e.firstSeenAt = at;
    } else if (this.#room()) {
      identities.set(identity, {
        tenantId,
        identity,
        provider,
        listener,
        lastSource: source,
        firstSeenAt: at,
        lastSeenAt: at,
        allowed: allowed ? 1 : 0,
        denied: allowed ? 0 : 1,
        lastReason: reason,
      });
    }
  }

  #room(): boolean {
    if (this.#entries >= this.#maxEntries) {
      this.#dropped++;
      return false;
    }
    this.#entries++;
    return true;
  }

  /** Takes everything recorded since the last drain; the buffer starts empty again. */
  drain(): ActivityBatch {
    const ruleHits: ActivityBatch["ruleHits"][number][] = [];
    for (const [tenantId, rules] of this.#hits) {
      for (const [ruleId, e] of rules) {
        ruleHits.push({ tenantId, ruleId, hits: e.hits, lastHitAt: e.lastHitAt });
      }
    }
    const observed: ObservedIdentity[] = [];
    for (const identities of this.#observed.values()) observed.push(...identities.values());
    this.#hits.clear();
    this.#observed.clear();
    this.#entries = 0;
    return { ruleHits, observed };
  }

  /** Puts a drained batch back (its flush failed), merged with what came since. */
  restore(batch: ActivityBatch): void {
    for (const h of batch.ruleHits) {
      const rules = nested(this.#hits, h.tenantId);
      const e = rules.get(h.ruleId);
      if (e !== undefined) {
        e.hits += h.hits;
        e.lastHitAt = Math.max(e.lastHitAt, h.lastHitAt);
      } else if (this.#room()) {
        rules.set(h.ruleId, { hits: h.hits, lastHitAt: h.lastHitAt });
      }
    }
    for (const o of batch.observed) {
      const identities = nested(this.#observed, o.tenantId);
      const e = identities.get(o.identity);
      if (e === undefined) {
        if (this.#room()) identities.set(o.identity, { ...o });
        continue;
      }
      e.allowed += o.allowed;
      e.denied += o.denied;
      e.firstSeenAt = Math.min(e.firstSeenAt, o.firstSeenAt);
      if (o.lastSeenAt > e.lastSeenAt) {
        e.lastSeenAt = o.lastSeenAt;
        e.listener = o.listener;
        e.lastSource = o.lastSource;
        e.lastReason = o.lastReason;
      }
    }
  }
}

export interface ActivityFlush {
  /** Flushes now (also what the interval does); concurrent calls share one flush. */
  flush(): Promise<void>;
  /** Stops the interval and flushes what is left. */
  stop(): Promise<void>;
}

/**
 * Drains `buffer` into `store` every `intervalMs` (default 1000: at most one transaction a
 * second). A failed flush (the store is down) puts the batch back for the next one and calls
 * `onError`; counting on the connection path goes on regardless.
 */
export function flushActivity(
  store: Pick<Store, "recordActivity">,
  buffer: ActivityBuffer,
  options: { intervalMs?: number; onError?: (error: unknown) => void } = {},
): ActivityFlush {
  let running: Promise<void> | null = null;
  const flush = (): Promise<void> => {
    running ??= (async () => {
      const batch = buffer.drain();
      try {
        await store.recordActivity(batch);
      } catch (error) {
        buffer.restore(batch);
        options.onError?.(error);
      }
    })().finally(() => {
      running = null;
    });
    return running;
  };
  const timer = setInterval(() => void flush(), options.intervalMs ?? 1000);
  timer.unref();
  return {
    flush,
    async stop() {
      clearInterval(timer);
      await running;
      await flush();
    },
  };
}
