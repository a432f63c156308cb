/**
 * The resolved configuration: what the policy compiler and the data plane consume once a file
 * (YAML or JSON) has been validated against the schema and normalised (durations in
 * milliseconds, "host:port" split, defaults applied). This is the contract between
 * src/config (loading, validation, docs) and src/policy / src/dataplane.
 */

export interface HostPort {
  /** IPv4, IPv6 (without brackets) or a DNS name (upstreams only). */
  host: string;
  port: number;
}

export type ProxyProtocolMode = "required" | "none";
export type ListenerMode = "tls-passthrough";
export type Enforcement = "enforce" | "report-only";

export interface ListenerConfig {
  /** Unique; [a-z0-9-]{1,63}. Used in logs and metric labels. */
  name: string;
  bind: HostPort;
  /** required: a PROXY header must come first, from a trusted peer; none: it must not. */
  proxyProtocol: ProxyProtocolMode;
  /** CIDRs allowed to send a PROXY header (non-empty when proxyProtocol is required). */
  trustedProxies: string[];
  mode: ListenerMode;
  /** One deadline covering the PROXY header and the ClientHello; default 5000. */
  headerTimeoutMs: number;
  /** A relayed connection with no byte either way for this long is closed; default 1 h. */
  idleTimeoutMs: number;
  /** Inactivity allowed once one side has sent its FIN; default 30000. */
  finTimeoutMs: number;
  /** TCP keepalive idle time, set on connections open this long; 0: off. Default 60000. */
  tcpKeepAliveMs: number;
  /** Relayed connections are closed this long after accept; null: no limit. */
  maxConnectionLifetimeMs: number | null;
  /** Concurrent connections on this listener; null = no cap beyond the process's. */
  maxConnections: number | null;
  /** Reject PROXY headers without a CRC32C TLV (AWS always sends one); default false. */
  requireCrc32c: boolean;
  /** Cap on the PROXY v2 header size in bytes; default 4096. */
  maxProxyHeaderBytes: number;
  /** Cap on the ClientHello size in bytes; default 16384. */
  maxClientHelloBytes: number;
}

export interface RoutingConfig {
  /** Patterns such as "{tenant}.api.example.com": {tenant} is exactly one DNS label. */
  hostPatterns: string[];
  /** Default upstream; a tenant may override. null: every tenant must set one. */
  upstream: HostPort | null;
  /** none: forward the client's bytes as they are; v2: prepend a fresh PROXY v2 header. */
  upstreamProxyProtocol: "none" | "v2";
  /** Upstream connect timeout; default 5000. */
  connectTimeoutMs: number;
  /**
   * Where connections go whose hostname matches no tenant, or that carry no SNI. null (the
   * default): they are dropped. Setting it is an explicit opt-in.
   */
  fallbackUpstream: HostPort | null;
}

export interface RuleConfig {
  /**
   * The store's id of the rule; absent for rules of the configuration file, whose id is derived
   * from tenant, link and cidr (ruleIdOf in src/policy).
   */
  id?: string;
  /** "aws:vpce-…", "azure:<uint32>" or "gcp:<uint64>"; absent for cidr-only rules. */
  link: string | null;
  /** IPv4 or IPv6 CIDR (e.g. "203.0.113.0/24"); absent for link-only rules. */
  cidr: string | null;
  description: string | null;
}

export interface AllowConfig {
  /** Admit connections without a Private Link identity from any source; default false. */
  publicInternet: boolean;
  rules: RuleConfig[];
}

export interface TenantConfig {
  /** [a-z0-9-]{1,63}; the {tenant} label in host patterns. */
  id: string;
  /** Exact host names routed to this tenant, in addition to the patterns. Lower case. */
  hostnames: string[];
  upstream: HostPort | null;
  enforcement: Enforcement;
  /** null: no restriction configured (everything is allowed). */
  allow: AllowConfig | null;
}

export interface ApiConfig {
  /** The admin HTTP endpoint: the REST API, /metrics, /healthz, /readyz. */
  bind: HostPort;
}

export interface LogConfig {
  level: "trace" | "debug" | "info" | "warn" | "error" | "fatal" | "silent";
  /** Denied/dropped connection lines written per second at most; the rest are counted. */
  deniedLinesPerSecond: number;
}

export interface MetricsConfig {
  /** Label per-connection metrics by tenant id; default true. */
  perTenantLabels: boolean;
}

export interface ShutdownConfig {
  /** Grace period for live connections after SIGTERM; default 30000. */
  drainTimeoutMs: number;
}

/** Where API tenants are kept; only src/store reads it (openStore). */
export type StoreConfig = { type: "sqlite"; path: string } | PostgresStoreConfig;

export interface PostgresStoreConfig {
  type: "postgres";
  url: string;
  /** Where the runtime keeps its last policy, to start while the database is down; or null. */
  snapshotPath: string | null;
  /** Connections of the pool; default 10. */
  poolSize: number;
  /** Connection attempts and health checks time out after this; default 5000. */
  connectTimeoutMs: number;
  /** Health check and lost-notification check period; default 1000. */
  checkIntervalMs: number;
}

export interface LimitsConfig {
  /** Rules an API tenant may hold; default 1000. */
  maxRulesPerTenant: number;
  /** Largest REST API request body; default 1 MiB. */
  maxApiBodyBytes: number;
}

/** close: live connections a policy change no longer admits are closed; keep: they run on. */
export type Revocation = "close" | "keep";

export interface LinkgateConfig {
  listeners: ListenerConfig[];
  routing: RoutingConfig;
  tenants: TenantConfig[];
  api: ApiConfig | null;
  log: LogConfig;
  shutdown: ShutdownConfig;
  metrics: MetricsConfig;
  /** null: tenants come from the file only, and the REST API is read-only. */
  store: StoreConfig | null;
  limits: LimitsConfig;
  revocation: Revocation;
}
