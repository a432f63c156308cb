/**
 * The PostgreSQL store: one database for a fleet of linkgate instances
 * (`store: { type: postgres, url }`, opened by openStore). How it works is in store.ts; this
 * is what the runtime must do with it, which the SQLite store does not require.
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
 * What the runtime must do:
 * 1. Start: openStore, then subscribe (onChange) before loadAll, and ignore changes whose
 *    version is not above the snapshot's: the snapshot and the feed then join without a gap.
 *    openStore fails with STORE_UNAVAILABLE when the database cannot be reached: with
 *    `store.snapshotPath` set, start from the snapshot file (below) and retry openStore in the
 *    background (every checkInterval); without it, refuse to start. STORE_UNSUPPORTED (a schema
 *    newer than this linkgate) is fatal.
 * 2. Apply changes in version order, as heard: for each change, getTenant for each of its
 *    tenantIds (null: deleted) and swap them in. On `complete: false`, loadAll and replace the
 *    store's side of the policy. A getTenant that fails (STORE_UNAVAILABLE) must not be
 *    skipped: remember the last version applied and, once the store is up again (health, or
 *    onHealthChange), catch up with changesSince(lastApplied) (complete: false: loadAll).
 * 3. Outage: keep enforcing the policy in memory, unchanged (no tenant is dropped because the
 *    database is down); report health() in /readyz and a metric; the API answers 503
 *    STORE_UNAVAILABLE for what needs the database; counters stay in the ActivityBuffer
 *    (flushActivity puts a failed batch back) until the database is back.
 * 4. Snapshot: with `store.snapshotPath`, write the store's side of the policy (the tenants
 *    applied and their version: a StoreSnapshot as JSON) after start and after each applied
 *    change (coalesced, at most about once a second), to a temporary file in the same
 *    directory, fsynced, then renamed over the old one, so that a crash never leaves half a
 *    file. A snapshot is only a way to start during an outage: once the store opens, loadAll
 *    replaces it.
 * 5. Workers: the primary process alone opens the store and follows the feed, and hands the
 *    changes to workers as it does for SQLite; each instance of a fleet opens one store.
 * 6. Stop: close() the store after the last counter flush.
 *
 * Deployment notes: the listening session needs a direct connection or session pooling
 * (PgBouncer's transaction pooling drops LISTEN); migrations take a transaction-level advisory
 * lock, which any pooler supports. On a hot standby LISTEN and writes are refused: point the
 * URL at the primary (`?target_session_attrs=primary` with several hosts).
 */
export { CHANGES_CHANNEL, PostgresStore, type PostgresStoreOptions } from "./store.js";
