/**
 * The Store contract: every implementation (SQLite, PostgreSQL) runs these same tests, so that
 * nothing outside src/store can tell which database is underneath.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { tokenHash } from "../../src/store/index.js";
import type { ChangeSet, ObservedIdentity, Store } from "../../src/store/types.js";
import {
  ADMIN,
  AZURE,
  type CommonStoreOptions,
  GCP,
  manualClock,
  rejectsWith,
  rule,
  storeKinds,
  tenantInput,
  VPCE,
  VPCE2,
} from "./helpers.js";

for (const kind of storeKinds()) {
  describe(`the ${kind.name} store`, { timeout: 120_000 }, () => {
    /** A store on a new database, closed after the test; null when the test is skipped. */
    const open = async (
      t: import("node:test").TestContext,
      options?: CommonStoreOptions,
    ): Promise<Store | null> => (await kind.open(t, options))?.store ?? null;

    describe("tenants", () => {
      test("create, get, update, delete, with times and revisions", async (t) => {
        const clock = manualClock();
        const store = await open(t, { now: clock.now });
        if (store === null) return;
        const created = await store.createTenant(
          tenantInput("megacorp", {
            hostnames: ["api.megacorp.com", "b.megacorp.com"],
            upstream: "10.0.0.1:443",
            enforcement: "report-only",
            allow: {
              publicInternet: true,
              rules: [
                { link: VPCE, description: "prod" },
                { cidr: "203.0.113.0/24", expiresAt: clock.at + 1000 },
              ],
            },
          }),
          ADMIN,
        );
        const t1 = created.tenant;
        assert.equal(created.version, 1);
        assert.equal(t1.revision, 1);
        assert.deepEqual(t1.hostnames, ["api.megacorp.com", "b.megacorp.com"]);
        assert.equal(t1.upstream, "10.0.0.1:443");
        assert.equal(t1.enforcement, "report-only");
        assert.equal(t1.allow?.publicInternet, true);
        assert.equal(t1.allow?.rules.length, 2);
        const [r0, r1] = t1.allow?.rules ?? [];
        assert.match(r0.id, /^r_[0-9a-f]{20}$/);
        assert.notEqual(r0.id, r1.id);
        assert.deepEqual(
          { ...r1, id: "" },
          {
            id: "",
            link: null,
            cidr: "203.0.113.0/24",
            description: null,
            expiresAt: clock.at + 1000,
            createdAt: clock.at,
          },
        );
        assert.equal(t1.createdAt, clock.at);
        assert.deepEqual(await store.getTenant("megacorp"), t1);

        clock.at += 5000;
        const updated = await store.updateTenant(
          "megacorp",
          {
            enforcement: "enforce",
            hostnames: ["c.megacorp.com"],
            allow: { publicInternet: false },
          },
          ADMIN,
        );
        assert.equal(updated.version, 2);
        assert.equal(updated.tenant.revision, 2);
        assert.equal(updated.tenant.enforcement, "enforce");
        assert.deepEqual(updated.tenant.hostnames, ["c.megacorp.com"]);
        assert.equal(updated.tenant.allow?.publicInternet, false);
        assert.equal(updated.tenant.allow?.rules.length, 2, "rules kept");
        assert.equal(updated.tenant.upstream, "10.0.0.1:443", "absent keys unchanged");
        assert.equal(updated.tenant.createdAt, t1.createdAt);
        assert.equal(updated.tenant.updatedAt, clock.at);
        assert.deepEqual(
          await store.hostnameOwners(["api.megacorp.com", "c.megacorp.com"]),
          new Map([["c.megacorp.com", "megacorp"]]),
        );

        const lifted = await store.updateTenant("megacorp", { allow: null, upstream: null }, ADMIN);
        assert.equal(
          lifted.tenant.allow,
          null,
          "allow: null lifts the restriction and drops rules",
        );
        assert.equal(lifted.tenant.upstream, null);
        const restricted = await store.updateTenant(
          "megacorp",
          { allow: { publicInternet: true } },
          ADMIN,
        );
        assert.deepEqual(restricted.tenant.allow, { publicInternet: true, rules: [] });

        const deleted = await store.deleteTenant("megacorp", ADMIN);
        assert.equal(deleted.version, 5);
        assert.equal(await store.getTenant("megacorp"), null);
        await rejectsWith(store.deleteTenant("megacorp", ADMIN), "TENANT_NOT_FOUND");
        await rejectsWith(store.updateTenant("nope", {}, ADMIN), "TENANT_NOT_FOUND");
      });

      test("a tenant created again after a delete gets a revision never used before", async (t) => {
        const store = await open(t);
        if (store === null) return;
        const a = await store.createTenant(tenantInput("x"), ADMIN);
        await store.deleteTenant("x", ADMIN);
        const b = await store.createTenant(tenantInput("x"), ADMIN);
        assert.ok(b.tenant.revision > a.tenant.revision);
      });

      test("conflicts: TENANT_EXISTS, HOSTNAME_TAKEN, RULE_DUPLICATE, PRECONDITION_FAILED", async (t) => {
        const store = await open(t);
        if (store === null) return;
        await store.createTenant(tenantInput("a", { hostnames: ["a.example.com"] }), ADMIN);
        await rejectsWith(store.createTenant(tenantInput("a"), ADMIN), "TENANT_EXISTS");
        await rejectsWith(
          store.createTenant(tenantInput("b", { hostnames: ["a.example.com"] }), ADMIN),
          "HOSTNAME_TAKEN",
          /belongs to tenant "a"/,
        );
        assert.equal(await store.getTenant("b"), null, "nothing of the failed create remains");
        const b = await store.createTenant(tenantInput("b"), ADMIN);
        await rejectsWith(
          store.updateTenant("b", { hostnames: ["a.example.com"] }, ADMIN),
          "HOSTNAME_TAKEN",
        );
        await rejectsWith(
          store.createTenant(
            tenantInput("c", {
              allow: { rules: [{ link: VPCE }, { link: VPCE, description: "x" }] },
            }),
            ADMIN,
          ),
          "RULE_DUPLICATE",
        );
        await store.addRule("b", rule({ link: AZURE, cidr: "10.0.0.0/8" }), ADMIN);
        await rejectsWith(
          store.addRule("b", rule({ link: AZURE, cidr: "10.0.0.0/8" }), ADMIN),
          "RULE_DUPLICATE",
        );
        await store.addRule("b", rule({ link: AZURE }), ADMIN); // same link, no cidr: another rule
        await store.addRule("b", rule({ cidr: "10.0.0.0/8" }), ADMIN);
        await rejectsWith(
          store.updateTenant(
            "b",
            { enforcement: "report-only" },
            { ...ADMIN, ifRevision: b.tenant.revision },
          ),
          "PRECONDITION_FAILED",
        );
        const now = await store.getTenant("b");
        const ok = await store.updateTenant(
          "b",
          { enforcement: "report-only" },
          { ...ADMIN, ifRevision: now?.revision },
        );
        assert.equal(ok.tenant.enforcement, "report-only");
      });

      test("pagination by id visits every tenant once, in order", async (t) => {
        const store = await open(t);
        if (store === null) return;
        const ids = Array.from({ length: 25 }, (_, i) => `t-${String(i).padStart(3, "0")}`);
        for (const id of [...ids].reverse()) await store.createTenant(tenantInput(id), ADMIN);
        const seen: string[] = [];
        let after: string | null = null;
        let pages = 0;
        do {
          const p = await store.listTenants({ limit: 10, after });
          seen.push(...p.items.map((x) => x.id));
          after = p.next;
          pages++;
        } while (after !== null);
        assert.deepEqual(seen, ids);
        assert.equal(pages, 3);
        const exact = await store.listTenants({ limit: 25, after: null });
        assert.equal(exact.next, null, "no next page when the last page is exactly full");
      });
    });

    describe("rules", () => {
      test("add appends; delete removes; an unrestricted tenant's first rule turns its allow list on", async (t) => {
        const store = await open(t);
        if (store === null) return;
        await store.createTenant(tenantInput("m"), ADMIN);
        const a = await store.addRule("m", rule({ link: VPCE }), ADMIN);
        assert.deepEqual(a.tenant.allow?.publicInternet, false);
        assert.deepEqual(
          a.tenant.allow?.rules.map((r) => r.id),
          [a.rule.id],
        );
        const b = await store.addRule("m", rule({ link: GCP }), ADMIN);
        const c = await store.addRule("m", rule({ cidr: "192.0.2.0/24" }), ADMIN);
        await store.deleteRule("m", b.rule.id, ADMIN);
        const d = await store.addRule("m", rule({ link: AZURE }), ADMIN);
        const after = await store.getTenant("m");
        assert.deepEqual(
          after?.allow?.rules.map((r) => r.id),
          [a.rule.id, c.rule.id, d.rule.id],
        );
        await rejectsWith(store.deleteRule("m", b.rule.id, ADMIN), "RULE_NOT_FOUND");
        await rejectsWith(store.addRule("nope", rule({ link: VPCE }), ADMIN), "TENANT_NOT_FOUND");
      });

      test("replace is atomic, keeps the ids, times and counters of rules it keeps", async (t) => {
        const clock = manualClock();
        const store = await open(t, { now: clock.now });
        if (store === null) return;
        const { tenant } = await store.createTenant(
          tenantInput("m", { allow: { rules: [{ link: VPCE }, { link: GCP }] } }),
          ADMIN,
        );
        const [vpce, gcp] = tenant.allow?.rules ?? [];
        await store.recordActivity({
          ruleHits: [
            { tenantId: "m", ruleId: vpce.id, hits: 3, lastHitAt: clock.at },
            { tenantId: "m", ruleId: gcp.id, hits: 2, lastHitAt: clock.at },
          ],
          observed: [],
        });
        clock.at += 1000;
        const replaced = await store.replaceRules(
          "m",
          [rule({ link: AZURE }), rule({ link: VPCE, description: "renamed" })],
          ADMIN,
        );
        const rules = replaced.tenant.allow?.rules ?? [];
        assert.deepEqual(
          rules.map((r) => [r.link, r.description]),
          [
            [AZURE, null],
            [VPCE, "renamed"],
          ],
        );
        assert.equal(rules[1].id, vpce.id);
        assert.equal(rules[1].createdAt, vpce.createdAt);
        assert.equal(rules[0].createdAt, clock.at);
        assert.deepEqual(
          await store.ruleStats("m"),
          new Map([[vpce.id, { hits: 3, lastHitAt: clock.at - 1000 }]]),
          "the dropped rule's counters go with it",
        );

        const revision = replaced.tenant.revision;
        await rejectsWith(
          store.replaceRules("m", [rule({ link: GCP }), rule({ link: GCP })], ADMIN),
          "RULE_DUPLICATE",
        );
        const unchanged = await store.getTenant("m");
        assert.equal(unchanged?.revision, revision, "a failed replace changes nothing");
        assert.deepEqual(unchanged?.allow?.rules, rules);
        await rejectsWith(
          store.replaceRules("m", [], { ...ADMIN, ifRevision: revision - 1 }),
          "PRECONDITION_FAILED",
        );
        const emptied = await store.replaceRules("m", [], { ...ADMIN, ifRevision: revision });
        assert.deepEqual(emptied.tenant.allow, { publicInternet: false, rules: [] });
      });
    });

    describe("change feed", () => {
      test("every write bumps the version; changesSince and listeners see them in order", async (t) => {
        const store = await open(t);
        if (store === null) return;
        // A listener is told of a committed change: a read it starts then sees the change.
        const heard: ChangeSet[] = [];
        const reads: Promise<ChangeSet>[] = [];
        const unsubscribe = store.onChange((change) => {
          heard.push(change);
          reads.push(store.changesSince(change.version - 1));
        });
        assert.deepEqual(await store.changesSince(0), {
          version: 0,
          tenantIds: [],
          complete: true,
        });
        await store.createTenant(tenantInput("a"), ADMIN);
        await store.createTenant(tenantInput("b"), ADMIN);
        const r = await store.addRule("a", rule({ link: VPCE }), ADMIN);
        await rejectsWith(store.addRule("a", rule({ link: VPCE }), ADMIN), "RULE_DUPLICATE");
        await store.deleteTenant("b", ADMIN);
        assert.equal(r.version, 3);
        assert.deepEqual(
          heard.map((h) => [h.version, h.tenantIds, h.complete]),
          [
            [1, ["a"], true],
            [2, ["b"], true],
            [3, ["a"], true],
            [4, ["b"], true],
          ],
          "each write heard before it resolves; a failed write is not announced",
        );
        for (const [i, read] of (await Promise.all(reads)).entries()) {
          assert.deepEqual(read.tenantIds, heard[i].tenantIds, `change ${heard[i].version}`);
        }
        assert.deepEqual(await store.changesSince(0), {
          version: 4,
          tenantIds: ["a", "b"],
          complete: true,
        });
        assert.deepEqual(await store.changesSince(3), {
          version: 4,
          tenantIds: ["b"],
          complete: true,
        });
        assert.deepEqual(await store.changesSince(4), {
          version: 4,
          tenantIds: [],
          complete: true,
        });
        assert.equal((await store.changesSince(9)).complete, false, "ahead of the store: resync");
        assert.equal((await store.loadAll()).version, 4);
        unsubscribe();
        await store.createTenant(tenantInput("c"), ADMIN);
        assert.equal(heard.length, 4);
      });

      test("a listener that throws does not fail the write", async (t) => {
        const errors: unknown[] = [];
        const store = await open(t, { onListenerError: (e) => errors.push(e) });
        if (store === null) return;
        store.onChange(() => {
          throw new Error("boom");
        });
        const heard: number[] = [];
        store.onChange((c) => heard.push(c.version));
        const w = await store.createTenant(tenantInput("a"), ADMIN);
        assert.equal(w.version, 1);
        assert.deepEqual(heard, [1]);
        assert.equal(errors.length, 1);
      });

      test("pruned entries: changesSince from before them says to reload everything", async (t) => {
        const opened = await kind.open(t);
        if (opened === null) return;
        const first = opened.store;
        for (const id of ["a", "b", "c", "d", "e"])
          await first.createTenant(tenantInput(id), ADMIN);
        await first.close();
        const store = await opened.reopen({ feedRetention: 2 });
        assert.deepEqual(await store.changesSince(1), {
          version: 5,
          tenantIds: [],
          complete: false,
        });
        assert.deepEqual(await store.changesSince(3), {
          version: 5,
          tenantIds: ["d", "e"],
          complete: true,
        });
        const w = await store.createTenant(tenantInput("f"), ADMIN);
        assert.equal(w.version, 6, "versions go on after pruning");
      });
    });

    describe("counters and observed identities", () => {
      const obs = (over: Partial<ObservedIdentity>): ObservedIdentity => ({
        tenantId: "m",
        identity: VPCE,
        provider: "aws",
        listener: "privatelink",
        lastSource: "10.0.0.1",
        firstSeenAt: 1000,
        lastSeenAt: 1000,
        allowed: 1,
        denied: 0,
        lastReason: "POLICY_LINK_ALLOWED",
        ...over,
      });

      test("batches merge: counts add up, first seen keeps the oldest, last values the newest", async (t) => {
        const store = await open(t);
        if (store === null) return;
        await store.recordActivity({ ruleHits: [], observed: [obs({})] });
        await store.recordActivity({
          ruleHits: [],
          observed: [
            obs({
              firstSeenAt: 2000,
              lastSeenAt: 3000,
              lastSource: "10.0.0.2",
              listener: "pl2",
              allowed: 0,
              denied: 4,
              lastReason: "POLICY_LINK_NOT_ALLOWED",
            }),
          ],
        });
        // An older batch arriving late adds its counts but not its "last" values.
        await store.recordActivity({
          ruleHits: [],
          observed: [
            obs({ firstSeenAt: 500, lastSeenAt: 600, lastSource: "10.9.9.9", allowed: 2 }),
          ],
        });
        assert.deepEqual(await store.getObserved("m", VPCE), {
          ...obs({}),
          listener: "pl2",
          lastSource: "10.0.0.2",
          firstSeenAt: 500,
          lastSeenAt: 3000,
          allowed: 3,
          denied: 4,
          lastReason: "POLICY_LINK_NOT_ALLOWED",
        });
        assert.equal(await store.getObserved("m", GCP), null);
      });

      test("listObserved pages by identity and filters by last seen", async (t) => {
        const store = await open(t);
        if (store === null) return;
        await store.recordActivity({
          ruleHits: [],
          observed: [
            obs({ identity: VPCE, lastSeenAt: 5000 }),
            obs({ identity: AZURE, provider: "azure", lastSeenAt: 1000 }),
            obs({ identity: GCP, provider: "gcp", lastSeenAt: 9000 }),
            obs({ identity: "public:203.0.113.0/24", provider: "public", lastSeenAt: 9000 }),
            obs({ tenantId: "other", identity: VPCE2 }),
          ],
        });
        const first = await store.listObserved("m", { limit: 2, after: null });
        assert.deepEqual(
          first.items.map((o) => o.identity),
          [VPCE, AZURE],
        );
        const second = await store.listObserved("m", { limit: 2, after: first.next });
        assert.deepEqual(
          second.items.map((o) => o.identity),
          [GCP, "public:203.0.113.0/24"],
        );
        assert.equal(second.next, null);
        const recent = await store.listObserved("m", { limit: 10, after: null, since: 5000 });
        assert.deepEqual(
          recent.items.map((o) => o.identity),
          [VPCE, GCP, "public:203.0.113.0/24"],
        );
      });

      test("rule hits add up; a store tenant's deleted rule is not counted, a file tenant's rule is", async (t) => {
        const store = await open(t);
        if (store === null) return;
        const { tenant } = await store.createTenant(
          tenantInput("m", { allow: { rules: [{ link: VPCE }, { link: GCP }] } }),
          ADMIN,
        );
        const [vpce, gcp] = tenant.allow?.rules ?? [];
        await store.deleteRule("m", gcp.id, ADMIN);
        await store.recordActivity({
          ruleHits: [
            { tenantId: "m", ruleId: vpce.id, hits: 2, lastHitAt: 100 },
            { tenantId: "m", ruleId: gcp.id, hits: 5, lastHitAt: 100 },
            { tenantId: "file-tenant", ruleId: "f_0123", hits: 7, lastHitAt: 50 },
          ],
          observed: [],
        });
        await store.recordActivity({
          ruleHits: [{ tenantId: "m", ruleId: vpce.id, hits: 1, lastHitAt: 90 }],
          observed: [],
        });
        assert.deepEqual(
          await store.ruleStats("m"),
          new Map([[vpce.id, { hits: 3, lastHitAt: 100 }]]),
        );
        assert.deepEqual(
          await store.ruleStats("file-tenant"),
          new Map([["f_0123", { hits: 7, lastHitAt: 50 }]]),
        );
      });
    });

    describe("tokens", () => {
      test("created with a hash, found by it, listed, revoked, gone with their tenant", async (t) => {
        const clock = manualClock();
        const store = await open(t, { now: clock.now });
        if (store === null) return;
        await store.createTenant(tenantInput("m"), ADMIN);
        const hash = tokenHash("lgt_secret-one");
        const token = await store.createToken({ tenantId: "m", label: "ci", hash }, "admin:x");
        assert.match(token.id, /^tok_[0-9a-f]{16}$/);
        assert.deepEqual(token, {
          id: token.id,
          tenantId: "m",
          label: "ci",
          createdAt: clock.at,
          createdBy: "admin:x",
          lastUsedAt: null,
          revokedAt: null,
        });
        assert.deepEqual(await store.tokenByHash(hash), token);
        assert.equal(await store.tokenByHash(tokenHash("lgt_other")), null);
        const second = await store.createToken(
          { tenantId: "m", label: null, hash: tokenHash("lgt_two") },
          "admin:x",
        );
        await store.createToken(
          { tenantId: "file-tenant", label: null, hash: tokenHash("lgt_three") },
          "admin:x",
        );
        const listed = await store.listTokens("m", { limit: 10, after: null });
        assert.deepEqual(listed.items.map((x) => x.id).sort(), [token.id, second.id].sort());

        await store.markTokensUsed([
          { id: token.id, at: clock.at + 10 },
          { id: token.id, at: clock.at + 5 },
        ]);
        assert.equal((await store.tokenByHash(hash))?.lastUsedAt, clock.at + 10);

        assert.equal(await store.revokeToken("other", token.id, "admin:x"), null, "not its tenant");
        clock.at += 100;
        const revoked = await store.revokeToken("m", token.id, "admin:x");
        assert.equal(revoked?.revokedAt, clock.at);
        assert.equal((await store.tokenByHash(hash))?.revokedAt, clock.at, "kept, marked revoked");

        await store.deleteTenant("m", ADMIN);
        assert.equal(await store.tokenByHash(hash), null);
        assert.notEqual(await store.tokenByHash(tokenHash("lgt_three")), null);
      });
    });

    describe("audit", () => {
      test("every change with actor, before and after; newest first; kept after a delete", async (t) => {
        const clock = manualClock();
        const store = await open(t, { now: clock.now });
        if (store === null) return;
        await store.createTenant(tenantInput("m", { allow: { rules: [{ link: VPCE }] } }), ADMIN);
        clock.at += 1;
        await store.updateTenant("m", { enforcement: "report-only" }, { actor: "token:tok_1" });
        clock.at += 1;
        const r = await store.addRule("m", rule({ link: GCP }), ADMIN);
        await store.deleteRule("m", r.rule.id, ADMIN);
        await store.replaceRules("m", [rule({ cidr: "10.0.0.0/8" })], ADMIN);
        await store.createToken(
          { tenantId: "m", label: "x", hash: tokenHash("lgt_a") },
          "admin:test",
        );
        await store.deleteTenant("m", ADMIN);

        const all = await store.listAudit("m", { limit: 100, after: null });
        assert.deepEqual(
          all.items.map((e) => e.action),
          [
            "tenant.delete",
            "token.create",
            "rules.replace",
            "rule.delete",
            "rule.create",
            "tenant.update",
            "tenant.create",
          ],
        );
        const update = all.items[5];
        assert.equal(update.actor, "token:tok_1");
        assert.equal(update.at, Date.UTC(2025, 0, 1) + 1);
        assert.equal((update.before as { enforcement: string }).enforcement, "enforce");
        assert.equal((update.after as { enforcement: string }).enforcement, "report-only");
        assert.equal(update.version, 2);
        const create = all.items[6];
        assert.equal(create.before, null);
        assert.equal(
          (create.after as { allow: { rules: { link: string }[] } }).allow.rules[0].link,
          VPCE,
        );
        assert.deepEqual((all.items[4].after as { link: string }).link, GCP);
        assert.equal(all.items[1].version, null, "tokens are not policy changes");
        assert.ok(!JSON.stringify(all.items[1]).includes("lgt_a"), "no secret in the audit log");

        const p1 = await store.listAudit("m", { limit: 4, after: null });
        const p2 = await store.listAudit("m", { limit: 4, after: p1.next });
        assert.deepEqual(
          [...p1.items, ...p2.items].map((e) => e.id),
          all.items.map((e) => e.id),
        );
        assert.equal(p2.next, null);
      });
    });

    describe("importTenants", () => {
      test("many tenants in one transaction: each with its version, one notification", async (t) => {
        const store = await open(t);
        if (store === null) return;
        const heard: { version: number; tenantIds: readonly string[] }[] = [];
        store.onChange((c) => heard.push(c));
        await store.createTenant(tenantInput("a", { hostnames: ["a.example.com"] }), ADMIN);
        const imported = await store.importTenants(
          [tenantInput("b", { allow: { rules: [{ link: VPCE }] } }), tenantInput("c")],
          ADMIN,
        );
        assert.equal(imported.version, 3);
        assert.equal((await store.getTenant("b"))?.revision, 2);
        assert.equal((await store.getTenant("c"))?.revision, 3);
        assert.deepEqual(heard, [
          { version: 1, tenantIds: ["a"], complete: true },
          { version: 3, tenantIds: ["b", "c"], complete: true },
        ]);
        assert.deepEqual(
          (await store.listAudit("b", { limit: 10, after: null })).items.map((e) => e.action),
          ["tenant.create"],
        );
      });

      test("all or none: one bad tenant leaves nothing of the import", async (t) => {
        const store = await open(t);
        if (store === null) return;
        await store.createTenant(tenantInput("a", { hostnames: ["a.example.com"] }), ADMIN);
        await rejectsWith(
          store.importTenants(
            [
              tenantInput("b"),
              tenantInput("c", { hostnames: ["a.example.com"] }),
              tenantInput("d"),
            ],
            ADMIN,
          ),
          "HOSTNAME_TAKEN",
        );
        const { tenants, version } = await store.loadAll();
        assert.deepEqual(
          tenants.map((x) => x.id),
          ["a"],
        );
        assert.equal(version, 1);
        assert.deepEqual(await store.importTenants([], ADMIN), { version: 1 });
      });
    });

    describe("loadAll", () => {
      test("matches getTenant for every tenant", async (t) => {
        const store = await open(t);
        if (store === null) return;
        await store.createTenant(tenantInput("b", { hostnames: ["b1.x.com", "b0.x.com"] }), ADMIN);
        await store.createTenant(
          tenantInput("a", { allow: { rules: [{ link: VPCE }, { cidr: "10.0.0.0/8" }] } }),
          ADMIN,
        );
        await store.createTenant(tenantInput("c", { allow: { publicInternet: true } }), ADMIN);
        await store.createTenant(tenantInput("d"), ADMIN);
        await store.addRule("d", rule({ link: GCP }), ADMIN);
        const { tenants, version } = await store.loadAll();
        assert.equal(version, 5);
        assert.deepEqual(
          tenants.map((x) => x.id),
          ["a", "b", "c", "d"],
        );
        for (const tenant of tenants) assert.deepEqual(tenant, await store.getTenant(tenant.id));
      });

      test("100 000 rules of 10 000 tenants come back whole and in order", async (t) => {
        const store = await open(t);
        if (store === null) return;
        const tenants = 10_000;
        const inputs = Array.from({ length: tenants }, (_, i) => {
          const id = `t${String(i).padStart(5, "0")}`;
          return tenantInput(id, {
            hostnames: [`${id}.example.com`],
            allow: {
              rules: Array.from({ length: 10 }, (_, k) => ({ link: `azure:${i * 10 + k}` })),
            },
          });
        });
        // Two imports, in an order that is not the id order.
        await store.importTenants(inputs.slice(5000), ADMIN);
        await store.importTenants(inputs.slice(0, 5000), ADMIN);
        const { tenants: loaded, version } = await store.loadAll();
        assert.equal(version, tenants);
        assert.equal(loaded.length, tenants);
        let rules = 0;
        for (const [i, tenant] of loaded.entries()) {
          assert.equal(tenant.id, `t${String(i).padStart(5, "0")}`);
          assert.deepEqual(tenant.hostnames, [`${tenant.id}.example.com`]);
          const links = tenant.allow?.rules.map((r) => r.link) ?? [];
          assert.deepEqual(
            links,
            Array.from({ length: 10 }, (_, k) => `azure:${i * 10 + k}`),
          );
          rules += links.length;
        }
        assert.equal(rules, 100_000);
      });
    });
  });
}
