/**
 * `linkgate serve --workers N`: one primary process and N worker processes on node:cluster with
 * the SCHED_NONE policy. docs/multicore.md has the measurements behind this choice.
 *
 * - Sockets. Each worker runs a full LinkgateRuntime (every listener, the whole data plane) and
 *   binds its listeners as usual; node:cluster turns that into one socket per listener, bound
 *   once by the primary and handed to every worker, so the kernel gives each new connection to
 *   whichever worker accepts it first. The primary never accepts nor relays a connection. It
 *   keeps the sockets while at least one worker holds them, so a crashed worker's replacement
 *   gets the same ones. (SCHED_RR, node:cluster's default, would accept every connection in the
 *   primary and pass it to a worker over IPC: one more hop per connection, and the primary's
 *   single thread becomes the ceiling.) NODE_CLUSTER_SCHED_POLICY=rr, if set, still wins.
 * - Configuration. The primary loads and validates the file (at start, on SIGHUP, on a change
 *   of the file), once, and sends the resolved configuration to every worker, which only
 *   compiles and swaps it. An invalid file is rejected once, by the primary, with its errors; the
 *   workers never see it. "reload ok" is logged once every worker has applied the new policy.
 *   A worker that starts (or restarts) gets the configuration in force.
 * - Crashes. A worker that exits unexpectedly is replaced after a backoff (100 ms, doubling for
 *   each crash that follows a start by less than 10 s, up to 30 s). "worker exited" and "worker
 *   started" lines say so.
 * - Admin endpoint. The primary serves api.bind. /metrics asks every worker for its metrics
 *   (as prom-client JSON), adds the primary's own (the policy metrics, which only the primary
 *   counts), and sums them with prom-client's AggregatorRegistry.aggregate. /readyz is ready
 *   when every worker is.
 * - Drain. SIGTERM to the primary: /readyz turns unready, every worker drains (stops accepting,
 *   shutdown.drainTimeout for live connections, closes the rest) and exits; then the primary
 *   closes the admin endpoint and exits 0.
 * - Logs. Workers write their connection lines (with `worker: <slot>`, 1..N, kept across
 *   restarts) to the same stdout; lifecycle lines come from the primary.
 */
import cluster, { type Worker } from "node:cluster";
import { extname, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { AggregatorRegistry } from "prom-client";
import { loadConfigFile } from "../config/index.js";
import type { LinkgateConfig } from "../config/types.js";
import { type AdminServer, startAdminServer } from "../control/admin-server.js";
import type { BoundListener } from "../dataplane/gateway.js";
import {
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
import { ConfigLoadError, LinkgateRuntime, type ReloadOutcome } from "./linkgate.js";
import { prepareReload } from "./reload.js";
import { type ConfigWatch, hashFile, watchConfigFile } from "./watch.js";

/** First delay before replacing a crashed worker; doubles for each quick crash in a row. */
const RESPAWN_BASE_MS = 100;
const RESPAWN_MAX_MS = 30_000;
/** A worker that ran this long before exiting is not part of a crash loop. */
const STABLE_AFTER_MS = 10_000;
/** How long the workers have to start (load modules, bind, report ready). */
const START_TIMEOUT_MS = 60_000;
/** How long a worker has to apply a reload, or to answer a metrics request. */
const APPLY_TIMEOUT_MS = 10_000;
const METRICS_TIMEOUT_MS = 2_000;
/** After drainTimeout, how long workers have to report and exit before they are killed. */
const STOP_MARGIN_MS = 5_000;

// ------------------------------------------------------------------------------------------
// Messages between the primary and a worker (JSON over the cluster IPC channel). Requests carry
// `req`, echoed by the answer.

type ToWorker =
  | {
      t: "start";
      id: number;
      generation: number;
      config: LinkgateConfig;
      configFile: string;
      version: string;
    }
  | { t: "apply"; req: number; generation: number; config: LinkgateConfig; source: string }
  | { t: "metrics"; req: number }
  | { t: "stop"; req: number; signal?: string };

type FromWorker =
  | { t: "hello" }
  | { t: "ready"; generation: number; listeners: BoundListener[] }
  | { t: "failed"; message: string }
  | { t: "applied"; req: number; generation: number; ok: boolean; problems: string[] }
  | { t: "metrics"; req: number; metrics: object[] }
  | { t: "draining"; req: number; activeConnections: number }
  | { t: "stopped"; forcedConnections: number };

type Answer<T extends FromWorker["t"]> = Extract<FromWorker, { t: T }>;

// ------------------------------------------------------------------------------------------
// The primary

export interface ClusterStartOptions {
  configFile: string;
  /** Worker processes, at least 2 (1 is LinkgateRuntime alone, in one process). */
  workers: number;
  /** Reload when the file changes (default true). */
  watchFile?: boolean;
  version: string;
}

interface Slot {
  /** 1..N, the `worker` field of the log lines; a replacement keeps its slot's id. */
  readonly id: number;
  worker: Worker | null;
  state: "starting" | "ready" | "down";
  /** The configuration generation the worker runs. */
  generation: number;
  startedAt: number;
  /** Quick crashes in a row (see STABLE_AFTER_MS). */
  crashes: number;
  respawn: NodeJS.Timeout | null;
  /** Connections the worker cut at the end of its drain, from its "stopped" message. */
  forcedConnections: number;
}

/** Where cluster.fork() starts workers: cluster-worker.ts under tsx, .js once built. */
function workerEntry(): string {
  const self = fileURLToPath(import.meta.url);
  return fileURLToPath(new URL(`./cluster-worker${extname(self)}`, import.meta.url));
}

export class ClusterPrimary {
  readonly configFile: string;
  readonly logger: Logger;
  /** The primary's own metrics: the policy metrics, and its process's. */
  readonly metrics = new Metrics();
  readonly health = new Health();
  readonly version: string;
  listeners: BoundListener[] = [];
  admin: AdminServer | null = null;
  #config: LinkgateConfig;
  #generation = 1;
  /**
   * The content last loaded, applied or rejected: a change of the file that leads back to it
   * (the watch firing after a SIGHUP for the same save) does not reload, or reject, twice.
   */
  #configHash: string;
  readonly #slots: Slot[] = [];
  #watcher: ConfigWatch | null = null;
  #reloading: Promise<ReloadOutcome> | null = null;
  #stopping: Promise<{ forcedConnections: number; exitCode: number }> | null = null;
  #nextRequest = 1;
  /** Settled by the start sequence: every worker ready, or the first failure. */
  #startup: { ready(): void; failed(error: Error): void } | null = null;

  private constructor(
    file: string,
    config: LinkgateConfig,
    logger: Logger,
    o: ClusterStartOptions,
  ) {
    this.configFile = file;
    this.#config = config;
    this.#configHash = hashFile(file);
    this.logger = logger;
    this.version = o.version;
    const policy = new CompiledPolicy(config);
    this.metrics.policyReloaded(true, policy.tenants.size, policy.ruleCount);
    for (let id = 1; id <= o.workers; id++) {
      this.#slots.push({
        id,
        worker: null,
        state: "down",
        generation: 0,
        startedAt: 0,
        crashes: 0,
        respawn: null,
        forcedConnections: 0,
      });
    }
  }

  /**
   * Loads the file, starts the workers (which bind every listener) and the admin endpoint.
   * Throws ConfigLoadError for an invalid file, or an Error (a listener that cannot bind, a
   * worker that fails to start) after stopping whatever was started.
   */
  static async start(o: ClusterStartOptions): Promise<ClusterPrimary> {
    if (!cluster.isPrimary) throw new Error("linkgate serve --workers: already a cluster worker");
    const file = resolve(o.configFile);
    const loaded = await loadConfigFile(file);
    if (!loaded.ok) throw new ConfigLoadError(loaded.errors);
    const logger = createLogger(loaded.config.log);
    logStarted(logger, { version: o.version, configFile: file, workers: o.workers });
    const primary = new ClusterPrimary(file, loaded.config, logger, o);

    // The scheduling policy is frozen by the first setupPrimary()/fork().
    if (process.env.NODE_CLUSTER_SCHED_POLICY === undefined) {
      cluster.schedulingPolicy = cluster.SCHED_NONE;
    }
    cluster.setupPrimary({ exec: workerEntry(), args: [], silent: false });

    try {
      await primary.#startWorkers();
      for (const l of primary.listeners) {
        logListening(logger, l.name, { host: l.host, port: l.port }, { workers: o.workers });
      }
      const api = loaded.config.api;
      if (api !== null) {
        primary.admin = await startAdminServer({
          bind: api.bind,
          metrics: {
            contentType: primary.metrics.contentType,
            metricsText: () => primary.#metricsText(),
          },
          health: primary.health,
          logger,
        });
      }
    } catch (error) {
      await primary.#killAll();
      await primary.admin?.close();
      throw error;
    }
    primary.#updateHealth();
    if (o.watchFile ?? true) {
      primary.#watcher = watchConfigFile(file, {
        currentHash: () => primary.#configHash,
        onChange: () => void primary.reload("file"),
        logger,
      });
    }
    return primary;
  }

  get config(): LinkgateConfig {
    return this.#config;
  }

  /** The worker processes running now, by slot (for tests and diagnostics). */
  get workerPids(): (number | null)[] {
    return this.#slots.map((s) => s.worker?.process.pid ?? null);
  }

  #startWorkers(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => fail(new Error(`the workers did not start within ${START_TIMEOUT_MS / 1000} s`)),
        START_TIMEOUT_MS,
      );
      const done = () => {
        clearTimeout(timer);
        this.#startup = null;
      };
      const fail = (error: Error) => {
        done();
        reject(error);
      };
      this.#startup = {
        ready: () => {
          if (this.#slots.every((s) => s.state === "ready")) {
            done();
            resolve();
          }
        },
        failed: fail,
      };
      for (const slot of this.#slots) this.#spawn(slot);
    });
  }

  #spawn(slot: Slot): void {
    const worker = cluster.fork();
    slot.worker = worker;
    slot.state = "starting";
    slot.startedAt = Date.now();
    // Sending to a worker that is exiting fails with EPIPE; its exit is handled below.
    worker.on("error", () => {});
    worker.on("message", (m: FromWorker) => this.#onMessage(slot, worker, m));
    worker.on("exit", (code, signal) => this.#onExit(slot, worker, code, signal));
  }

  #send(worker: Worker, message: ToWorker): void {
    if (worker.isConnected()) worker.send(message, undefined, () => {});
  }

  /** Sends a request and resolves with the answer, or null on timeout or if the worker exits. */
  #ask<T extends "applied" | "metrics" | "draining">(
    worker: Worker,
    message: ToWorker & { req: number },
    answer: T,
    timeoutMs: number,
  ): Promise<Answer<T> | null> {
    return new Promise((resolve) => {
      const finish = (value: Answer<T> | null) => {
        clearTimeout(timer);
        worker.off("message", onMessage);
        worker.off("exit", onExit);
        resolve(value);
      };
      const onMessage = (m: FromWorker) => {
        if (m.t === answer && (m as { req?: number }).req === message.req) finish(m as Answer<T>);
      };
      const onExit = () => finish(null);
      const timer = setTimeout(() => finish(null), timeoutMs);
      worker.on("message", onMessage);
      worker.on("exit", onExit);
      if (!worker.isConnected()) return finish(null);
      this.#send(worker, message);
    });
  }

  #onMessage(slot: Slot, worker: Worker, m: FromWorker): void {
    if (slot.worker !== worker) return;
    switch (m.t) {
      case "hello":
        // The worker listens for messages now: give it the configuration in force.
        this.#send(worker, {
          t: "start",
          id: slot.id,
          generation: this.#generation,
          config: this.#config,
          configFile: this.configFile,
          version: this.version,
        });
        return;
      case "ready": {
        slot.state = "ready";
        slot.generation = m.generation;
        if (this.listeners.length === 0) this.listeners = m.listeners;
        this.logger.info(
          {
            worker: slot.id,
            workerPid: worker.process.pid,
            restarted: this.#startup === null,
            startMs: Date.now() - slot.startedAt,
          },
          "worker started",
        );
        // A reload that happened while it started: bring it up to date.
        if (m.generation !== this.#generation) void this.#apply(slot, "catch-up");
        this.#updateHealth();
        this.#startup?.ready();
        return;
      }
      case "failed":
        this.logger.error({ worker: slot.id, error: m.message }, "worker failed to start");
        this.#startup?.failed(new Error(m.message));
        return;
      case "stopped":
        slot.forcedConnections = m.forcedConnections;
        return;
      default:
        return; // answers to #ask
    }
  }

  #onExit(slot: Slot, worker: Worker, code: number | null, signal: string | null): void {
    if (slot.worker !== worker) return;
    slot.worker = null;
    slot.state = "down";
    const details = {
      worker: slot.id,
      workerPid: worker.process.pid,
      code,
      signal,
      uptimeMs: Date.now() - slot.startedAt,
    };
    if (this.#stopping !== null) {
      this.logger.info(details, "worker exited");
      return;
    }
    this.#updateHealth();
    if (this.#startup !== null) {
      this.logger.error(details, "worker exited");
      this.#startup.failed(
        new Error(`worker ${slot.id} exited before it was ready (code ${code}, signal ${signal})`),
      );
      return;
    }
    if (details.uptimeMs >= STABLE_AFTER_MS) slot.crashes = 0;
    const delay = Math.min(RESPAWN_BASE_MS * 2 ** slot.crashes, RESPAWN_MAX_MS);
    slot.crashes++;
    this.logger.error({ ...details, restartInMs: delay }, "worker exited");
    slot.respawn = setTimeout(() => {
      slot.respawn = null;
      if (this.#stopping === null) this.#spawn(slot);
    }, delay);
  }

  /** Ready when every worker is ready; unready for good once draining. */
  #updateHealth(): void {
    const notReady = this.#slots.filter((s) => s.state !== "ready");
    if (notReady.length === 0) this.health.setReady(true);
    else {
      const ids = notReady.map((s) => s.id).join(", ");
      this.health.setReady(false, `worker ${ids} of ${this.#slots.length} not ready`);
    }
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

  /**
   * The same checks as LinkgateRuntime's reload (file, compile, listeners unchanged), done
   * once here; then every ready worker applies the resolved configuration.
   */
  async #reload(source: string): Promise<ReloadOutcome> {
    const started = performance.now();
    const durationMs = () => Math.round((performance.now() - started) * 1000) / 1000;
    if (this.#stopping !== null) return { ok: false, problems: ["draining"] };
    const failed = (errors: { code?: string; message: string }[]): ReloadOutcome => {
      this.metrics.policyReloaded(false);
      logReload(this.logger, { ok: false, source, durationMs: durationMs(), errors });
      return { ok: false, problems: errors.map((e) => e.message) };
    };
    try {
      this.#configHash = hashFile(this.configFile);
    } catch {
      // unreadable: loadConfigFile says why
    }
    const prepared = await prepareReload(this.configFile, this.#config);
    if (!prepared.ok) return failed(prepared.errors);
    const { policy } = prepared;
    this.#config = prepared.config;
    this.#generation++;
    const ready = this.#slots.filter((s) => s.state === "ready");
    const results = await Promise.all(ready.map((s) => this.#apply(s, source)));
    this.metrics.policyReloaded(true, policy.tenants.size, policy.ruleCount);
    const result = {
      ok: true as const,
      source,
      durationMs: durationMs(),
      tenants: policy.tenants.size,
      rules: policy.ruleCount,
      workers: results.filter((r) => r).length,
    };
    logReload(this.logger, result);
    return { ok: true, problems: [] };
  }

  /**
   * Sends the configuration in force to one worker and waits for it to be applied. A worker
   * that fails to apply what the primary validated (it should not: the same code compiles it)
   * or does not answer is logged; it keeps serving with the policy it has.
   */
  async #apply(slot: Slot, source: string): Promise<boolean> {
    const worker = slot.worker;
    if (worker === null) return false;
    const generation = this.#generation;
    const answer = await this.#ask(
      worker,
      { t: "apply", req: this.#nextRequest++, generation, config: this.#config, source },
      "applied",
      APPLY_TIMEOUT_MS,
    );
    if (answer?.ok) {
      slot.generation = Math.max(slot.generation, answer.generation);
      return true;
    }
    if (slot.worker === worker) {
      this.logger.error(
        { worker: slot.id, generation, problems: answer?.problems ?? ["no answer"] },
        "worker did not apply the reload",
      );
    }
    return false;
  }

  /** The sum over the workers' metrics, plus the primary's own (policy and process metrics). */
  async #metricsText(): Promise<string> {
    const own = await this.metrics.registry.getMetricsAsJSON();
    const answers = await Promise.all(
      this.#slots.map((s) =>
        s.worker === null || s.state !== "ready"
          ? null
          : this.#ask(
              s.worker,
              { t: "metrics", req: this.#nextRequest++ },
              "metrics",
              METRICS_TIMEOUT_MS,
            ),
      ),
    );
    const all: object[] = [own];
    for (const a of answers) if (a !== null) all.push(a.metrics);
    return AggregatorRegistry.aggregate(all).metrics();
  }

  /**
   * Drains: unready, every worker drains and exits (shutdown.drainTimeout for its live
   * connections), then the admin endpoint closes. exitCode 1 if a worker had to be killed.
   */
  stop(signal?: string): Promise<{ forcedConnections: number; exitCode: number }> {
    this.#stopping ??= this.#stop(signal);
    return this.#stopping;
  }

  async #stop(signal?: string): Promise<{ forcedConnections: number; exitCode: number }> {
    this.#watcher?.close();
    this.health.draining();
    for (const slot of this.#slots) {
      if (slot.respawn !== null) clearTimeout(slot.respawn);
      slot.respawn = null;
    }
    const drainTimeoutMs = this.#config.shutdown.drainTimeoutMs;
    const running = this.#slots.filter((s) => s.worker !== null);
    const exits = running.map((s) => exited(s.worker as Worker));
    const answers = await Promise.all(
      running.map((s) =>
        this.#ask(
          s.worker as Worker,
          { t: "stop", req: this.#nextRequest++, signal },
          "draining",
          2000,
        ),
      ),
    );
    const draining = {
      activeConnections: answers.reduce((n, a) => n + (a?.activeConnections ?? 0), 0),
      drainTimeoutMs,
      signal,
      workers: running.length,
    };
    logDraining(this.logger, draining);
    let killed = 0;
    const deadline = setTimeout(() => {
      for (const s of running) {
        if (s.worker !== null) {
          killed++;
          this.logger.error({ worker: s.id }, "worker did not stop in time: killed");
          s.worker.process.kill("SIGKILL");
        }
      }
    }, drainTimeoutMs + STOP_MARGIN_MS);
    await Promise.all(exits);
    clearTimeout(deadline);
    await this.admin?.close();
    const forcedConnections = running.reduce((n, s) => n + s.forcedConnections, 0);
    const exitCode = killed > 0 ? 1 : 0;
    logStopped(this.logger, { forcedConnections, exitCode });
    return { forcedConnections, exitCode };
  }

  /** Start failed: kill what runs, wait for it to exit. */
  async #killAll(): Promise<void> {
    this.#stopping ??= Promise.resolve({ forcedConnections: 0, exitCode: 1 });
    const running = this.#slots.flatMap((s) => (s.worker === null ? [] : [s.worker]));
    for (const w of running) w.process.kill("SIGKILL");
    await Promise.all(running.map(exited));
  }
}

function exited(worker: Worker): Promise<void> {
  return new Promise((resolve) => {
    if (worker.process.exitCode !== null || worker.process.signalCode !== null) resolve();
    else worker.once("exit", () => resolve());
  });
}

// ------------------------------------------------------------------------------------------
// A worker (started by cluster.fork() through cluster-worker.ts)

/** Runs this process as a worker: waits for the primary's "start", then serves. */
export function runClusterWorker(): void {
  if (!cluster.isWorker || process.send === undefined) {
    throw new Error("runClusterWorker: not a node:cluster worker");
  }
  const send = (message: FromWorker, then?: () => void) => {
    if (process.connected) process.send?.(message, undefined, {}, () => then?.());
    else then?.();
  };
  let runtime: Promise<LinkgateRuntime | null> = Promise.resolve(null);
  let stopping = false;

  const stop = async (signal?: string, req?: number) => {
    const rt = await runtime;
    if (stopping) {
      if (req !== undefined) send({ t: "draining", req, activeConnections: 0 });
      return;
    }
    stopping = true;
    if (req !== undefined) {
      send({ t: "draining", req, activeConnections: rt?.gateway.activeConnections ?? 0 });
    }
    const { forcedConnections } = rt === null ? { forcedConnections: 0 } : await rt.stop(signal);
    send({ t: "stopped", forcedConnections }, () => process.exit(0));
  };

  process.on("message", (m: ToWorker) => {
    switch (m.t) {
      case "start":
        runtime = LinkgateRuntime.start({
          configFile: m.configFile,
          version: m.version,
          worker: { id: m.id, config: m.config },
        }).then(
          (rt) => {
            send({ t: "ready", generation: m.generation, listeners: rt.listeners });
            return rt;
          },
          (error: Error) => {
            send({ t: "failed", message: error.message }, () => process.exit(1));
            return null;
          },
        );
        return;
      case "apply":
        void runtime.then((rt) => {
          const outcome = rt?.applyConfig(m.config, m.source) ?? {
            ok: false,
            problems: ["not started"],
          };
          send({ t: "applied", req: m.req, generation: m.generation, ...outcome });
        });
        return;
      case "metrics":
        void runtime.then(async (rt) => {
          const metrics = rt === null ? [] : await rt.metrics.registry.getMetricsAsJSON();
          send({ t: "metrics", req: m.req, metrics });
        });
        return;
      case "stop":
        void stop(m.signal, m.req);
        return;
    }
  });
  // A terminal's Ctrl-C (SIGINT) and many supervisors (SIGTERM) signal every process of the
  // group: a worker drains on its own as well. SIGHUP is the primary's (reload).
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGHUP", () => {});
  send({ t: "hello" });
}
