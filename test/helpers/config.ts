/** Builds resolved configurations for tests without going through the file loader. */
import type {
  LinkgateConfig,
  ListenerConfig,
  RuleConfig,
  TenantConfig,
} from "../../src/config/types.js";

export function listener(over: Partial<ListenerConfig> & { name: string }): ListenerConfig {
  return {
    bind: { host: "127.0.0.1", port: 0 },
    proxyProtocol: "required",
    trustedProxies: ["127.0.0.0/8"],
    mode: "tls-passthrough",
    headerTimeoutMs: 5000,
    idleTimeoutMs: 3_600_000,
    finTimeoutMs: 30_000,
    tcpKeepAliveMs: 60_000,
    maxConnectionLifetimeMs: null,
    maxConnections: null,
    requireCrc32c: false,
    maxProxyHeaderBytes: 4096,
    maxClientHelloBytes: 16384,
    ...over,
  };
}

export function rule(r: Partial<RuleConfig>): RuleConfig {
  return {
    ...(r.id === undefined ? {} : { id: r.id }),
    link: r.link ?? null,
    cidr: r.cidr ?? null,
    description: r.description ?? null,
  };
}

export function tenant(
  id: string,
  over: Omit<Partial<TenantConfig>, "allow"> & {
    allow?: { publicInternet?: boolean; rules?: Partial<RuleConfig>[] } | null;
  } = {},
): TenantConfig {
  const { allow, ...rest } = over;
  return {
    id,
    hostnames: [],
    upstream: null,
    enforcement: "enforce",
    ...rest,
    allow:
      allow === undefined || allow === null
        ? null
        : { publicInternet: allow.publicInternet ?? false, rules: (allow.rules ?? []).map(rule) },
  };
}

export function config(over: Partial<LinkgateConfig> = {}): LinkgateConfig {
  return {
    listeners: [
      listener({ name: "privatelink" }),
      listener({ name: "public", proxyProtocol: "none", trustedProxies: [] }),
    ],
    routing: {
      hostPatterns: ["{tenant}.api.example.com", "{tenant}.privatelink.example.com"],
      upstream: { host: "127.0.0.1", port: 9443 },
      upstreamProxyProtocol: "v2",
      connectTimeoutMs: 5000,
      fallbackUpstream: null,
    },
    tenants: [],
    api: null,
    log: { level: "silent", deniedLinesPerSecond: 100 },
    shutdown: { drainTimeoutMs: 1000 },
    store: null,
    limits: { maxRulesPerTenant: 1000, maxApiBodyBytes: 1_048_576 },
    revocation: "close",
    metrics: { perTenantLabels: true },
    ...over,
  };
}
