/**
 * A fleet's figures: three `linkgate serve` processes on one PostgreSQL database, which this
 * script starts (a throwaway server, as the tests do: Debian's postgresql package) and stops.
 *
 *   npm run bench:fleet                   (1 000 rules, then 1 000 000 rules in 100 000 tenants)
 *   npm run bench:fleet -- --quick        (1 000 rules, then 100 000 rules in 10 000 tenants)
 *   npm run bench:fleet -- --changes 100  (changes timed per size; default 200)
 *
 * 1. Propagation. A rule is added to a tenant through one instance's REST API (the writer turns
 *    A, B, C, A, …; the tenant changes each time), and the script times, for each of the two
 *    other instances, how long after the API's answer that instance enforces it. Enforcement is
 *    observed from outside, in the data plane: from before the request until it is admitted,
 *    each other instance is probed back to back with what a load balancer sends (a PROXY v2
 *    header carrying the rule's endpoint, then a ClientHello with the tenant's host name;
 *    test/fleet/fleet.ts), and the probe is admitted only once that instance's data plane holds
 *    the new policy. The time taken is when the first admitted probe was sent; a probe takes a
 *    millisecond or two, which is the resolution. A probe admitted before the API answered
 *    counts as 0 (the other instance was first). Target (issue 11): p99 under 200 ms.
 * 2. Join. A fourth instance is started on the larger database, three times, and timed from its
 *    spawn to its first admitted probe for a tenant's rule (and to its "listening" line, which
 *    comes once the store is read and the policy compiled). Target: enforcing within 10 s.
 * Also: seeding the database (importTenants, 10 000 tenants per transaction), starting the
 * three instances together, and the memory of one instance.
 *
 * Every instance runs with a snapshot file, as a fleet should. Prints a Markdown table; writes
 * nothing else. Bounded: the script gives up (and stops everything) after LIMIT_MS.
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { PostgresStore } from "../src/store/postgres/index.js";
import type { TenantInput } from "../src/store/types.js";
import {
  type Instance,
  instanceConfig,
  type Owner,
  startInstance,
  startProbeOrigin,
} from "../test/fleet/fleet.js";
import { startPostgres } from "../test/helpers/postgres.js";
import { delay, withTimeout } from "../test/helpers/programs.js";
import { processTree, rssKiB } from "./lib/procs.js";
import { loadAverage, machineDescription, markdownTable, median } from "./lib/report.js";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const changesIndex = args.indexOf("--changes");
const CHANGES = changesIndex >= 0 ? Number(args[changesIndex + 1]) : 200;
const RULES_PER_TENANT = 10;
const SMALL_TENANTS = 100;
const LARGE_TENANTS = quick ? 10_000 : 100_000;
const JOINS = 3;
const PROBE_GAP_MS = 2;
const LIMIT_MS = 20 * 60_000;
/** How long one instance may take to start on the larger database. */
const START_TIMEOUT_MS = 180_000;

function tenantId(i: number): string {
  return `t${String(i).padStart(6, "0")}`;
}

/** Tenant i's k-th endpoint; a change adds endpoints no tenant has (gcp:). */
function seededLink(i: number, k: number): string {
  return `azure:${i * RULES_PER_TENANT + k}`;
}

async function seed(url: string, tenants: number): Promise<number> {
  const started = performance.now();
  const store = await PostgresStore.open({ url });
  try {
    for (let from = 0; from < tenants; from += 10_000) {
      const batch: TenantInput[] = [];
      for (let i = from; i < Math.min(tenants, from + 10_000); i++) {
        batch.push({
          id: tenantId(i),
          hostnames: [],
          upstream: null,
          enforcement: "enforce",
          allow: {
            publicInternet: false,
            rules: Array.from({ length: RULES_PER_TENANT }, (_, k) => ({
              link: seededLink(i, k),
              cidr: null,
              description: null,
              expiresAt: null,
            })),
          },
        });
      }
      await store.importTenants(batch, { actor: "admin:bench" });
    }
  } finally {
    await store.close();
  }
  return performance.now() - started;
}

/**
 * When `instance` first admits `link` for `tenant`: the send time of that probe. Probes are
 * PROBE_GAP_MS apart (plus their own millisecond or two): probing back to back took most of the
 * two cores of the development machine, and slowed what it measured.
 */
async function firstAdmitted(instance: Instance, link: string, tenant: string): Promise<number> {
  for (;;) {
    const sent = performance.now();
    if (await instance.admits(link, tenant)) return sent;
    await delay(PROBE_GAP_MS);
  }
}

interface Sized {
  tenants: number;
  seedMs: number;
  startMs: number;
  /** Milliseconds from the API's answer to enforcement, per other instance and change. */
  propagation: number[];
  /** Milliseconds from the request to the API's answer. */
  answers: number[];
  rssMiB: number;
  snapshotMiB: number;
  /**
   * Per join: spawn to the "started" line (Node.js and tsx loading linkgate's modules), to the
   * "listening" line of the API (the store read and the policy compiled), to enforcing.
   */
  joins: { startedMs: number; listeningMs: number; enforcingMs: number }[];
}

async function measure(
  owner: Owner,
  pg: Awaited<ReturnType<typeof startPostgres>>,
  originPort: number,
  dir: string,
  tenants: number,
  joins: boolean,
): Promise<Sized> {
  const url = await pg.createDatabase();
  process.stderr.write(`bench:fleet: seeding ${tenants * RULES_PER_TENANT} rules...\n`);
  const seedMs = await seed(url, tenants);
  const config = (name: string) =>
    instanceConfig({ originPort, url, snapshotPath: join(dir, `${name}.snapshot.json`) });
  const names = ["a", "b", "c"].map((n) => `${tenants}-${n}`);
  process.stderr.write("bench:fleet: starting three instances...\n");
  const started = performance.now();
  const fleet = await Promise.all(
    names.map((n) => startInstance(owner, dir, n, config(n), { timeoutMs: START_TIMEOUT_MS })),
  );
  const startMs = performance.now() - started;

  process.stderr.write(`bench:fleet: ${CHANGES} changes...\n`);
  const propagation: number[] = [];
  const answers: number[] = [];
  for (let n = 0; n < CHANGES; n++) {
    const writer = fleet[n % 3];
    const others = fleet.filter((i) => i !== writer);
    const tenant = tenantId((n * 7919) % tenants);
    const link = `gcp:${1_000_000_000 + tenants + n}`;
    const watching = others.map((i) => firstAdmitted(i, link, tenant));
    const sent = performance.now();
    const added = await writer.api("POST", `/v1/tenants/${tenant}/rules`, { link });
    const answered = performance.now();
    if (added.status !== 201 || added.headers.get("linkgate-enforced") !== "true") {
      throw new Error(`change ${n}: ${added.status} ${JSON.stringify(added.json)}`);
    }
    answers.push(answered - sent);
    const enforced = await withTimeout(
      Promise.all(watching),
      10_000,
      `change ${n} to be enforced by ${others.map((i) => i.name).join(" and ")}`,
    );
    for (const at of enforced) propagation.push(Math.max(0, at - answered));
  }
  const rssMiB = rssKiB(processTree(fleet[0].serve.child.pid as number)) / 1024;
  const snapshotMiB = statSync(join(dir, `${names[0]}.snapshot.json`)).size / 2 ** 20;

  const joined: Sized["joins"] = [];
  if (joins) {
    const last = tenants - 1;
    for (let run = 1; run <= JOINS; run++) {
      process.stderr.write(`bench:fleet: a fourth instance joins (${run}/${JOINS})...\n`);
      const name = `${tenants}-join${run}`;
      const spawned = performance.now();
      const spawnedAt = Date.now();
      const joining = await startInstance(owner, dir, name, config(name), {
        timeoutMs: START_TIMEOUT_MS,
      });
      const listeningMs = performance.now() - spawned;
      await firstAdmitted(joining, seededLink(last, RULES_PER_TENANT - 1), tenantId(last));
      const enforcingMs = performance.now() - spawned;
      const startedMs = Date.parse(String(joining.serve.find("started")[0].time)) - spawnedAt;
      joined.push({ startedMs, listeningMs, enforcingMs });
      joining.serve.child.kill("SIGTERM");
      await joining.serve.exited;
    }
  }
  for (const i of fleet) i.serve.child.kill("SIGTERM");
  await Promise.all(fleet.map((i) => i.serve.exited));
  return { tenants, seedMs, startMs, propagation, answers, rssMiB, snapshotMiB, joins: joined };
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)];
}

const ms = (v: number) => (v < 10 ? v.toFixed(1) : v.toFixed(0));
const s = (v: number) => (v / 1000).toFixed(1);

// -------------------------------------------------------------------------------------------

const cleanups: (() => unknown)[] = [];
const owner: Owner = { after: (fn) => cleanups.push(fn) };
const cleanUp = async () => {
  for (const fn of cleanups.splice(0).reverse()) {
    try {
      await fn();
    } catch {
      // best effort
    }
  }
};
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    process.stderr.write(`\nbench:fleet: ${signal}: stopping\n`);
    void cleanUp().finally(() => process.exit(1));
  });
}
const limit = setTimeout(() => {
  process.stderr.write(`bench:fleet: not done after ${LIMIT_MS / 60_000} min: stopping\n`);
  void cleanUp().finally(() => process.exit(1));
}, LIMIT_MS);
limit.unref();

const loadBefore = loadAverage();
try {
  const pg = await startPostgres(owner);
  const origin = await startProbeOrigin(owner);
  const dir = mkdtempSync(join(tmpdir(), "linkgate-bench-fleet-"));
  owner.after(() => rmSync(dir, { recursive: true, force: true }));
  const small = await measure(owner, pg, origin.port, dir, SMALL_TENANTS, false);
  const large = await measure(owner, pg, origin.port, dir, LARGE_TENANTS, true);

  const rules = (x: Sized) => (x.tenants * RULES_PER_TENANT).toLocaleString("en-US");
  const both = (f: (x: Sized) => string) => [f(small), f(large)];
  const rows: string[][] = [
    ["propagation p50, ms", ...both((x) => ms(percentile(x.propagation, 0.5))), ""],
    ["propagation p99, ms", ...both((x) => ms(percentile(x.propagation, 0.99))), "< 200"],
    ["propagation max, ms", ...both((x) => ms(Math.max(...x.propagation))), ""],
    ["changes x other instances", ...both((x) => String(x.propagation.length)), ""],
    [
      "API answer (write + enforced there) p50, ms",
      ...both((x) => ms(percentile(x.answers, 0.5))),
      "",
    ],
    ["API answer p99, ms", ...both((x) => ms(percentile(x.answers, 0.99))), ""],
    [
      `join: spawn to enforcing, s (median of ${JOINS})`,
      "",
      s(median(large.joins.map((j) => j.enforcingMs))),
      "< 10",
    ],
    [
      "join: spawn to enforcing, s (each)",
      "",
      large.joins.map((j) => s(j.enforcingMs)).join(", "),
      "",
    ],
    [
      "join: of which spawn to the started line (Node.js, tsx), s",
      "",
      large.joins.map((j) => s(j.startedMs)).join(", "),
      "",
    ],
    [
      "join: of which started to listening (store read, compile), s",
      "",
      large.joins.map((j) => s(j.listeningMs - j.startedMs)).join(", "),
      "",
    ],
    ["three instances started together, s", ...both((x) => s(x.startMs)), ""],
    ["seeding the database, s", ...both((x) => s(x.seedMs)), ""],
    ["memory of one instance (RSS), MiB", ...both((x) => x.rssMiB.toFixed(0)), ""],
    ["its snapshot file, MiB", ...both((x) => x.snapshotMiB.toFixed(1)), ""],
  ];
  process.stdout.write(
    `# bench:fleet\n\n${machineDescription()}\n${pg.version}\nload average before: ${loadBefore}, after: ${loadAverage()}\n\n`,
  );
  process.stdout.write(
    `${markdownTable(["what", `${rules(small)} rules`, `${rules(large)} rules`, "target"], rows)}\n`,
  );
} finally {
  clearTimeout(limit);
  await cleanUp();
}
