/**
 * A running linkgate: the gateway (data plane), its policy from a configuration file, metrics,
 * JSON logs and the admin HTTP endpoint, with reloads and a graceful stop. `linkgate serve`
 * runs one; tests run one in-process.
 *
 * Reloads come from SIGHUP or a change of the file (the CLI wires both) and go through
 * PolicyReloader (reload.ts), the one reload path, shared with the primary of `--workers N`. An
 * invalid file is rejected with its errors, logged, and counted; the previous policy stays.
 *
 * `linkgate serve --workers N` runs one LinkgateRuntime per worker process, started with the
 * `worker` option (see src/runtime/cluster.ts): the primary process loads the file, watches it,
 * serves the admin endpoint and logs the lifecycle; each worker runs the whole data plane.
 */
import { resolve } from "node:path";
import { type ConfigError, formatConfigError } from "../config/index.js";
import type { LinkgateConfig, TenantConfig } from "../config/types.js";
import { type AdminServer, startAdminServer } from "../control/admin-server.js";
import { adminTokensFromEnv } from "../control/auth.js";
import {
  type BoundListener,
  type ConnectionObserver,
  type Engine,
  Gateway,
} from "../dataplane/index.js";
import {
  type ConnectionLog,
  connectionObserver,
  createLogger,
  Health,
  type Logger,
  lineOutputOf,
  logDraining,
  logListening,
  logReload,
  logStarted,
  logStopped,
  Metrics,
} from "../observability/index.js";
import { CompiledPolicy } from "../policy/index.js";
import { type ActivityBatch, ActivityBuffer } from "../store/index.js";
import { bunHeapEnvInEffect } from "./bun-heap.js";
import { ControlRuntime, countDecision } from "./control-runtime.js";
import { ConfigFileSource, type PolicySnapshot } from "./policy-source.js";
import {
  type ApplyReport,
  PolicyReloader,
  type PolicyTarget,
  type PolicyUpdate,
  prepareConfig,
  type ReloadOutcome,
  type ReloadRequest,
} from "./reload.js";
import type { TenantChangeTarget } from "./store-tenants.js";
import { tuneHeapForConnections } from "./v8-heap.js";
import { type ConfigWatch, watchConfigFile } from "./watch.js";

/** How often a worker hands what it counted to its primary (which writes it to the store). */
const ACTIVITY_REPORT_MS = 1000;

export interface StartOptions {
  configFile: string;
  /** Where JSON log lines go (default stdout); tests pass a stream. */
  logDestination?: NodeJS.WritableStream;
  /** Reload when the file changes (default true). */
  watchFile?: boolean;
  version: string;
  /**
   * The data plane's socket layer; default the runtime's own (dataplane/engines). A benchmark
   * (bench/connection-path.ts) passes one without sockets to time linkgate's own work.
   */
  engine?: Engine;
  /**
   * Run as worker `id` of `linkgate serve --workers N`, from `config`, which the primary has
   * loaded and validated: no file read, no file watch, no admin endpoint (the primary serves
   * it), every log line carries `worker: id`, lifecycle lines below warn are left to the
   * primary, and so are the policy metrics. Listeners bind through node:cluster, which hands
   * every worker the same listening sockets. With `reportActivity` (the primary has a store),
   * rule hits and observed identities are counted here and handed over once a second.
   */
  worker?: {
    id: number;
    config: LinkgateConfig;
    reportActivity?: (batch: ActivityBatch) => void;
  };
}

/** The configuration could not be loaded at start: nothing was started. */
export class ConfigLoadError extends Error {
  readonly errors: readonly ConfigError[];
  constructor(errors: readonly ConfigError[]) {
    super(errors.map(formatConfigError).join("\n"));
    this.name = "ConfigLoadError";
    this.errors = errors;
  }
}

export class LinkgateRuntime implements PolicyTarget, TenantChangeTarget {
  readonly configFile: string;
  readonly gateway: Gateway;
  readonly metrics: Metrics;
  readonly health: Health;
  readonly logger: Logger;
  listeners: BoundListener[] = [];
  admin: AdminServer | null = null;
  /** Where lifecycle lines go: `logger`, or in a worker a child of it that keeps warn and up. */
  readonly #lifecycle: Logger;
  /** Reloads from the file; null in a worker, whose primary reloads. */
  #reloader: PolicyReloader | null = null;
  #watcher: ConfigWatch | null = null;
  readonly #connectionLog: ConnectionLog | null;
  /** The store, its tenants and the API's view of the policy; null in a worker. */
  readonly control: ControlRuntime | null;
  /** In a worker whose primary has a store: what it saw, reported once a second. */
  readonly #workerActivity: {
    buffer: ActivityBuffer;
    timer: NodeJS.Timeout;
    report(): void;
  } | null;

  private constructor(
    configFile: string,
    config: LinkgateConfig,
    logger: Logger,
    lifecycle: Logger,
    worker: boolean,
    control: ControlRuntime | null,
    reportActivity: ((batch: ActivityBatch) => void) | null = null,
    engine?: Engine,
  ) {
    this.configFile = configFile;
    this.logger = logger;
    this.#lifecycle = lifecycle;
    this.control = control;
    this.metrics = new Metrics({
      policy: !worker,
      perTenantLabels: config.metrics.perTenantLabels,
    });
    if (control?.store != null) this.metrics.observeStore(() => control.storeGauges());
    this.health = new Health();
    const policy = new CompiledPolicy(control?.compose(config) ?? config);
    const sink = connectionObserver({
      metrics: this.metrics,
      logger,
      deniedLinesPerSecond: config.log.deniedLinesPerSecond,
    });
    this.#connectionLog = sink.log;
    let decided: ConnectionObserver["decided"];
    if (control?.activity != null) {
      decided = (listener, d, link, source) => control.decided(listener, d, link, source);
      this.#workerActivity = null;
    } else if (reportActivity !== null) {
      const buffer = new ActivityBuffer();
      const report = () => {
        if (buffer.size > 0) reportActivity(buffer.drain());
      };
      const timer = setInterval(report, ACTIVITY_REPORT_MS);
      timer.unref();
      this.#workerActivity = { buffer, timer, report };
      decided = (listener, d, link, source) => countDecision(buffer, listener, d, link, source);
    } else {
      this.#workerActivity = null;
    }
    const observer: ConnectionObserver =
      decided === undefined ? sink : { opened: sink.opened, closed: sink.closed, decided };
    this.gateway = new Gateway({ policy, observer, engine });
    // Series of tenants that left the policy (a reload, an API delete) leave the scrapes.
    this.gateway.holder.onSwap((next) => this.metrics.retainTenants((id) => next.tenants.has(id)));
    this.metrics.policyReloaded(true, policy.tenants.size, policy.ruleCount);
  }

  /** Loads the file, binds every listener and the admin endpoint; throws ConfigLoadError. */
  static async start(o: StartOptions): Promise<LinkgateRuntime> {
    // Before the configuration is read and compiled: no allocation site is tenured from here on.
    const v8Flags = tuneHeapForConnections();
    const bunEnv = bunHeapEnvInEffect();
    const file = resolve(o.configFile);
    let config: LinkgateConfig;
    let reloadFrom: { source: ConfigFileSource; initial: PolicySnapshot } | null = null;
    if (o.worker !== undefined) {
      config = o.worker.config;
    } else {
      const source = new ConfigFileSource(file);
      const initial = await source.read();
      if (!initial.result.ok) throw new ConfigLoadError(initial.result.errors);
      config = initial.result.config;
      reloadFrom = { source, initial };
    }
    // A worker shares stdout with the other workers and the primary; a single process has it
    // to itself, and writes larger batches.
    let logger = createLogger(config.log, o.logDestination as never, {
      otherWriters: o.worker !== undefined,
    });
    let lifecycle = logger;
    if (o.worker !== undefined) {
      logger = logger.child({ worker: o.worker.id });
      lifecycle = logger.isLevelEnabled("warn") ? logger.child({}, { level: "warn" }) : logger;
    }
    logStarted(lifecycle, {
      version: o.version,
      configFile: file,
      ...(v8Flags.length > 0 ? { v8Flags } : {}),
      ...(bunEnv !== null ? { bunEnv } : {}),
    });
    const control =
      o.worker === undefined ? await ControlRuntime.open(config, file, lifecycle) : null;
    let rt: LinkgateRuntime;
    try {
      rt = new LinkgateRuntime(
        file,
        config,
        logger,
        lifecycle,
        o.worker !== undefined,
        control,
        o.worker?.reportActivity ?? null,
        o.engine,
      );
    } catch (error) {
      await control?.close();
      throw error;
    }
    try {
      rt.listeners = await rt.gateway.start();
      const descriptorBudget = rt.gateway.descriptorBudget;
      for (const l of rt.listeners) {
        logListening(lifecycle, l.name, { host: l.host, port: l.port }, { descriptorBudget });
      }
      const api = config.api;
      if (api !== null && control !== null) {
        rt.admin = await startAdminServer({
          bind: api.bind,
          metrics: rt.metrics,
          health: rt.health,
          liveness: () => control.liveness(),
          logger,
          routes: control.routes(await adminTokensFromEnv(), o.version),
        });
      }
    } catch (error) {
      await rt.gateway.stop(0);
      await rt.admin?.close();
      await control?.close();
      throw error;
    }
    control?.follow(rt);
    rt.health.setReady(true);
    if (reloadFrom !== null) {
      rt.#reloader = new PolicyReloader({
        ...reloadFrom,
        target: rt,
        metrics: rt.metrics,
        logger: lifecycle,
      });
      if (o.watchFile ?? true) {
        rt.#watcher = watchConfigFile(file, {
          onChange: () => void rt.reload({ source: "file", force: false }),
          logger,
        });
      }
    }
    return rt;
  }

  get config(): LinkgateConfig {
    return this.gateway.holder.current.config;
  }

  /** Reloads the file (see PolicyReloader: after the reload running now, if any). */
  reload(request: ReloadRequest): Promise<ReloadOutcome> {
    if (this.#reloader === null) throw new Error("a worker's policy comes from its primary");
    return this.#reloader.request(request);
  }

  /** PolicyTarget: the swap, in this process (the file's policy with the store's tenants). */
  async apply(update: PolicyUpdate): Promise<ApplyReport> {
    let policy = update.policy;
    if (this.control?.tenants != null) {
      this.control.fileChanged(update.config);
      policy = new CompiledPolicy(this.control.compose(update.config));
    }
    const swapped = this.gateway.reload(policy);
    // prepareConfig checked the listeners already; the gateway checks again, as for any caller.
    if (!swapped.applied) throw new Error(swapped.needsRestart.join("; "));
    return { complete: true, details: {} };
  }

  /** TenantChangeTarget: the store's tenants changed; only they are compiled. */
  async applyTenants(changes: ReadonlyMap<string, TenantConfig | null>): Promise<void> {
    this.gateway.reload(this.gateway.holder.current.withTenants(changes));
  }

  /**
   * In a worker of `serve --workers N`: swaps in a configuration its primary loaded and
   * validated. A failure is logged here too (the primary reports the reload).
   */
  applyConfig(config: LinkgateConfig, source: string): { ok: boolean; problems: string[] } {
    const prepared = prepareConfig(config, this.config);
    if (!prepared.ok) {
      logReload(this.#lifecycle, { ok: false, source, errors: prepared.errors });
      return { ok: false, problems: prepared.errors.map((e) => e.message) };
    }
    this.gateway.reload(prepared.policy);
    return { ok: true, problems: [] };
  }

  /** Drains: not ready, stop accepting, grace period for live connections, then close. */
  async stop(signal?: string): Promise<{ forcedConnections: number }> {
    this.#watcher?.close();
    this.health.draining();
    const drainTimeoutMs = this.config.shutdown.drainTimeoutMs;
    logDraining(this.#lifecycle, {
      activeConnections: this.gateway.activeConnections,
      drainTimeoutMs,
      signal,
    });
    const { closed } = await this.gateway.stop(drainTimeoutMs);
    await this.admin?.close();
    await this.control?.close();
    if (this.#workerActivity !== null) {
      clearInterval(this.#workerActivity.timer);
      this.#workerActivity.report();
    }
    this.#connectionLog?.flush();
    logStopped(this.#lifecycle, { forcedConnections: closed, exitCode: 0 });
    await lineOutputOf(this.logger)?.flush();
    return { forcedConnections: closed };
  }
}
