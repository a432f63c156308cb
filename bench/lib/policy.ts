/**
 * linkgate configurations for the benchmark: one `privatelink` listener (PROXY header required
 * from 127.0.0.0/8), host pattern "{tenant}.<domain>", and `tenants` tenants sharing `rules`
 * rules. The first tenant is the one the ClientHello names and it allows the captured VPC
 * endpoint; every other identity and range is unique, and the kinds are mixed:
 *
 *   aws:vpce-<17 hex>, azure:<uint32>, gcp:<uint64>, cidr-only IPv4 /24, cidr-only IPv6 /64,
 *   link + IPv4 cidr, link + IPv6 cidr
 */

/**
 * The load balancers' addresses (the generators connect from 127/8): linkgate's listener
 * `trustedProxies`, and the same check in HAProxy's configuration and in the floors.
 */
export const TRUSTED_PROXIES: readonly string[] = ["127.0.0.0/8"];

export interface PolicyOptions {
  tenants: number;
  rules: number;
  /** "host:port" of the listener. */
  listen: string;
  /** "host:port" of the backend. */
  upstream: string;
  upstreamProxy: "v2" | "none";
  /** The SNI of the payload: its first label is the first tenant's id. */
  sni: string;
  /** The identity the payload carries, allowed by the first tenant. */
  allowedLink: string;
  /** info: a line per connection, as in production; default warn (lifecycle and errors). */
  logLevel?: "info" | "warn";
  /** "host:port" of the admin endpoint (/metrics); default none. */
  adminBind?: string;
}

export interface GeneratedPolicy {
  config: Record<string, unknown>;
  /** The host name of each of the first tenants (HAProxy's map uses them). */
  hosts: string[];
}

const KINDS = ["aws", "azure", "gcp", "cidr4", "aws", "cidr6", "gcp", "aws+cidr4", "azure+cidr6"];

function ipv4Cidr(g: number): string {
  return `${10 + ((g >>> 16) % 100)}.${(g >>> 8) & 255}.${g & 255}.0/24`;
}

function ipv6Cidr(g: number): string {
  return `2001:db8:${(g >>> 16).toString(16)}:${(g & 0xffff).toString(16)}::/64`;
}

function rule(kind: string, g: number): Record<string, string> {
  switch (kind) {
    case "aws":
      return { link: `aws:vpce-${g.toString(16).padStart(17, "0")}` };
    case "azure":
      return { link: `azure:${g}` };
    case "gcp":
      // 64-bit PSC connection IDs, unique per g.
      return { link: `gcp:${(BigInt(g) * 4294967311n + 18446744000000000000n) % 2n ** 64n}` };
    case "cidr4":
      return { cidr: ipv4Cidr(g) };
    case "cidr6":
      return { cidr: ipv6Cidr(g) };
    case "aws+cidr4":
      return {
        link: `aws:vpce-${(g + 0x10000000).toString(16).padStart(17, "0")}`,
        cidr: ipv4Cidr(g),
      };
    default:
      return { link: `azure:${g + 2_000_000_000}`, cidr: ipv6Cidr(g) };
  }
}

export function generatePolicy(o: PolicyOptions): GeneratedPolicy {
  const dot = o.sni.indexOf(".");
  if (dot <= 0) throw new Error(`SNI ${o.sni} has no domain`);
  const firstId = o.sni.slice(0, dot);
  const domain = o.sni.slice(dot + 1);
  const tenants: unknown[] = [];
  const hosts: string[] = [];
  let g = 1;
  for (let t = 0; t < o.tenants; t++) {
    const count = Math.floor(o.rules / o.tenants) + (t < o.rules % o.tenants ? 1 : 0);
    const rules: Record<string, string>[] = [];
    if (t === 0) rules.push({ link: o.allowedLink, description: "the payload's VPC endpoint" });
    while (rules.length < count) {
      rules.push(rule(KINDS[rules.length % KINDS.length], g));
      g++;
    }
    const id = t === 0 ? firstId : `t${t}`;
    if (hosts.length < 100) hosts.push(`${id}.${domain}`);
    tenants.push({ id, allow: { rules } });
  }
  return {
    hosts,
    config: {
      listeners: [
        {
          name: "privatelink",
          bind: o.listen,
          proxyProtocol: "required",
          trustedProxies: [...TRUSTED_PROXIES],
        },
      ],
      routing: {
        hostPatterns: [`{tenant}.${domain}`],
        upstream: o.upstream,
        upstreamProxyProtocol: o.upstreamProxy,
      },
      ...(o.adminBind === undefined ? {} : { api: { bind: o.adminBind } }),
      log: { level: o.logLevel ?? "warn" },
      shutdown: { drainTimeout: 0 },
      tenants,
    },
  };
}
