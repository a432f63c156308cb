import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createLogger } from "../../src/observability/logger.js";
import { HANDSHAKE_BUCKETS, Metrics } from "../../src/observability/metrics.js";
import { connectionObserver } from "../../src/observability/observer.js";
import type { ConnectionRecord } from "../../src/observability/types.js";
import { type Exposition, parseExposition, record, seriesKey } from "./fixtures.js";

async function scrape(metrics: Metrics): Promise<Exposition> {
  return parseExposition(await metrics.metricsText());
}

function value(
  e: Exposition,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  return e.samples.get(seriesKey(name, labels));
}

/** Every sample of a metric name, as [labels-key, value] pairs, sorted. */
function series(e: Exposition, name: string): [string, number][] {
  return [...e.samples]
    .filter(([k]) => k === name || k.startsWith(`${name}{`))
    .sort(([a], [b]) => (a < b ? -1 : 1));
}

/** Asserts the exact set of series of a metric name, in any order. */
function assertSeries(e: Exposition, name: string, expected: [string, number][]): void {
  assert.deepEqual(Object.fromEntries(series(e, name)), Object.fromEntries(expected));
}

function play(metrics: Metrics, records: ConnectionRecord[]): void {
  for (const r of records) metrics.connectionOpened(r.listener);
  for (const r of records) metrics.recordConnection(r);
}

const SEQUENCE: ConnectionRecord[] = [
  record(), // allow megacorp via link
  record({ bytesFromClient: 100, bytesToClient: 200, handshakeMs: 0.05 }),
  record({
    tenant: "acme",
    decision: "would-deny",
    reason: "POLICY_LINK_NOT_ALLOWED",
    rule: null,
    bytesFromClient: 10,
    bytesToClient: 20,
    handshakeMs: 3,
  }),
  record({
    tenant: "acme",
    decision: "deny",
    reason: "POLICY_LINK_NOT_ALLOWED",
    rule: null,
    upstream: null,
    bytesFromClient: 700,
    bytesToClient: 0,
    handshakeMs: 0.5,
  }),
  record({
    tenant: null,
    sni: "nobody.example.org",
    decision: "deny",
    reason: "POLICY_UNKNOWN_HOST",
    bytesFromClient: 600,
    bytesToClient: 0,
    handshakeMs: 0.1,
  }),
  record({
    tenant: null,
    sni: null,
    decision: "deny",
    reason: "TLS_NO_SNI",
    bytesFromClient: 300,
    bytesToClient: 0,
    handshakeMs: 0.25,
  }),
  record({
    tenant: null,
    sni: null,
    link: null,
    decision: "drop",
    reason: "PP2_BAD_CRC32C",
    bytesFromClient: 52,
    bytesToClient: 0,
    handshakeMs: null,
  }),
  record({
    tenant: null,
    sni: null,
    link: null,
    decision: "drop",
    reason: "PP2_BAD_CRC32C",
    bytesFromClient: 52,
    bytesToClient: 0,
    handshakeMs: null,
  }),
  record({
    listener: "public",
    tenant: null,
    sni: null,
    link: null,
    decision: "drop",
    reason: "PP_VERSION_NOT_ALLOWED",
    bytesFromClient: 16,
    bytesToClient: 0,
    handshakeMs: 20_000,
  }),
  record({
    listener: "public",
    tenant: null,
    sni: null,
    link: null,
    decision: "drop",
    reason: "PP1_BAD_PORT",
    bytesFromClient: 40,
    bytesToClient: 0,
    handshakeMs: null,
  }),
  record({
    listener: "public",
    tenant: null,
    decision: "drop",
    reason: "TLS_BAD_HELLO",
    bytesFromClient: 500,
    bytesToClient: 0,
    handshakeMs: null,
  }),
  record({
    upstreamError: "UPSTREAM_CONNECT_FAILED",
    bytesFromClient: 517,
    bytesToClient: 0,
    handshakeMs: 10,
  }),
  record({
    listener: "privatelink",
    tenant: null,
    sni: null,
    link: null,
    proxySource: null,
    decision: "health-check",
    reason: "HEALTH_CHECK_TCP",
    rule: null,
    bytesFromClient: 16,
    bytesToClient: 0,
    handshakeMs: 0.02,
  }),
];

describe("Metrics", () => {
  it("counts connections by listener, tenant, decision and reason", async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    play(metrics, SEQUENCE);
    const e = await scrape(metrics);
    assert.equal(e.types.get("linkgate_connections_total"), "counter");
    const c = (listener: string, tenant: string, decision: string, reason: string) =>
      seriesKey("linkgate_connections_total", { listener, tenant, decision, reason });
    assertSeries(e, "linkgate_connections_total", [
      [c("privatelink", "megacorp", "allow", "POLICY_LINK_ALLOWED"), 3],
      [c("privatelink", "acme", "would-deny", "POLICY_LINK_NOT_ALLOWED"), 1],
      [c("privatelink", "acme", "deny", "POLICY_LINK_NOT_ALLOWED"), 1],
      [c("privatelink", "", "deny", "POLICY_UNKNOWN_HOST"), 1],
      [c("privatelink", "", "deny", "TLS_NO_SNI"), 1],
      [c("privatelink", "", "drop", "PP2_BAD_CRC32C"), 2],
      [c("privatelink", "", "health-check", "HEALTH_CHECK_TCP"), 1],
      [c("public", "", "drop", "PP_VERSION_NOT_ALLOWED"), 1],
      [c("public", "", "drop", "PP1_BAD_PORT"), 1],
      [c("public", "", "drop", "TLS_BAD_HELLO"), 1],
    ]);
  });

  it("tracks active connections: +1 on accept, -1 when recorded", async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    for (let i = 0; i < 5; i++) metrics.connectionOpened("privatelink");
    metrics.connectionOpened("public");
    metrics.recordConnection(record());
    metrics.recordConnection(record());
    let e = await scrape(metrics);
    assert.equal(e.types.get("linkgate_active_connections"), "gauge");
    assert.equal(value(e, "linkgate_active_connections", { listener: "privatelink" }), 3);
    assert.equal(value(e, "linkgate_active_connections", { listener: "public" }), 1);
    metrics.recordConnection(record({ listener: "public" }));
    e = await scrape(metrics);
    assert.equal(value(e, "linkgate_active_connections", { listener: "public" }), 0);
  });

  it("sums bytes each way by listener and tenant", async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    play(metrics, SEQUENCE);
    const e = await scrape(metrics);
    const b = (listener: string, tenant: string, direction: string) =>
      value(e, "linkgate_bytes_total", { listener, tenant, direction });
    assert.equal(b("privatelink", "megacorp", "from_client"), 1517 + 100 + 517);
    assert.equal(b("privatelink", "megacorp", "to_client"), 6143 + 200);
    assert.equal(b("privatelink", "acme", "from_client"), 710);
    assert.equal(b("privatelink", "acme", "to_client"), 20);
    assert.equal(b("privatelink", "", "from_client"), 600 + 300 + 52 + 52 + 16);
    assert.equal(b("public", "", "from_client"), 16 + 40 + 500);
    assert.equal(b("public", "", "to_client"), 0);
  });

  it("counts PROXY protocol and TLS errors by code", async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    play(metrics, SEQUENCE);
    const e = await scrape(metrics);
    assertSeries(e, "linkgate_proxy_protocol_errors_total", [
      [
        seriesKey("linkgate_proxy_protocol_errors_total", {
          listener: "privatelink",
          code: "PP2_BAD_CRC32C",
        }),
        2,
      ],
      [
        seriesKey("linkgate_proxy_protocol_errors_total", {
          listener: "public",
          code: "PP1_BAD_PORT",
        }),
        1,
      ],
      [
        seriesKey("linkgate_proxy_protocol_errors_total", {
          listener: "public",
          code: "PP_VERSION_NOT_ALLOWED",
        }),
        1,
      ],
    ]);
    assertSeries(e, "linkgate_tls_errors_total", [
      [seriesKey("linkgate_tls_errors_total", { listener: "privatelink", code: "TLS_NO_SNI" }), 1],
      [seriesKey("linkgate_tls_errors_total", { listener: "public", code: "TLS_BAD_HELLO" }), 1],
    ]);
    assert.equal(e.types.get("linkgate_proxy_protocol_errors_total"), "counter");
    assert.equal(e.types.get("linkgate_tls_errors_total"), "counter");
  });

  it("counts upstream errors by listener, tenant and code", async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    play(metrics, SEQUENCE);
    const e = await scrape(metrics);
    assertSeries(e, "linkgate_upstream_errors_total", [
      [
        seriesKey("linkgate_upstream_errors_total", {
          listener: "privatelink",
          tenant: "megacorp",
          code: "UPSTREAM_CONNECT_FAILED",
        }),
        1,
      ],
    ]);
  });

  it("counts connections linkgate closed, by listener, tenant and code", async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    play(metrics, [
      record({ closedBy: "POLICY_REVOKED" }),
      record({ closedBy: "POLICY_REVOKED" }),
      record({ tenant: "acme", closedBy: "CONN_SHUTDOWN" }),
      record(),
    ]);
    const e = await scrape(metrics);
    const k = (tenant: string, code: string) =>
      seriesKey("linkgate_closed_connections_total", { listener: "privatelink", tenant, code });
    assertSeries(e, "linkgate_closed_connections_total", [
      [k("acme", "CONN_SHUTDOWN"), 1],
      [k("megacorp", "POLICY_REVOKED"), 2],
    ]);
  });

  it("observes handshake durations in seconds into 0.1 ms .. 10 s buckets", async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    play(metrics, SEQUENCE);
    const e = await scrape(metrics);
    const name = "linkgate_handshake_duration_seconds";
    assert.equal(e.types.get(name), "histogram");
    const bucket = (listener: string, decision: string, le: string) =>
      value(e, `${name}_bucket`, { listener, decision, le });
    // privatelink/allow: 1.234567 ms, 0.05 ms, 10 ms (the upstream failure).
    const allow = HANDSHAKE_BUCKETS.map((le) => bucket("privatelink", "allow", String(le)));
    assert.deepEqual(allow, [1, 1, 1, 1, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3]);
    assert.equal(bucket("privatelink", "allow", "+Inf"), 3);
    assert.equal(value(e, `${name}_count`, { listener: "privatelink", decision: "allow" }), 3);
    const sum = value(e, `${name}_sum`, { listener: "privatelink", decision: "allow" }) ?? NaN;
    assert.ok(Math.abs(sum - (1.234567 + 0.05 + 10) / 1000) < 1e-12, String(sum));
    // A bound is inclusive: 0.1 ms is in le="0.0001", 0.25 ms in le="0.00025".
    assert.equal(bucket("privatelink", "deny", "0.0001"), 1);
    assert.equal(bucket("privatelink", "deny", "0.00025"), 2);
    assert.equal(bucket("privatelink", "deny", "0.0005"), 3);
    assert.equal(value(e, `${name}_count`, { listener: "privatelink", decision: "deny" }), 3);
    // Beyond 10 s only +Inf has it.
    assert.equal(bucket("public", "drop", "10"), 0);
    assert.equal(bucket("public", "drop", "+Inf"), 1);
    assert.equal(value(e, `${name}_sum`, { listener: "public", decision: "drop" }), 20);
    // No decision reached (handshakeMs null): not observed.
    assert.equal(
      value(e, `${name}_count`, { listener: "privatelink", decision: "drop" }),
      undefined,
    );
    assert.equal(bucket("privatelink", "health-check", "0.0001"), 1);
    // Five series (privatelink: allow, would-deny, deny, health-check; public: drop), each
    // with its 16 bounds and +Inf.
    const buckets = [...e.samples.keys()].filter((k) => k.startsWith(`${name}_bucket{`));
    assert.equal(buckets.length, 5 * (HANDSHAKE_BUCKETS.length + 1));
  });

  it("retainTenants drops the series of removed tenants, keeps the others and the empty tenant", async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    for (const tenant of ["megacorp", "initech", null]) {
      metrics.connectionOpened("privatelink");
      metrics.recordConnection(record({ tenant }));
    }
    metrics.retainTenants((id) => id === "initech");
    const text = await metrics.metricsText();
    assert.doesNotMatch(text, /tenant="megacorp"/);
    assert.match(text, /linkgate_connections_total\{[^}]*tenant="initech"/);
    assert.match(text, /linkgate_connections_total\{[^}]*tenant=""/);
  });

  it("the text and the registry's JSON agree, whatever the size (the scrape is sliced)", async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    for (let i = 0; i < 3000; i++) {
      metrics.connectionOpened("privatelink");
      metrics.recordConnection(record({ tenant: `t${i}` }));
    }
    const e = await scrape(metrics);
    const json = await metrics.registry.getMetricsAsJSON();
    let series = 0;
    for (const family of json) {
      for (const v of family.values) {
        const name = (v as { metricName?: string }).metricName ?? family.name;
        const labels = Object.fromEntries(Object.entries(v.labels).map(([k, x]) => [k, String(x)]));
        assert.equal(
          e.samples.get(seriesKey(name, labels)),
          v.value,
          `${name} ${JSON.stringify(labels)}`,
        );
        series++;
      }
    }
    assert.ok(series > 6000, `${series} series compared`);
  });

  it("a scrape of 20,000 tenants lets the event loop run between its slices", async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    for (let i = 0; i < 20_000; i++) {
      metrics.connectionOpened("privatelink");
      metrics.recordConnection(record({ tenant: `t${i}` }));
    }
    // Other work (the connections this process relays) gets turns while the scrape runs: a
    // scrape done in one block would let this loop run once at most.
    let turns = 0;
    let scraping = true;
    const spin = () => {
      if (!scraping) return;
      turns++;
      setImmediate(spin);
    };
    setImmediate(spin);
    const text = await metrics.metricsText();
    scraping = false;
    assert.ok(text.length > 1e6);
    assert.ok(turns >= 10, `${turns} turns of the event loop during the scrape`);
  });

  it("labels tenant as an empty string with perTenantLabels: false", async () => {
    const metrics = new Metrics({ defaultMetrics: false, perTenantLabels: false });
    play(metrics, SEQUENCE);
    const e = await scrape(metrics);
    const tenants = new Set<string>();
    for (const key of e.samples.keys()) {
      const m = /[{,]tenant="([^"]*)"/.exec(key);
      if (m) tenants.add(m[1]);
    }
    assert.deepEqual([...tenants], [""]);
    const c = (decision: string, reason: string) =>
      value(e, "linkgate_connections_total", {
        listener: "privatelink",
        tenant: "",
        decision,
        reason,
      });
    assert.equal(c("allow", "POLICY_LINK_ALLOWED"), 3);
    assert.equal(c("deny", "POLICY_LINK_NOT_ALLOWED"), 1);
    assert.equal(c("would-deny", "POLICY_LINK_NOT_ALLOWED"), 1);
    assert.equal(
      value(e, "linkgate_bytes_total", {
        listener: "privatelink",
        tenant: "",
        direction: "from_client",
      }),
      1517 + 100 + 517 + 710 + 600 + 300 + 52 + 52 + 16,
    );
    assert.equal(
      value(e, "linkgate_upstream_errors_total", {
        listener: "privatelink",
        tenant: "",
        code: "UPSTREAM_CONNECT_FAILED",
      }),
      1,
    );
  });

  it("counts policy reloads; a failed one leaves the policy gauges alone", async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    let e = await scrape(metrics);
    assert.equal(value(e, "linkgate_policy_reloads_total", { result: "ok" }), 0);
    assert.equal(value(e, "linkgate_policy_reloads_total", { result: "error" }), 0);
    assert.equal(value(e, "linkgate_policy_last_reload_success_timestamp_seconds"), 0);
    const before = Date.now() / 1000;
    metrics.policyReloaded(true, 3, 7);
    metrics.policyReloaded(false);
    metrics.policyReloaded(false, 99, 99);
    metrics.policyReloaded(true, 4, 9);
    e = await scrape(metrics);
    assert.equal(value(e, "linkgate_policy_reloads_total", { result: "ok" }), 2);
    assert.equal(value(e, "linkgate_policy_reloads_total", { result: "error" }), 2);
    assert.equal(value(e, "linkgate_policy_tenants"), 4);
    assert.equal(value(e, "linkgate_policy_rules"), 9);
    const last = value(e, "linkgate_policy_last_reload_success_timestamp_seconds") ?? 0;
    assert.ok(last >= before && last <= Date.now() / 1000 + 1, String(last));
    metrics.policyReloaded(false, 0, 0);
    e = await scrape(metrics);
    assert.equal(value(e, "linkgate_policy_tenants"), 4);
    assert.equal(value(e, "linkgate_policy_rules"), 9);
  });

  it("exposes build_info and, by default, the standard process metrics", async () => {
    const withDefaults = new Metrics({ version: "9.8.7" });
    const e = await scrape(withDefaults);
    assert.equal(value(e, "linkgate_build_info", { version: "9.8.7", node: process.version }), 1);
    assert.ok(e.types.has("process_cpu_user_seconds_total"));
    assert.ok(e.types.has("nodejs_heap_size_used_bytes"));
    const bare = await scrape(new Metrics({ defaultMetrics: false }));
    assert.ok(!bare.types.has("process_cpu_user_seconds_total"));
    const info = series(bare, "linkgate_build_info");
    assert.equal(info.length, 1);
    assert.match(info[0][0], /version="\d+\.\d+\.\d+[^"]*"/);
  });

  it("keeps instances apart (private registries)", async () => {
    const a = new Metrics({ defaultMetrics: false });
    const b = new Metrics({ defaultMetrics: false });
    a.connectionOpened("privatelink");
    a.recordConnection(record());
    const eb = await scrape(b);
    assert.equal(series(eb, "linkgate_connections_total").length, 0);
    const ea = await scrape(a);
    assert.equal(series(ea, "linkgate_connections_total").length, 1);
  });

  it("scrapes are repeatable and counters only grow", async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    play(metrics, SEQUENCE);
    const first = await metrics.metricsText();
    assert.equal(await metrics.metricsText(), first);
    play(metrics, SEQUENCE);
    const e = await scrape(metrics);
    assert.equal(
      value(e, "linkgate_connections_total", {
        listener: "privatelink",
        tenant: "megacorp",
        decision: "allow",
        reason: "POLICY_LINK_ALLOWED",
      }),
      6,
    );
  });

  it("states the Prometheus text content type", () => {
    const metrics = new Metrics({ defaultMetrics: false });
    assert.match(metrics.contentType, /^text\/plain; version=0\.0\.4; charset=utf-8$/);
  });
});

describe("connectionObserver", () => {
  it("feeds metrics and logs from the data plane's opened/closed calls", async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    const lines: string[] = [];
    const logger = createLogger({ level: "info" }, { write: (l: string) => void lines.push(l) });
    const observer = connectionObserver({ metrics, logger });
    observer.opened("privatelink");
    observer.opened("privatelink");
    observer.closed(record());
    const e = await scrape(metrics);
    assert.equal(value(e, "linkgate_active_connections", { listener: "privatelink" }), 1);
    assert.equal(lines.length, 1);
    assert.equal(JSON.parse(lines[0]).msg, "connection");
    // Either side may be absent.
    connectionObserver({ metrics }).closed(record());
    connectionObserver({ logger }).closed(record());
    assert.equal(lines.length, 2);
  });
});
