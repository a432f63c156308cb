/** Counting on the connection path in memory, and flushing to the store in batches. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ActivityBuffer, flushActivity, publicIdentity } from "../../src/store/index.js";
import type { ActivityBatch } from "../../src/store/types.js";
import { ADMIN, openTempStore, tenantInput, VPCE } from "./helpers.js";

describe("ActivityBuffer", () => {
  test("hits and sightings merge in memory until drained", () => {
    const b = new ActivityBuffer();
    b.ruleHit("m", "r_1", 100);
    b.ruleHit("m", "r_1", 300);
    b.ruleHit("m", "r_1", 200);
    b.ruleHit("n", "r_1", 50);
    b.observe("m", VPCE, "aws", "pl", "10.0.0.1", true, "POLICY_LINK_ALLOWED", 100);
    b.observe("m", VPCE, "aws", "pl2", "10.0.0.2", false, "POLICY_LINK_NOT_ALLOWED", 300);
    b.observe("m", VPCE, "aws", "pl", "10.0.0.3", true, "POLICY_LINK_ALLOWED", 200);
    assert.equal(b.size, 3);
    const batch = b.drain();
    assert.deepEqual(batch.ruleHits, [
      { tenantId: "m", ruleId: "r_1", hits: 3, lastHitAt: 300 },
      { tenantId: "n", ruleId: "r_1", hits: 1, lastHitAt: 50 },
    ]);
    assert.deepEqual(batch.observed, [
      {
        tenantId: "m",
        identity: VPCE,
        provider: "aws",
        listener: "pl2",
        lastSource: "10.0.0.2",
        firstSeenAt: 100,
        lastSeenAt: 300,
        allowed: 2,
        denied: 1,
        lastReason: "POLICY_LINK_NOT_ALLOWED",
      },
    ]);
    assert.equal(b.size, 0);
    assert.deepEqual(b.drain(), { ruleHits: [], observed: [] });
  });

  test("a full buffer turns new entries away, and counts them, but still counts known ones", () => {
    const b = new ActivityBuffer({ maxEntries: 2 });
    b.ruleHit("m", "r_1", 1);
    b.observe("m", VPCE, "aws", "pl", null, true, "POLICY_LINK_ALLOWED", 1);
    b.ruleHit("m", "r_2", 1);
    b.observe("m", "azure:1", "azure", "pl", null, true, "POLICY_LINK_ALLOWED", 1);
    b.ruleHit("m", "r_1", 2);
    assert.equal(b.dropped, 2);
    const batch = b.drain();
    assert.deepEqual(batch.ruleHits, [{ tenantId: "m", ruleId: "r_1", hits: 2, lastHitAt: 2 }]);
    assert.equal(batch.observed.length, 1);
  });

  test("restore puts a failed batch back, merged with what came since", () => {
    const b = new ActivityBuffer();
    b.ruleHit("m", "r_1", 10);
    b.observe("m", VPCE, "aws", "pl", "10.0.0.1", true, "POLICY_LINK_ALLOWED", 10);
    const failed = b.drain();
    b.ruleHit("m", "r_1", 5);
    b.observe("m", VPCE, "aws", "pl", "10.0.0.9", false, "POLICY_LINK_NOT_ALLOWED", 5);
    b.restore(failed);
    const merged = b.drain();
    assert.deepEqual(merged.ruleHits, [{ tenantId: "m", ruleId: "r_1", hits: 2, lastHitAt: 10 }]);
    assert.equal(merged.observed[0].allowed, 1);
    assert.equal(merged.observed[0].denied, 1);
    assert.equal(merged.observed[0].firstSeenAt, 5);
    assert.equal(merged.observed[0].lastSource, "10.0.0.1", "the newest sighting wins");
  });
});

describe("publicIdentity", () => {
  test("a /24 for IPv4, a /64 for IPv6, null for what is not an address", () => {
    assert.equal(publicIdentity("203.0.113.77"), "public:203.0.113.0/24");
    assert.equal(publicIdentity("2001:db8:1:2:3:4:5:6"), "public:2001:db8:1:2::/64");
    assert.equal(publicIdentity("nope"), null);
  });
});

describe("flushActivity", () => {
  test("flushes into the store in one batch; a failed flush is retried with the next", async () => {
    const batches: ActivityBatch[] = [];
    let fail = true;
    const errors: unknown[] = [];
    const store = {
      async recordActivity(batch: ActivityBatch) {
        if (fail) throw new Error("store down");
        batches.push(batch);
      },
    };
    const buffer = new ActivityBuffer();
    const flusher = flushActivity(store, buffer, {
      intervalMs: 60_000,
      onError: (e) => errors.push(e),
    });
    buffer.ruleHit("m", "r_1", 1);
    await flusher.flush();
    assert.equal(errors.length, 1);
    assert.equal(batches.length, 0);
    fail = false;
    buffer.ruleHit("m", "r_1", 2);
    await flusher.stop();
    assert.deepEqual(batches, [
      { ruleHits: [{ tenantId: "m", ruleId: "r_1", hits: 2, lastHitAt: 2 }], observed: [] },
    ]);
  });

  test("flushes on its interval into a real store", async (t) => {
    const { store } = openTempStore(t);
    const { tenant } = await store.createTenant(
      tenantInput("m", { allow: { rules: [{ link: VPCE }] } }),
      ADMIN,
    );
    const ruleId = tenant.allow?.rules[0].id ?? "";
    const buffer = new ActivityBuffer();
    const flusher = flushActivity(store, buffer, { intervalMs: 20 });
    t.after(() => flusher.stop());
    for (let i = 0; i < 1000; i++) buffer.ruleHit("m", ruleId, 1000 + i);
    const deadline = Date.now() + 5000;
    while ((await store.ruleStats("m")).get(ruleId)?.hits !== 1000) {
      assert.ok(Date.now() < deadline, "flushed within 5 s");
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.deepEqual((await store.ruleStats("m")).get(ruleId), { hits: 1000, lastHitAt: 1999 });
  });
});
