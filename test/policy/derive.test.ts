/**
 * CompiledPolicy.withTenants: a policy derived by adding, replacing and removing tenants decides
 * exactly as one compiled from scratch with the same tenants, and shares the unchanged ones.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import type { TenantConfig } from "../../src/config/types.js";
import { parseIp } from "../../src/ip/address.js";
import { CompiledPolicy, type DecisionInput, ruleIdOf } from "../../src/policy/index.js";
import { config, tenant } from "../helpers/config.js";

const LINKS = ["aws:vpce-0123456789abcdef0", "azure:553665985", "gcp:18446744072646845442"];
const CIDRS = ["10.1.0.0/16", "203.0.113.0/24", "2001:db8::/32"];
const SOURCES = ["10.1.2.3", "203.0.113.9", "2001:db8::5", "192.0.2.1"];
const IDS = ["a", "b", "c", "d", "e"];

const tenantArb = (id: string): fc.Arbitrary<TenantConfig> =>
  fc
    .record({
      enforcement: fc.constantFrom("enforce" as const, "report-only" as const),
      unrestricted: fc.boolean(),
      publicInternet: fc.boolean(),
      rules: fc.array(
        fc.record({
          link: fc.option(fc.constantFrom(...LINKS)),
          cidr: fc.option(fc.constantFrom(...CIDRS)),
        }),
        { maxLength: 4 },
      ),
      exact: fc.option(fc.constantFrom("shared.example.com", `${id}.example.net`)),
    })
    .map((r) =>
      tenant(id, {
        enforcement: r.enforcement,
        hostnames: r.exact === null ? [] : [r.exact],
        allow: r.unrestricted
          ? null
          : {
              publicInternet: r.publicInternet,
              rules: r.rules
                .filter((x) => x.link !== null || x.cidr !== null)
                .map((x) => ({ link: x.link, cidr: x.cidr, description: null })),
            },
      }),
    );

function input(sni: string, link: string | null, source: string): DecisionInput {
  const ip = parseIp(source);
  const bytes = new Uint8Array(16);
  if (ip !== null) bytes.set(ip.bytes);
  return { sni, link, sourceFamily: ip?.family ?? 0, sourceBytes: bytes };
}

function decisions(p: CompiledPolicy) {
  const out: string[] = [];
  for (const id of IDS) {
    for (const sni of [`${id}.api.example.com`, "shared.example.com", `${id}.example.net`]) {
      for (const link of [null, ...LINKS]) {
        for (const source of SOURCES) {
          const d = p.decide(input(sni, link, source));
          out.push(
            `${sni} ${link} ${source}: ${d.verdict} ${d.reason} ${d.tenant?.id} ${d.ruleIndex}`,
          );
        }
      }
    }
  }
  return out;
}

describe("CompiledPolicy.withTenants", () => {
  test("decides as a policy compiled from scratch with the same tenants", () => {
    fc.assert(
      fc.property(
        fc
          .uniqueArray(fc.constantFrom(...IDS), { maxLength: 5 })
          .chain((ids) =>
            fc.tuple(
              fc.tuple(...ids.map(tenantArb)),
              fc.array(fc.constantFrom(...IDS), { maxLength: 4 }),
            ),
          ),
        fc.array(
          fc.oneof(
            fc
              .constantFrom(...IDS)
              .chain((id) => fc.option(tenantArb(id)).map((t) => [id, t] as const)),
          ),
          {
            maxLength: 4,
          },
        ),
        ([base], changeList) => {
          const start = new CompiledPolicy(config({ tenants: base }));
          const changes = new Map<string, TenantConfig | null>(changeList);
          const derived = start.withTenants(changes);
          // The same tenants, in the order a full compile would see them: kept ones first.
          const kept = base.filter((t) => !changes.has(t.id));
          const added = [...changes.values()].filter((t): t is TenantConfig => t !== null);
          const scratch = new CompiledPolicy(config({ tenants: [...kept, ...added] }));
          assert.deepEqual(decisions(derived), decisions(scratch));
          assert.equal(derived.ruleCount, scratch.ruleCount);
          assert.deepEqual([...derived.tenants.keys()].sort(), [...scratch.tenants.keys()].sort());
        },
      ),
      { numRuns: 300 },
    );
  });

  test("unchanged tenants are the same compiled objects (live connections are not re-checked)", () => {
    const start = new CompiledPolicy(config({ tenants: [tenant("a"), tenant("b")] }));
    const next = start.withTenants(new Map([["b", tenant("b", { allow: { rules: [] } })]]));
    assert.equal(next.tenants.get("a"), start.tenants.get("a"));
    assert.notEqual(next.tenants.get("b"), start.tenants.get("b"));
    assert.equal(next.listeners, start.listeners);
    assert.equal(next.routingFingerprint, start.routingFingerprint);
  });

  test("rule ids: the store's when given, derived from tenant, link and cidr otherwise", () => {
    const p = new CompiledPolicy(
      config({
        tenants: [
          tenant("a", {
            allow: {
              rules: [
                { id: "r_stored", link: LINKS[0], cidr: null, description: null },
                { link: LINKS[1], cidr: "10.1.0.0/16", description: null },
              ],
            },
          }),
        ],
      }),
    );
    const t = p.tenants.get("a");
    assert.equal(t?.ruleId(0), "r_stored");
    assert.equal(t?.ruleId(1), ruleIdOf("a", LINKS[1], "10.1.0.0/16"));
    assert.match(t?.ruleId(1) ?? "", /^f_[0-9a-f]{20}$/);
  });
});
