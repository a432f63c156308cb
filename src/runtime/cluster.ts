/**
 * `linkgate serve --workers N`: one primary process and N worker processes on node:cluster.
 * docs/multicore.md has the measurements behind the choices below.
 *
 * - Sockets. Each worker runs a full LinkgateRuntime (every listener, the whole data plane) and
 *   binds its listeners as usual; node:cluster with the SCHED_NONE policy turns that into one
 *   socket per listener, bound once by the primary and handed to every worker, so the kernel
 *   gives each new connection to whichever worker accepts it first: a worker that is stuck or
 *   gone takes none. The primary never accepts nor relays a connection. It keeps the sockets
 *   while at least one worker holds them, so a crashed worker's replacement gets the same ones.
 *   (SCHED_RR, node:cluster's default, would accept every connection in the primary and pass it
 *   to a worker over IPC: one more hop per connection, and the primary's single thread becomes
 *   the ceiling. SO_REUSEPORT sockets, one per worker, were measured too: no faster here, and a
 *   stuck or crashed worker takes its share of new connections with it. docs/multicore.md.)
 *   NODE_CLUSTER_SCHED_POLICY=rr, if set, still wins.
 * - Policy. The primary reloads (PolicyReloader, the same path as a single process: one read
 *   of the file, validate, compile) and sends the resolved configuration with its generation
 *   to every worker, which only compiles and swaps it. A worker that does not apply it (an
 *   error, or no answer in time) is asked once more, then replaced: killed and
 *   started again with the configuration in force. "reload ok" is logged only once every worker
 *   runs the new generation; otherwise "reload incomplete" says which workers lag. A worker that
 *   starts (or restarts) gets the configuration in force.
 * - Crashes. A worker that exits unexpectedly is replaced after a backoff (100 ms, doubling for
 *   each crash that follows a start by less than 10 s, up to 30 s).
 * - Admin endpoint. The primary serves api.bind. /metrics asks every worker for its metrics
 *   (as prom-client JSON), adds the primary's own (the policy metrics, which only the primary
 *   counts, with each worker's policy generation), and sums them with prom-client's
 *   AggregatorRegistry.aggregate. /readyz is ready when every worker is.
 * - Drain. SIGTERM to the primary: /readyz turns unready, every worker drains (stops accepting,
 *   shutdown.drainTimeout for live connections, closes the rest) and exits; then the primary
 *   closes the admin endpoint and exits 0.
 * - Logs. Workers write their connection lines (with `worker: <slot>`, 1..N, kept across
 *   restarts) to the same stdout; lifecycle lines come from the primary.
 */
import cluster, { type Worker } from "node:cluster";
import { extname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { AggregatorRegistry } from "prom-client";
import type { LinkgateConfig, TenantConfig } from "../config/types.js";
import { type AdminServer, startAdminServer } from "../control/admin-server.js";
import { adminTokensFromEnv } from "../control/auth.js";
import type { BoundListener } from "../dataplane/gateway.js";
import {
  createLogger,
  Health,
  type Logger,
  logDraining,
  logListening,
  logStarted,
  logStopped,
  Metrics,
} from "../observability/index.js";
import { CompiledPolicy } from "../policy/index.js";
import type { ActivityBatch } from "../store/index.js";
import { ControlRuntime } from "./control-runtime.js";
import { ConfigLoadError, LinkgateRuntime } from "./linkgate.js";
import { ConfigFileSource, type PolicySnapshot } from "./policy-source.js";
import { installProcessErrorPolicy } from "./process-errors.js";
import {
  type ApplyReport,
  PolicyReloader,
  type PolicyTarget,
  type PolicyUpdate,
  type ReloadOutcome,
  type ReloadRequest,
} from "./reload.js";
import type { TenantChangeTarget } from "./store-tenants.js";
import { type ConfigWatch, watchConfigFile } from "./watch.js";

/** First delay before replacing a crashed worker; doubles for each quick crash in a row. */
const RESPAWN_BASE_MS = 100;
const RESPAWN_MAX_MS = 30_000;
/** A worker that ran this long before exiting is not part of a crash loop. */
const STABLE_AFTER_MS = 10_000;
/** How long the workers have to start (load modules, bind, report ready). */
const START_TIMEOUT_MS = 60_000;
/**
 * How long a worker has to apply a policy: APPLY_TIMEOUT_MS, plus APPLY_TIMEOUT_PER_PREPARE
 * times what reading, validating and compiling it took the primary (milliseconds for most
 * policies; seconds for a million rules, which the worker compiles too). And how many times it
 * is asked before it is replaced.
 */
const APPLY_TIMEOUT_MS = 5_000;
const APPLY_TIMEOUT_PER_PREPARE = 2;
const APPLY_ATTEMPTS = 2;
/** How long a reload waits for workers that restart meanwhile (replaced, or crashed). */
const RESTART_WAIT_MS = 20_000;
const METRICS_TIMEOUT_MS = 2_000;
/** How long a worker has to apply a change of the store's tenants (one tenant: milliseconds). */
const TENANTS_TIMEOUT_MS = 1_500;
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
      /** Count rule hits and observed identities, and send them (the primary has a store). */
      activity: boolean;
    }
  | { t: "apply"; req: number; generation: number; config: LinkgateConfig }
  /** The store's tenants changed: these only (a config, or null: removed). */
  | { t: "tenants"; req: number; changes: [string, TenantConfig | null][] }
  | { t: "metrics"; req: number }
  | { t: "stop"; req: number; signal?: string };

type FromWorker =
  | { t: "hello" }
  | { t: "ready"; generation: number; listeners: BoundListener[] }
  | { t: "failed"; message: string }
  | { t: "applied"; req: number; generation: number; ok: boolean; problems: string[] }
  | { t: "tenantsApplied"; req: number }
  | { t: "activity"; batch: ActivityBatch }
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
  /** The policy generation the worker runs; 0 while none runs. */
  generation: number;
  startedAt: number;
  /** Quick crashes in a row (see STABLE_AFTER_MS). */
  crashes: number;
  respawn: NodeJS.Timeout | null;
  /** Bringing the worker to the generation in force, once at a time (see #converge). */
  converging: Promise<void> | null;
  /** The generation the worker was last replaced for, because it could not apply it. */
  replacedFor: number;
  /** Connections the worker cut at the end of its drain, from its "stopped" message. */
  forcedConnections: number;
}

/** Where cluster.fork() starts workers: cluster-worker.ts under tsx, .js once built. */
function workerEntry(): string {
  const self = fileURLToPath(import.meta.url);
  return fileURLToPath(new URL(`./cluster-worker${extname(self)}`, import.meta.url));
}

export class ClusterPrimary implements PolicyTarget, TenantChangeTarget {
  readonly configFile: string;
  readonly logger: Logger;
  /** The primary's own metrics: the policy metrics, and its process's. */
  readonly metrics = new Metrics();
  readonly health = new Health();
  readonly version: string;
  listeners: BoundListener[] = [];
  admin: AdminServer | null = null;
  /** The store, its tenants, the API's view of the policy (the primary owns them). */
  readonly control: ControlRuntime;
  /** The configuration file's configuration in force (workers get it with the store's tenants). */
  #config: LinkgateConfig;
  #generation = 1;
  /** How long a worker has to apply #config (see APPLY_TIMEOUT_PER_PREPARE). */
  #applyTimeoutMs = APPLY_TIMEOUT_MS;
  readonly #slots: Slot[] = [];
  readonly #reloader: PolicyReloader;
  #watcher: ConfigWatch | null = null;
  #stopping: Promise<{ forcedConnections: number; exitCode: number }> | null = null;
  #nextRequest = 1;
  /** Settled by the start sequence: every worker ready, or the first failure. */
  #startup: { ready(): void; failed(error: Error): void } | null = null;
  /** Called whenever a worker's state or generation changes (see #until). */
  readonly #workerChangeListeners = new Set<() => void>();

  private constructor(
    file: string,
    reloadFrom: { source: ConfigFileSource; initial: PolicySnapshot },
    config: LinkgateConfig,
    logger: Logger,
    o: ClusterStartOptions,
    control: ControlRuntime,
  ) {
    this.configFile = file;
    this.#config = config;
    this.logger = logger;
    this.version = o.version;
    this.control = control;
    if (control.store !== null) this.metrics.observeStore(() => control.storeGauges());
    const policy = new CompiledPolicy(control.compose(config));
    this.metrics.policyReloaded(true, policy.tenants.size, policy.ruleCount);
    this.#reloader = new PolicyReloader({
      ...reloadFrom,
      target: this,
      metrics: this.metrics,
      logger,
    });
    for (let id = 1; id <= o.workers; id++) {
      this.#slots.push({
        id,
        worker: null,
        state: "down",
        generation: 0,
        startedAt: 0,
        crashes: 0,
        respawn: null,
        converging: null,
        replacedFor: 0,
        forcedConnections: 0,
      });
      this.metrics.workerPolicyGeneration(id, 0);
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
    const source = new ConfigFileSource(file);
    const initial = await source.read();
    if (!initial.result.ok) throw new ConfigLoadError(initial.result.errors);
    const config = initial.result.config;
    const logger = createLogger(config.log, undefined, { otherWriters: true });
    logStarted(logger, { version: o.version, configFile: file, workers: o.workers });
    const control = await ControlRuntime.open(config, file, logger);
    let primary: ClusterPrimary;
    try {
      primary = new ClusterPrimary(file, { source, initial }, config, logger, o, control);
    } catch (error) {
      await control.close();
      throw error;
    }

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
      const api = config.api;
      if (api !== null) {
        primary.admin = await startAdminServer({
          bind: api.bind,
          metrics: {
            contentType: primary.metrics.contentType,
            metricsText: () => primary.#metricsText(),
          },
          health: primary.health,
          liveness: () => control.liveness(),
          logger,
          routes: control.routes(await adminTokensFromEnv(), o.version),
        });
      }
    } catch (error) {
      await primary.#killAll();
      await primary.admin?.close();
      await control.close();
      throw error;
    }
    control.follow(primary);
    primary.#updateHealth();
    if (o.watchFile ?? true) {
      primary.#watcher = watchConfigFile(file, {
        onChange: () => void primary.reload({ source: "file", force: false }),
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
  #ask<T extends "applied" | "metrics" | "draining" | "tenantsApplied">(
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

  #setGeneration(slot: Slot, generation: number): void {
    slot.generation = generation;
    this.metrics.workerPolicyGeneration(slot.id, generation);
  }

  /** Tells #until that a worker's state or generation changed. */
  #workersChanged(): void {
    for (const w of [...this.#workerChangeListeners]) w();
  }

  /** Resolves once `done()` holds (re-checked at every change), or after `timeoutMs`. */
  #until(done: () => boolean, timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if (!done()) return;
        clearTimeout(timer);
        this.#workerChangeListeners.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#workerChangeListeners.delete(check);
        resolve();
      }, timeoutMs);
      this.#workerChangeListeners.add(check);
      check();
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
          config: this.control.compose(this.#config),
          configFile: this.configFile,
          version: this.version,
          activity: this.control.activity !== null,
        });
        return;
      case "ready": {
        slot.state = "ready";
        this.#setGeneration(slot, m.generation);
        if (this.listeners.length === 0) this.listeners = m.listeners;
        this.logger.info(
          {
            worker: slot.id,
            workerPid: worker.process.pid,
            generation: m.generation,
            restarted: this.#startup === null,
            startMs: Date.now() - slot.startedAt,
          },
          "worker started",
        );
        // A reload that happened while it started: bring it up to date.
        void this.#converge(slot);
        this.#updateHealth();
        this.#startup?.ready();
        this.#workersChanged();
        return;
      }
      case "failed":
        this.logger.error({ worker: slot.id, error: m.message }, "worker failed to start");
        this.#startup?.failed(new Error(m.message));
        return;
      case "stopped":
        slot.forcedConnections = m.forcedConnections;
        return;
      case "activity":
        this.control.merge(m.batch);
        return;
      default:
        return; // answers to #ask
    }
  }

  #onExit(slot: Slot, worker: Worker, code: number | null, signal: string | null): void {
    if (slot.worker !== worker) return;
    slot.worker = null;
    slot.state = "down";
    this.#setGeneration(slot, 0);
    this.#workersChanged();
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

  /** Reloads the file (see PolicyReloader: after the reload running now, if any). */
  reload(request: ReloadRequest): Promise<ReloadOutcome> {
    if (this.#stopping !== null) {
      return Promise.resolve({
        result: "rejected",
        generation: this.#generation,
        problems: ["draining"],
      });
    }
    return this.#reloader.request(request);
  }

  /**
   * PolicyTarget: makes `update` the configuration in force, brings every worker to it, and
   * waits for workers that restart meanwhile. Complete when every worker runs it.
   */
  async apply(update: PolicyUpdate): Promise<ApplyReport> {
    const generation = update.generation;
    this.#config = update.config;
    this.control.fileChanged(update.config);
    this.#generation = generation;
    this.#applyTimeoutMs = Math.round(
      APPLY_TIMEOUT_MS + APPLY_TIMEOUT_PER_PREPARE * update.preparedMs,
    );
    const current = (s: Slot) => s.state === "ready" && s.generation >= generation;
    await Promise.all(this.#slots.map((s) => this.#converge(s)));
    await this.#until(() => this.#stopping !== null || this.#slots.every(current), RESTART_WAIT_MS);
    const lagging = this.#slots.filter((s) => !current(s));
    const replaced = this.#slots.filter((s) => s.replacedFor === generation).map((s) => s.id);
    const details: Record<string, unknown> = {
      workers: this.#slots.length - lagging.length,
      workerGenerations: Object.fromEntries(this.#slots.map((s) => [s.id, s.generation])),
    };
    if (replaced.length > 0) details.replaced = replaced;
    if (lagging.length === 0) return { complete: true, details };
    details.lagging = lagging.map((s) => ({
      worker: s.id,
      generation: s.generation,
      state: s.state,
    }));
    return {
      complete: false,
      details,
      problems: lagging.map((s) => `worker ${s.id} runs generation ${s.generation} (${s.state})`),
    };
  }

  /** Brings a ready worker to the generation in force; one run per worker at a time. */
  #converge(slot: Slot): Promise<void> {
    slot.converging ??= this.#bringUpToDate(slot);
    return slot.converging;
  }

  /**
   * Sends the configuration in force until the worker runs it: up to APPLY_ATTEMPTS times,
   * each to be answered within #applyTimeoutMs. A worker that still does not run it (it should
   * not fail: the same code compiled it in the primary; it may hang) is replaced: killed, and
   * started again with the configuration in force.
   */
  async #bringUpToDate(slot: Slot): Promise<void> {
    await undefined; // #converge stores this run before its first check
    for (;;) {
      const worker = slot.worker;
      const generation = this.#generation;
      // The file's configuration with the store's tenants as they are now.
      const config = this.control.compose(this.#config);
      if (
        worker === null ||
        slot.state !== "ready" ||
        slot.generation >= generation ||
        this.#stopping !== null
      ) {
        // Cleared in the same turn as the check, so a later reload never joins a finished run.
        slot.converging = null;
        return;
      }
      let applied = false;
      for (let attempt = 1; attempt <= APPLY_ATTEMPTS && !applied; attempt++) {
        const answer = await this.#ask(
          worker,
          { t: "apply", req: this.#nextRequest++, generation, config },
          "applied",
          this.#applyTimeoutMs,
        );
        if (slot.worker !== worker) break;
        if (answer?.ok) {
          this.#setGeneration(slot, Math.max(slot.generation, answer.generation));
          this.#workersChanged();
          applied = true;
        } else {
          this.logger.error(
            {
              worker: slot.id,
              workerPid: worker.process.pid,
              generation,
              attempt,
              problems: answer?.problems ?? [`no answer within ${this.#applyTimeoutMs} ms`],
            },
            "worker did not apply the policy",
          );
        }
      }
      if (!applied && slot.worker === worker && this.#stopping === null) {
        this.logger.error(
          { worker: slot.id, workerPid: worker.process.pid, generation },
          "worker replaced: it does not apply the policy in force",
        );
        slot.replacedFor = generation;
        worker.process.kill("SIGKILL");
        await exited(worker);
      }
    }
  }

  /**
   * TenantChangeTarget: the store's tenants changed. Every worker gets the change (one that is
   * starting applies it right after its start); resolves once every ready worker has applied
   * it, and rejects if one has not in time (the store feed then tries again).
   */
  async applyTenants(changes: ReadonlyMap<string, TenantConfig | null>): Promise<void> {
    const list = [...changes];
    const waits: Promise<unknown>[] = [];
    for (const slot of this.#slots) {
      const worker = slot.worker;
      if (worker === null) continue;
      const message = { t: "tenants" as const, req: this.#nextRequest++, changes: list };
      if (slot.state !== "ready") {
        this.#send(worker, message);
        continue;
      }
      waits.push(
        this.#ask(worker, message, "tenantsApplied", TENANTS_TIMEOUT_MS).then((answer) => {
          if (answer === null && slot.worker === worker) {
            throw new Error(`worker ${slot.id} did not apply a change of the store's tenants`);
          }
        }),
      );
    }
    await Promise.all(waits);
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
    // After the workers: what they reported last is merged, then written.
    await this.control.close();
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

  /** Drains and exits: on the primary's request, a signal, or an uncaught exception (exit 1). */
  const stop = async (reason?: string, req?: number, exitCode = 0) => {
    const rt = await runtime;
    if (stopping) {
      if (req !== undefined) send({ t: "draining", req, activeConnections: 0 });
      return;
    }
    stopping = true;
    if (req !== undefined) {
      send({ t: "draining", req, activeConnections: rt?.gateway.activeConnections ?? 0 });
    }
    const { forcedConnections } = rt === null ? { forcedConnections: 0 } : await rt.stop(reason);
    send({ t: "stopped", forcedConnections }, () => process.exit(exitCode));
  };

  process.on("message", (m: ToWorker) => {
    switch (m.t) {
      case "start":
        runtime = LinkgateRuntime.start({
          configFile: m.configFile,
          version: m.version,
          worker: {
            id: m.id,
            config: m.config,
            reportActivity: m.activity ? (batch) => send({ t: "activity", batch }) : undefined,
          },
        }).then(
          (rt) => {
            installProcessErrorPolicy({
              logger: rt.logger,
              metrics: rt.metrics,
              drain: (reason) => void stop(reason, undefined, 1),
            });
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
          const outcome = rt?.applyConfig(m.config, "primary") ?? {
            ok: false,
            problems: ["not started"],
          };
          send({ t: "applied", req: m.req, generation: m.generation, ...outcome });
        });
        return;
      case "tenants":
        void runtime.then(async (rt) => {
          await rt?.applyTenants(new Map(m.changes));
          send({ t: "tenantsApplied", req: m.req });
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
