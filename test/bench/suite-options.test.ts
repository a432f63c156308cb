/** The command line of `npm run bench` (bench/lib/suite-options.ts): parsing only, no timing. */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { generatePolicy } from "../../bench/lib/policy.js";
import {
  FLOOR_RUNTIMES,
  idleCapacity,
  parseSize,
  parseSuiteArgs,
  parseSystem,
  WORKLOADS,
} from "../../bench/lib/suite-options.js";
import {
  FLOORS,
  floorOf,
  haproxyConfig,
  otherBuildUnavailable,
  systemLabel,
} from "../../bench/lib/systems.js";
import { validateConfigValue } from "../../src/config/index.js";
import { CompiledPolicy } from "../../src/policy/index.js";

describe("bench suite options", () => {
  test("defaults: every workload and system, 5 rounds of 5 s, the doc is written", () => {
    const o = parseSuiteArgs([]);
    assert.deepEqual(o.workloads, [...WORKLOADS]);
    assert.deepEqual(
      o.systems.map((s) => s.name),
      [
        "direct",
        "haproxy-t1",
        "haproxy-t2",
        "floor-node",
        "floor-node-engine",
        "floor-bun-native",
        "floor-bun-engine",
        "linkgate",
        "linkgate-w2",
        "linkgate-bun",
      ],
    );
    assert.equal(o.rounds, 5);
    assert.equal(o.seconds, 5);
    assert.equal(o.bulkBytes, 2 * 2 ** 30);
    assert.equal(o.tenants, 100_000);
    assert.equal(o.rules, 1_000_000);
    assert.equal(o.writeDoc, true);
    assert.equal(o.systemsExplicit, false);
  });

  test("--quick: small sizes, short rounds, no doc unless asked", () => {
    const o = parseSuiteArgs(["--quick"]);
    assert.equal(o.quick, true);
    assert.equal(o.rounds, 2);
    assert.equal(o.writeDoc, false);
    assert.equal(parseSuiteArgs(["--quick", "--write-doc"]).writeDoc, true);
    assert.equal(parseSuiteArgs(["--quick", "--rounds", "3"]).rounds, 3);
  });

  test("lists keep the canonical workload order and the given system order", () => {
    const o = parseSuiteArgs(["--workloads", "denied,rate", "--systems", "linkgate,direct"]);
    assert.deepEqual(o.workloads, ["rate", "denied"]);
    assert.deepEqual(
      o.systems.map((s) => s.name),
      ["linkgate", "direct"],
    );
    assert.equal(o.systemsExplicit, true);
  });

  test("systems: haproxy-tN is nbthread N, linkgate-wN is --workers N, logging per connection", () => {
    assert.deepEqual(parseSystem("haproxy-t2"), {
      name: "haproxy-t2",
      kind: "haproxy",
      threads: 2,
    });
    assert.deepEqual(parseSystem("linkgate-w4"), {
      name: "linkgate-w4",
      kind: "linkgate",
      engine: "node",
      workers: 4,
      logLevel: "info",
      build: null,
    });
    assert.deepEqual(parseSystem("linkgate"), {
      name: "linkgate",
      kind: "linkgate",
      engine: "node",
      workers: 1,
      logLevel: "info",
      build: null,
    });
    assert.deepEqual(parseSystem("linkgate-bun-w2"), {
      name: "linkgate-bun-w2",
      kind: "linkgate",
      engine: "bun",
      workers: 2,
      logLevel: "info",
      build: null,
    });
    assert.throws(() => parseSystem("nginx"), /unknown system/);
    assert.throws(() => parseSystem("haproxy-t0"), /unknown system/);
  });

  test("systems: -quiet is linkgate at log.level warn, by name only", () => {
    assert.deepEqual(parseSystem("linkgate-quiet"), {
      name: "linkgate-quiet",
      kind: "linkgate",
      engine: "node",
      workers: 1,
      logLevel: "warn",
      build: null,
    });
    assert.deepEqual(parseSystem("linkgate-w2-quiet"), {
      name: "linkgate-w2-quiet",
      kind: "linkgate",
      engine: "node",
      workers: 2,
      logLevel: "warn",
      build: null,
    });
    assert.throws(() => parseSystem("linkgate-quiet-w2"), /unknown system/);
    assert.ok(
      parseSuiteArgs([]).systems.every((s) => s.kind !== "linkgate" || s.logLevel === "info"),
    );
  });

  test("systems: @DIR runs another build of linkgate, for A/B runs of two commits", () => {
    assert.deepEqual(parseSystem("linkgate@../before"), {
      name: "linkgate@../before",
      kind: "linkgate",
      engine: "node",
      workers: 1,
      logLevel: "info",
      build: "../before",
    });
    assert.deepEqual(parseSystem("linkgate-bun-w2-quiet@/tmp/a@b"), {
      name: "linkgate-bun-w2-quiet@/tmp/a@b",
      kind: "linkgate",
      engine: "bun",
      workers: 2,
      logLevel: "warn",
      build: "/tmp/a@b",
    });
    assert.equal(
      systemLabel(parseSystem("linkgate@../before")),
      "linkgate (1 process) @ ../before",
    );
    assert.throws(() => parseSystem("linkgate@"), /unknown system/);
    assert.throws(() => parseSystem("floor-node@../before"), /unknown system/);
    assert.throws(() => parseSystem("haproxy-t1@../before"), /unknown system/);
    // What an unusable directory says (the suite skips that system with the reason).
    assert.match(otherBuildUnavailable("/nonexistent/linkgate") ?? "", /no linkgate checkout/);
    assert.equal(otherBuildUnavailable(fileURLToPath(new URL("../..", import.meta.url))), null);
  });

  test("systems: floor-RUNTIME for each runtime with a minimal proxy", () => {
    for (const runtime of FLOOR_RUNTIMES) {
      assert.deepEqual(parseSystem(`floor-${runtime}`), {
        name: `floor-${runtime}`,
        kind: "floor",
        runtime,
      });
      assert.ok(
        existsSync(fileURLToPath(new URL(`../../${FLOORS[runtime].script}`, import.meta.url))),
      );
    }
    // Each floor's CPU is compared with its runtime's native floor, as linkgate's is.
    assert.equal(floorOf(parseSystem("floor-node-engine")), "node");
    assert.equal(floorOf(parseSystem("floor-bun-engine")), "bun-native");
    assert.equal(floorOf(parseSystem("floor-bun")), "bun-native");
    assert.throws(() => parseSystem("floor-cobol"), /unknown system.*floor-node/);
    assert.throws(() => parseSystem("floor"), /unknown system/);
  });

  test("bad command lines are errors with a message", () => {
    assert.throws(() => parseSuiteArgs(["--rounds", "0"]), /--rounds/);
    assert.throws(() => parseSuiteArgs(["--rounds"]), /--rounds/);
    assert.throws(() => parseSuiteArgs(["--workloads", "speed"]), /unknown workload/);
    assert.throws(() => parseSuiteArgs(["--systems", "direct,direct"]), /twice/);
    assert.throws(() => parseSuiteArgs(["--upstream-proxy", "v1"]), /v2 or none/);
    assert.throws(() => parseSuiteArgs(["--frobnicate"]), /unknown option/);
    assert.throws(() => parseSuiteArgs(["--tenants", "100", "--rules", "10"]), /--rules/);
    assert.throws(() => parseSuiteArgs(["--concurrency", "2", "--generators", "3"]), /exceeds/);
  });

  test("sizes", () => {
    assert.equal(parseSize("2GiB"), 2 * 2 ** 30);
    assert.equal(parseSize("256MiB"), 256 * 2 ** 20);
    assert.equal(parseSize("1e9"), 1e9);
    assert.equal(parseSize("4096"), 4096);
    assert.throws(() => parseSize("lots"), /not a size/);
  });

  test("idle capacity: two descriptors per proxied connection", () => {
    assert.equal(idleCapacity(20000), 9950);
    assert.equal(idleCapacity(65536), 32718);
  });
});

describe("bench configurations", () => {
  test("the generated policy is valid, mixes rule kinds and allows the payload's endpoint", () => {
    const { config, hosts } = generatePolicy({
      tenants: 10,
      rules: 95,
      listen: "127.0.0.1:0",
      upstream: "127.0.0.2:9",
      upstreamProxy: "v2",
      sni: "megacorp.api.example.com",
      allowedLink: "aws:vpce-08d2bf15fac5001c9",
    });
    const r = validateConfigValue(config);
    assert.ok(r.ok, JSON.stringify(!r.ok && r.errors.slice(0, 3)));
    const policy = new CompiledPolicy(r.config);
    assert.equal(policy.tenants.size, 10);
    assert.equal(policy.ruleCount, 95);
    assert.equal(hosts[0], "megacorp.api.example.com");
    const d = policy.decide({
      sni: "megacorp.api.example.com",
      link: "aws:vpce-08d2bf15fac5001c9",
      sourceFamily: 4,
      sourceBytes: new Uint8Array([172, 31, 7, 113, ...new Array(12).fill(0)]),
    });
    assert.equal(d.verdict, "allow");
    const kinds = new Set(
      r.config.tenants.flatMap((t) =>
        (t.allow?.rules ?? []).map(
          (x) =>
            `${x.link?.split(":")[0] ?? "-"}${x.cidr === null ? "" : x.cidr.includes(":") ? "+v6" : "+v4"}`,
        ),
      ),
    );
    for (const k of ["aws", "azure", "gcp", "-+v4", "-+v6", "aws+v4", "azure+v6"]) {
      assert.ok(kinds.has(k), `rule kind ${k} in ${[...kinds]}`);
    }
  });

  test("linkgate as the suite runs it: a line per connection and the admin endpoint", () => {
    const { config } = generatePolicy({
      tenants: 10,
      rules: 100,
      listen: "127.0.0.41:8443",
      upstream: "127.0.0.2:9",
      upstreamProxy: "v2",
      sni: "megacorp.api.example.com",
      allowedLink: "aws:vpce-08d2bf15fac5001c9",
      logLevel: "info",
      adminBind: "127.0.0.41:9090",
    });
    const r = validateConfigValue(config);
    assert.ok(r.ok, JSON.stringify(!r.ok && r.errors.slice(0, 3)));
    assert.equal(r.config.log.level, "info");
    assert.deepEqual(r.config.api?.bind, { host: "127.0.0.41", port: 9090 });
  });

  test("HAProxy: accept-proxy, SNI map, send-proxy-v2 only when asked", () => {
    const base = {
      threads: 2,
      maxconn: 100,
      bind: "127.0.0.12:8443",
      backend: "127.0.0.2:9000",
      mapFile: "/tmp/x.map",
    };
    const v2 = haproxyConfig({ ...base, upstreamProxy: "v2" });
    assert.match(v2, /nbthread 2/);
    // The PROXY header only from the trusted peers: the check on the TCP peer comes first.
    assert.match(
      v2,
      /bind 127\.0\.0\.12:8443\n {2}tcp-request connection reject unless \{ src 127\.0\.0\.0\/8 \}\n {2}tcp-request connection expect-proxy layer4\n/,
    );
    assert.match(v2, /req\.ssl_sni,lower,map\(\/tmp\/x\.map\)/);
    assert.match(v2, /server backend 127\.0\.0\.2:9000 send-proxy-v2/);
    assert.doesNotMatch(haproxyConfig({ ...base, upstreamProxy: "none" }), /send-proxy/);
  });
});
