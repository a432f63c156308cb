import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { type Cidr, parseCidr as parseCidrResult } from "../../src/ip/cidr.js";
import { CidrSet, cidrSetOf } from "../../src/policy/index.js";

/** The parsed CIDR, or null when invalid. */
function parseCidr(text: string): Cidr | null {
  const r = parseCidrResult(text);
  return r.ok ? r.cidr : null;
}

const RUNS = Number(process.env.LINKGATE_FC_RUNS ?? 300);

/** The bytes with the bits beyond `prefix` cleared. */
function masked(bytes: Uint8Array, prefix: number): Uint8Array {
  return bytes.map((b, i) => {
    const keep = Math.max(0, Math.min(8, prefix - 8 * i));
    return keep === 0 ? 0 : b & (0xff << (8 - keep)) & 0xff;
  });
}

function set(...cidrs: string[]): CidrSet {
  return cidrSetOf(cidrs);
}

function ip4(a: string): Uint8Array {
  return Uint8Array.from(a.split(".").map(Number));
}

describe("parseCidr (src/ip/cidr.ts)", () => {
  test("valid forms; host bits, a missing prefix and bad prefixes are errors with a hint", () => {
    assert.equal(parseCidr("10.0.0.0/8")?.prefix, 8);
    assert.equal(parseCidr("0.0.0.0/0")?.prefix, 0);
    assert.equal(parseCidr("2001:db8::/32")?.family, 6);
    assert.equal(parseCidr("::/0")?.prefix, 0);
    const hostBits = parseCidrResult("10.0.0.1/8");
    assert.ok(!hostBits.ok);
    assert.match(hostBits.message, /did you mean "10\.0\.0\.0\/8"/);
    const bare = parseCidrResult("10.1.2.3");
    assert.ok(!bare.ok);
    assert.match(bare.message, /10\.1\.2\.3\/32/);
    for (const bad of [
      "10.0.0.0/33",
      "10.0.0.0/08",
      "::/129",
      "x/1",
      "10.0.0.0/-1",
      "10.0.0.0/ 8",
    ]) {
      assert.equal(parseCidr(bad), null, bad);
    }
  });
});

describe("CidrSet", () => {
  test("IPv4 membership and the first matching rule", () => {
    const s = set("10.0.0.0/8", "10.1.0.0/16", "192.168.1.0/24", "0.0.0.0/32");
    assert.equal(s.match(4, ip4("10.1.2.3")), 0);
    assert.equal(s.match(4, ip4("10.255.255.255")), 0);
    assert.equal(s.match(4, ip4("11.0.0.0")), -1);
    assert.equal(s.match(4, ip4("192.168.1.255")), 2);
    assert.equal(s.match(4, ip4("192.168.2.0")), -1);
    assert.equal(s.match(4, ip4("0.0.0.0")), 3);
    assert.equal(s.match(4, ip4("255.255.255.255")), -1);
    const narrowFirst = set("10.1.0.0/16", "10.0.0.0/8");
    assert.equal(narrowFirst.match(4, ip4("10.1.0.1")), 0);
    assert.equal(narrowFirst.match(4, ip4("10.2.0.1")), 1);
  });

  test("IPv6, and IPv4-mapped addresses and CIDRs fold into IPv4", () => {
    const s = set("2001:db8::/32", "::ffff:10.0.0.0/104", "172.16.0.0/12");
    const v6 = (t: string) => {
      const b = new Uint8Array(16);
      const p = parseCidr(`${t}/128`);
      assert.ok(p !== null);
      b.set(p.bytes);
      return b;
    };
    assert.equal(s.match(6, v6("2001:db8:1::1")), 0);
    assert.equal(s.match(6, v6("2001:db9::1")), -1);
    assert.equal(s.match(4, ip4("10.9.9.9")), 1, "a mapped CIDR matches plain IPv4");
    assert.equal(s.match(6, v6("::ffff:172.20.0.1")), 2, "a mapped address matches an IPv4 CIDR");
    assert.equal(s.match(6, v6("::ffff:192.0.2.1")), -1);
    assert.equal(set("::/0").match(6, v6("ffff::1")), 0);
    assert.equal(set("::/0").match(4, ip4("1.2.3.4")), -1, "::/0 is not IPv4");
  });

  test("agrees with a naive prefix check on random sets and addresses", () => {
    const cidr4 = fc.record({
      a: fc.uint8Array({ minLength: 4, maxLength: 4 }),
      prefix: fc.integer({ min: 0, max: 32 }),
    });
    fc.assert(
      fc.property(
        fc.array(cidr4, { maxLength: 20 }),
        fc.array(fc.uint8Array({ minLength: 4, maxLength: 4 }), { minLength: 1, maxLength: 20 }),
        (cidrs, addrs) => {
          const texts = cidrs.map((c) => `${[...masked(c.a, c.prefix)].join(".")}/${c.prefix}`);
          const parsed = texts.map((t) => parseCidr(t));
          const s = new CidrSet(parsed.map((p) => p as NonNullable<typeof p>));
          const u32 = (b: Uint8Array) => ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
          for (const a of addrs) {
            let expected = -1;
            for (let i = 0; i < parsed.length && expected < 0; i++) {
              const p = parsed[i] as NonNullable<(typeof parsed)[number]>;
              const mask = p.prefix === 0 ? 0 : (0xffffffff << (32 - p.prefix)) >>> 0;
              if ((u32(a) & mask) >>> 0 === u32(p.bytes)) expected = i;
            }
            assert.equal(s.match(4, a), expected);
          }
        },
      ),
      { numRuns: RUNS },
    );
  });

  test("IPv6 agrees with a naive prefix check (random sets, addresses near their boundaries)", () => {
    const toBig = (b: Uint8Array) => b.reduce((v, x) => (v << 8n) | BigInt(x), 0n);
    const fromBig = (v: bigint) =>
      Uint8Array.from({ length: 16 }, (_, i) => Number((v >> BigInt(8 * (15 - i))) & 0xffn));
    const cidr6 = fc.record({
      a: fc.uint8Array({ minLength: 16, maxLength: 16 }),
      prefix: fc.integer({ min: 0, max: 128 }),
    });
    fc.assert(
      fc.property(
        fc.array(cidr6, { minLength: 1, maxLength: 12 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: -2, max: 2 })), {
          minLength: 1,
          maxLength: 20,
        }),
        (cidrs, probes) => {
          const parsed = cidrs.map((c) => {
            const p = parseCidr(
              `${[...Array(8)].map((_, i) => ((masked(c.a, c.prefix)[2 * i] << 8) | masked(c.a, c.prefix)[2 * i + 1]).toString(16)).join(":")}/${c.prefix}`,
            );
            assert.ok(p !== null);
            return p;
          });
          // Avoid the IPv4-mapped range, which folds into IPv4 by design.
          fc.pre(
            parsed.every(
              (p) =>
                p.family === 6 &&
                !(
                  p.prefix >= 96 &&
                  p.bytes.slice(0, 12).every((b, i) => (i < 10 ? b === 0 : b === 0xff))
                ),
            ),
          );
          const s = new CidrSet(parsed);
          for (const [k, delta] of probes) {
            // Probe at a range boundary, plus or minus a little.
            const p = parsed[k % parsed.length];
            const start = toBig(p.bytes);
            const end = start | ((1n << BigInt(128 - p.prefix)) - 1n);
            const v = (k & 1 ? end : start) + BigInt(delta);
            if (v < 0n || v >= 1n << 128n) continue;
            const addr = fromBig(v);
            if (addr.slice(0, 12).every((b, i) => (i < 10 ? b === 0 : b === 0xff))) continue;
            let expected = -1;
            for (let i = 0; i < parsed.length && expected < 0; i++) {
              const q = parsed[i];
              const qs = toBig(q.bytes);
              const qe = qs | ((1n << BigInt(128 - q.prefix)) - 1n);
              if (v >= qs && v <= qe) expected = i;
            }
            assert.equal(s.match(6, addr), expected);
          }
        },
      ),
      { numRuns: RUNS },
    );
  });
});
