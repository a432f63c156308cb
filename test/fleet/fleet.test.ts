/**
 * A fleet on PostgreSQL, end to end: `linkgate serve` processes on one real database (a
 * throwaway server per file), real connections through their listeners, their REST APIs.
 *
 * - Three instances started together on an empty database (they migrate it once), one of them
 *   with `--workers 2`: a change through one's API is enforced by the others; what each saw is counted in the one observed
 *   feed; an instance killed and restarted enforces what changed meanwhile.
 * - The database stopped under traffic: every instance keeps admitting what it admitted and
 *   denying what it denied, an expiring rule still expires, writes answer 503, reads are
 *   marked stale, /healthz says the store is down and /readyz stays ready; once the database
 *   is back, writes work and every instance enforces them.
 * - A start while the database is down: from the snapshot file, then caught up once the
 *   database answers; without a snapshot, no start.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, type TestContext, test } from "node:test";
import { postgresPerFile } from "../helpers/postgres.js";
import { waitFor } from "../helpers/programs.js";
import { spawnServe } from "../helpers/serve.js";
import {
  type Instance,
  instanceConfig,
  OTHER,
  startInstance,
  startProbeOrigin,
  until,
  VPCE,
} from "./fleet.js";

const server = postgresPerFile();
const THIRD = "gcp:18446744072646845442";

/** A new database, a probe origin and a directory for configurations and snapshots. */
async function fleet(t: TestContext) {
  const pg = await server(t);
  if (pg === null) return null;
  const url = await pg.createDatabase();
  const origin = await startProbeOrigin(t);
  const dir = mkdtempSync(join(tmpdir(), "linkgate-fleet-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const config = (name: string, over: { checkInterval?: string; snapshot?: boolean } = {}) =>
    instanceConfig({
      originPort: origin.port,
      url,
      checkInterval: over.checkInterval,
      snapshotPath: over.snapshot === false ? null : join(dir, `${name}.snapshot.json`),
    });
  const start = (name: string, over: Parameters<typeof config>[1] & { workers?: number } = {}) =>
    startInstance(t, dir, name, config(name, over), { workers: over.workers });
  return { pg, url, dir, config, start };
}

async function createMegacorp(a: Instance, rules: unknown[]) {
  const created = await a.api("POST", "/v1/tenants", {
    id: "megacorp",
    allow: { publicInternet: false, rules },
  });
  assert.equal(created.status, 201, JSON.stringify(created.json));
  return created;
}

describe("a fleet on PostgreSQL", { timeout: 120_000 }, () => {
  test("three instances: a change through one is enforced by the others; one observed feed; a restart resyncs", async (t) => {
    const f = await fleet(t);
    if (f === null) return;
    // Health checks once a minute: what reaches the other instances here is the notification.
    // b runs two worker processes: its primary owns the store and hands the changes over.
    const slow = { checkInterval: "60s" };
    const [a, b, c] = await Promise.all([
      f.start("a", slow),
      f.start("b", { ...slow, workers: 2 }),
      f.start("c", slow),
    ]);

    await createMegacorp(a, [{ link: VPCE }]);
    for (const i of [b, c]) {
      await until(i, VPCE, "megacorp", true, 5000);
      assert.equal(await i.admits(OTHER, "megacorp"), false, `${i.name} denies another endpoint`);
    }

    const added = await b.api("POST", "/v1/tenants/megacorp/rules", { link: OTHER });
    assert.equal(added.status, 201);
    assert.equal(added.headers.get("linkgate-enforced"), "true");
    assert.equal(await b.admits(OTHER, "megacorp"), true, "in force where it was written");
    for (const i of [a, c]) await until(i, OTHER, "megacorp", true, 5000);

    // Counted where the connections were decided, merged in the database: one feed.
    const before = await a.api("GET", "/v1/tenants/megacorp/observed");
    const counted = (o: { json: { items: { identity: string; allowed: number }[] } }) =>
      o.json.items.find((x) => x.identity === VPCE)?.allowed ?? 0;
    const base = counted(before);
    for (let k = 0; k < 3; k++) {
      assert.equal(await b.admits(VPCE, "megacorp"), true);
      assert.equal(await c.admits(VPCE, "megacorp"), true);
    }
    await waitFor(
      async () => counted(await a.api("GET", "/v1/tenants/megacorp/observed")) >= base + 6,
      {
        timeoutMs: 10_000,
        what: "the connections through b and c in the observed feed a serves",
      },
    );

    // c is killed; a change is made meanwhile; c restarted enforces it.
    c.serve.child.kill("SIGKILL");
    await c.serve.exited;
    const rules = (await a.api("GET", "/v1/tenants/megacorp/rules")).json.items;
    const other = rules.find((r: { link: string }) => r.link === OTHER);
    assert.equal(
      (await a.api("DELETE", `/v1/tenants/megacorp/rules/${other.id}?force=true`)).status,
      204,
    );
    await until(b, OTHER, "megacorp", false, 5000);
    const again = await f.start("c", slow);
    assert.equal(
      await again.admits(OTHER, "megacorp"),
      false,
      "the deletion made while it was down",
    );
    assert.equal(await again.admits(VPCE, "megacorp"), true);
  });

  test("the database stops under traffic, then comes back", async (t) => {
    const f = await fleet(t);
    if (f === null) return;
    const [a, b] = await Promise.all(["a", "b"].map((n) => f.start(n)));
    await createMegacorp(a, [{ link: VPCE }]);
    // A rule that expires while the database is down.
    const expiresAt = Date.now() + 4000;
    const expiring = await a.api("POST", "/v1/tenants/megacorp/rules", {
      link: THIRD,
      expiresAt: new Date(expiresAt).toISOString(),
    });
    assert.equal(expiring.status, 201);
    for (const i of [a, b]) {
      await until(i, THIRD, "megacorp", true, 5000);
      await until(i, VPCE, "megacorp", true, 5000);
    }

    // Traffic through both instances for the whole outage.
    const wrong: string[] = [];
    let traffic = true;
    // If an assertion below fails, the traffic must stop with the test (not spin on
    // connections refused by instances already stopped).
    t.after(() => {
      traffic = false;
    });
    let rounds = 0;
    const load = (async () => {
      for (; traffic; rounds++) {
        for (const i of [a, b]) {
          if (!(await i.admits(VPCE, "megacorp"))) wrong.push(`${i.name} denied ${VPCE}`);
          if (await i.admits(OTHER, "megacorp")) wrong.push(`${i.name} admitted ${OTHER}`);
        }
      }
    })();

    await f.pg.stop();
    const roundsBefore = rounds;
    for (const i of [a, b]) {
      const health = await waitFor(
        async () => {
          const h = await i.healthz();
          return h.store?.state === "down" ? h : undefined;
        },
        { timeoutMs: 10_000, what: `${i.name}'s /healthz to show the store down` },
      );
      assert.equal(health.status, "ok");
      assert.equal(health.store.type, "postgres");
      assert.equal(typeof health.store.lastError, "string");
      assert.equal(await i.readyz(), 200, "the data plane is fine: still ready");
      assert.equal(await i.metric("linkgate_store_up"), 0, `${i.name}: linkgate_store_up`);
    }
    const write = await a.api("POST", "/v1/tenants/megacorp/rules", { link: OTHER });
    assert.equal(write.status, 503);
    assert.equal(write.json.error.code, "STORE_UNAVAILABLE");
    // Log lines are written in batches: wait for this one.
    const refused = await waitFor(
      () => {
        const lines = a.serve.find("request refused: store unavailable");
        return lines.length > 0 ? lines : undefined;
      },
      { timeoutMs: 5000, what: "the refused write's log line" },
    );
    assert.equal(refused[0].level, "warn", "below error: the outage has its own line");
    assert.equal(refused[0].code, "STORE_UNAVAILABLE");
    assert.equal(a.serve.find("request failed").length, 0);
    const read = await b.api("GET", "/v1/tenants/megacorp");
    assert.equal(read.status, 200);
    assert.equal(read.headers.get("linkgate-stale"), "true");
    assert.deepEqual(
      read.json.allow.rules.map((r: { link: string }) => r.link),
      [VPCE, THIRD],
      "the tenant as b enforces it",
    );
    assert.equal((await b.api("GET", "/v1/tenants/megacorp/observed")).status, 503);

    // The expiring rule stops admitting at its time, database or not.
    await waitFor(() => Date.now() > expiresAt + 100, { timeoutMs: 10_000, intervalMs: 50 });
    for (const i of [a, b]) assert.equal(await i.admits(THIRD, "megacorp"), false);

    assert.ok(rounds - roundsBefore >= 10, `traffic went on (${rounds - roundsBefore} rounds)`);
    await f.pg.start();
    for (const i of [a, b]) {
      await waitFor(async () => (await i.healthz()).store?.state === "up", {
        timeoutMs: 15_000,
        what: `${i.name} to see the store up again`,
      });
      assert.equal(await i.metric("linkgate_store_up"), 1, `${i.name}: linkgate_store_up`);
    }
    traffic = false;
    await load;
    assert.deepEqual(wrong, [], "every connection decided as before, during and after the outage");
    const after = await waitFor(
      async () => {
        const w = await a.api("POST", "/v1/tenants/megacorp/rules", { link: OTHER });
        return w.status === 201 ? w : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 200, what: "a write to work again" },
    );
    assert.equal(after.headers.get("linkgate-enforced"), "true");
    await until(b, OTHER, "megacorp", true, 5000);
    const fresh = await b.api("GET", "/v1/tenants/megacorp");
    assert.equal(fresh.headers.get("linkgate-stale"), null);
  });

  test("a start while the database is down: from the snapshot, then caught up; without one, no start", async (t) => {
    const f = await fleet(t);
    if (f === null) return;
    const [a, b] = await Promise.all(["a", "b"].map((n) => f.start(n)));
    const created = await createMegacorp(a, [{ link: VPCE }]);
    const version = Number(created.headers.get("linkgate-version"));
    const snapshot = join(f.dir, "a.snapshot.json");
    await waitFor(
      () => existsSync(snapshot) && JSON.parse(readFileSync(snapshot, "utf8")).version >= version,
      { timeoutMs: 10_000, what: "a's snapshot to hold the tenant" },
    );
    a.serve.child.kill("SIGTERM");
    assert.equal(await a.serve.exited, 0);
    // A change a has not seen, then no database at all.
    assert.equal((await b.api("POST", "/v1/tenants/megacorp/rules", { link: OTHER })).status, 201);
    b.serve.child.kill("SIGTERM");
    await b.serve.exited;
    await f.pg.stop();

    const cold = await f.start("a");
    const started = cold.serve.find(
      "store unreachable at start: enforcing the policy snapshot until it answers",
    );
    assert.equal(started.length, 1, "it says it starts from the snapshot");
    assert.equal(started[0].snapshotPath, snapshot);
    assert.equal(await cold.admits(VPCE, "megacorp"), true, "the snapshot's rule");
    assert.equal(await cold.admits(OTHER, "megacorp"), false, "the later change is not in it");
    const health = await cold.healthz();
    assert.equal(health.store.state, "down");
    assert.equal(health.store.policyFrom, "snapshot");
    assert.equal(await cold.metric("linkgate_store_up"), 0);
    assert.equal(await cold.metric("linkgate_store_policy_from_snapshot"), 1);
    assert.equal((await cold.api("POST", "/v1/tenants", { id: "initech" })).status, 503);
    assert.equal(
      (await cold.api("GET", "/v1/tenants/megacorp")).headers.get("linkgate-stale"),
      "true",
    );

    // Neither database nor snapshot: no start, and the reason.
    for (const [name, snapshotPath, reason] of [
      ["nosnap", null, /store\.snapshotPath is not set/],
      ["missing", join(f.dir, "none.json"), /none\.json does not exist/],
    ] as const) {
      const file = join(f.dir, `${name}.yaml`);
      writeFileSync(file, instanceConfig({ originPort: 1, url: f.url, snapshotPath }));
      const refused = spawnServe(t, ["-c", file, "--no-watch"]);
      assert.notEqual(await refused.exited, 0, `${name}: not started`);
      assert.match(refused.stderr(), reason);
      assert.match(refused.stderr(), /cannot reach the PostgreSQL store/);
    }

    await f.pg.start();
    await until(cold, OTHER, "megacorp", true, 15_000);
    const up = await cold.healthz();
    assert.equal(up.store.state, "up");
    assert.equal(up.store.policyFrom, "database");
    assert.equal(await cold.metric("linkgate_store_up"), 1);
    assert.equal(await cold.metric("linkgate_store_policy_from_snapshot"), 0);
    assert.equal(await cold.metric("linkgate_store_policy_version"), up.store.version);
  });
});
