/**
 * The one way a policy change reaches the data plane, whatever triggered it (SIGHUP, a change
 * of the file; next, the store's change feed) and whatever the topology (one process, or the
 * primary of `serve --workers N` and its workers):
 *
 *   policy source (read once) -> validate, compile, check listeners -> target.apply (the swap,
 *   in this process or in every worker) -> one outcome, logged and counted once.
 *
 * Requests coalesce: a request that arrives while a reload runs does not join it (that reload
 * may have read the source before the change that caused the request); it queues one more
 * reload, which every request arriving meanwhile shares. So the last change is always read.
 */
import { performance } from "node:perf_hooks";
import { formatConfigError } from "../config/index.js";
import type { LinkgateConfig } from "../config/types.js";
import { listenerDifferences } from "../dataplane/gateway.js";
import {
  type Logger,
  logReload,
  type Metrics,
  type ReloadProblem,
} from "../observability/index.js";
import { logReloadIncomplete } from "../observability/logger.js";
import { CompiledPolicy } from "../policy/index.js";
import type { PolicySnapshot, PolicySource } from "./policy-source.js";

export type PreparedReload =
  | { ok: true; config: LinkgateConfig; policy: CompiledPolicy }
  | { ok: false; errors: ReloadProblem[] };

/**
 * Compiles `config` and checks that it keeps the listeners of `current` (listener sockets
 * change only on restart). Used by the reloader, and by a worker of `serve --workers N` for
 * what its primary validated.
 */
export function prepareConfig(config: LinkgateConfig, current: LinkgateConfig): PreparedReload {
  let policy: CompiledPolicy;
  try {
    policy = new CompiledPolicy(config);
  } catch (error) {
    return { ok: false, errors: [{ message: (error as Error).message }] };
  }
  const needsRestart = listenerDifferences(current, config);
  if (needsRestart.length > 0) {
    return {
      ok: false,
      errors: needsRestart.map((m) => ({
        code: "CONFIG_NEEDS_RESTART",
        message: `${m}: listener sockets change only on restart`,
      })),
    };
  }
  return { ok: true, config, policy };
}

/** A validated, compiled policy on its way to the data plane. */
export interface PolicyUpdate {
  readonly config: LinkgateConfig;
  readonly policy: CompiledPolicy;
  /** 1 for the policy loaded at start, one more for each policy validated since. */
  readonly generation: number;
  /** What asked for it: "SIGHUP", "file", or several joined by "+". */
  readonly source: string;
  /**
   * How long this process took to read, validate and compile it: another process (a worker)
   * should take about as long to compile it.
   */
  readonly preparedMs: number;
}

/** How far an update got: everywhere, or not into every process that serves. */
export type ApplyReport =
  | { complete: true; details: Record<string, unknown> }
  | { complete: false; details: Record<string, unknown>; problems: string[] };

/** The topology a policy is swapped into: this process, or a cluster's workers. */
export interface PolicyTarget {
  /** The configuration in force: a new one must keep its listeners. */
  readonly config: LinkgateConfig;
  /**
   * Swaps the update in wherever connections are served, and resolves once it is in force
   * there, or with where it is not. `details` are added to the reload's log line.
   */
  apply(update: PolicyUpdate): Promise<ApplyReport>;
}

export interface ReloadOutcome {
  /**
   * applied: in force everywhere. unchanged: the source holds the content last applied or
   * rejected, and nothing forced a reload; nothing was done. rejected: invalid, the previous
   * policy stays. incomplete: in force, but not in every process (see `problems`).
   */
  result: "applied" | "unchanged" | "rejected" | "incomplete";
  /** The generation of the policy in force afterwards. */
  generation: number;
  problems: string[];
}

export interface ReloadRequest {
  /** What asks: "SIGHUP", "file"; logged as the reload's `source`. */
  source: string;
  /**
   * Reload even if the source holds the content in force (an operator's SIGHUP). Otherwise an
   * unchanged source (a touch, a watch event for a save already loaded) does nothing.
   */
  force: boolean;
}

interface QueuedReload {
  sources: Set<string>;
  force: boolean;
  done: Promise<ReloadOutcome>;
  resolve(outcome: ReloadOutcome): void;
}

export interface PolicyReloaderOptions {
  source: PolicySource;
  /** What the source held at start, already in force (generation 1). */
  initial: PolicySnapshot;
  target: PolicyTarget;
  metrics: Metrics;
  /** Where the "reload ok" / "reload failed" / "reload incomplete" lines go. */
  logger: Logger;
}

export class PolicyReloader {
  readonly #source: PolicySource;
  readonly #target: PolicyTarget;
  readonly #metrics: Metrics;
  readonly #logger: Logger;
  #state: "idle" | "running" = "idle";
  /** The reload that starts when the running one ends; every request meanwhile joins it. */
  #queued: QueuedReload | null = null;
  /** The version last applied or rejected: reading it again is not a change. */
  #version: string | null;
  #generation = 1;

  constructor(o: PolicyReloaderOptions) {
    this.#source = o.source;
    this.#target = o.target;
    this.#metrics = o.metrics;
    this.#logger = o.logger;
    this.#version = o.initial.version;
    this.#metrics.policyGeneration(this.#generation);
  }

  /** The generation of the policy in force. */
  get generation(): number {
    return this.#generation;
  }

  /** Reloads, after the reload running now if there is one; resolves with the outcome. */
  request(r: ReloadRequest): Promise<ReloadOutcome> {
    if (this.#queued === null) {
      let resolve!: (outcome: ReloadOutcome) => void;
      const done = new Promise<ReloadOutcome>((r) => {
        resolve = r;
      });
      this.#queued = { sources: new Set(), force: false, done, resolve };
    }
    const queued = this.#queued;
    queued.sources.add(r.source);
    queued.force ||= r.force;
    if (this.#state === "idle") void this.#runQueued();
    return queued.done;
  }

  async #runQueued(): Promise<void> {
    this.#state = "running";
    try {
      for (let next = this.#queued; next !== null; next = this.#queued) {
        this.#queued = null;
        next.resolve(await this.#reload([...next.sources].join("+"), next.force));
      }
    } finally {
      // Whatever happened, the next request starts a reload: reloads never stop for good.
      this.#state = "idle";
    }
  }

  /** One reload: one read of the source, one outcome, logged and counted once. */
  async #reload(source: string, force: boolean): Promise<ReloadOutcome> {
    const started = performance.now();
    const durationMs = () => Math.round((performance.now() - started) * 1000) / 1000;
    const rejected = (errors: ReloadProblem[]): ReloadOutcome => {
      this.#metrics.policyReloaded(false);
      logReload(this.#logger, { ok: false, source, durationMs: durationMs(), errors });
      return {
        result: "rejected",
        generation: this.#generation,
        problems: errors.map((e) => e.message),
      };
    };
    let snapshot: PolicySnapshot;
    let update: PolicyUpdate;
    let report: ApplyReport;
    try {
      const read = await this.#source.read(force ? null : this.#version);
      if (
        read.result === null ||
        (!force && read.version !== null && read.version === this.#version)
      ) {
        return { result: "unchanged", generation: this.#generation, problems: [] };
      }
      snapshot = read;
      const loaded = snapshot.result;
      if (!loaded.ok) {
        this.#version = snapshot.version ?? this.#version;
        return rejected(loaded.errors.map((e) => ({ ...e, message: formatConfigError(e) })));
      }
      const prepared = prepareConfig(loaded.config, this.#target.config);
      this.#version = snapshot.version;
      if (!prepared.ok) return rejected(prepared.errors);
      update = { ...prepared, generation: ++this.#generation, source, preparedMs: durationMs() };
      this.#metrics.policyGeneration(update.generation);
      report = await this.#target.apply(update);
    } catch (error) {
      // A defect, not a bad file: reported like a refused reload, and the reloader carries on.
      return rejected([error as Error]);
    }
    const line = {
      source,
      durationMs: durationMs(),
      generation: update.generation,
      tenants: update.policy.tenants.size,
      rules: update.policy.ruleCount,
      ...report.details,
    };
    if (!report.complete) {
      this.#metrics.policyReloaded(false);
      logReloadIncomplete(this.#logger, line);
      return { result: "incomplete", generation: update.generation, problems: report.problems };
    }
    this.#metrics.policyReloaded(true, line.tenants, line.rules);
    logReload(this.#logger, { ok: true, ...line });
    return { result: "applied", generation: update.generation, problems: [] };
  }
}
