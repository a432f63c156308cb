/**
 * What a linkgate process does with an error no code handled. `linkgate serve` installs this in
 * every process it runs: the single process, the primary of `--workers N` and each worker.
 *
 * - A promise rejection nobody handled: logged with its stack, counted, and the process keeps
 *   serving. Node's default is to exit 1, which cuts every live connection of the process. In
 *   linkgate such a rejection comes from a task started without being awaited (a reload, a
 *   metrics scrape, an IPC exchange with a worker): the task failed and left no result, but the
 *   data plane it runs beside is as it was, so ending every connection would turn one failed
 *   task into an outage. The log line and the counter make the defect visible.
 * - An exception no handler caught: logged with its stack, counted, then the process drains as
 *   on SIGTERM (unready, stops accepting, live connections get shutdown.drainTimeout) and exits
 *   1, for its supervisor (or, for a worker, the primary) to start a fresh one. Such an
 *   exception can stop a function halfway through changing shared state (the policy in force,
 *   the registry of live connections that a revocation walks), after which new decisions
 *   cannot be trusted; the connections already admitted were decided before it and may finish.
 *   Exiting at once, Node's default, would cut them for nothing. A second exception during the
 *   drain is logged and counted; the drain goes on.
 */

import type { Logger, Metrics } from "../observability/index.js";
import { logProcessError } from "../observability/logger.js";

export interface ProcessErrorPolicy {
  logger: Logger;
  metrics: Metrics;
  /** Starts the drain that ends with exit code 1; called once, on the first exception. */
  drain(reason: string): void;
}

export function installProcessErrorPolicy(o: ProcessErrorPolicy): void {
  let draining = false;
  process.on("unhandledRejection", (reason) => {
    o.metrics.processError("unhandled_rejection");
    logProcessError(o.logger, { kind: "unhandled_rejection", action: "kept serving" }, reason);
  });
  process.on("uncaughtException", (error) => {
    o.metrics.processError("uncaught_exception");
    logProcessError(
      o.logger,
      { kind: "uncaught_exception", action: draining ? "already draining" : "draining, exit 1" },
      error,
    );
    if (draining) return;
    draining = true;
    o.drain("uncaughtException");
  });
}
