export { Connection } from "./connection.js";
export type {
  Engine,
  EngineServer,
  EngineSocket,
  ListenOptions,
  SocketOwner,
} from "./engine.js";
export { type BoundListener, Gateway, type GatewayOptions } from "./gateway.js";
export { answerHealthCheck, HealthCheckReader } from "./health-check.js";
export { type ConnectionObserver, ListenerRuntime } from "./listener.js";
export { TENANT_TLV, upstreamProxyHeader } from "./upstream-header.js";
