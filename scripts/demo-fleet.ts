/**
 * `npm run demo:fleet`: a fleet on one machine. Starts a throwaway PostgreSQL server (Debian's
 * postgresql package, as the tests do) and three `linkgate serve` processes on it, then shows
 * what docs/fleet.md describes: a change through one instance's API enforced by the two others,
 * the database stopped (every instance keeps enforcing, writes answer 503) and started again.
 * It then leaves the fleet running for you (addresses and admin token printed) until Ctrl-C,
 * which stops the three instances and PostgreSQL and removes their files.
 *
 *   npm run demo:fleet                 the walk-through, then the fleet until Ctrl-C
 *   npm run demo:fleet -- --no-wait    the walk-through only (CI runs this)
 *
 * Every address is on 127.0.0.1, on ports the system picks.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import {
  ADMIN_TOKEN,
  type Instance,
  instanceConfig,
  OTHER,
  startInstance,
  startProbeOrigin,
  until,
  VPCE,
} from "../test/fleet/fleet.js";
import { findPostgresBin, startPostgres } from "../test/helpers/postgres.js";
import { waitFor } from "../test/helpers/programs.js";

const wait = !process.argv.includes("--no-wait");
const say = (line = "") => process.stdout.write(`${line}\n`);
const cleanups: (() => unknown)[] = [];
const owner = { after: (fn: () => unknown) => cleanups.push(fn) };
const stopAll = async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
};

if (findPostgresBin() === null) {
  say("demo:fleet needs PostgreSQL's server programs: apt-get install postgresql (Debian, Ubuntu)");
  process.exit(1);
}

/** Milliseconds from `since` until a probe through `instance` admits `link` for megacorp. */
async function enforcedAfter(instance: Instance, link: string, since: number): Promise<string> {
  await until(instance, link, "megacorp", true, 10_000);
  return `${Math.max(0, performance.now() - since).toFixed(0)} ms`;
}

try {
  const pg = await startPostgres(owner);
  const url = await pg.createDatabase();
  const origin = await startProbeOrigin(owner);
  const dir = mkdtempSync(join(tmpdir(), "linkgate-demo-fleet-"));
  owner.after(() => rmSync(dir, { recursive: true, force: true }));
  const names = ["a", "b", "c"];
  const fleet = await Promise.all(
    names.map((n) =>
      startInstance(
        owner,
        dir,
        n,
        instanceConfig({
          originPort: origin.port,
          url,
          snapshotPath: join(dir, `${n}.snapshot.json`),
        }),
      ),
    ),
  );
  const [a, b, c] = fleet;
  const port = (i: Instance, what: string) => i.serve.port(what);

  say("A linkgate fleet: three instances on one PostgreSQL database");
  say(`  ${pg.version.split(" on ")[0]}, port ${pg.port} (a throwaway server; stopped on exit)`);
  for (const i of fleet) {
    say(
      `  ${i.name}: API http://127.0.0.1:${port(i, "admin")}   Private Link listener 127.0.0.1:${port(i, "privatelink")}`,
    );
  }
  say(`  configurations and snapshots: ${dir}`);
  say();

  say(`1. Through a's API, tenant megacorp allows ${VPCE}.`);
  const created = await a.api("POST", "/v1/tenants", {
    id: "megacorp",
    allow: { publicInternet: false, rules: [{ link: VPCE, description: "prod VPC" }] },
  });
  let answered = performance.now();
  say(
    `   a answers ${created.status}, Linkgate-Enforced: ${created.headers.get("linkgate-enforced")}`,
  );
  let [first, second] = await Promise.all([
    enforcedAfter(b, VPCE, answered),
    enforcedAfter(c, VPCE, answered),
  ]);
  say(`   b admits it within ${first} of that answer, c within ${second}.`);
  const denied = await Promise.all(fleet.map(async (i) => !(await i.admits(OTHER, "megacorp"))));
  say(`   Every instance denies ${OTHER}: ${denied.every((d) => d)}.`);
  say();

  say("2. PostgreSQL stops.");
  await pg.stop();
  await waitFor(async () => (await b.healthz()).store?.state === "down", {
    timeoutMs: 10_000,
    what: "b to see the database down",
  });
  const health = await b.healthz();
  say(
    `   b's /healthz: store ${health.store.state} since ${health.store.since}; /readyz ${await b.readyz()}`,
  );
  say(
    `   b admits ${VPCE}: ${await b.admits(VPCE, "megacorp")}; c denies ${OTHER}: ${!(await c.admits(OTHER, "megacorp"))}`,
  );
  const refused = await c.api("POST", "/v1/tenants/megacorp/rules", { link: OTHER });
  say(`   A change through c: ${refused.status} ${refused.json.error.code}`);
  const stale = await a.api("GET", "/v1/tenants/megacorp");
  say(
    `   A read through a: ${stale.status}, Linkgate-Stale: ${stale.headers.get("linkgate-stale")}`,
  );
  say();

  say("3. PostgreSQL starts again.");
  await pg.start();
  const added = await waitFor(
    async () => {
      const w = await c.api("POST", "/v1/tenants/megacorp/rules", { link: OTHER });
      return w.status === 201 ? w : undefined;
    },
    { timeoutMs: 15_000, intervalMs: 250, what: "writes to work again" },
  );
  answered = performance.now();
  say(
    `   A change through c: ${added.status}, Linkgate-Enforced: ${added.headers.get("linkgate-enforced")}`,
  );
  [first, second] = await Promise.all([
    enforcedAfter(a, OTHER, answered),
    enforcedAfter(b, OTHER, answered),
  ]);
  say(`   a admits ${OTHER} within ${first} of c's answer, b within ${second}.`);
  say();

  if (wait) {
    say("The fleet runs until Ctrl-C. Try, with any instance's API:");
    say(`  export LINKGATE_ADMIN_TOKEN=${ADMIN_TOKEN}`);
    say(`  curl -s http://127.0.0.1:${port(b, "admin")}/healthz`);
    say(
      `  curl -s -H "authorization: Bearer $LINKGATE_ADMIN_TOKEN" http://127.0.0.1:${port(c, "admin")}/v1/tenants/megacorp`,
    );
    await new Promise<void>((resolve) => {
      process.once("SIGINT", () => resolve());
      process.once("SIGTERM", () => resolve());
    });
    say("\nStopping the fleet and PostgreSQL.");
  }
} finally {
  await stopAll();
}
