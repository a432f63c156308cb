/**
 * What is PostgreSQL's own: migrations under an advisory lock, the change feed across
 * instances (NOTIFY, lost notifications, a listening session that reconnects, a pruned feed),
 * concurrent counter flushes, and outages. The behaviour every store shares is tested in
 * contract.test.ts.
 */
import assert from "node:assert/strict";
import { describe, type TestContext, test } from "node:test";
import postgres from "postgres";
import { openStore } from "../../src/store/index.js";
import { MIGRATIONS, migrate } from "../../src/store/postgres/migrations.js";
import type { PostgresStoreOptions } from "../../src/store/postgres/store.js";
import type { ChangeSet, ObservedIdentity, Store, StoreHealth } from "../../src/store/types.js";
import { postgresPerFile, requirePostgres, startPostgres } from "../helpers/postgres.js";
import { delay, freePort, listenTcp, waitFor } from "../helpers/programs.js";
import {
  ADMIN,
  manualClock,
  openPostgresStore,
  rejectsWith,
  rule,
  tenantInput,
  VPCE,
} from "./helpers.js";

const server = postgresPerFile();

/** A new database: its URL, and a raw connection to it (closed when the test ends). */
async function database(t: TestContext) {
  const pg = await server(t);
  if (pg === null) return null;
  const url = await pg.createDatabase();
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  t.after(() => sql.end({ timeout: 1 }));
  return { pg, url, sql };
}

/** Opens a store on `url` that hears changes only from notifications (no periodic check). */
function openListening(t: TestContext, url: string, options: Partial<PostgresStoreOptions> = {}) {
  return openPostgresStore(t, { url, checkIntervalMs: 60_000, ...options });
}

/** Records every change a store's listeners hear. */
function hear(store: Store): ChangeSet[] {
  const heard: ChangeSet[] = [];
  store.onChange((c) => heard.push(c));
  return heard;
}

/** Waits until `heard` reaches `version` (a change after it would fail the test's assertion). */
function reached(heard: ChangeSet[], version: number, what: string): Promise<unknown> {
  return waitFor(() => (heard.at(-1)?.version ?? 0) >= version, { what, timeoutMs: 10_000 });
}

/**
 * Commits `count` changes of tenant `tenantId` the way writes do, but without their
 * notifications; with `keep`, then prunes the feed to its last `keep` entries as an instance
 * opening with `feedRetention: keep` does, in the same transaction (no store can follow the
 * feed in between). Returns the last version.
 */
async function commitWithoutNotify(
  sql: postgres.Sql,
  tenantId: string,
  { count = 1, keep }: { count?: number; keep?: number } = {},
): Promise<number> {
  return sql.begin(async (tx) => {
    let version = 0;
    for (let i = 0; i < count; i++) {
      [{ version }] = await tx<{ version: number }[]>`
        UPDATE store_state SET version = version + 1 RETURNING version::float8 AS version`;
      await tx`INSERT INTO changes (version, write_version, tenant_id, at)
        VALUES (${version}, ${version}, ${tenantId}, 0)`;
      await tx`UPDATE tenants SET enforcement = 'report-only', revision = ${version}
        WHERE id = ${tenantId}`;
    }
    if (keep !== undefined) {
      await tx`DELETE FROM changes WHERE version <= ${version - keep}`;
      await tx`UPDATE store_state SET feed_floor = ${version - keep}`;
    }
    return version;
  });
}

describe("the postgres store", { timeout: 120_000 }, () => {
  describe("migrations", () => {
    test("instances starting together on an empty database migrate it exactly once", async (t) => {
      const db = await database(t);
      if (db === null) return;
      // A slow second migration keeps the first instance busy while the others arrive.
      const slow = [
        ...MIGRATIONS,
        { version: 2, name: "slow", sql: "SELECT pg_sleep(0.3); CREATE TABLE slow (a int);" },
      ];
      const instances = Array.from({ length: 5 }, () =>
        postgres(db.url, { max: 1, onnotice: () => {} }),
      );
      t.after(() => Promise.all(instances.map((sql) => sql.end({ timeout: 1 }))));
      const ran = await Promise.all(instances.map((sql, i) => migrate(sql, 1000 + i, slow)));
      assert.deepEqual(
        ran.flat().sort(),
        [1, 2],
        `each migration applied by one instance: ${JSON.stringify(ran)}`,
      );
      const rows = await db.sql`SELECT version FROM schema_migrations ORDER BY version`;
      assert.deepEqual(
        rows.map((r) => r.version),
        [1, 2],
      );

      // Stores opening together on another empty database all start, on one schema.
      const other = await db.pg.createDatabase();
      const stores = await Promise.all(
        Array.from({ length: 5 }, () => openPostgresStore(t, { url: other })),
      );
      const w = await stores[0].createTenant(tenantInput("a"), ADMIN);
      assert.equal((await stores[4].getTenant("a"))?.revision, w.version);
    });

    test("a failing migration is rolled back whole and not recorded", async (t) => {
      const db = await database(t);
      if (db === null) return;
      const broken = [
        ...MIGRATIONS,
        {
          version: 2,
          name: "broken",
          sql: "CREATE TABLE t2 (a int); INSERT INTO nowhere VALUES (1);",
        },
      ];
      await assert.rejects(migrate(db.sql, 1, broken), /relation "nowhere" does not exist/);
      assert.deepEqual(
        (await db.sql`SELECT version FROM schema_migrations`).map((r) => r.version),
        [1],
      );
      const [{ table }] = await db.sql`SELECT to_regclass('t2') AS table`;
      assert.equal(table, null, "the table of the failed migration is gone");
      assert.deepEqual(await migrate(db.sql, 2, MIGRATIONS), [], "the good one is not re-run");
    });

    test("a database from a newer linkgate is refused", async (t) => {
      const db = await database(t);
      if (db === null) return;
      await (await openPostgresStore(t, { url: db.url })).close();
      await db.sql`INSERT INTO schema_migrations VALUES (99, 'future', 0)`;
      await rejectsWith(
        openStore({
          type: "postgres",
          url: db.url,
          snapshotPath: null,
          poolSize: 2,
          connectTimeoutMs: 5000,
          checkIntervalMs: 1000,
        }),
        "STORE_UNSUPPORTED",
        /schema version 99/,
      );
    });
  });

  describe("the change feed across instances", () => {
    test("a change by one instance is heard by the others through NOTIFY, in order", async (t) => {
      const db = await database(t);
      if (db === null) return;
      const a = await openListening(t, db.url);
      const b = await openListening(t, db.url);
      const heardByA = hear(a);
      const heardByB = hear(b);
      await a.createTenant(tenantInput("m"), ADMIN);
      await a.importTenants([tenantInput("n"), tenantInput("o")], ADMIN);
      await a.addRule("m", rule({ link: VPCE }), ADMIN);
      const expected = [
        { version: 1, tenantIds: ["m"], complete: true },
        { version: 3, tenantIds: ["n", "o"], complete: true },
        { version: 4, tenantIds: ["m"], complete: true },
      ];
      assert.deepEqual(heardByA, expected, "the writer heard its writes before they resolved");
      // No periodic check runs (60 s): only the notification can tell b.
      await reached(heardByB, 4, "b hearing a's changes");
      assert.deepEqual(heardByB, expected);
    });

    test("concurrent writers of several instances: every listener hears every version once, in order", async (t) => {
      const db = await database(t);
      if (db === null) return;
      const stores = await Promise.all([1, 2, 3].map(() => openListening(t, db.url)));
      const heard = stores.map(hear);
      await Promise.all(
        stores.flatMap((store, s) =>
          Array.from({ length: 15 }, (_, i) =>
            store.createTenant(tenantInput(`t${s}-${i}`), ADMIN),
          ),
        ),
      );
      const versions = Array.from({ length: 45 }, (_, i) => i + 1);
      for (const [s, changes] of heard.entries()) {
        await reached(changes, 45, `store ${s} hearing 45 changes`);
        assert.deepEqual(
          changes.map((c) => c.version),
          versions,
          `store ${s}: versions without gap or repeat`,
        );
      }
      assert.deepEqual(heard[1], heard[0]);
      assert.deepEqual(heard[2], heard[0]);
      const { tenants, version } = await stores[0].loadAll();
      assert.equal(version, 45);
      assert.deepEqual(
        tenants.map((x) => x.revision).sort((x, y) => x - y),
        versions,
        "each tenant's revision is its version",
      );
    });

    test("a lost notification: the next one's version check delivers both, in order", async (t) => {
      const db = await database(t);
      if (db === null) return;
      const a = await openListening(t, db.url);
      const b = await openListening(t, db.url);
      const heard = hear(b);
      await a.createTenant(tenantInput("m"), ADMIN);
      await a.createTenant(tenantInput("n"), ADMIN);
      await reached(heard, 2, "b hearing the first changes");
      const lost = await commitWithoutNotify(db.sql, "m");
      assert.equal(lost, 3);
      await a.updateTenant("n", { enforcement: "report-only" }, ADMIN);
      await reached(heard, 4, "b hearing both changes");
      assert.deepEqual(heard.slice(2), [
        { version: 3, tenantIds: ["m"], complete: true },
        { version: 4, tenantIds: ["n"], complete: true },
      ]);
    });

    test("a lost notification with none after it: the periodic check delivers it", async (t) => {
      const db = await database(t);
      if (db === null) return;
      const a = await openListening(t, db.url);
      await a.createTenant(tenantInput("m"), ADMIN);
      const b = await openListening(t, db.url, { checkIntervalMs: 100 });
      const heard = hear(b);
      await commitWithoutNotify(db.sql, "m");
      await reached(heard, 2, "the check finding version 2");
      assert.deepEqual(heard, [{ version: 2, tenantIds: ["m"], complete: true }]);
    });

    test("the listening session reconnects and catches up with what it missed", async (t) => {
      const db = await database(t);
      if (db === null) return;
      // b connects as a role of its own, which can be kept from logging in again.
      await db.sql`CREATE ROLE listener_b SUPERUSER LOGIN`;
      const a = await openListening(t, db.url);
      const b = await openListening(t, db.url.replace("postgres@", "listener_b@"));
      const heard = hear(b);
      const listening = () => db.sql`
        SELECT pid FROM pg_stat_activity
        WHERE usename = 'listener_b' AND query ILIKE 'listen%'`;
      assert.equal((await listening()).length, 1, "b's listening session");
      await db.sql`ALTER ROLE listener_b NOLOGIN`;
      await db.sql`SELECT pg_terminate_backend(pid) FROM (${listening()}) AS l`;
      await waitFor(async () => (await listening()).length === 0, { what: "the session's end" });
      await a.createTenant(tenantInput("m"), ADMIN);
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.deepEqual(heard, [], "b did not hear it: no session, and no periodic check");
      await db.sql`ALTER ROLE listener_b LOGIN`;
      await reached(heard, 1, "b catching up after reconnecting");
      assert.deepEqual(heard, [{ version: 1, tenantIds: ["m"], complete: true }]);
      await a.createTenant(tenantInput("n"), ADMIN);
      await reached(heard, 2, "b hearing notifications again");
    });

    test("a listener behind a pruned feed is told to reload everything", async (t) => {
      const db = await database(t);
      if (db === null) return;
      const a = await openListening(t, db.url);
      await a.createTenant(tenantInput("m"), ADMIN);
      const b = await openListening(t, db.url, { checkIntervalMs: 100 });
      const heard = hear(b);
      // Four changes, then the feed keeps 2 entries: b's position (1) is pruned.
      assert.equal(await commitWithoutNotify(db.sql, "m", { count: 4, keep: 2 }), 5);
      await reached(heard, 5, "b's check");
      assert.deepEqual(heard, [{ version: 5, tenantIds: [], complete: false }]);
    });
  });

  test("counters flushed concurrently by several instances add up, without deadlock", async (t) => {
    const db = await database(t);
    if (db === null) return;
    const stores = await Promise.all([1, 2, 3].map(() => openListening(t, db.url)));
    const ruleIds = Array.from({ length: 200 }, (_, i) => `f_${String(i).padStart(3, "0")}`);
    const identities = Array.from({ length: 200 }, (_, i) => `azure:${i}`);
    // Each batch in its own random order: concurrent batches meet rows in different orders.
    const shuffled = <T>(items: T[]) =>
      items
        .map((item) => ({ item, key: Math.random() }))
        .sort((x, y) => x.key - y.key)
        .map(({ item }) => item);
    const seen = (identity: string, at: number): ObservedIdentity => ({
      tenantId: "file-tenant",
      identity,
      provider: "azure",
      listener: `l${at}`,
      lastSource: "10.0.0.1",
      firstSeenAt: at,
      lastSeenAt: at,
      allowed: 1,
      denied: 2,
      lastReason: "POLICY_LINK_ALLOWED",
    });
    const batches = 10;
    await Promise.all(
      stores.flatMap((store, s) =>
        Array.from({ length: batches }, (_, b) =>
          store.recordActivity({
            ruleHits: shuffled(ruleIds).map((ruleId) => ({
              tenantId: "file-tenant",
              ruleId,
              hits: 2,
              lastHitAt: 1000 + s * batches + b,
            })),
            observed: shuffled(identities).map((id) => seen(id, 1000 + s * batches + b)),
          }),
        ),
      ),
    );
    const flushes = stores.length * batches;
    const stats = await stores[0].ruleStats("file-tenant");
    assert.equal(stats.size, 200);
    for (const s of stats.values()) assert.deepEqual(s, { hits: 2 * flushes, lastHitAt: 1029 });
    const observed = await stores[1].getObserved("file-tenant", "azure:7");
    assert.deepEqual(observed, {
      ...seen("azure:7", 1000),
      listener: "l1029",
      lastSeenAt: 1029,
      allowed: flushes,
      denied: 2 * flushes,
    });
  });

  describe("outages", () => {
    test("the database restarts: calls fail with STORE_UNAVAILABLE, then the stores recover by themselves", async (t) => {
      if (!requirePostgres(t)) return;
      // A server of its own: stopping it must not disturb the other tests.
      const pg = await startPostgres(t);
      const url = await pg.createDatabase();
      const clock = manualClock();
      const changesOfA: StoreHealth[] = [];
      const a = await openPostgresStore(t, {
        url,
        now: clock.now,
        checkIntervalMs: 100,
        onHealthChange: (h) => changesOfA.push(h),
      });
      const b = await openPostgresStore(t, { url, checkIntervalMs: 100 });
      const heard = hear(b);
      await a.createTenant(tenantInput("m"), ADMIN);
      await reached(heard, 1, "b hearing the first change");
      assert.deepEqual(a.health(), { state: "up", since: clock.at, lastError: null });

      clock.at += 1000;
      await pg.stop();
      await rejectsWith(a.createTenant(tenantInput("n"), ADMIN), "STORE_UNAVAILABLE");
      assert.equal(a.health().state, "down");
      assert.equal(a.health().since, clock.at);
      assert.ok(a.health().lastError, "why it is down");
      await rejectsWith(a.getTenant("m"), "STORE_UNAVAILABLE", /unreachable since/);
      await rejectsWith(a.loadAll(), "STORE_UNAVAILABLE");
      await waitFor(() => b.health().state === "down", { what: "b's check finding it down" });
      await rejectsWith(b.changesSince(0), "STORE_UNAVAILABLE");

      await pg.start();
      await waitFor(() => a.health().state === "up" && b.health().state === "up", {
        timeoutMs: 15_000,
        what: "both stores back up",
      });
      assert.deepEqual(
        changesOfA.map((h) => h.state),
        ["down", "up"],
      );
      const w = await a.createTenant(tenantInput("n"), ADMIN);
      assert.equal(w.version, 2, "the failed write left nothing");
      await reached(heard, 2, "b hearing n");
      assert.deepEqual(heard[1], { version: 2, tenantIds: ["n"], complete: true });
      assert.equal((await b.getTenant("n"))?.id, "n");
    });

    /** openStore on a PostgreSQL URL at 127.0.0.1:`port`, as `serve` opens it, no snapshot. */
    const openStoreAt = (port: number) =>
      openStore({
        type: "postgres",
        url: `postgres://linkgate@127.0.0.1:${port}/linkgate`,
        snapshotPath: null,
        poolSize: 2,
        connectTimeoutMs: 2000,
        checkIntervalMs: 1000,
      });

    test("an unreachable database at open: STORE_UNAVAILABLE", async () => {
      await rejectsWith(
        openStoreAt(await freePort("127.0.0.1")),
        "STORE_UNAVAILABLE",
        /cannot reach the PostgreSQL store/,
      );
    });

    test("a connection reset right after its startup: STORE_UNAVAILABLE, and nothing unhandled", async (t) => {
      // What a PostgreSQL server that stops or restarts can do to a new connection: complete
      // its startup (here without authentication), then reset it at its first query.
      const { port } = await listenTcp(t, "127.0.0.1", (socket) => {
        let startup = Buffer.alloc(0);
        let started = false;
        socket.on("data", (chunk) => {
          if (started) {
            socket.resetAndDestroy();
            return;
          }
          startup = Buffer.concat([startup, chunk]);
          if (startup.length < 4 || startup.length < startup.readUInt32BE(0)) return;
          started = true;
          // AuthenticationOk, then ReadyForQuery (idle).
          socket.write(Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 0, 0x5a, 0, 0, 0, 5, 0x49]));
        });
      });
      const unhandled: unknown[] = [];
      const onUnhandled = (reason: unknown) => unhandled.push(reason);
      process.on("unhandledRejection", onUnhandled);
      t.after(() => {
        process.off("unhandledRejection", onUnhandled);
      });
      await rejectsWith(
        openStoreAt(port),
        "STORE_UNAVAILABLE",
        /cannot reach the PostgreSQL store: read ECONNRESET/,
      );
      await delay(50);
      assert.deepEqual(unhandled, [], "a rejection nothing handled");
    });
  });
});
