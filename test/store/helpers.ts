/** Stores for tests: a SQLite file in a temporary directory, removed after the test. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { SqliteStore, type SqliteStoreOptions } from "../../src/store/sqlite/store.js";
import type { RuleInput, TenantInput } from "../../src/store/types.js";

export const VPCE = "aws:vpce-0123456789abcdef0";
export const VPCE2 = "aws:vpce-0fedcba9876543210";
export const AZURE = "azure:553665985";
export const GCP = "gcp:18446744072646845442";

/** A temporary directory, removed when the test ends. */
export function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), "linkgate-store-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A manual clock: `clock.now()`, moved with `clock.at = …`. */
export function manualClock(start = Date.UTC(2025, 0, 1)) {
  const clock = { at: start, now: () => clock.at };
  return clock;
}

/** A store on a fresh file, closed when the test ends. */
export function openTempStore(
  t: TestContext,
  options: Partial<SqliteStoreOptions> = {},
): { store: SqliteStore; path: string } {
  const path = join(tempDir(t), "linkgate.db");
  const store = SqliteStore.open({ path, ...options });
  t.after(() => store.close());
  return { store, path };
}

export function rule(r: Partial<RuleInput>): RuleInput {
  return {
    link: r.link ?? null,
    cidr: r.cidr ?? null,
    description: r.description ?? null,
    expiresAt: r.expiresAt ?? null,
  };
}

export function tenantInput(
  id: string,
  over: Omit<Partial<TenantInput>, "allow"> & {
    allow?: { publicInternet?: boolean; rules?: Partial<RuleInput>[] } | null;
  } = {},
): TenantInput {
  const { allow, ...rest } = over;
  return {
    id,
    hostnames: [],
    upstream: null,
    enforcement: "enforce",
    ...rest,
    allow:
      allow === undefined || allow === null
        ? null
        : { publicInternet: allow.publicInternet ?? false, rules: (allow.rules ?? []).map(rule) },
  };
}

export const ADMIN = { actor: "admin:test" };
