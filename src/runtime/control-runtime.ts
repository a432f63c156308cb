/**
 * The control plane in a running linkgate (the process that owns the store and serves the API):
 *
 * - the store, opened from `store:` (absent: tenants come from the file only, the API is
 *   read-only), and its tenants followed into the policy (StoreTenants);
 * - the policy as one: the file's tenants and the store's, the file's winning on a shared id
 *   (`compose`, for every full compile: start and file reloads);
 * - the REST API's PolicyPort (src/control/port.ts): the file's side, the lockout guard's
 *   decisions, and "enforced" once a change is in force everywhere;
 * - what the data plane saw (rule hits, observed identities), counted in memory as connections
 *   are decided (`decided`: map increments, no I/O) and merged into the store once a second;
 * - with a PostgreSQL store: its outages. The policy in force stays as it is while the
 *   database is down (nothing on the connection path waits for it); the transitions are
 *   logged and shown in /healthz (`storeStatus`); the store's tenants are kept in the snapshot
 *   file (`store.snapshotPath`), from which a start while the database cannot be reached
 *   enforces them until it can (DeferredStore). With neither database nor snapshot, no start.
 */
import { dirname, isAbsolute, resolve } from "node:path";
import type { LinkgateConfig, StoreConfig, TenantConfig } from "../config/types.js";
import { registerControlPlane } from "../control/control-plane.js";
import type { EnforcedTenants, FilePolicy, PolicyPort } from "../control/port.js";
import { LinkgateError } from "../errors/index.js";
import { parseIpInto } from "../ip/address.js";
import type { Logger, StoreGaugeReading } from "../observability/index.js";
import { CompiledPolicy, type PolicyDecision } from "../policy/index.js";
import {
  type ActivityBatch,
  ActivityBuffer,
  type ActivityFlush,
  flushActivity,
  type ObservedIdentity,
  type ObservedProvider,
  type OpenStoreOptions,
  openStore,
  publicIdentity,
  type Store,
} from "../store/index.js";
import { DeferredStore } from "./deferred-store.js";
import { readSnapshot, SnapshotWriter } from "./snapshot.js";
import { StoreTenants, type TenantChangeTarget } from "./store-tenants.js";

/** How long an API write waits for its change to be in force before answering without it. */
export const ENFORCE_TIMEOUT_MS = 2000;

const inputScratch = new Uint8Array(16);

/** The store's state, as /healthz shows it. */
export interface StoreStatus {
  type: StoreConfig["type"];
  state: "up" | "down";
  /** When the state last changed (ISO 8601). */
  since: string;
  /** Why the store last went down (kept once it is back up); null if it never did. */
  lastError: string | null;
  /** The change-feed version of the store's tenants in force. */
  version: number;
  /** Where those tenants were read: the database, or (not reached since start) the snapshot. */
  policyFrom: "database" | "snapshot";
}

export class ControlRuntime implements PolicyPort {
  /**
   * The store (what the API and the counters use); null without `store:`. After a start from
   * the snapshot, a DeferredStore: STORE_UNAVAILABLE until the database is first reached.
   */
  readonly store: Store | null;
  readonly tenants: StoreTenants | null;
  /** Rule hits and observed identities since the last flush; null without a store. */
  readonly activity: ActivityBuffer | null;
  readonly #config: StoreConfig | null;
  #flush: ActivityFlush | null = null;
  readonly #snapshot: SnapshotWriter | null;
  #file: LinkgateConfig;
  #filePolicy: ReturnType<typeof filePolicyOf>;

  private constructor(
    file: LinkgateConfig,
    logger: Logger,
    opened: {
      config: StoreConfig;
      store: Store;
      tenants: StoreTenants;
      snapshot: SnapshotWriter | null;
    } | null,
  ) {
    this.#file = file;
    this.#filePolicy = filePolicyOf(file);
    this.#config = opened?.config ?? null;
    this.store = opened?.store ?? null;
    this.tenants = opened?.tenants ?? null;
    this.#snapshot = opened?.snapshot ?? null;
    this.activity = opened === null ? null : new ActivityBuffer();
    const store = this.store;
    if (store !== null && this.activity !== null) {
      this.#flush = flushActivity(store, this.activity, {
        onError: (error) => {
          // While the database is down (logged once, when it went), the counters wait quietly.
          if (store.health().state === "up") {
            logger.warn({ err: error }, "could not record activity; kept for the next flush");
          }
        },
      });
    }
    this.tenants?.setShadowed(this.#filePolicy.tenantIds);
    if (this.tenants !== null && this.#snapshot !== null) {
      const snapshot = this.#snapshot;
      this.tenants.onApplied = () => snapshot.changed();
    }
  }

  /**
   * Opens the store of `file` (a relative SQLite path or snapshot path is relative to the
   * configuration file's directory) and reads its tenants; or, when the database cannot be
   * reached, reads them from the snapshot file and opens the store in the background. Throws
   * STORE_UNAVAILABLE when there is neither.
   */
  static async open(
    file: LinkgateConfig,
    configFile: string,
    logger: Logger,
  ): Promise<ControlRuntime> {
    if (file.store === null) return new ControlRuntime(file, logger, null);
    const relative = (path: string) =>
      isAbsolute(path) ? path : resolve(dirname(configFile), path);
    const config: StoreConfig =
      file.store.type === "sqlite"
        ? { ...file.store, path: relative(file.store.path) }
        : {
            ...file.store,
            snapshotPath:
              file.store.snapshotPath === null ? null : relative(file.store.snapshotPath),
          };
    const options: OpenStoreOptions = {
      onListenerError: (error) => logger.error({ err: error }, "store change listener failed"),
      onHealthChange: (health) => {
        if (health.state === "down") {
          logger.warn(
            { lastError: health.lastError },
            "store unreachable: the policy in force stays; API writes answer 503 until it is back",
          );
        } else {
          logger.info("store reachable again: catching up with its changes");
        }
      },
    };
    let store: Store;
    try {
      store = await openStore(config, options);
    } catch (error) {
      if (!(error instanceof LinkgateError && error.code === "STORE_UNAVAILABLE")) throw error;
      return ControlRuntime.#fromSnapshot(file, config, options, error, logger);
    }
    try {
      const tenants = await StoreTenants.load(store, logger);
      const snapshotPath = config.type === "postgres" ? config.snapshotPath : null;
      return new ControlRuntime(file, logger, {
        config,
        store,
        tenants,
        snapshot:
          snapshotPath === null
            ? null
            : new SnapshotWriter(snapshotPath, () => tenants.snapshot(), logger),
      });
    } catch (error) {
      await store.close();
      throw error;
    }
  }

  /** The start while the database cannot be reached: the snapshot's tenants, if there is one. */
  static async #fromSnapshot(
    file: LinkgateConfig,
    config: StoreConfig,
    options: OpenStoreOptions,
    unreachable: LinkgateError,
    logger: Logger,
  ): Promise<ControlRuntime> {
    if (config.type !== "postgres" || config.snapshotPath === null) {
      throw new LinkgateError(
        "STORE_UNAVAILABLE",
        `${unreachable.message}; and store.snapshotPath is not set: there is no last-known policy to start from`,
        { cause: unreachable },
      );
    }
    let snapshot: Awaited<ReturnType<typeof readSnapshot>>;
    try {
      snapshot = await readSnapshot(config.snapshotPath);
    } catch (error) {
      throw new LinkgateError(
        "STORE_UNAVAILABLE",
        `${unreachable.message}; and ${(error as Error).message}: there is no last-known policy to start from`,
        { cause: error },
      );
    }
    const store = new DeferredStore({
      open: () => openStore(config, options),
      firstError: unreachable,
      intervalMs: config.checkIntervalMs,
      onOpen: () => logger.info("store reached: catching up with the changes since the snapshot"),
      onError: (error) => logger.error({ err: error }, "cannot open the store; trying again"),
    });
    const tenants = StoreTenants.fromSnapshot(store, snapshot, logger);
    logger.warn(
      {
        snapshotPath: config.snapshotPath,
        version: snapshot.version,
        writtenAt: new Date(snapshot.writtenAt).toISOString(),
        tenants: snapshot.tenants.length,
        lastError: unreachable.message,
      },
      "store unreachable at start: enforcing the policy snapshot until it answers",
    );
    return new ControlRuntime(file, logger, {
      config,
      store,
      tenants,
      snapshot: new SnapshotWriter(
        config.snapshotPath,
        () => tenants.snapshot(),
        logger,
        snapshot.version,
      ),
    });
  }

  /** What /healthz shows besides its status: the store's state, if there is a store. */
  liveness(): { store?: StoreStatus } {
    if (this.#config === null || this.store === null || this.tenants === null) return {};
    const health = this.store.health();
    const fromSnapshot = this.store instanceof DeferredStore && !this.store.opened;
    return {
      store: {
        type: this.#config.type,
        state: health.state,
        since: new Date(health.since).toISOString(),
        lastError: health.lastError,
        version: this.tenants.version,
        policyFrom: fromSnapshot ? "snapshot" : "database",
      },
    };
  }

  /** The store's state for the metrics (Metrics.observeStore); null without a store. */
  storeGauges(): StoreGaugeReading | null {
    const s = this.liveness().store;
    if (s === undefined) return null;
    return { up: s.state === "up", version: s.version, fromSnapshot: s.policyFrom === "snapshot" };
  }

  /** The configuration to compile: the file's, with the store's tenants after its own. */
  compose(file: LinkgateConfig): LinkgateConfig {
    if (this.tenants === null) return file;
    return { ...file, tenants: [...file.tenants, ...this.tenants.configs()] };
  }

  /** A file reload is about to be applied: its tenants shadow the store's from now on. */
  fileChanged(file: LinkgateConfig): void {
    this.#file = file;
    this.#filePolicy = filePolicyOf(file);
    this.tenants?.setShadowed(this.#filePolicy.tenantIds);
  }

  /**
   * Starts applying the store's changes to `target` (once started: listeners bound) and, from
   * the database, writing the policy just loaded to the snapshot file: after the start, which
   * the write of a large policy would otherwise slow down.
   */
  follow(target: TenantChangeTarget): void {
    this.tenants?.follow(target);
    if (!(this.store instanceof DeferredStore)) this.#snapshot?.changed();
  }

  /** Adds the REST API (/v1, /openapi.json) to the admin server. */
  routes(adminTokens: readonly string[], version: string) {
    return (app: Parameters<typeof registerControlPlane>[0]) =>
      registerControlPlane(app, {
        store: this.store,
        port: this,
        adminTokens,
        limits: this.#file.limits,
        version,
      });
  }

  // PolicyPort -------------------------------------------------------------------------------

  file(): FilePolicy {
    return this.#filePolicy;
  }

  wouldDeny(tenant: TenantConfig, observations: readonly ObservedIdentity[]): ObservedIdentity[] {
    let policy: CompiledPolicy;
    try {
      policy = new CompiledPolicy({ ...this.#file, tenants: [tenant] });
    } catch {
      return []; // not compilable (no upstream): the API refuses it for that reason instead
    }
    const host = tenant.hostnames[0] ?? hostOf(this.#file.routing.hostPatterns[0], tenant.id);
    if (host === null) return [...observations]; // unreachable: it would deny everything
    return observations.filter((o) => {
      const family = o.lastSource === null ? 0 : parseIpInto(o.lastSource, inputScratch);
      const d = policy.decide({
        sni: host,
        link: o.provider === "public" ? null : o.identity,
        sourceFamily: family,
        sourceBytes: inputScratch,
      });
      return d.verdict === "deny";
    });
  }

  enforced(version: number): Promise<void> {
    return this.tenants?.enforced(version, ENFORCE_TIMEOUT_MS) ?? Promise.resolve();
  }

  enforcedTenants(): EnforcedTenants | null {
    return this.tenants;
  }

  // What the data plane saw ------------------------------------------------------------------

  /**
   * A connection was decided (ConnectionObserver.decided): its tenant's rule hit and the
   * identity (or, for public traffic, source network) it came from. A report-only tenant's
   * "would-deny" counts as denied: what the policy would do is what the tenant rehearses.
   */
  decided(listener: string, d: PolicyDecision, link: string | null, source: string): void {
    if (this.activity !== null) countDecision(this.activity, listener, d, link, source);
  }

  /** Counts a batch a worker of `serve --workers N` saw into this process's, for the next flush. */
  merge(batch: ActivityBatch): void {
    this.activity?.restore(batch);
  }

  /** Records what waits and closes the store (on stop). */
  async close(): Promise<void> {
    this.tenants?.close();
    await this.#flush?.stop();
    await this.#snapshot?.close();
    await this.store?.close();
  }
}

/**
 * Counts one decision: its tenant's rule hit, and the identity (for public traffic, the source
 * network) it came from. Map increments only: it runs on the connection path.
 */
export function countDecision(
  activity: ActivityBuffer,
  listener: string,
  d: PolicyDecision,
  link: string | null,
  source: string,
): void {
  const tenant = d.tenant;
  if (tenant === null) return;
  const now = Date.now();
  const identity = link ?? publicIdentity(source);
  if (identity !== null) {
    const provider: ObservedProvider =
      link === null ? "public" : (link.slice(0, link.indexOf(":")) as ObservedProvider);
    const allowed = d.verdict === "allow";
    activity.observe(tenant.id, identity, provider, listener, source, allowed, d.reason, now);
  }
  if (d.ruleIndex >= 0 && d.verdict !== "deny") {
    activity.ruleHit(tenant.id, tenant.ruleId(d.ruleIndex), now);
  }
}

function filePolicyOf(file: LinkgateConfig): FilePolicy & { tenantIds: ReadonlySet<string> } {
  const tenants = new Map(file.tenants.map((t) => [t.id, t]));
  return {
    tenants,
    tenantIds: new Set(tenants.keys()),
    hostPatterns: file.routing.hostPatterns,
    defaultUpstream: file.routing.upstream !== null,
  };
}

/** The host name a pattern gives a tenant ("{tenant}.api.example.com"), or null. */
function hostOf(pattern: string | undefined, tenantId: string): string | null {
  return pattern === undefined ? null : pattern.replace("{tenant}", tenantId);
}
