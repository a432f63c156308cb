/**
 * What is SQLite's own: the file, WAL mode, foreign keys, migrations. The behaviour every store
 * shares is tested in contract.test.ts.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { describe, test } from "node:test";
import { LinkgateError } from "../../src/errors/index.js";
import { openStore } from "../../src/store/index.js";
import { MIGRATIONS, migrate } from "../../src/store/sqlite/migrations.js";
import { SqliteStore } from "../../src/store/sqlite/store.js";
import { ADMIN, manualClock, openTempStore, tempDir, tenantInput, VPCE } from "./helpers.js";

describe("opening and migrations", () => {
  test("an empty file gets every migration, in WAL mode; reopening applies none again", async (t) => {
    const path = join(tempDir(t), "lg.db");
    const clock = manualClock();
    const store = SqliteStore.open({ path, now: clock.now });
    await store.createTenant(tenantInput("megacorp"), ADMIN);
    await store.close();
    assert.ok(existsSync(path));

    const db = new DatabaseSync(path);
    t.after(() => db.close());
    assert.equal(db.prepare("PRAGMA journal_mode").get()?.journal_mode, "wal");
    const applied = () =>
      db.prepare("SELECT version, applied_at FROM schema_migrations ORDER BY version").all();
    const first = applied();
    assert.deepEqual(
      first.map((r) => r.version),
      MIGRATIONS.map((m) => m.version),
    );
    assert.equal(first[0].applied_at, clock.at);

    clock.at += 60_000;
    const again = SqliteStore.open({ path, now: clock.now });
    assert.deepEqual(applied(), first, "nothing re-applied");
    assert.equal((await again.getTenant("megacorp"))?.id, "megacorp", "the data is kept");
    await again.close();
  });

  test("foreign keys are on: deleting a tenant deletes its rules and host names", async (t) => {
    const { store, path } = openTempStore(t);
    await store.createTenant(
      tenantInput("megacorp", {
        hostnames: ["api.megacorp.com"],
        allow: { rules: [{ link: VPCE }] },
      }),
      ADMIN,
    );
    await store.deleteTenant("megacorp", ADMIN);
    const db = new DatabaseSync(path);
    t.after(() => db.close());
    assert.equal(db.prepare("SELECT count(*) AS n FROM rules").get()?.n, 0);
    assert.equal(db.prepare("SELECT count(*) AS n FROM tenant_hostnames").get()?.n, 0);
  });

  test("a failing migration is rolled back whole and not recorded", () => {
    const db = new DatabaseSync(":memory:");
    const broken = [
      ...MIGRATIONS,
      { version: 2, name: "broken", sql: "CREATE TABLE t2 (a); INSERT INTO nowhere VALUES (1);" },
    ];
    assert.throws(() => migrate(db, 1, broken), /no such table: nowhere/);
    const versions = db.prepare("SELECT version FROM schema_migrations").all();
    assert.deepEqual(
      versions.map((r) => r.version),
      [1],
    );
    assert.equal(
      db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 't2'").get()?.n,
      0,
      "the table of the failed migration is gone",
    );
    assert.deepEqual(migrate(db, 2, broken.slice(0, 1)), [], "the good one is not re-run");
    db.close();
  });

  test("a database from a newer linkgate is refused", async (t) => {
    const path = join(tempDir(t), "lg.db");
    await (await openStore({ type: "sqlite", path })).close();
    const db = new DatabaseSync(path);
    db.prepare("INSERT INTO schema_migrations VALUES (99, 'future', 0)").run();
    db.close();
    assert.throws(
      () => SqliteStore.open({ path }),
      (e: unknown) => e instanceof LinkgateError && e.code === "STORE_UNSUPPORTED",
    );
  });

  test("openStore opens a SQLite store, always up", async (t) => {
    const clock = manualClock();
    const store = await openStore({ type: "sqlite", path: join(tempDir(t), "a.db") }, clock);
    assert.deepEqual((await store.loadAll()).tenants, []);
    assert.deepEqual(store.health(), { state: "up", since: clock.at, lastError: null });
    await store.close();
  });
});
