/**
 * The store behind the control plane. `openStore` picks the implementation from the
 * configuration; everything else sees only the `Store` interface.
 */
import type { StoreConfig } from "../config/types.js";
import { LinkgateError } from "../errors/index.js";
import { SqliteStore } from "./sqlite/store.js";
import type { Store } from "./types.js";

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
}

/** Opens the configured store, creating and migrating it as needed. */
export async function openStore(
  config: StoreConfig,
  options: OpenStoreOptions = {},
): Promise<Store> {
  switch (config.type) {
    case "sqlite":
      return SqliteStore.open({ path: config.path, ...options });
    case "postgres":
      throw new LinkgateError(
        "STORE_UNSUPPORTED",
        "store type postgres is not available yet: use { type: sqlite, path }",
      );
  }
}
