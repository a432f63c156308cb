/**
 * A running linkgate: the gateway (data plane), its policy from a configuration file, metrics,
 * JSON logs and the admin HTTP endpoint, with reloads and a graceful stop. `linkgate serve`
 * runs one; tests run one in-process.
 *
 * Reloads come from SIGHUP or a change of the file (the CLI wires both). An invalid file is
 * rejected with its errors, logged, and counted; the previous policy stays in force.
 *
 * `linkgate serve --workers N` runs one LinkgateRuntime per worker process, started with the
 * `worker` option (see src/runtime/cluster.ts): the primary process loads the file, watches it,
 * serves the admin endpoint and logs the lifecycle; each worker runs the whole data plane.
 */
import { resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { type ConfigError, formatConfigError, loadConfigFile } from "../config/index.js";
import type { LinkgateConfig } from "../config/types.js";
import { type AdminServer, startAdminServer } from "../control/admin-server.js";
import { type BoundListener, Gateway } from "../dataplane/index.js";
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
import { type PreparedReload, prepareConfig, prepareReload } from "./reload.js";
import { type ConfigWatch, hashFile, watchConfigFile } from "./watch.js";

export interface StartOptions {
  configFile: string;
  /** Where JSON log lines go (default stdout); tests pass a stream. */
  logDestination?: NodeJS.WritableStream;
  /** Reload when the file changes (default true). */
  watchFile?: boolean;
  version: string;
  /**
   * Run as worker `id` of `linkgate serve --workers N`, from `config`, which the primary has
   * loaded and validated: no file read, no file watch, no admin endpoint (the primary serves
   * it), every log line carries `worker: id`, lifecycle lines below warn are left to the
   * primary, and so are the policy metrics. Listeners bind through node:cluster, which hands
   * every worker the same listening sockets.
   */
  worker?: { id: number; config: LinkgateConfig };
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

export interface ReloadOutcome {
  ok: boolean;
  /** Why it was refused: configuration errors, or listener changes that need a restart. */
  problems: string[];
}

export class LinkgateRuntime {
  readonly configFile: string;
  readonly gateway: Gateway;
  readonly metrics: Metrics;
  readonly health: Health;
  readonly logger: Logger;
  listeners: BoundListener[] = [];
  admin: AdminServer | null = null;
  /** Where lifecycle lines go: `logger`, or in a worker a child of it that keeps warn and up. */
  readonly #lifecycle: Logger;
  #watcher: ConfigWatch | null = null;
  readonly #connectionLog: ConnectionLog | null;
  #configHash: string;
  #reloading: Promise<ReloadOutcome> | null = null;

  private constructor(
    configFile: string,
    config: LinkgateConfig,
    configHash: string,
    logger: Logger,
    lifecycle: Logger,
    worker: boolean,
  ) {
    this.configFile = configFile;
    this.logger = logger;
    this.#lifecycle = lifecycle;
    this.metrics = new Metrics({ policy: !worker });
    this.health = new Health();
    const policy = new CompiledPolicy(config);
    const observer = connectionObserver({
      metrics: this.metrics,
      logger,
      deniedLinesPerSecond: config.log.deniedLinesPerSecond,
    });
    this.#connectionLog = observer.log;
    this.gateway = new Gateway({ policy, observer });
    this.metrics.policyReloaded(true, policy.tenants.size, policy.ruleCount);
    this.#configHash = configHash;
  }

  /** Loads the file, binds every listener and the admin endpoint; throws ConfigLoadError. */
  static async start(o: StartOptions): Promise<LinkgateRuntime> {
    const file = resolve(o.configFile);
    let config: LinkgateConfig;
    if (o.worker !== undefined) {
      config = o.worker.config;
    } else {
      const loaded = await loadConfigFile(file);
      if (!loaded.ok) throw new ConfigLoadError(loaded.errors);
      config = loaded.config;
    }
    let logger = createLogger(config.log, o.logDestination as never);
    let lifecycle = logger;
    if (o.worker !== undefined) {
      logger = logger.child({ worker: o.worker.id });
      lifecycle = logger.isLevelEnabled("warn") ? logger.child({}, { level: "warn" }) : logger;
    }
    logStarted(lifecycle, { version: o.version, configFile: file });
    const worker = o.worker !== undefined;
    const rt = new LinkgateRuntime(
      file,
      config,
      worker ? "" : hashFile(file),
      logger,
      lifecycle,
      worker,
    );
    try {
      rt.listeners = await rt.gateway.start();
      for (const l of rt.listeners) logListening(lifecycle, l.name, { host: l.host, port: l.port });
      const api = config.api;
      if (api !== null && !worker) {
        rt.admin = await startAdminServer({
          bind: api.bind,
          metrics: rt.metrics,
          health: rt.health,
          logger,
        });
      }
    } catch (error) {
      await rt.gateway.stop(0);
      await rt.admin?.close();
      throw error;
    }
    rt.health.setReady(true);
    if ((o.watchFile ?? true) && !worker) {
      rt.#watcher = watchConfigFile(file, {
        currentHash: () => rt.#configHash,
        onChange: () => void rt.reload("file"),
        logger,
      });
    }
    return rt;
  }

  get config(): LinkgateConfig {
    return this.gateway.holder.current.config;
  }

  /** Reloads the file; concurrent calls share one reload. */
  reload(source: string): Promise<ReloadOutcome> {
    if (this.#reloading === null) {
      this.#reloading = this.#reload(source).finally(() => {
        this.#reloading = null;
      });
    }
    return this.#reloading;
  }

  async #reload(source: string): Promise<ReloadOutcome> {
    const started = performance.now();
    const prepared = await prepareReload(this.configFile, this.config);
    const outcome = this.#apply(prepared, source, started);
    if (outcome.ok) this.#configHash = hashFile(this.configFile);
    return outcome;
  }

  /**
   * Applies a resolved configuration that the primary of `serve --workers N` loaded and
   * validated: the same as a reload, without reading the file.
   */
  applyConfig(config: LinkgateConfig, source: string): ReloadOutcome {
    const started = performance.now();
    return this.#apply(prepareConfig(config, this.config), source, started);
  }

  /** Swaps a prepared policy in, or reports why not; counts and logs the result once. */
  #apply(prepared: PreparedReload, source: string, started: number): ReloadOutcome {
    const durationMs = Math.round((performance.now() - started) * 1000) / 1000;
    if (!prepared.ok) {
      this.metrics.policyReloaded(false);
      logReload(this.#lifecycle, { ok: false, source, durationMs, errors: prepared.errors });
      return { ok: false, problems: prepared.errors.map((e) => e.message) };
    }
    const { policy } = prepared;
    // prepareConfig checked the listeners already; the gateway checks again, as for any caller.
    this.gateway.reload(policy);
    this.metrics.policyReloaded(true, policy.tenants.size, policy.ruleCount);
    logReload(this.#lifecycle, {
      ok: true,
      source,
      durationMs,
      tenants: policy.tenants.size,
      rules: policy.ruleCount,
    });
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
    this.#connectionLog?.flush();
    logStopped(this.#lifecycle, { forcedConnections: closed, exitCode: 0 });
    await lineOutputOf(this.logger)?.flush();
    return { forcedConnections: closed };
  }
}
