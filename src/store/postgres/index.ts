/**
 * The PostgreSQL store: one database for a fleet of linkgate instances
 * (`store: { type: postgres, url }`, opened by openStore). How it works is in store.ts; here:
 * what it guarantees, and what the runtime must do with it that SQLite does not require.
 *
 * Guarantees it gives:
 * - Versions. Every policy write (createTenant, importTenants, updateTenant, deleteTenant,
 *   addRule, deleteRule, replaceRules) commits under one counter for the whole fleet: versions
 *   grow by one per changed tenant, never repeat, have no gap, and follow commit order. A
 *   reader that sees version v committed sees every version below it.
 * - The feed. onChange listeners of every instance hear every committed write once, in version
 *   order, with its version and tenants, from the moment they subscribe, whichever instance
 *   made it. A write resolves once the listeners of its own instance have heard of it (unless
 *   the database became unreachable right after its commit: they hear of it when it is back).
 *   Another instance hears of it when the notification arrives (NOTIFY, delivered at
 *   commit), or at its next health check (`checkInterval`, 1 s by default) if the
 *   notification was lost, or when its listening session reconnects. If the feed was pruned
 *   behind an instance (another instance opened and kept the last `feedRetention` changes,
 *   100 000 by default), its listeners hear `complete: false`.
 * - Outages. health() is "down" from the first call that fails to reach the database, or the
 *   first health check that does; every call then fails at once with STORE_UNAVAILABLE (reads
 *   too) until a health check reaches the database again, by itself, within `checkInterval`
 *   of its return. onHealthChange (an openStore option) tells each transition.
 *
 * What the runtime does with it (src/runtime). store-tenants.ts follows the feed as this store
 * needs: a notification is only a wake-up, it applies changesSince(applied) in version order,
 * reloads everything on `complete: false`, and retries a failed read every second, which is also
 * how it catches up after an outage. control-runtime.ts:
 * - keeps enforcing the policy in memory while the database is down (no tenant is dropped),
 *   logs the onHealthChange transitions, and shows health() in /healthz (/readyz stays ready);
 *   the API answers 503 STORE_UNAVAILABLE for what needs the database, and reads of tenants
 *   from memory, marked stale; counters stay in the ActivityBuffer until a flush works;
 * - with `store.snapshotPath`, keeps the store's tenants in a snapshot file (snapshot.ts), and
 *   when openStore fails with STORE_UNAVAILABLE at start, starts from that file and opens the
 *   store in the background every `checkInterval` (deferred-store.ts), then catches up with
 *   changesSince(snapshot version). Without a snapshot it does not start. STORE_UNSUPPORTED (a
 *   schema newer than this linkgate) stops a start, and is logged by a background open.
 * With `--workers N` only the primary process opens the store: each instance of a fleet opens
 * one store (one pool, one listening session).
 *
 * Deployment notes: the listening session needs a direct connection or session pooling
 * (PgBouncer's transaction pooling drops LISTEN); migrations take a transaction-level advisory
 * lock, which any pooler supports. On a hot standby LISTEN and writes are refused: point the
 * URL at the primary (`?target_session_attrs=primary` with several hosts).
 */
export { CHANGES_CHANNEL, PostgresStore, type PostgresStoreOptions } from "./store.js";
