/**
 * The store behind the control plane. `openStore` picks the implementation from the
 * configuration; everything else sees only the `Store` interface.
 */
import type { StoreConfig } from "../config/types.js";
import { PostgresStore } from "./postgres/index.js";
import { SqliteStore } from "./sqlite/store.js";
import type { Store, StoreHealth } from "./types.js";

export { ActivityBuffer, type ActivityFlush, flushActivity, publicIdentity } from "./activity.js";
export {
  fileRuleId,
  newTokenSecret,
  TOKEN_SECRET_PREFIX,
  tokenHash,
} from "./ids.js";
export { nextRuleExpiry, tenantConfigOf } from "./tenant-config.js";
export type * from "./types.js";

export interface OpenStoreOptions {
  /** The clock (tests). */
  now?: () => number;
  /** Called when a change listener throws (the change itself is committed). */
  onListenerError?: (error: unknown) => void;
  /** Called when the database goes down or comes back (PostgreSQL; SQLite is always up). */
  onHealthChange?: (health: StoreHealth) => void;
}

/** Opens the configured store, creating and migrating it as needed. */
export async function openStore(
  config: StoreConfig,
  options: OpenStoreOptions = {},
): Promise<Store> {
  switch (config.type) {
    case "sqlite":
      return SqliteStore.open({
        path: config.path,
        now: options.now,
        onListenerError: options.onListenerError,
      });
    case "postgres":
      return PostgresStore.open({
        url: config.url,
        poolSize: config.poolSize,
        connectTimeoutMs: config.connectTimeoutMs,
        checkIntervalMs: config.checkIntervalMs,
        ...options,
      });
  }
}
