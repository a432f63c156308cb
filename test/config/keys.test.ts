/** Every key of the file format: its valid forms, its invalid forms, and its default. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { invalid, parse, valid } from "./helpers.js";

describe("defaults", () => {
  test("a minimal file resolves with every default applied", () => {
    const c = valid();
    assert.deepEqual(c.listeners[0], {
      name: "privatelink",
      bind: { host: "127.0.0.1", port: 8443 },
      proxyProtocol: "required",
      trustedProxies: ["10.0.0.0/8"],
      mode: "tls-passthrough",
      headerTimeoutMs: 5000,
      idleTimeoutMs: 3_600_000,
      finTimeoutMs: 30_000,
      tcpKeepAliveMs: 60_000,
      maxConnectionLifetimeMs: null,
      maxConnections: null,
      requireCrc32c: false,
      maxProxyHeaderBytes: 4096,
      maxClientHelloBytes: 16384,
    });
    assert.deepEqual(c.listeners[1].trustedProxies, []);
    assert.deepEqual(c.routing, {
      hostPatterns: ["{tenant}.api.example.com"],
      upstream: { host: "10.0.9.9", port: 443 },
      upstreamProxyProtocol: "v2",
      connectTimeoutMs: 5000,
      fallbackUpstream: null,
    });
    assert.deepEqual(c.tenants[0], {
      id: "megacorp",
      hostnames: [],
      upstream: null,
      enforcement: "enforce",
      allow: {
        publicInternet: false,
        rules: [{ link: "aws:vpce-0123456789abcdef0", cidr: null, description: null }],
      },
    });
    assert.equal(c.api, null);
    assert.deepEqual(c.log, { level: "info", deniedLinesPerSecond: 100 });
    assert.deepEqual(c.shutdown, { drainTimeoutMs: 30000 });
    assert.equal(c.store, null);
    assert.deepEqual(c.limits, { maxRulesPerTenant: 1000, maxApiBodyBytes: 1048576 });
    assert.equal(c.revocation, "close");
    assert.deepEqual(c.metrics, { perTenantLabels: true });
  });

  test("tenants and routing.hostPatterns may be absent", () => {
    const c = valid((d) => {
      delete d.tenants;
      delete d.routing.hostPatterns;
    });
    assert.deepEqual(c.tenants, []);
    assert.deepEqual(c.routing.hostPatterns, []);
  });
});

describe("top level", () => {
  test("listeners and routing are required; listeners is not empty", () => {
    invalid((d) => delete d.listeners, "listeners", "CONFIG_SCHEMA", /required/);
    invalid((d) => delete d.routing, "routing", "CONFIG_SCHEMA", /required/);
    invalid((d) => (d.listeners = []), "listeners", "CONFIG_SCHEMA", /at least 1 item$/);
    invalid((d) => (d.listeners = {}), "listeners", "CONFIG_SCHEMA", /must be a list/);
  });

  test("unknown keys are errors, with a suggestion when close", () => {
    invalid((d) => (d.tenant = []), "tenant", "CONFIG_UNKNOWN_KEY", /did you mean "tenants"\?/);
    invalid((d) => (d.frobnicate = 1), "frobnicate", "CONFIG_UNKNOWN_KEY", /known keys: listeners/);
    invalid(
      (d) => (d.listeners[0].trusted_proxies = []),
      "listeners[0].trusted_proxies",
      "CONFIG_UNKNOWN_KEY",
      /did you mean "trustedProxies"\?/,
    );
    invalid(
      (d) => (d.routing.upstreamProxyprotocol = "v2"),
      "routing.upstreamProxyprotocol",
      "CONFIG_UNKNOWN_KEY",
      /did you mean "upstreamProxyProtocol"\?/,
    );
    invalid(
      (d) => (d.tenants[0].allow.rules[0].lnk = "x"),
      "tenants[0].allow.rules[0].lnk",
      "CONFIG_UNKNOWN_KEY",
      /did you mean "link"\?/,
    );
    invalid((d) => (d["a b"] = 1), '["a b"]', "CONFIG_UNKNOWN_KEY");
  });

  test("null is no value: a key written without one is an error", () => {
    invalid((d) => (d.api = null), "api", "CONFIG_SCHEMA", /must be a mapping.*got null/);
  });
});

describe("listeners[]", () => {
  test("name: [a-z0-9-]{1,63}, unique", () => {
    assert.equal(valid((d) => (d.listeners[0].name = "pl-1")).listeners[0].name, "pl-1");
    invalid(
      (d) => (d.listeners[0].name = "Private"),
      "listeners[0].name",
      "CONFIG_SCHEMA",
      /lower-case/,
    );
    invalid((d) => (d.listeners[0].name = ""), "listeners[0].name", "CONFIG_SCHEMA");
    invalid((d) => (d.listeners[0].name = "a".repeat(64)), "listeners[0].name", "CONFIG_SCHEMA");
    invalid(
      (d) => (d.listeners[0].name = 7),
      "listeners[0].name",
      "CONFIG_SCHEMA",
      /must be a string/,
    );
    invalid((d) => delete d.listeners[0].name, "listeners[0].name", "CONFIG_SCHEMA", /required/);
    invalid(
      (d) => (d.listeners[1].name = "privatelink"),
      "listeners[1].name",
      "CONFIG_DUPLICATE",
      /used twice \(first at listeners\[0\]\.name, line \d+\)/,
    );
  });

  test("bind: IP:port, IPv6 in brackets, canonical host", () => {
    const at = (bind: unknown) => valid((d) => (d.listeners[0].bind = bind)).listeners[0].bind;
    assert.deepEqual(at("0.0.0.0:8443"), { host: "0.0.0.0", port: 8443 });
    assert.deepEqual(at("[::1]:8443"), { host: "::1", port: 8443 });
    assert.deepEqual(at("[2001:DB8:0::1]:443"), { host: "2001:db8::1", port: 443 });
    assert.deepEqual(at("127.0.0.1:0"), { host: "127.0.0.1", port: 0 });
    const bad = (bind: unknown, message?: RegExp) =>
      invalid(
        (d) => (d.listeners[0].bind = bind),
        "listeners[0].bind",
        "CONFIG_BAD_ADDRESS",
        message,
      );
    bad("localhost:8443", /not an IP address/);
    bad("10.0.0.1", /no port/);
    bad("::1:8443", /in brackets.*"\[::1\]:8443"/);
    bad("10.0.0.1:65536", /0 to 65535/);
    bad("10.0.0.1:08443", /0 to 65535/);
    bad("[10.0.0.1]:80", /not an IPv6 address/);
    bad("[::1]8443", /no port/);
    bad("010.0.0.1:80", /not an IP address/);
    bad(8443, /must be a string "host:port"/);
    bad(["::1"], /quoted in YAML/);
    bad("", /host:port/);
  });

  test("bind addresses are unique across listeners and api.bind, wildcards included", () => {
    invalid(
      (d) => (d.listeners[1].bind = "127.0.0.1:8443"),
      "listeners[1].bind",
      "CONFIG_DUPLICATE",
      /collides/,
    );
    invalid((d) => (d.listeners[1].bind = "0.0.0.0:8443"), "listeners[1].bind", "CONFIG_DUPLICATE");
    invalid((d) => (d.listeners[1].bind = "[::]:8443"), "listeners[1].bind", "CONFIG_DUPLICATE");
    invalid((d) => (d.api = { bind: "127.0.0.1:8444" }), "api.bind", "CONFIG_DUPLICATE");
    valid((d) => (d.listeners[1].bind = "127.0.0.2:8443"));
    valid((d) => (d.listeners[1].bind = "[::1]:8443"));
    valid((d) => {
      d.listeners[0].bind = "127.0.0.1:0";
      d.listeners[1].bind = "127.0.0.1:0";
    });
  });

  test("proxyProtocol: required | none, no default", () => {
    invalid(
      (d) => (d.listeners[1].proxyProtocol = "optional"),
      "listeners[1].proxyProtocol",
      "CONFIG_SCHEMA",
      /must be one of "required", "none"/,
    );
    invalid(
      (d) => (d.listeners[0].proxyProtocol = "requird"),
      "listeners[0].proxyProtocol",
      "CONFIG_SCHEMA",
      /did you mean "required"\?/,
    );
    invalid(
      (d) => delete d.listeners[1].proxyProtocol,
      "listeners[1].proxyProtocol",
      "CONFIG_SCHEMA",
    );
  });

  test("trustedProxies: required and non-empty with required; absent or empty with none", () => {
    invalid(
      (d) => delete d.listeners[0].trustedProxies,
      "listeners[0].trustedProxies",
      "CONFIG_PROXY_TRUST",
      /is required with proxyProtocol: required/,
    );
    invalid(
      (d) => (d.listeners[0].trustedProxies = []),
      "listeners[0].trustedProxies",
      "CONFIG_PROXY_TRUST",
      /must not be empty/,
    );
    invalid(
      (d) => (d.listeners[1].trustedProxies = ["10.0.0.0/8"]),
      "listeners[1].trustedProxies",
      "CONFIG_PROXY_TRUST",
      /forbidden on this listener/,
    );
    assert.deepEqual(
      valid((d) => (d.listeners[1].trustedProxies = [])).listeners[1].trustedProxies,
      [],
    );
    invalid(
      (d) => (d.listeners[0].trustedProxies = "10.0.0.0/8"),
      "listeners[0].trustedProxies",
      "CONFIG_SCHEMA",
      /must be a list/,
    );
  });

  test("trustedProxies items are CIDRs: valid, host bits zero, canonical, no duplicates", () => {
    const at = (list: unknown[]) =>
      valid((d) => (d.listeners[0].trustedProxies = list)).listeners[0].trustedProxies;
    assert.deepEqual(at(["10.0.0.0/8", "fd00::/8", "0.0.0.0/0", "192.0.2.7/32"]), [
      "10.0.0.0/8",
      "fd00::/8",
      "0.0.0.0/0",
      "192.0.2.7/32",
    ]);
    assert.deepEqual(at(["2001:DB8:0:0::/64"]), ["2001:db8::/64"]);
    const bad = (cidr: unknown, message?: RegExp) =>
      invalid(
        (d) => (d.listeners[0].trustedProxies = ["10.0.0.0/8", cidr]),
        "listeners[0].trustedProxies[1]",
        "CONFIG_BAD_CIDR",
        message,
      );
    bad("10.0.0.1/8", /host bits set: did you mean "10\.0\.0\.0\/8"\?/);
    bad("2001:db8::1/32", /did you mean "2001:db8::\/32"\?/);
    bad("192.0.2.1", /no prefix length: did you mean "192\.0\.2\.1\/32"\?/);
    bad("::1", /"::1\/128"/);
    bad("10.0.0.0/33", /0 to 32/);
    bad("fd00::/129", /0 to 128/);
    bad("10.0.0.0/08", /0 to 32/);
    bad("10.0.0.0/", /0 to 32/);
    bad("10.0.0/8", /not an IPv4 or IPv6 address/);
    bad("example.com/8", /not an IPv4 or IPv6 address/);
    bad(8, /CIDR/);
    invalid(
      (d) => (d.listeners[0].trustedProxies = ["10.0.0.0/8", "10.0.0.0/8"]),
      "listeners[0].trustedProxies[1]",
      "CONFIG_DUPLICATE",
    );
  });

  test("mode: tls-passthrough only (https comes later)", () => {
    assert.equal(
      valid((d) => (d.listeners[0].mode = "tls-passthrough")).listeners[0].mode,
      "tls-passthrough",
    );
    invalid(
      (d) => (d.listeners[0].mode = "https"),
      "listeners[0].mode",
      "CONFIG_SCHEMA",
      /not available yet/,
    );
  });

  test("headerTimeout: a duration from 100ms to 5m", () => {
    const at = (v: unknown) =>
      valid((d) => (d.listeners[0].headerTimeout = v)).listeners[0].headerTimeoutMs;
    assert.equal(at("250ms"), 250);
    assert.equal(at("5s"), 5000);
    assert.equal(at("1m"), 60000);
    assert.equal(at("5m"), 300000);
    assert.equal(at("100ms"), 100);
    assert.equal(at(2000), 2000);
    const bad = (v: unknown, message: RegExp) =>
      invalid(
        (d) => (d.listeners[0].headerTimeout = v),
        "listeners[0].headerTimeout",
        "CONFIG_BAD_DURATION",
        message,
      );
    bad("50ms", /from 100ms to 5m/);
    bad(99, /from 100ms to 5m/);
    bad("6m", /from 100ms to 5m/);
    bad("1h", /from 100ms to 5m/);
    for (const v of ["5 s", "5sec", "1.5s", "05s", "s", "", -1, 1.5, true, "5"]) {
      bad(v, /must be a duration/);
    }
    const r = parse((d) => {
      d.listeners[0].headerTimeout = "5 s";
      d.listeners[1].headerTimeout = "1h";
      d.listeners[1].maxConnections = 0;
    });
    assert.ok(!r.ok);
    assert.deepEqual(
      r.errors.map((e) => `${e.key} ${e.code}`),
      [
        "listeners[0].headerTimeout CONFIG_BAD_DURATION",
        "listeners[1].headerTimeout CONFIG_BAD_DURATION",
        "listeners[1].maxConnections CONFIG_SCHEMA",
      ],
    );
  });

  test("idleTimeout, finTimeout, tcpKeepAlive, maxConnectionLifetime: durations with bounds", () => {
    const l = (set: (l: Record<string, unknown>) => void) =>
      valid((d) => set(d.listeners[0])).listeners[0];
    assert.equal(l((x) => (x.idleTimeout = "10m")).idleTimeoutMs, 600_000);
    assert.equal(l((x) => (x.finTimeout = "5s")).finTimeoutMs, 5000);
    assert.equal(l((x) => (x.tcpKeepAlive = "0s")).tcpKeepAliveMs, 0);
    assert.equal(l((x) => (x.maxConnectionLifetime = "24h")).maxConnectionLifetimeMs, 86_400_000);
    assert.equal(l(() => {}).maxConnectionLifetimeMs, null);
    const bad = (key: string, v: unknown, message: RegExp) =>
      invalid(
        (d) => (d.listeners[0][key] = v),
        `listeners[0].${key}`,
        "CONFIG_BAD_DURATION",
        message,
      );
    bad("idleTimeout", "500ms", /from 1s to 168h/);
    bad("finTimeout", "2h", /from 100ms to 1h/);
    bad("tcpKeepAlive", "3h", /from 0 to 2h/);
    bad("maxConnectionLifetime", "0s", /from 1s to 720h/);
  });

  test("maxConnections: an integer from 1, absent = no cap", () => {
    assert.equal(valid((d) => (d.listeners[0].maxConnections = 1)).listeners[0].maxConnections, 1);
    for (const v of [0, -1, 1.5, "100", 10_000_001]) {
      invalid(
        (d) => (d.listeners[0].maxConnections = v),
        "listeners[0].maxConnections",
        "CONFIG_SCHEMA",
      );
    }
  });

  test("requireCrc32c: a boolean, default false", () => {
    assert.equal(
      valid((d) => (d.listeners[0].requireCrc32c = true)).listeners[0].requireCrc32c,
      true,
    );
    invalid(
      (d) => (d.listeners[0].requireCrc32c = "yes"),
      "listeners[0].requireCrc32c",
      "CONFIG_SCHEMA",
      /true or false/,
    );
  });

  test("maxProxyHeaderBytes: 16..65551; maxClientHelloBytes: 64..262144", () => {
    const c = valid((d) => {
      d.listeners[0].maxProxyHeaderBytes = 16;
      d.listeners[1].maxProxyHeaderBytes = 65551;
      d.listeners[0].maxClientHelloBytes = 64;
      d.listeners[1].maxClientHelloBytes = 262144;
    });
    assert.deepEqual(
      c.listeners.map((l) => [l.maxProxyHeaderBytes, l.maxClientHelloBytes]),
      [
        [16, 64],
        [65551, 262144],
      ],
    );
    invalid(
      (d) => (d.listeners[0].maxProxyHeaderBytes = 15),
      "listeners[0].maxProxyHeaderBytes",
      "CONFIG_SCHEMA",
      /at least 16/,
    );
    invalid(
      (d) => (d.listeners[0].maxProxyHeaderBytes = 65552),
      "listeners[0].maxProxyHeaderBytes",
      "CONFIG_SCHEMA",
      /at most 65551/,
    );
    invalid(
      (d) => (d.listeners[0].maxClientHelloBytes = 63),
      "listeners[0].maxClientHelloBytes",
      "CONFIG_SCHEMA",
    );
    invalid(
      (d) => (d.listeners[0].maxClientHelloBytes = 262145),
      "listeners[0].maxClientHelloBytes",
      "CONFIG_SCHEMA",
    );
  });
});

describe("routing", () => {
  test("hostPatterns: one whole-label {tenant}, the rest a lower-case DNS name", () => {
    const c = valid(
      (d) =>
        (d.routing.hostPatterns = [
          "{tenant}.api.example.com",
          "{tenant}.privatelink.example.com",
          "api.{tenant}.example.net",
        ]),
    );
    assert.equal(c.routing.hostPatterns.length, 3);
    const bad = (p: unknown, code: string, message?: RegExp) =>
      invalid((d) => (d.routing.hostPatterns = [p]), "routing.hostPatterns[0]", code, message);
    bad("example.com", "CONFIG_BAD_PATTERN", /no \{tenant\} placeholder/);
    bad("{tenant}", "CONFIG_BAD_PATTERN", /at least one label beside/);
    bad("x-{tenant}.example.com", "CONFIG_BAD_PATTERN", /whole label/);
    bad("{tenant}x.example.com", "CONFIG_BAD_PATTERN", /whole label/);
    bad("{tenant}.{tenant}.example.com", "CONFIG_BAD_PATTERN", /more than once/);
    bad("{id}.example.com", "CONFIG_BAD_PATTERN", /only placeholder is \{tenant\}/);
    bad("{tenant}.Example.com", "CONFIG_BAD_PATTERN", /lower case: "\{tenant\}\.example\.com"/);
    bad("{tenant}.example.com.", "CONFIG_BAD_PATTERN", /ends with "\."/);
    bad("{tenant}..example.com", "CONFIG_BAD_PATTERN", /empty label/);
    bad("{tenant}.exa_mple.com", "CONFIG_BAD_PATTERN", /"_"/);
    bad("{tenant}.-x.com", "CONFIG_BAD_PATTERN", /starts or ends with "-"/);
    bad("{tenant}.10.0.0.1", "CONFIG_BAD_PATTERN", /ends in a number/);
    bad(`{tenant}.${"a".repeat(64)}.com`, "CONFIG_BAD_PATTERN", /at most 63/);
    bad(`{tenant}.${"abcdefghi.".repeat(25)}com`, "CONFIG_BAD_PATTERN", /too long/);
    bad({ tenant: null }, "CONFIG_BAD_PATTERN", /host pattern/);
  });

  test("hostPatterns: duplicates and ambiguous pairs are errors", () => {
    invalid(
      (d) => (d.routing.hostPatterns = ["{tenant}.a.com", "{tenant}.a.com"]),
      "routing.hostPatterns[1]",
      "CONFIG_DUPLICATE",
    );
    invalid(
      (d) => (d.routing.hostPatterns = ["{tenant}.example.com", "api.{tenant}.com"]),
      "routing.hostPatterns[1]",
      "CONFIG_BAD_PATTERN",
      /both match "api\.example\.com"/,
    );
    valid((d) => (d.routing.hostPatterns = ["{tenant}.example.com", "api.{tenant}.net"]));
    valid((d) => (d.routing.hostPatterns = ["{tenant}.example.com", "{tenant}.a.example.com"]));
  });

  test("upstream: host:port, the host an IP or a DNS name; port 1..65535", () => {
    const at = (v: string) => valid((d) => (d.routing.upstream = v)).routing.upstream;
    assert.deepEqual(at("backend.internal:443"), { host: "backend.internal", port: 443 });
    assert.deepEqual(at("Backend.Internal:443"), { host: "backend.internal", port: 443 });
    assert.deepEqual(at("localhost:9443"), { host: "localhost", port: 9443 });
    assert.deepEqual(at("[::1]:443"), { host: "::1", port: 443 });
    for (const v of [":443", "backend:0", "bad_host:443", "backend", "-x.com:443", "1.2.3:443"]) {
      invalid((d) => (d.routing.upstream = v), "routing.upstream", "CONFIG_BAD_ADDRESS");
    }
  });

  test("upstream may be absent when every tenant has its own", () => {
    const c = valid((d) => {
      delete d.routing.upstream;
      d.tenants[0].upstream = "10.0.0.5:443";
    });
    assert.equal(c.routing.upstream, null);
    assert.deepEqual(c.tenants[0].upstream, { host: "10.0.0.5", port: 443 });
    invalid(
      (d) => delete d.routing.upstream,
      "tenants[0].upstream",
      "CONFIG_NO_UPSTREAM",
      /tenant "megacorp" has no upstream/,
    );
  });

  test("upstreamProxyProtocol: none | v2", () => {
    assert.equal(
      valid((d) => (d.routing.upstreamProxyProtocol = "v2")).routing.upstreamProxyProtocol,
      "v2",
    );
    invalid(
      (d) => (d.routing.upstreamProxyProtocol = "v1"),
      "routing.upstreamProxyProtocol",
      "CONFIG_SCHEMA",
    );
  });

  test("connectTimeout: a duration from 100ms to 2m", () => {
    assert.equal(valid((d) => (d.routing.connectTimeout = "3s")).routing.connectTimeoutMs, 3000);
    assert.equal(valid((d) => (d.routing.connectTimeout = "2m")).routing.connectTimeoutMs, 120000);
    invalid(
      (d) => (d.routing.connectTimeout = "3m"),
      "routing.connectTimeout",
      "CONFIG_BAD_DURATION",
      /from 100ms to 2m/,
    );
    invalid(
      (d) => (d.routing.connectTimeout = "soon"),
      "routing.connectTimeout",
      "CONFIG_BAD_DURATION",
    );
  });

  test("fallbackUpstream: host:port, absent by default", () => {
    assert.deepEqual(
      valid((d) => (d.routing.fallbackUpstream = "10.0.9.99:443")).routing.fallbackUpstream,
      {
        host: "10.0.9.99",
        port: 443,
      },
    );
    invalid(
      (d) => (d.routing.fallbackUpstream = "10.0.9.99"),
      "routing.fallbackUpstream",
      "CONFIG_BAD_ADDRESS",
    );
  });
});

describe("tenants[]", () => {
  test("id: [a-z0-9-]{1,63}, unique, no hyphen at either end", () => {
    assert.equal(valid((d) => (d.tenants[0].id = "0")).tenants[0].id, "0");
    assert.equal(valid((d) => (d.tenants[0].id = "a-b")).tenants[0].id, "a-b");
    invalid((d) => (d.tenants[0].id = "Mega"), "tenants[0].id", "CONFIG_SCHEMA");
    invalid((d) => (d.tenants[0].id = "a.b"), "tenants[0].id", "CONFIG_SCHEMA");
    invalid((d) => (d.tenants[0].id = "a".repeat(64)), "tenants[0].id", "CONFIG_SCHEMA");
    invalid((d) => delete d.tenants[0].id, "tenants[0].id", "CONFIG_SCHEMA", /required/);
    invalid((d) => (d.tenants[0].id = "-x"), "tenants[0].id", "CONFIG_BAD_TENANT_ID");
    invalid((d) => (d.tenants[0].id = "x-"), "tenants[0].id", "CONFIG_BAD_TENANT_ID");
    invalid(
      (d) => d.tenants.push({ id: "megacorp" }),
      "tenants[1].id",
      "CONFIG_DUPLICATE",
      /used twice/,
    );
  });

  test("hostnames: lower-case DNS names, unique across tenants", () => {
    const c = valid(
      (d) => (d.tenants[0].hostnames = ["api.megacorp.com", "megacorp.api.example.com"]),
    );
    assert.deepEqual(c.tenants[0].hostnames, ["api.megacorp.com", "megacorp.api.example.com"]);
    const bad = (h: unknown, code: string, message?: RegExp) =>
      invalid((d) => (d.tenants[0].hostnames = [h]), "tenants[0].hostnames[0]", code, message);
    bad("API.megacorp.com", "CONFIG_BAD_HOSTNAME", /lower case: "api\.megacorp\.com"/);
    bad("api.megacorp.com.", "CONFIG_BAD_HOSTNAME", /ends with "\."/);
    bad("*.megacorp.com", "CONFIG_BAD_HOSTNAME", /wildcard/);
    bad("10.0.0.1", "CONFIG_BAD_HOSTNAME", /IP address/);
    bad("a b.com", "CONFIG_BAD_HOSTNAME");
    bad("", "CONFIG_BAD_HOSTNAME");
    bad(5, "CONFIG_BAD_HOSTNAME", /must be a lower-case DNS name.*got number 5/);
    invalid(
      (d) =>
        d.tenants.push(
          { id: "other", hostnames: ["x.com"] },
          { id: "third", hostnames: ["x.com"] },
        ),
      "tenants[2].hostnames[0]",
      "CONFIG_DUPLICATE",
      /listed twice/,
    );
    invalid(
      (d) => {
        d.tenants[0].hostnames = ["initech.api.example.com"];
        d.tenants.push({ id: "initech" });
      },
      "tenants[0].hostnames[0]",
      "CONFIG_DUPLICATE",
      /already belongs to tenant "initech"/,
    );
  });

  test("upstream: overrides routing.upstream", () => {
    assert.deepEqual(
      valid((d) => (d.tenants[0].upstream = "mc.backend:8443")).tenants[0].upstream,
      {
        host: "mc.backend",
        port: 8443,
      },
    );
    invalid(
      (d) => (d.tenants[0].upstream = "mc.backend"),
      "tenants[0].upstream",
      "CONFIG_BAD_ADDRESS",
    );
  });

  test("enforcement: enforce | report-only, default enforce", () => {
    assert.equal(
      valid((d) => (d.tenants[0].enforcement = "report-only")).tenants[0].enforcement,
      "report-only",
    );
    invalid((d) => (d.tenants[0].enforcement = "audit"), "tenants[0].enforcement", "CONFIG_SCHEMA");
    invalid(
      (d) => (d.tenants[0].enforcement = "report_only"),
      "tenants[0].enforcement",
      "CONFIG_SCHEMA",
      /did you mean "report-only"/,
    );
  });

  test("allow: absent = no restriction; {} = deny all; publicInternet a boolean", () => {
    assert.equal(valid((d) => delete d.tenants[0].allow).tenants[0].allow, null);
    assert.deepEqual(valid((d) => (d.tenants[0].allow = {})).tenants[0].allow, {
      publicInternet: false,
      rules: [],
    });
    assert.equal(
      valid((d) => (d.tenants[0].allow = { publicInternet: true })).tenants[0].allow
        ?.publicInternet,
      true,
    );
    invalid(
      (d) => (d.tenants[0].allow.publicInternet = "true"),
      "tenants[0].allow.publicInternet",
      "CONFIG_SCHEMA",
    );
    invalid((d) => (d.tenants[0].allow = []), "tenants[0].allow", "CONFIG_SCHEMA");
  });

  test("rules: link and/or cidr, with a description", () => {
    const rules = valid(
      (d) =>
        (d.tenants[0].allow.rules = [
          { link: "aws:vpce-0123456789abcdef0", description: "prod VPC" },
          { link: "gcp:18446744072646845442" },
          { link: "azure:553665985", cidr: "10.1.0.0/16" },
          { cidr: "2001:DB8::/32", description: "office v6" },
        ]),
    ).tenants[0].allow?.rules;
    assert.deepEqual(rules, [
      { link: "aws:vpce-0123456789abcdef0", cidr: null, description: "prod VPC" },
      { link: "gcp:18446744072646845442", cidr: null, description: null },
      { link: "azure:553665985", cidr: "10.1.0.0/16", description: null },
      { link: null, cidr: "2001:db8::/32", description: "office v6" },
    ]);
    const rule = "tenants[0].allow.rules[0]";
    const bad = (r: unknown, key: string, code: string, message?: RegExp) =>
      invalid((d) => (d.tenants[0].allow.rules = [r]), key, code, message);
    bad({}, rule, "CONFIG_EMPTY_RULE", /needs a link, a cidr, or both/);
    bad({ description: "x" }, rule, "CONFIG_EMPTY_RULE");
    bad({ link: "aws:VPCE-1" }, `${rule}.link`, "CONFIG_BAD_IDENTITY", /aws:vpce-/);
    bad(
      { link: "AWS:vpce-abc" },
      `${rule}.link`,
      "CONFIG_BAD_IDENTITY",
      /did you mean "aws:vpce-abc"\?/,
    );
    bad({ link: "azure:4294967296" }, `${rule}.link`, "CONFIG_BAD_IDENTITY", /uint32/);
    bad({ link: "gcp:018" }, `${rule}.link`, "CONFIG_BAD_IDENTITY", /uint64/);
    bad({ link: "gcp:18446744073709551616" }, `${rule}.link`, "CONFIG_BAD_IDENTITY");
    bad({ link: "ibm:1" }, `${rule}.link`, "CONFIG_BAD_IDENTITY", /provider/);
    bad({ link: "vpce-0123" }, `${rule}.link`, "CONFIG_BAD_IDENTITY");
    bad({ link: "" }, `${rule}.link`, "CONFIG_BAD_IDENTITY");
    bad({ link: 553665985 }, `${rule}.link`, "CONFIG_BAD_IDENTITY", /must be an identity/);
    bad({ cidr: "203.0.113.1/24" }, `${rule}.cidr`, "CONFIG_BAD_CIDR", /"203\.0\.113\.0\/24"/);
    bad({ link: "azure:1", cidr: "10.1.0.0/40" }, `${rule}.cidr`, "CONFIG_BAD_CIDR");
    bad({ cidr: "10.0.0.0/8", description: 5 }, `${rule}.description`, "CONFIG_SCHEMA");
    bad(
      { cidr: "10.0.0.0/8", description: "x".repeat(1025) },
      `${rule}.description`,
      "CONFIG_SCHEMA",
    );
    bad({ link: null }, `${rule}.link`, "CONFIG_BAD_IDENTITY", /got null/);
    bad("aws:vpce-0123456789abcdef0", rule, "CONFIG_SCHEMA", /must be a mapping/);
    invalid(
      (d) =>
        (d.tenants[0].allow.rules = [
          { link: "azure:1", cidr: "10.0.0.0/8" },
          { link: "azure:1", cidr: "10.0.0.0/8", description: "again" },
        ]),
      "tenants[0].allow.rules[1]",
      "CONFIG_DUPLICATE",
      /same rule/,
    );
    valid(
      (d) =>
        (d.tenants[0].allow.rules = [{ link: "azure:1", cidr: "10.0.0.0/8" }, { link: "azure:1" }]),
    );
  });
});

describe("api, log, shutdown, store", () => {
  test("api.bind: IP:port", () => {
    assert.deepEqual(valid((d) => (d.api = { bind: "127.0.0.1:9090" })).api, {
      bind: { host: "127.0.0.1", port: 9090 },
    });
    invalid(
      (d) => (d.api = { bind: "localhost:9090" }),
      "api.bind",
      "CONFIG_BAD_ADDRESS",
      /not an IP/,
    );
    invalid((d) => (d.api = {}), "api.bind", "CONFIG_SCHEMA", /required/);
    invalid((d) => (d.api = { bind: "127.0.0.1:9090", port: 1 }), "api.port", "CONFIG_UNKNOWN_KEY");
  });

  test("log.level", () => {
    assert.equal(valid((d) => (d.log = { level: "debug" })).log.level, "debug");
    invalid(
      (d) => (d.log = { level: "verbose" }),
      "log.level",
      "CONFIG_SCHEMA",
      /"trace", "debug"/,
    );
    invalid(
      (d) => (d.log = { level: "warning" }),
      "log.level",
      "CONFIG_SCHEMA",
      /did you mean "warn"/,
    );
  });

  test("log.deniedLinesPerSecond: an integer from 0 to 1,000,000, default 100", () => {
    const at = (v: unknown) =>
      valid((d) => (d.log = { deniedLinesPerSecond: v })).log.deniedLinesPerSecond;
    assert.equal(at(0), 0);
    assert.equal(at(5000), 5000);
    invalid(
      (d) => (d.log = { deniedLinesPerSecond: -1 }),
      "log.deniedLinesPerSecond",
      "CONFIG_SCHEMA",
    );
    invalid(
      (d) => (d.log = { deniedLinesPerSecond: 1.5 }),
      "log.deniedLinesPerSecond",
      "CONFIG_SCHEMA",
    );
    invalid(
      (d) => (d.log = { deniedLinesPerSecond: "100" }),
      "log.deniedLinesPerSecond",
      "CONFIG_SCHEMA",
    );
  });

  test("shutdown.drainTimeout: a duration from 0 to 1h", () => {
    const at = (v: unknown) =>
      valid((d) => (d.shutdown = { drainTimeout: v })).shutdown.drainTimeoutMs;
    assert.equal(at(0), 0);
    assert.equal(at("0s"), 0);
    assert.equal(at("1h"), 3600000);
    assert.equal(at("90s"), 90000);
    invalid(
      (d) => (d.shutdown = { drainTimeout: "2h" }),
      "shutdown.drainTimeout",
      "CONFIG_BAD_DURATION",
      /from 0 to 1h/,
    );
    invalid(
      (d) => (d.shutdown = { drainTimeout: "forever" }),
      "shutdown.drainTimeout",
      "CONFIG_BAD_DURATION",
    );
  });

  test("store: sqlite with path, postgres with url, resolved as written", () => {
    assert.deepEqual(valid((d) => (d.store = { type: "sqlite", path: "./linkgate.db" })).store, {
      type: "sqlite",
      path: "./linkgate.db",
    });
    for (const url of ["postgres://linkgate@db/linkgate", "postgresql://db/linkgate"]) {
      assert.deepEqual(valid((d) => (d.store = { type: "postgres", url })).store, {
        type: "postgres",
        url,
        snapshotPath: null,
        poolSize: 10,
        connectTimeoutMs: 5000,
        checkIntervalMs: 1000,
      });
    }
    const pg = { type: "postgres", url: "postgres://db/linkgate" };
    assert.deepEqual(
      valid(
        (d) =>
          (d.store = {
            ...pg,
            snapshotPath: "/var/lib/linkgate/snapshot.json",
            poolSize: 3,
            connectTimeout: "2s",
            checkInterval: 250,
          }),
      ).store,
      {
        ...pg,
        snapshotPath: "/var/lib/linkgate/snapshot.json",
        poolSize: 3,
        connectTimeoutMs: 2000,
        checkIntervalMs: 250,
      },
    );
    invalid((d) => (d.store = { ...pg, poolSize: 0 }), "store.poolSize", "CONFIG_SCHEMA");
    invalid(
      (d) => (d.store = { ...pg, connectTimeout: "10m" }),
      "store.connectTimeout",
      "CONFIG_BAD_DURATION",
      /from 100ms to 2m/,
    );
    invalid(
      (d) => (d.store = { ...pg, checkInterval: "50ms" }),
      "store.checkInterval",
      "CONFIG_BAD_DURATION",
      /from 100ms to 1m/,
    );
    invalid(
      (d) => (d.store = { type: "mysql" }),
      "store.type",
      "CONFIG_SCHEMA",
      /"sqlite", "postgres"/,
    );
    invalid(
      (d) => (d.store = { type: "sqlit", path: "x" }),
      "store.type",
      "CONFIG_SCHEMA",
      /did you mean "sqlite"/,
    );
    invalid((d) => (d.store = { path: "x" }), "store.type", "CONFIG_SCHEMA", /required/);
    invalid((d) => (d.store = { type: "sqlite" }), "store.path", "CONFIG_SCHEMA", /required/);
    invalid((d) => (d.store = { type: "postgres" }), "store.url", "CONFIG_SCHEMA", /required/);
    invalid(
      (d) => (d.store = { type: "postgres", url: "http://db" }),
      "store.url",
      "CONFIG_SCHEMA",
      /postgres:\/\//,
    );
    invalid(
      (d) => (d.store = { type: "sqlite", path: "x", url: "postgres://db" }),
      "store.url",
      "CONFIG_UNKNOWN_KEY",
    );
    invalid((d) => (d.store = "sqlite"), "store", "CONFIG_SCHEMA", /mapping/);
  });
});

describe("limits, revocation", () => {
  test("limits.maxRulesPerTenant and limits.maxApiBodyBytes: integers within bounds", () => {
    const c = valid((d) => (d.limits = { maxRulesPerTenant: 5, maxApiBodyBytes: 2048 }));
    assert.deepEqual(c.limits, { maxRulesPerTenant: 5, maxApiBodyBytes: 2048 });
    assert.deepEqual(valid((d) => (d.limits = { maxRulesPerTenant: 7 })).limits, {
      maxRulesPerTenant: 7,
      maxApiBodyBytes: 1048576,
    });
    invalid(
      (d) => (d.limits = { maxRulesPerTenant: 0 }),
      "limits.maxRulesPerTenant",
      "CONFIG_SCHEMA",
      /at least 1/,
    );
    invalid(
      (d) => (d.limits = { maxApiBodyBytes: 100 }),
      "limits.maxApiBodyBytes",
      "CONFIG_SCHEMA",
      /at least 1024/,
    );
    invalid(
      (d) => (d.limits = { maxRules: 5 }),
      "limits.maxRules",
      "CONFIG_UNKNOWN_KEY",
      /did you mean "maxRulesPerTenant"/,
    );
  });

  test("metrics.perTenantLabels: a boolean", () => {
    assert.equal(
      valid((d) => (d.metrics = { perTenantLabels: false })).metrics.perTenantLabels,
      false,
    );
    invalid(
      (d) => (d.metrics = { perTenantLabels: "no" }),
      "metrics.perTenantLabels",
      "CONFIG_SCHEMA",
    );
    invalid((d) => (d.metrics = { perTenant: false }), "metrics.perTenant", "CONFIG_UNKNOWN_KEY");
  });

  test("revocation: close or keep", () => {
    assert.equal(valid((d) => (d.revocation = "keep")).revocation, "keep");
    invalid((d) => (d.revocation = "Close"), "revocation", "CONFIG_SCHEMA", /did you mean "close"/);
    invalid((d) => (d.revocation = "drop"), "revocation", "CONFIG_SCHEMA", /"close", "keep"/);
  });
});
