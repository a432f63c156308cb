/**
 * Stores for tests: SQLite on a file in a temporary directory, PostgreSQL on a new database of
 * a throwaway server (test/helpers/postgres.ts); each removed or closed after the test.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { LinkgateError } from "../../src/errors/index.js";
import { PostgresStore, type PostgresStoreOptions } from "../../src/store/postgres/index.js";
import { SqliteStore, type SqliteStoreOptions } from "../../src/store/sqlite/store.js";
import type { RuleInput, Store, TenantInput } from "../../src/store/types.js";
import { postgresPerFile } from "../helpers/postgres.js";

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

/** Options every implementation takes. */
export interface CommonStoreOptions {
  now?: () => number;
  feedRetention?: number;
  onListenerError?: (error: unknown) => void;
}

export interface OpenedStore {
  store: Store;
  /** Another store on the same database (closed when the test ends). */
  reopen(options?: CommonStoreOptions): Promise<Store>;
}

export interface StoreKind {
  name: "sqlite" | "postgres";
  /**
   * A store on a new, empty database, closed when the test ends; null when the test is
   * skipped (PostgreSQL is not installed: requirePostgres).
   */
  open(t: TestContext, options?: CommonStoreOptions): Promise<OpenedStore | null>;
}

/**
 * Every store implementation, for contract tests. Call at the top level of a test file: the
 * PostgreSQL server is shared by the file's tests and stopped after the last.
 */
export function storeKinds(): StoreKind[] {
  const server = postgresPerFile();
  return [
    {
      name: "sqlite",
      async open(t, options = {}) {
        const path = join(tempDir(t), "linkgate.db");
        const open = (o: CommonStoreOptions) => {
          const store = SqliteStore.open({ path, ...o });
          t.after(() => store.close());
          return store;
        };
        return { store: open(options), reopen: async (o = {}) => open(o) };
      },
    },
    {
      name: "postgres",
      async open(t, options = {}) {
        const pg = await server(t);
        if (pg === null) return null;
        const url = await pg.createDatabase();
        const open = async (o: CommonStoreOptions) => openPostgresStore(t, { url, ...o });
        return { store: await open(options), reopen: open };
      },
    },
  ];
}

/** A PostgreSQL store, closed when the test ends (even if it ends while the store opens). */
export function openPostgresStore(
  t: TestContext,
  options: PostgresStoreOptions,
): Promise<PostgresStore> {
  const opening = PostgresStore.open(options);
  t.after(async () => {
    const store = await opening.catch(() => null);
    await store?.close();
  });
  return opening;
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

/** Asserts that `promise` rejects with a LinkgateError of `code`. */
export async function rejectsWith(promise: Promise<unknown>, code: string, message?: RegExp) {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof LinkgateError, String(error));
    assert.equal(error.code, code);
    if (message !== undefined) assert.match(error.message, message);
    return true;
  });
}
