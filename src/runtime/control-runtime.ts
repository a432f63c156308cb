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
 *   are decided (`decided`: map increments, no I/O) and merged into the store once a second.
 */
import { dirname, isAbsolute, resolve } from "node:path";
import type { LinkgateConfig, TenantConfig } from "../config/types.js";
import { registerControlPlane } from "../control/control-plane.js";
import type { FilePolicy, PolicyPort } from "../control/port.js";
import { parseIpInto } from "../ip/address.js";
import type { Logger } from "../observability/index.js";
import { CompiledPolicy, type PolicyDecision } from "../policy/index.js";
import {
  type ActivityBatch,
  ActivityBuffer,
  type ActivityFlush,
  flushActivity,
  type ObservedIdentity,
  type ObservedProvider,
  openStore,
  publicIdentity,
  type Store,
} from "../store/index.js";
import { StoreTenants, type TenantChangeTarget } from "./store-tenants.js";

/** How long an API write waits for its change to be in force before answering without it. */
export const ENFORCE_TIMEOUT_MS = 2000;

const inputScratch = new Uint8Array(16);

export class ControlRuntime implements PolicyPort {
  readonly store: Store | null;
  readonly tenants: StoreTenants | null;
  /** Rule hits and observed identities since the last flush; null without a store. */
  readonly activity: ActivityBuffer | null;
  #flush: ActivityFlush | null = null;
  #file: LinkgateConfig;
  #filePolicy: ReturnType<typeof filePolicyOf>;

  private constructor(
    file: LinkgateConfig,
    store: Store | null,
    tenants: StoreTenants | null,
    logger: Logger,
  ) {
    this.#file = file;
    this.#filePolicy = filePolicyOf(file);
    this.store = store;
    this.tenants = tenants;
    this.activity = store === null ? null : new ActivityBuffer();
    if (store !== null && this.activity !== null) {
      this.#flush = flushActivity(store, this.activity, {
        onError: (error) =>
          logger.warn({ err: error }, "could not record activity; kept for the next flush"),
      });
    }
    tenants?.setShadowed(this.#filePolicy.tenantIds);
  }

  /**
   * Opens the store of `file` (a relative SQLite path is relative to the configuration file's
   * directory) and reads its tenants.
   */
  static async open(
    file: LinkgateConfig,
    configFile: string,
    logger: Logger,
  ): Promise<ControlRuntime> {
    if (file.store === null) return new ControlRuntime(file, null, null, logger);
    const storeConfig =
      file.store.type === "sqlite" && !isAbsolute(file.store.path)
        ? { ...file.store, path: resolve(dirname(configFile), file.store.path) }
        : file.store;
    const store = await openStore(storeConfig, {
      onListenerError: (error) => logger.error({ err: error }, "store change listener failed"),
    });
    try {
      const tenants = await StoreTenants.load(store, logger);
      return new ControlRuntime(file, store, tenants, logger);
    } catch (error) {
      await store.close();
      throw error;
    }
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

  /** Starts applying the store's changes to `target`. */
  follow(target: TenantChangeTarget): void {
    this.tenants?.follow(target);
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
