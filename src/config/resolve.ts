/**
 * A valid file -> the LinkgateConfig of types.ts: defaults applied, durations in milliseconds,
 * "host:port" split, CIDRs and IPs in canonical text. Call only on a file that passed both the
 * schema and the semantic checks: anything else is a bug here, and throws.
 */

import { parseCidr } from "../ip/cidr.js";
import { parseHostPort } from "./address.js";
import { parseDuration } from "./duration.js";
import { type ConfigFile, DEFAULTS, type StoreFile, type TenantFile } from "./schema.js";
import type { HostPort, LinkgateConfig, RuleConfig, StoreConfig, TenantConfig } from "./types.js";

function hostPort(text: string, bind: boolean): HostPort {
  const r = parseHostPort(text, { ipOnly: bind, allowPortZero: bind });
  if (!r.ok) throw new Error(`internal: unchecked address ${text}`);
  return r.value;
}

function optionalHostPort(text: string | undefined): HostPort | null {
  return text === undefined ? null : hostPort(text, false);
}

function ms(value: string | number | undefined, fallback: string): number {
  const result = parseDuration(value ?? fallback);
  if (result === null) throw new Error(`internal: unchecked duration ${value}`);
  return result;
}

function cidr(text: string): string {
  const r = parseCidr(text);
  if (!r.ok) throw new Error(`internal: unchecked CIDR ${text}`);
  return r.cidr.text;
}

function tenant(t: TenantFile): TenantConfig {
  return {
    id: t.id,
    hostnames: [...(t.hostnames ?? [])],
    upstream: optionalHostPort(t.upstream),
    enforcement: t.enforcement ?? DEFAULTS.tenant.enforcement,
    allow:
      t.allow === undefined
        ? null
        : {
            publicInternet: t.allow.publicInternet ?? DEFAULTS.allow.publicInternet,
            rules: (t.allow.rules ?? []).map(
              (r): RuleConfig => ({
                link: r.link ?? null,
                cidr: r.cidr === undefined ? null : cidr(r.cidr),
                description: r.description ?? null,
              }),
            ),
          },
  };
}

function store(file: StoreFile): StoreConfig {
  if (file.type === "sqlite") return { ...file };
  const d = DEFAULTS.postgres;
  return {
    type: "postgres",
    url: file.url,
    snapshotPath: file.snapshotPath ?? null,
    poolSize: file.poolSize ?? d.poolSize,
    connectTimeoutMs: ms(file.connectTimeout, d.connectTimeout),
    checkIntervalMs: ms(file.checkInterval, d.checkInterval),
  };
}

export function resolveConfig(file: ConfigFile): LinkgateConfig {
  const d = DEFAULTS;
  return {
    listeners: file.listeners.map((l) => ({
      name: l.name,
      bind: hostPort(l.bind, true),
      proxyProtocol: l.proxyProtocol,
      trustedProxies: (l.trustedProxies ?? []).map(cidr),
      mode: l.mode ?? d.listener.mode,
      headerTimeoutMs: ms(l.headerTimeout, d.listener.headerTimeout),
      idleTimeoutMs: ms(l.idleTimeout, d.listener.idleTimeout),
      finTimeoutMs: ms(l.finTimeout, d.listener.finTimeout),
      tcpKeepAliveMs: ms(l.tcpKeepAlive, d.listener.tcpKeepAlive),
      maxConnectionLifetimeMs:
        l.maxConnectionLifetime === undefined ? null : ms(l.maxConnectionLifetime, "0"),
      maxConnections: l.maxConnections ?? null,
      requireCrc32c: l.requireCrc32c ?? d.listener.requireCrc32c,
      maxProxyHeaderBytes: l.maxProxyHeaderBytes ?? d.listener.maxProxyHeaderBytes,
      maxClientHelloBytes: l.maxClientHelloBytes ?? d.listener.maxClientHelloBytes,
    })),
    routing: {
      hostPatterns: [...(file.routing.hostPatterns ?? [])],
      upstream: optionalHostPort(file.routing.upstream),
      upstreamProxyProtocol: file.routing.upstreamProxyProtocol ?? d.routing.upstreamProxyProtocol,
      connectTimeoutMs: ms(file.routing.connectTimeout, d.routing.connectTimeout),
      fallbackUpstream: optionalHostPort(file.routing.fallbackUpstream),
    },
    tenants: (file.tenants ?? []).map(tenant),
    api: file.api === undefined ? null : { bind: hostPort(file.api.bind, true) },
    log: {
      level: file.log?.level ?? d.log.level,
      deniedLinesPerSecond: file.log?.deniedLinesPerSecond ?? d.log.deniedLinesPerSecond,
    },
    shutdown: { drainTimeoutMs: ms(file.shutdown?.drainTimeout, d.shutdown.drainTimeout) },
    metrics: {
      perTenantLabels: file.metrics?.perTenantLabels ?? d.metrics.perTenantLabels,
    },
    store: file.store === undefined ? null : store(file.store),
    limits: {
      maxRulesPerTenant: file.limits?.maxRulesPerTenant ?? d.limits.maxRulesPerTenant,
      maxApiBodyBytes: file.limits?.maxApiBodyBytes ?? d.limits.maxApiBodyBytes,
    },
    revocation: file.revocation ?? d.revocation,
  };
}
