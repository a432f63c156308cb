/** Observability: the connection record contract, JSON logs, Prometheus metrics, health. */

export { ConnectionLog } from "./connection-log.js";
export { Health, type HealthStatus } from "./health.js";
export { LineOutput } from "./line-output.js";
export {
  connectionLogLevel,
  createLogger,
  type Logger,
  lineOutputOf,
  logDraining,
  logListening,
  logReload,
  logStarted,
  logStopped,
  type ReloadProblem,
  type ReloadResult,
} from "./logger.js";
export {
  HANDSHAKE_BUCKETS,
  Metrics,
  type MetricsOptions,
  type StoreGaugeReading,
} from "./metrics.js";
export { type ConnectionSink, connectionObserver } from "./observer.js";
export type { ConnectionRecord, Decision, Endpoint } from "./types.js";
