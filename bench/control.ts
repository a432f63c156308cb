/**
 * The control plane's figures: loading the store at start-up, and the cost of a change.
 *
 *   npm run bench:control                 (100 000 tenants, 1 000 000 rules)
 *   npm run bench:control -- --quick      (10 000 tenants, 100 000 rules)
 *   npm run bench:control -- --keep DIR   (keep the database in DIR)
 *
 * 1. Seeds a SQLite store with N tenants of 10 rules each (importTenants, 10 000 per
 *    transaction), reopens it, and times loadAll: what `linkgate serve` reads at start.
 * 2. Times one rule added and one deleted, from the call to the store's change notification
 *    (commit included), with 1 000 rules loaded and with all of them.
 * 3. Times API writes through the REST API (Fastify inject, admin token), sequentially: the
 *    control plane's part of change-to-enforcement, from the request to the moment it asks the
 *    runtime to confirm enforcement, and writes per second.
 * 4. Starts a real linkgate (LinkgateRuntime, in this process) on each store, and times: the
 *    start (store read, policy composed and compiled, listeners bound); change-to-enforcement
 *    over HTTP, a rule added then deleted, from the request to the answer (which comes once
 *    the change is in force: Linkgate-Enforced: true); and the runtime's own part of it (the
 *    changed tenant compiled and swapped in, live connections re-checked).
 *
 * Prints a Markdown table; writes nothing else.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { buildAdminApp } from "../src/control/admin-server.js";
import { registerControlPlane } from "../src/control/control-plane.js";
import type { PolicyPort } from "../src/control/port.js";
import { Health } from "../src/observability/health.js";
import { Metrics } from "../src/observability/metrics.js";
import { LinkgateRuntime } from "../src/runtime/linkgate.js";
import { openStore } from "../src/store/index.js";
import type { Store, TenantInput } from "../src/store/types.js";
import { machineDescription, markdownTable, median } from "./lib/report.js";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const keepIndex = args.indexOf("--keep");
const TENANTS = quick ? 10_000 : 100_000;
const RULES_PER_TENANT = 10;
const ADMIN_TOKEN = "bench-admin-token-0123456789abcdef0123456789";
const ACTOR = { actor: "admin:bench" };

function tenantId(i: number): string {
  return `t${String(i).padStart(6, "0")}`;
}

function tenantInput(i: number): TenantInput {
  return {
    id: tenantId(i),
    hostnames: [`${tenantId(i)}.customers.example.com`],
    upstream: null,
    enforcement: "enforce",
    allow: {
      publicInternet: false,
      rules: Array.from({ length: RULES_PER_TENANT }, (_, k) => ({
        link: `azure:${i * RULES_PER_TENANT + k}`,
        cidr: null,
        description: null,
        expiresAt: null,
      })),
    },
  };
}

function ms(value: number): string {
  return value < 10 ? value.toFixed(2) : value.toFixed(0);
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

async function seed(store: Store, tenants: number): Promise<number> {
  const started = performance.now();
  for (let from = 0; from < tenants; from += 10_000) {
    const batch: TenantInput[] = [];
    for (let i = from; i < Math.min(tenants, from + 10_000); i++) batch.push(tenantInput(i));
    await store.importTenants(batch, ACTOR);
  }
  return performance.now() - started;
}

/** Milliseconds from each call to the change notification, for `count` add-then-delete pairs. */
async function changeLatencies(store: Store, tenants: number, count: number): Promise<number[]> {
  const latencies: number[] = [];
  let notified = 0;
  const unsubscribe = store.onChange(() => {
    notified = performance.now();
  });
  for (let n = 0; n < count; n++) {
    const id = tenantId((n * 7919) % tenants);
    let started = performance.now();
    const { rule } = await store.addRule(
      id,
      { link: `gcp:${1_000_000 + n}`, cidr: null, description: null, expiresAt: null },
      ACTOR,
    );
    latencies.push(notified - started);
    started = performance.now();
    await store.deleteRule(id, rule.id, ACTOR);
    latencies.push(notified - started);
  }
  unsubscribe();
  return latencies.sort((a, b) => a - b);
}

/** The control plane on `store`, with a runtime port that confirms at once. */
async function apiOn(store: Store) {
  let asked = 0;
  const port: PolicyPort = {
    file: () => ({ tenants: new Map(), hostPatterns: [], defaultUpstream: true }),
    wouldDeny: () => [],
    enforced: async () => {
      asked = performance.now();
    },
    enforcedTenants: () => null,
  };
  const app = buildAdminApp({
    metrics: new Metrics({ defaultMetrics: false }),
    health: new Health(),
  });
  registerControlPlane(app, {
    store,
    port,
    adminTokens: [ADMIN_TOKEN],
    limits: { maxRulesPerTenant: 1000, maxApiBodyBytes: 1 << 20 },
    version: "bench",
  });
  await app.ready();
  return { app, askedAt: () => asked };
}

async function apiWrites(store: Store, tenants: number, count: number) {
  const { app, askedAt } = await apiOn(store);
  const headers = { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" };
  const toEnforcement: number[] = [];
  const started = performance.now();
  for (let n = 0; n < count; n++) {
    const id = tenantId((n * 104_729) % tenants);
    const sent = performance.now();
    const response = await app.inject({
      method: "POST",
      url: `/v1/tenants/${id}/rules`,
      headers,
      payload: JSON.stringify({ link: `gcp:${2_000_000 + n}` }),
    });
    if (response.statusCode !== 201) throw new Error(`POST rule: ${response.body}`);
    toEnforcement.push(askedAt() - sent);
  }
  const seconds = (performance.now() - started) / 1000;
  await app.close();
  return { perSecond: count / seconds, toEnforcement: toEnforcement.sort((a, b) => a - b) };
}

/** A running linkgate on the store at `db`: start time, change-to-enforcement over HTTP. */
async function runtimeFigures(dir: string, db: string, tenants: number, count: number) {
  const file = join(dir, `runtime-${tenants}.yaml`);
  writeFileSync(
    file,
    `listeners:
  - { name: privatelink, bind: 127.0.0.1:0, proxyProtocol: required, trustedProxies: [127.0.0.0/8] }
routing: { hostPatterns: ["{tenant}.api.example.com"], upstream: 127.0.0.1:9 }
store: { type: sqlite, path: ${JSON.stringify(db)} }
api: { bind: 127.0.0.1:0 }
log: { level: silent }
metrics: { perTenantLabels: false }
`,
  );
  process.env.LINKGATE_ADMIN_TOKEN = ADMIN_TOKEN;
  const t0 = performance.now();
  const rt = await LinkgateRuntime.start({ configFile: file, version: "bench", watchFile: false });
  const startMs = performance.now() - t0;
  const rules = rt.gateway.holder.current.ruleCount;
  // The runtime's part: the store feed calls applyTenants on the runtime for each change.
  const swaps: number[] = [];
  const applyTenants = rt.applyTenants.bind(rt);
  rt.applyTenants = async (changes) => {
    const started = performance.now();
    await applyTenants(changes);
    swaps.push(performance.now() - started);
  };
  const admin = rt.admin?.address;
  if (admin === undefined) throw new Error("no admin endpoint");
  const url = `http://${admin.host}:${admin.port}`;
  const headers = { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" };
  const latencies: number[] = [];
  let notEnforced = 0;
  for (let n = 0; n < count; n++) {
    const id = tenantId((n * 104_729) % tenants);
    let sent = performance.now();
    const added = await fetch(`${url}/v1/tenants/${id}/rules`, {
      method: "POST",
      headers,
      body: JSON.stringify({ link: `gcp:${3_000_000 + n}` }),
    });
    latencies.push(performance.now() - sent);
    if (added.headers.get("linkgate-enforced") !== "true") notEnforced++;
    const rule = (await added.json()) as { id: string };
    sent = performance.now();
    const deleted = await fetch(`${url}/v1/tenants/${id}/rules/${rule.id}?force=true`, {
      method: "DELETE",
      headers: { authorization: headers.authorization },
    });
    latencies.push(performance.now() - sent);
    if (deleted.headers.get("linkgate-enforced") !== "true") notEnforced++;
  }
  await rt.stop();
  return {
    startMs,
    rules,
    latencies: latencies.sort((a, b) => a - b),
    swaps: swaps.sort((a, b) => a - b),
    notEnforced,
  };
}

async function main(): Promise<void> {
  const dir = keepIndex >= 0 ? args[keepIndex + 1] : mkdtempSync(join(tmpdir(), "linkgate-bench-"));
  const path = join(dir, "control.db");
  const rows: string[][] = [];
  try {
    // A small store first: change latency with 1 000 rules loaded.
    const small = await openStore({ type: "sqlite", path: join(dir, "small.db") });
    await seed(small, 100);
    const smallChanges = await changeLatencies(small, 100, 200);
    await small.close();

    let store = await openStore({ type: "sqlite", path });
    const seedMs = await seed(store, TENANTS);
    await store.close();

    global.gc?.();
    const heapBefore = process.memoryUsage().heapUsed;
    store = await openStore({ type: "sqlite", path });
    const loads: number[] = [];
    let loadedRules = 0;
    for (let round = 0; round < 3; round++) {
      const started = performance.now();
      const snapshot = await store.loadAll();
      loads.push(performance.now() - started);
      loadedRules = snapshot.tenants.reduce((n, t) => n + (t.allow?.rules.length ?? 0), 0);
      if (round === 0) {
        const heapAfter = process.memoryUsage().heapUsed;
        rows.push([
          "heap held by one loadAll snapshot",
          `${((heapAfter - heapBefore) / 1048576).toFixed(0)} MiB`,
          `${snapshot.tenants.length} tenants, ${loadedRules} rules`,
        ]);
      }
    }
    const bigChanges = await changeLatencies(store, TENANTS, 200);
    const writes = await apiWrites(store, TENANTS, quick ? 500 : 2000);
    await store.close();
    const running = [
      await runtimeFigures(dir, join(dir, "small.db"), 100, 200),
      await runtimeFigures(dir, path, TENANTS, 200),
    ];

    rows.unshift(
      [
        "seed (importTenants, 10 000 tenants per transaction)",
        `${ms(seedMs / 1000)} s`,
        `${TENANTS} tenants, ${TENANTS * RULES_PER_TENANT} rules`,
      ],
      [
        "loadAll at start-up (median of 3)",
        `${ms(median(loads) / 1000)} s`,
        `${TENANTS} tenants, ${loadedRules} rules`,
      ],
    );
    rows.push(
      [
        "one rule added or deleted, call to change notification, 1 000 rules loaded",
        `p50 ${ms(percentile(smallChanges, 0.5))} ms, p99 ${ms(percentile(smallChanges, 0.99))} ms`,
        `${smallChanges.length} changes`,
      ],
      [
        `the same, ${loadedRules} rules loaded`,
        `p50 ${ms(percentile(bigChanges, 0.5))} ms, p99 ${ms(percentile(bigChanges, 0.99))} ms`,
        `${bigChanges.length} changes`,
      ],
      [
        "POST /v1/tenants/{id}/rules, request to the enforcement request (control plane's part)",
        `p50 ${ms(percentile(writes.toEnforcement, 0.5))} ms, p99 ${ms(percentile(writes.toEnforcement, 0.99))} ms`,
        `${writes.toEnforcement.length} requests, one at a time`,
      ],
      [
        "API writes per second (sequential, synchronous=FULL)",
        `${writes.perSecond.toFixed(0)}/s`,
        "",
      ],
    );
    for (const r of running) {
      rows.push(
        [
          `linkgate start on the store (read, composed, compiled, listening), ${r.rules} rules`,
          `${ms(r.startMs / 1000)} s`,
          "LinkgateRuntime.start",
        ],
        [
          `change-to-enforcement over HTTP (rule added or deleted; the answer comes once in force), ${r.rules} rules`,
          `p50 ${ms(percentile(r.latencies, 0.5))} ms, p99 ${ms(percentile(r.latencies, 0.99))} ms`,
          `${r.latencies.length} changes${r.notEnforced > 0 ? `, ${r.notEnforced} answered before in force` : ", each answered Linkgate-Enforced: true"}`,
        ],
        [
          `the runtime's part: the changed tenant compiled and swapped in, ${r.rules} rules`,
          `p50 ${ms(percentile(r.swaps, 0.5))} ms, p99 ${ms(percentile(r.swaps, 0.99))} ms`,
          `${r.swaps.length} swaps`,
        ],
      );
    }
    process.stdout.write(`# bench:control\n\n${machineDescription()}\n\n`);
    process.stdout.write(`${markdownTable(["what", "result", "size"], rows)}\n`);
  } finally {
    if (keepIndex < 0) rmSync(dir, { recursive: true, force: true });
  }
}

await main();
