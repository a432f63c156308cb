/**
 * A running linkgate: the gateway (data plane), its policy from a configuration file, metrics,
 * JSON logs and the admin HTTP endpoint, with reloads and a graceful stop. `linkgate serve`
 * runs one; tests run one in-process.
 *
 * Reloads come from SIGHUP or a change of the file (the CLI wires both). An invalid file is
 * rejected with its errors, logged, and counted; the previous policy stays in force.
 */
import { createHash } from "node:crypto";
import { type FSWatcher, readFileSync, watch } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { type ConfigError, formatConfigError, loadConfigFile } from "../config/index.js";
import type { LinkgateConfig } from "../config/types.js";
import { type AdminServer, startAdminServer } from "../control/admin-server.js";
import { type BoundListener, Gateway } from "../dataplane/index.js";
import {
  connectionObserver,
  createLogger,
  Health,
  type Logger,
  logDraining,
  logListening,
  logReload,
  logStarted,
  logStopped,
  Metrics,
} from "../observability/index.js";
import { CompiledPolicy } from "../policy/index.js";

export interface StartOptions {
  configFile: string;
  /** Where JSON log lines go (default stdout); tests pass a stream. */
  logDestination?: NodeJS.WritableStream;
  /** Reload when the file changes (default true). */
  watchFile?: boolean;
  version: string;
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
  #watcher: FSWatcher | null = null;
  #watchTimer: NodeJS.Timeout | null = null;
  #configHash: string;
  #reloading: Promise<ReloadOutcome> | null = null;

  private constructor(
    configFile: string,
    config: LinkgateConfig,
    configHash: string,
    logger: Logger,
  ) {
    this.configFile = configFile;
    this.logger = logger;
    this.metrics = new Metrics();
    this.health = new Health();
    const policy = new CompiledPolicy(config);
    this.gateway = new Gateway({
      policy,
      observer: connectionObserver({ metrics: this.metrics, logger }),
    });
    this.metrics.policyReloaded(true, policy.tenants.size, policy.ruleCount);
    this.#configHash = configHash;
  }

  /** Loads the file, binds every listener and the admin endpoint; throws ConfigLoadError. */
  static async start(o: StartOptions): Promise<LinkgateRuntime> {
    const file = resolve(o.configFile);
    const loaded = await loadConfigFile(file);
    if (!loaded.ok) throw new ConfigLoadError(loaded.errors);
    const logger = createLogger(loaded.config.log, o.logDestination as never);
    logStarted(logger, { version: o.version, configFile: file });
    const rt = new LinkgateRuntime(file, loaded.config, hashFile(file), logger);
    try {
      rt.listeners = await rt.gateway.start();
      for (const l of rt.listeners) logListening(logger, l.name, { host: l.host, port: l.port });
      const api = loaded.config.api;
      if (api !== null) {
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
    if (o.watchFile ?? true) rt.#watch();
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
    const durationMs = () => Math.round((performance.now() - started) * 1000) / 1000;
    const loaded = await loadConfigFile(this.configFile);
    if (!loaded.ok) {
      this.metrics.policyReloaded(false);
      logReload(this.logger, {
        ok: false,
        source,
        durationMs: durationMs(),
        errors: loaded.errors.map((e) => ({ ...e, message: formatConfigError(e) })),
      });
      return { ok: false, problems: loaded.errors.map(formatConfigError) };
    }
    let policy: CompiledPolicy;
    try {
      policy = new CompiledPolicy(loaded.config);
    } catch (error) {
      this.metrics.policyReloaded(false);
      logReload(this.logger, {
        ok: false,
        source,
        durationMs: durationMs(),
        errors: [error as Error],
      });
      return { ok: false, problems: [(error as Error).message] };
    }
    const result = this.gateway.reload(policy);
    if (!result.applied) {
      this.metrics.policyReloaded(false);
      const problems = result.needsRestart.map(
        (m) => `${m}: listener sockets change only on restart`,
      );
      logReload(this.logger, {
        ok: false,
        source,
        durationMs: durationMs(),
        errors: problems.map((message) => ({ code: "CONFIG_NEEDS_RESTART", message })),
      });
      return { ok: false, problems };
    }
    this.#configHash = hashFile(this.configFile);
    this.metrics.policyReloaded(true, policy.tenants.size, policy.ruleCount);
    logReload(this.logger, {
      ok: true,
      source,
      durationMs: durationMs(),
      tenants: policy.tenants.size,
      rules: policy.ruleCount,
    });
    return { ok: true, problems: [] };
  }

  /**
   * Watches the file's directory (editors replace files by renaming, which a watch on the file
   * itself would miss) and reloads when the content changes, after a short debounce.
   */
  #watch(): void {
    const name = basename(this.configFile);
    try {
      this.#watcher = watch(dirname(this.configFile), (_event, changed) => {
        if (changed !== null && changed !== name) return;
        if (this.#watchTimer !== null) clearTimeout(this.#watchTimer);
        this.#watchTimer = setTimeout(() => {
          this.#watchTimer = null;
          let hash: string;
          try {
            hash = hashFile(this.configFile);
          } catch {
            return; // mid-replace; the next event reloads
          }
          if (hash !== this.#configHash) void this.reload("file");
        }, 200);
      });
      this.#watcher.on("error", () => {});
    } catch (error) {
      this.logger.warn({ err: error }, "cannot watch the configuration file; reload with SIGHUP");
    }
  }

  /** Drains: not ready, stop accepting, grace period for live connections, then close. */
  async stop(signal?: string): Promise<{ forcedConnections: number }> {
    this.#watcher?.close();
    if (this.#watchTimer !== null) clearTimeout(this.#watchTimer);
    this.health.draining();
    const drainTimeoutMs = this.config.shutdown.drainTimeoutMs;
    logDraining(this.logger, {
      activeConnections: this.gateway.activeConnections,
      drainTimeoutMs,
      signal,
    });
    const { closed } = await this.gateway.stop(drainTimeoutMs);
    await this.admin?.close();
    logStopped(this.logger, { forcedConnections: closed, exitCode: 0 });
    return { forcedConnections: closed };
  }
}

function hashFile(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}
