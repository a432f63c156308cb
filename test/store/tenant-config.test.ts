/** A store tenant as the policy compiler takes it, at a given instant. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { nextRuleExpiry, tenantConfigOf } from "../../src/store/index.js";
import type { StoredTenant } from "../../src/store/types.js";
import { GCP, VPCE } from "./helpers.js";

const rule = (id: string, link: string, expiresAt: number | null) => ({
  id,
  link,
  cidr: null,
  description: null,
  expiresAt,
  createdAt: 0,
});

const stored: StoredTenant = {
  id: "m",
  hostnames: ["m.example.org"],
  upstream: "[2001:db8::1]:443",
  enforcement: "enforce",
  allow: {
    publicInternet: true,
    rules: [rule("r_1", VPCE, 2000), rule("r_2", GCP, null), rule("r_3", "azure:1", 1000)],
  },
  createdAt: 0,
  updatedAt: 0,
  revision: 1,
};

test("tenantConfigOf: the rules in force at that instant, with their ids, the upstream parsed", () => {
  assert.deepEqual(tenantConfigOf(stored, 999), {
    id: "m",
    hostnames: ["m.example.org"],
    upstream: { host: "2001:db8::1", port: 443 },
    enforcement: "enforce",
    allow: {
      publicInternet: true,
      rules: [
        { id: "r_1", link: VPCE, cidr: null, description: null },
        { id: "r_2", link: GCP, cidr: null, description: null },
        { id: "r_3", link: "azure:1", cidr: null, description: null },
      ],
    },
  });
  const at = (now: number) => tenantConfigOf(stored, now).allow?.rules.map((r) => r.link);
  assert.deepEqual(at(1000), [VPCE, GCP], "a rule stops admitting at its expiresAt");
  assert.deepEqual(at(2000), [GCP]);
  assert.equal(tenantConfigOf({ ...stored, allow: null, upstream: null }, 0).allow, null);
});

test("nextRuleExpiry: the soonest expiry after now, or null", () => {
  assert.equal(nextRuleExpiry(stored, 0), 1000);
  assert.equal(nextRuleExpiry(stored, 1000), 2000);
  assert.equal(nextRuleExpiry(stored, 2000), null);
  assert.equal(nextRuleExpiry({ ...stored, allow: null }, 0), null);
});
