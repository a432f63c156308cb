/** Every row of the decision table (PRODUCT.md, "Decision semantics"), as a pure function. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseIp } from "../../src/ip/address.js";
import { CompiledPolicy, type DecisionInput, PolicyHolder } from "../../src/policy/index.js";
import { config, tenant } from "../helpers/config.js";

const VPCE = "aws:vpce-0123456789abcdef0";
const OTHER_VPCE = "aws:vpce-0fedcba9876543210";
const GCP = "gcp:18446744072646845442";
const AZURE = "azure:553665985";

function input(sni: string | null, link: string | null, source: string | null): DecisionInput {
  const ip = source === null ? null : parseIp(source);
  const bytes = new Uint8Array(16);
  if (ip !== null) bytes.set(ip.bytes);
  return { sni, link, sourceFamily: ip?.family ?? 0, sourceBytes: bytes };
}

const policy = new CompiledPolicy(
  config({
    tenants: [
      tenant("open"),
      tenant("megacorp", {
        allow: {
          rules: [
            { link: VPCE, description: "prod VPC" },
            { link: GCP },
            { cidr: "203.0.113.0/24", description: "office" },
            { link: AZURE, cidr: "10.1.0.0/16" },
          ],
        },
      }),
      tenant("public-ok", { allow: { publicInternet: true, rules: [] } }),
      tenant("dryrun", { enforcement: "report-only", allow: { rules: [{ link: VPCE }] } }),
      tenant("exact", {
        hostnames: ["api.megacorp.example"],
        allow: { rules: [{ link: OTHER_VPCE }] },
      }),
      tenant("own-upstream", { upstream: { host: "10.9.9.9", port: 8443 } }),
    ],
  }),
);

const d = (i: DecisionInput) => policy.decide(i);
const HOST = "megacorp.api.example.com";

describe("decision table", () => {
  test("tenant with no allow at all: allowed, any connection", () => {
    for (const i of [
      input("open.api.example.com", VPCE, "10.0.0.1"),
      input("open.api.example.com", null, "198.51.100.7"),
      input("open.privatelink.example.com", null, null),
    ]) {
      const r = d(i);
      assert.equal(r.verdict, "allow");
      assert.equal(r.reason, "POLICY_NO_RESTRICTION");
      assert.equal(r.tenant?.id, "open");
    }
  });

  test("link L with a rule link: L: allowed (each cloud)", () => {
    const aws = d(input(HOST, VPCE, "172.31.7.113"));
    assert.equal(aws.verdict, "allow");
    assert.equal(aws.reason, "POLICY_LINK_ALLOWED");
    assert.equal(aws.ruleIndex, 0);
    assert.equal(aws.tenant?.rules[aws.ruleIndex].description, "prod VPC");
    const gcp = d(input(HOST, GCP, "10.0.60.2"));
    assert.equal(gcp.verdict, "allow");
    assert.equal(gcp.ruleIndex, 1);
    assert.deepEqual(aws.upstream, { host: "127.0.0.1", port: 9443 });
  });

  test("link L with only other links: denied", () => {
    const r = d(input(HOST, OTHER_VPCE, "10.0.0.1"));
    assert.equal(r.verdict, "deny");
    assert.equal(r.reason, "POLICY_LINK_NOT_ALLOWED");
    assert.equal(r.upstream, null);
  });

  test("link L whose source is inside a cidr-only rule: still denied (sources overlap across customers)", () => {
    const r = d(input(HOST, OTHER_VPCE, "203.0.113.10"));
    assert.equal(r.verdict, "deny");
    assert.equal(r.reason, "POLICY_LINK_NOT_ALLOWED");
  });

  test("link L, source S, rule link: L, cidr: C: allowed only if S in C", () => {
    const inside = d(input(HOST, AZURE, "10.1.2.3"));
    assert.equal(inside.verdict, "allow");
    assert.equal(inside.reason, "POLICY_LINK_CIDR_ALLOWED");
    assert.equal(inside.ruleIndex, 3);
    const outside = d(input(HOST, AZURE, "10.2.0.1"));
    assert.equal(outside.verdict, "deny");
    assert.equal(outside.reason, "POLICY_LINK_SOURCE_NOT_ALLOWED");
    const mapped = d(input(HOST, AZURE, "::ffff:10.1.2.3"));
    assert.equal(mapped.verdict, "allow", "IPv4-mapped IPv6 source matches an IPv4 CIDR");
    const none = d(input(HOST, AZURE, null));
    assert.equal(none.verdict, "deny", "no source address: a link+cidr rule cannot match");
  });

  test("no link (public), source S in a cidr rule: allowed", () => {
    const r = d(input(HOST, null, "203.0.113.77"));
    assert.equal(r.verdict, "allow");
    assert.equal(r.reason, "POLICY_CIDR_ALLOWED");
    assert.equal(r.ruleIndex, 2);
    assert.equal(d(input(HOST, null, "::ffff:203.0.113.77")).verdict, "allow");
  });

  test("no link (public) with publicInternet: true: allowed", () => {
    const r = d(input("public-ok.api.example.com", null, "198.51.100.1"));
    assert.equal(r.verdict, "allow");
    assert.equal(r.reason, "POLICY_PUBLIC_ALLOWED");
  });

  test("no link (public), neither: denied", () => {
    const r = d(input(HOST, null, "198.51.100.1"));
    assert.equal(r.verdict, "deny");
    assert.equal(r.reason, "POLICY_PUBLIC_NOT_ALLOWED");
    assert.equal(d(input(HOST, null, null)).reason, "POLICY_PUBLIC_NOT_ALLOWED");
  });

  test("publicInternet does not admit a link that is not listed", () => {
    const r = d(input("public-ok.api.example.com", VPCE, "198.51.100.1"));
    assert.equal(r.verdict, "deny");
    assert.equal(r.reason, "POLICY_LINK_NOT_ALLOWED");
  });

  test("unknown host name and no SNI: denied", () => {
    const unknown = d(input("nobody.api.example.com", VPCE, "10.0.0.1"));
    assert.equal(unknown.verdict, "deny");
    assert.equal(unknown.reason, "POLICY_UNKNOWN_HOST");
    assert.equal(unknown.tenant, null);
    assert.equal(d(input("megacorp.example.org", VPCE, "10.0.0.1")).reason, "POLICY_UNKNOWN_HOST");
    assert.equal(
      d(input("a.megacorp.api.example.com", VPCE, "10.0.0.1")).reason,
      "POLICY_UNKNOWN_HOST",
      "{tenant} is one label",
    );
    assert.equal(d(input(".api.example.com", VPCE, "10.0.0.1")).reason, "POLICY_UNKNOWN_HOST");
    const noSni = d(input(null, VPCE, "10.0.0.1"));
    assert.equal(noSni.verdict, "deny");
    assert.equal(noSni.reason, "TLS_NO_SNI");
  });

  test("a default upstream for unknown hosts and no SNI is an explicit opt-in", () => {
    const base = config({ tenants: [tenant("megacorp")] });
    const withFallback = new CompiledPolicy({
      ...base,
      routing: { ...base.routing, fallbackUpstream: { host: "127.0.0.9", port: 443 } },
    });
    for (const sni of ["nobody.api.example.com", null]) {
      const r = withFallback.decide(input(sni, null, "10.0.0.1"));
      assert.equal(r.verdict, "allow");
      assert.equal(r.reason, "POLICY_FALLBACK");
      assert.equal(r.upstreamText, "127.0.0.9:443");
    }
  });

  test("report-only tenant: allowed, but marked would-deny", () => {
    const r = d(input("dryrun.api.example.com", OTHER_VPCE, "10.0.0.1"));
    assert.equal(r.verdict, "would-deny");
    assert.equal(r.reason, "POLICY_LINK_NOT_ALLOWED");
    assert.notEqual(r.upstream, null, "forwarded");
    assert.equal(d(input("dryrun.api.example.com", VPCE, "10.0.0.1")).verdict, "allow");
  });

  test("exact host names take precedence; tenant upstream overrides the default", () => {
    const r = d(input("api.megacorp.example", OTHER_VPCE, "10.0.0.1"));
    assert.equal(r.tenant?.id, "exact");
    assert.equal(r.verdict, "allow");
    assert.equal(
      d(input("own-upstream.api.example.com", null, null)).upstreamText,
      "10.9.9.9:8443",
    );
  });

  test("the first matching rule is reported when rules overlap", () => {
    const p = new CompiledPolicy(
      config({
        tenants: [
          tenant("t", {
            allow: {
              rules: [
                { cidr: "10.0.0.0/8", description: "wide" },
                { cidr: "10.1.0.0/16", description: "narrow" },
                { link: VPCE, cidr: "192.168.0.0/16" },
                { link: VPCE, cidr: "192.168.1.0/24" },
                { link: VPCE },
              ],
            },
          }),
        ],
      }),
    );
    assert.equal(p.decide(input("t.api.example.com", null, "10.1.2.3")).ruleIndex, 0);
    assert.equal(
      p.decide(input("t.api.example.com", VPCE, "192.168.1.1")).ruleIndex,
      4,
      "an unrestricted link rule wins",
    );
  });
});

describe("policy holder", () => {
  test("swap replaces the policy atomically and tells listeners", () => {
    const a = new CompiledPolicy(config({ tenants: [tenant("x")] }));
    const b = new CompiledPolicy(config({ tenants: [tenant("x", { allow: { rules: [] } })] }));
    const h = new PolicyHolder(a);
    const seen: [CompiledPolicy, CompiledPolicy][] = [];
    h.onSwap((next, prev) => seen.push([next, prev]));
    assert.equal(h.current.decide(input("x.api.example.com", null, "1.2.3.4")).verdict, "allow");
    assert.equal(h.swap(b), a);
    assert.equal(h.current, b);
    assert.equal(h.generation, 2);
    assert.deepEqual(seen, [[b, a]]);
    assert.equal(h.current.decide(input("x.api.example.com", null, "1.2.3.4")).verdict, "deny");
  });

  test("a tenant's fingerprint changes exactly when its configuration does", () => {
    const a = new CompiledPolicy(
      config({ tenants: [tenant("x"), tenant("y", { allow: { rules: [{ link: VPCE }] } })] }),
    );
    const b = new CompiledPolicy(
      config({ tenants: [tenant("x"), tenant("y", { allow: { rules: [{ link: GCP }] } })] }),
    );
    assert.equal(a.tenants.get("x")?.fingerprint, b.tenants.get("x")?.fingerprint);
    assert.notEqual(a.tenants.get("y")?.fingerprint, b.tenants.get("y")?.fingerprint);
  });
});

describe("cost does not depend on the number of tenants", () => {
  test("100,000 tenants compile and decide correctly", () => {
    const tenants = Array.from({ length: 100_000 }, (_, i) =>
      tenant(`t${i}`, {
        allow: {
          rules: [{ link: `azure:${i}` }, { cidr: `10.${(i >> 8) & 255}.${i & 255}.0/24` }],
        },
      }),
    );
    const p = new CompiledPolicy(config({ tenants }));
    assert.equal(p.ruleCount, 200_000);
    assert.equal(p.decide(input("t99999.api.example.com", "azure:99999", null)).verdict, "allow");
    assert.equal(p.decide(input("t99999.api.example.com", "azure:99998", null)).verdict, "deny");
    assert.equal(p.decide(input("t513.api.example.com", null, "10.2.1.9")).verdict, "allow");
  });
});
