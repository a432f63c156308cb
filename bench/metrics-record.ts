/**
 * Cost of observing one connection: ns per `Metrics.recordConnection` (once per connection, at
 * its end), with one tenant, 1,000 and 100,000 tenants, and with perTenantLabels off; for
 * reference, the same five updates through prom-client's labelled `inc`/`observe`, and ns per
 * `ConnectionLog.write` (to a discarding destination, and at a disabled level). Then the cost of one
 * scrape. Prints numbers only, asserts nothing.
 *
 *   node --import tsx bench/metrics-record.ts
 */
import os from "node:os";
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { ErrorCode } from "../src/errors/index.js";
import { ConnectionLog } from "../src/observability/connection-log.js";
import { createLogger } from "../src/observability/logger.js";
import { HANDSHAKE_BUCKETS, Metrics } from "../src/observability/metrics.js";
import type { ConnectionRecord, Decision } from "../src/observability/types.js";

const OUTCOMES: [Decision, ErrorCode][] = [
  ["allow", "POLICY_LINK_ALLOWED"],
  ["allow", "POLICY_LINK_ALLOWED"],
  ["allow", "POLICY_LINK_CIDR_ALLOWED"],
  ["would-deny", "POLICY_LINK_NOT_ALLOWED"],
  ["deny", "POLICY_LINK_NOT_ALLOWED"],
  ["drop", "PP2_BAD_CRC32C"],
  ["health-check", "HEALTH_CHECK_TCP"],
];

/** `count` records over `tenants` tenants, a mix of decisions, as the data plane emits them. */
function records(count: number, tenants: number): ConnectionRecord[] {
  const out: ConnectionRecord[] = [];
  for (let i = 0; i < count; i++) {
    const [decision, reason] = OUTCOMES[i % OUTCOMES.length];
    const routed = decision !== "drop" && decision !== "health-check";
    out.push({
      listener: i % 5 === 0 ? "public" : "privatelink",
      peer: { address: "10.0.0.5", port: 40000 + (i % 20000) },
      proxySource: { address: "172.31.7.9", port: 50123 },
      proxyDestination: { address: "10.0.9.1", port: 443 },
      link: "aws:vpce-0123456789abcdef0",
      sni: routed ? `tenant-${i % tenants}.privatelink.example.com` : null,
      tenant: routed ? `tenant-${i % tenants}` : null,
      decision,
      reason,
      rule: decision === "allow" ? { index: 0, description: "prod VPC" } : null,
      upstreamError: i % 97 === 0 ? "UPSTREAM_CONNECT_FAILED" : null,
      closedBy: null,
      errno: null,
      upstream: decision === "allow" ? "10.0.9.9:443" : null,
      bytesFromClient: 517 + (i % 1000),
      bytesToClient: routed ? 6000 + (i % 5000) : 0,
      handshakeMs: decision === "drop" ? null : 0.2 + (i % 50) * 0.1,
      durationMs: 1000 + (i % 1000),
    });
  }
  return out;
}

/** Median over 7 rounds of ~200 ms each, after a warm-up, in ns per call of `op(i)`. */
function measure(op: (i: number) => void): number {
  let i = 0;
  const warmUntil = performance.now() + 300;
  while (performance.now() < warmUntil) for (let k = 0; k < 1000; k++) op(i++);
  const rounds: number[] = [];
  for (let r = 0; r < 7; r++) {
    let ops = 0;
    const start = process.hrtime.bigint();
    const until = performance.now() + 200;
    while (performance.now() < until) {
      for (let k = 0; k < 1000; k++) op(i++);
      ops += 1000;
    }
    rounds.push(Number(process.hrtime.bigint() - start) / ops);
  }
  rounds.sort((a, b) => a - b);
  return rounds[rounds.length >> 1];
}

/** The same five updates with prom-client's labelled API, as a naive implementation does. */
function promClientDirect(): (r: ConnectionRecord) => void {
  const registers = [new Registry()];
  const connections = new Counter({
    name: "c",
    help: "c",
    labelNames: ["listener", "tenant", "decision", "reason"],
    registers,
  });
  const bytes = new Counter({
    name: "b",
    help: "b",
    labelNames: ["listener", "tenant", "direction"],
    registers,
  });
  const handshake = new Histogram({
    name: "h",
    help: "h",
    labelNames: ["listener", "decision"],
    buckets: [...HANDSHAKE_BUCKETS],
    registers,
  });
  const active = new Gauge({ name: "a", help: "a", labelNames: ["listener"], registers });
  return (r) => {
    const tenant = r.tenant ?? "";
    connections.inc({ listener: r.listener, tenant, decision: r.decision, reason: r.reason });
    bytes.inc({ listener: r.listener, tenant, direction: "from_client" }, r.bytesFromClient);
    bytes.inc({ listener: r.listener, tenant, direction: "to_client" }, r.bytesToClient);
    if (r.handshakeMs !== null)
      handshake.observe({ listener: r.listener, decision: r.decision }, r.handshakeMs / 1000);
    active.dec({ listener: r.listener });
  };
}

const N = 1 << 16;
const results: [string, number][] = [];

function bench(label: string, tenants: number, options: { perTenantLabels?: boolean } = {}) {
  const list = records(Math.max(N, tenants), tenants);
  const metrics = new Metrics({ defaultMetrics: false, ...options });
  for (const r of list) metrics.recordConnection(r); // every series exists: steady state
  const mask = list.length;
  results.push([label, measure((i) => metrics.recordConnection(list[i % mask]))]);
}

bench("recordConnection, 1 tenant", 1);
bench("recordConnection, 1,000 tenants", 1000);
bench("recordConnection, 100,000 tenants", 100_000);
bench("recordConnection, 100,000 tenants, perTenantLabels false", 100_000, {
  perTenantLabels: false,
});
{
  const list = records(N, 1000);
  const metrics = new Metrics({ defaultMetrics: false });
  results.push([
    "connectionOpened + recordConnection, 1,000 tenants",
    measure((i) => {
      const r = list[i & (N - 1)];
      metrics.connectionOpened(r.listener);
      metrics.recordConnection(r);
    }),
  ]);
}
{
  const list = records(N, 1000);
  const direct = promClientDirect();
  results.push([
    "reference: prom-client labelled inc/observe, 1,000 tenants",
    measure((i) => direct(list[i & (N - 1)])),
  ]);
}
{
  const list = records(N, 1000);
  let bytes = 0;
  const logger = createLogger(
    { level: "info" },
    {
      write: (s: string) => {
        bytes += s.length;
      },
    },
  );
  const unlimited = { deniedLinesPerSecond: Number.POSITIVE_INFINITY };
  const log = new ConnectionLog(logger, unlimited);
  results.push([
    "ConnectionLog.write, info, discarding destination",
    measure((i) => log.write(list[i & (N - 1)])),
  ]);
  const quiet = new ConnectionLog(createLogger({ level: "error" }, { write: () => {} }), unlimited);
  results.push([
    "ConnectionLog.write, level error (disabled)",
    measure((i) => quiet.write(list[i & (N - 1)])),
  ]);
  if (bytes === 0) throw new Error("nothing logged");
}

console.log(`${os.cpus()[0]?.model.trim() ?? "unknown CPU"}, Node.js ${process.version}`);
const width = Math.max(...results.map(([l]) => l.length));
for (const [label, ns] of results)
  console.log(`${label.padEnd(width)}  ${ns.toFixed(0).padStart(6)} ns`);

for (const tenants of [1000, 100_000]) {
  const metrics = new Metrics({ defaultMetrics: false });
  for (const r of records(Math.max(N, tenants * 2), tenants)) metrics.recordConnection(r);
  await metrics.metricsText();
  const start = performance.now();
  const text = await metrics.metricsText();
  const elapsed = performance.now() - start;
  const series = text.split("\n").filter((l) => l !== "" && !l.startsWith("#")).length;
  console.log(
    `scrape, ${tenants.toLocaleString("en")} tenants: ${series.toLocaleString("en")} series, ` +
      `${(text.length / 1e6).toFixed(1)} MB, ${elapsed.toFixed(0)} ms`,
  );
}
