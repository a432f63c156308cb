/**
 * The data plane's observer (src/dataplane's `ConnectionObserver`: `opened(listener)` on
 * accept, `closed(record)` once when a connection ends), implemented by metrics and logs.
 */
import { ConnectionLog } from "./connection-log.js";
import { type Logger, lineOutputOf } from "./logger.js";
import type { Metrics } from "./metrics.js";
import type { ConnectionRecord } from "./types.js";

export interface ConnectionSink {
  opened(listener: string): void;
  closed(record: ConnectionRecord): void;
}

/**
 * Counts each connection in `metrics` and writes its line to `logger` (either may be absent),
 * denied and dropped lines within `deniedLinesPerSecond` (see ConnectionLog; default: no limit).
 */
export function connectionObserver(options: {
  metrics?: Metrics | null;
  logger?: Logger | null;
  deniedLinesPerSecond?: number;
}): ConnectionSink & { log: ConnectionLog | null } {
  const metrics = options.metrics ?? null;
  const log =
    options.logger == null
      ? null
      : new ConnectionLog(options.logger, {
          deniedLinesPerSecond: options.deniedLinesPerSecond ?? Number.POSITIVE_INFINITY,
        });
  if (metrics !== null && log !== null && options.logger != null) {
    metrics.observeLog(log, lineOutputOf(options.logger));
  }
  return {
    log,
    opened(listener: string): void {
      metrics?.connectionOpened(listener);
    },
    closed(record: ConnectionRecord): void {
      metrics?.recordConnection(record);
      log?.write(record);
    },
  };
}
