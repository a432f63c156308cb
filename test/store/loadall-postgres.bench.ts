/**
 * How long the PostgreSQL store's loadAll takes for a large fleet (a cold start or a full
 * resynchronisation): seeds a throwaway server, then times loadAll. Not a test: it asserts
 * nothing about time. Run:
 *
 *   npm exec -- node --import tsx test/store/loadall-postgres.bench.ts [tenants] [rulesPerTenant]
 *
 * Defaults: 100 000 tenants with 10 rules each (1 000 000 rules).
 */
import { PostgresStore } from "../../src/store/postgres/index.js";
import { startPostgres } from "../helpers/postgres.js";
import { ADMIN, tenantInput } from "./helpers.js";

const tenants = Number(process.argv[2] ?? 100_000);
const rulesPerTenant = Number(process.argv[3] ?? 10);
const cleanups: (() => Promise<void>)[] = [];
const seconds = (since: number) => ((performance.now() - since) / 1000).toFixed(2);

try {
  const pg = await startPostgres({ after: (fn) => cleanups.push(fn) });
  console.log(pg.version);
  const store = await PostgresStore.open({ url: await pg.createDatabase() });
  cleanups.push(() => store.close());

  let start = performance.now();
  const batch = 10_000;
  for (let first = 0; first < tenants; first += batch) {
    await store.importTenants(
      Array.from({ length: Math.min(batch, tenants - first) }, (_, k) => {
        const i = first + k;
        const id = `t${String(i).padStart(6, "0")}`;
        return tenantInput(id, {
          hostnames: [`${id}.example.com`],
          allow: {
            rules: Array.from({ length: rulesPerTenant }, (_, r) => ({
              link: `azure:${i * rulesPerTenant + r}`,
              description: r === 0 ? "first rule" : undefined,
            })),
          },
        });
      }),
      ADMIN,
    );
  }
  console.log(
    `importTenants: ${tenants} tenants, ${tenants * rulesPerTenant} rules in ${seconds(start)} s`,
  );

  for (let run = 1; run <= 3; run++) {
    start = performance.now();
    const snapshot = await store.loadAll();
    const rules = snapshot.tenants.reduce((n, t) => n + (t.allow?.rules.length ?? 0), 0);
    console.log(
      `loadAll #${run}: ${snapshot.tenants.length} tenants, ${rules} rules, version ${snapshot.version} in ${seconds(start)} s`,
    );
  }
} finally {
  for (const cleanup of cleanups.reverse()) await cleanup();
}
