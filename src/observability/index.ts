/** Observability: the connection record contract, JSON logs, Prometheus metrics, health. */
export { Health, type HealthStatus } from "./health.js";
export {
  connectionLogLevel,
  createLogger,
  type Logger,
  logConnection,
  logDraining,
  logListening,
  logReload,
  logStarted,
  logStopped,
  type ReloadProblem,
  type ReloadResult,
} from "./logger.js";
export { HANDSHAKE_BUCKETS, Metrics, type MetricsOptions } from "./metrics.js";
export { type ConnectionSink, connectionObserver } from "./observer.js";
export type { ConnectionRecord, Decision, Endpoint } from "./types.js";
