/**
 * The data plane's observer (src/dataplane's `ConnectionObserver`: `opened(listener)` on
 * accept, `closed(record)` once when a connection ends), implemented by metrics and logs.
 */
import { type Logger, logConnection } from "./logger.js";
import type { Metrics } from "./metrics.js";
import type { ConnectionRecord } from "./types.js";

export interface ConnectionSink {
  opened(listener: string): void;
  closed(record: ConnectionRecord): void;
}

/** Counts each connection in `metrics` and writes its line to `logger` (either may be absent). */
export function connectionObserver(options: {
  metrics?: Metrics | null;
  logger?: Logger | null;
}): ConnectionSink {
  const metrics = options.metrics ?? null;
  const logger = options.logger ?? null;
  return {
    opened(listener: string): void {
      metrics?.connectionOpened(listener);
    },
    closed(record: ConnectionRecord): void {
      metrics?.recordConnection(record);
      if (logger !== null) logConnection(logger, record);
    },
  };
}
