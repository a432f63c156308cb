/**
 * The compiled policy: tenants and rules turned into lookup structures, and `decide()`.
 *
 * A compiled policy is an immutable value. Reloads (SIGHUP, a changed file, later the control
 * plane) compile a new one and swap it in (see PolicyHolder); connections decide against
 * whichever policy is current when their ClientHello completes.
 *
 * Decision semantics (PRODUCT.md, "Decision semantics"):
 * - a tenant without `allow` admits everything (no restriction configured yet);
 * - a connection with a Private Link identity is admitted only by a rule naming that identity:
 *   `link: L` admits it; `link: L, cidr: C` admits it when its source is in C; a cidr-only rule
 *   never admits it, because consumer source addresses overlap across customers;
 * - a connection without identity (public) is admitted by a cidr-only rule holding its source,
 *   or by `publicInternet: true`;
 * - an unknown host name or a missing SNI is denied, unless a fallback upstream is configured;
 * - a report-only tenant's denials are reported as "would-deny" and the connection goes through.
 * Cost per decision: one host lookup, one Map lookup for the identity, one binary search over
 * the tenant's CIDRs; independent of the number of tenants and of other tenants' rules.
 */

import { createHash } from "node:crypto";
import { parseHostPattern } from "../config/patterns.js";
import type {
  HostPort,
  LinkgateConfig,
  ListenerConfig,
  RuleConfig,
  TenantConfig,
} from "../config/types.js";
import type { ErrorCode } from "../errors/index.js";
import { type CidrSet, cidrSetOf } from "./cidr.js";
import { type HostMatcher, HostResolver, hostMatcher } from "./hosts.js";
import { LayeredMap } from "./layered-map.js";

export type Verdict = "allow" | "would-deny" | "deny";

/** The rules naming one identity in one tenant. */
interface LinkEntry {
  /** Index of the first `link: L` rule without CIDR, or -1. */
  unrestrictedRule: number;
  /** `link: L, cidr: C` rules; null when there are none. */
  cidrs: CidrSet | null;
}

export interface CompiledTenant {
  readonly id: string;
  readonly enforcement: "enforce" | "report-only";
  readonly upstream: HostPort;
  /** "host:port", for logs. */
  readonly upstreamText: string;
  /** No allow list: everything is admitted. */
  readonly unrestricted: boolean;
  readonly publicInternet: boolean;
  readonly links: ReadonlyMap<string, LinkEntry>;
  /** cidr-only rules, for connections without identity; null when none. */
  readonly publicCidrs: CidrSet | null;
  readonly rules: readonly RuleConfig[];
  /** Exact host names of the tenant (besides those host patterns give it). */
  readonly hostnames: readonly string[];
  /** Changes whenever this tenant's configuration changes (to re-check live connections). */
  readonly fingerprint: string;
  /** The stable id of rule `index` (for hit counts): the store's, or derived for file rules. */
  ruleId(index: number): string;
}

export interface CompiledListener {
  readonly name: string;
  readonly config: ListenerConfig;
  readonly trustedProxies: CidrSet;
}

export interface PolicyDecision {
  readonly verdict: Verdict;
  readonly reason: ErrorCode;
  readonly tenant: CompiledTenant | null;
  /** Index in the tenant's rules of the rule that admitted the connection, or -1. */
  readonly ruleIndex: number;
  /** Where to forward (for allow and would-deny), else null. */
  readonly upstream: HostPort | null;
  readonly upstreamText: string | null;
}

/** A connection as seen by the policy. */
export interface DecisionInput {
  /** Lower-case host name from the SNI, or null when the ClientHello had none. */
  sni: string | null;
  /** Normalised identity ("aws:vpce-…") or null. */
  link: string | null;
  /** Source address family (4 or 6) and bytes; family 0 when unknown. */
  sourceFamily: 0 | 4 | 6;
  sourceBytes: Uint8Array;
}

const EMPTY_LINKS: ReadonlyMap<string, LinkEntry> = new Map();

function hostPortText(h: HostPort): string {
  return h.host.includes(":") ? `[${h.host}]:${h.port}` : `${h.host}:${h.port}`;
}

/** A compiled tenant. Built for every tenant of every policy, so it does the least work. */
class Tenant implements CompiledTenant {
  readonly id: string;
  readonly enforcement: "enforce" | "report-only";
  readonly upstream: HostPort;
  readonly upstreamText: string;
  readonly unrestricted: boolean;
  readonly publicInternet: boolean;
  readonly links: ReadonlyMap<string, LinkEntry>;
  readonly publicCidrs: CidrSet | null;
  readonly rules: readonly RuleConfig[];
  readonly hostnames: readonly string[];
  readonly #config: TenantConfig;
  #fingerprint: string | null = null;
  #ruleIds: string[] | null = null;

  constructor(t: TenantConfig, upstream: HostPort, upstreamText: string) {
    this.id = t.id;
    this.enforcement = t.enforcement;
    this.upstream = upstream;
    this.upstreamText = upstreamText;
    this.unrestricted = t.allow === null;
    this.publicInternet = t.allow?.publicInternet ?? false;
    this.#config = t;
    this.hostnames = t.hostnames;
    const rules = t.allow?.rules ?? [];
    this.rules = rules;
    let links: Map<string, LinkEntry> | null = null;
    let linkCidrs: Map<string, { cidrs: string[]; labels: number[] }> | null = null;
    let publicCidrs: string[] | null = null;
    let publicLabels: number[] | null = null;
    for (let i = 0; i < rules.length; i++) {
      const r = rules[i];
      if (r.link !== null) {
        links ??= new Map();
        let e = links.get(r.link);
        if (e === undefined) {
          e = { unrestrictedRule: -1, cidrs: null };
          links.set(r.link, e);
        }
        if (r.cidr === null) {
          if (e.unrestrictedRule < 0) (e as { unrestrictedRule: number }).unrestrictedRule = i;
        } else {
          linkCidrs ??= new Map();
          const c = linkCidrs.get(r.link);
          if (c === undefined) linkCidrs.set(r.link, { cidrs: [r.cidr], labels: [i] });
          else {
            c.cidrs.push(r.cidr);
            c.labels.push(i);
          }
        }
      } else if (r.cidr !== null) {
        publicCidrs ??= [];
        publicLabels ??= [];
        publicCidrs.push(r.cidr);
        publicLabels.push(i);
      }
    }
    if (links !== null && linkCidrs !== null) {
      for (const [id, c] of linkCidrs) {
        (links.get(id) as { cidrs: CidrSet | null }).cidrs = cidrSetOf(c.cidrs, c.labels);
      }
    }
    this.links = links ?? EMPTY_LINKS;
    this.publicCidrs = publicCidrs === null ? null : cidrSetOf(publicCidrs, publicLabels ?? []);
    Object.freeze(this);
  }

  /**
   * Changes whenever this tenant's configuration changes. Computed on first use: only tenants
   * with live connections are compared at a reload, and a million-rule policy should not pay
   * for the others.
   */
  get fingerprint(): string {
    this.#fingerprint ??= JSON.stringify([this.#config, this.upstream]);
    return this.#fingerprint;
  }

  ruleId(index: number): string {
    // Derived on the first hit, once per compiled tenant: most tenants' rules are never counted
    // in the life of one compiled policy.
    this.#ruleIds ??= this.rules.map((r) => r.id ?? ruleIdOf(this.id, r.link, r.cidr));
    return this.#ruleIds[index];
  }
}

/**
 * The id of a rule of the configuration file: derived from its tenant, link and cidr (unique
 * within a tenant), so that it survives reloads and reordering, and its hit counts with it.
 */
export function ruleIdOf(tenantId: string, link: string | null, cidr: string | null): string {
  const digest = createHash("sha256")
    .update(`${tenantId}\n${link ?? ""}\n${cidr ?? ""}`)
    .digest("hex");
  return `f_${digest.slice(0, 20)}`;
}

function compileTenant(
  t: TenantConfig,
  defaultUpstream: HostPort | null,
  defaultUpstreamText: string | null,
): CompiledTenant {
  if (t.upstream !== null) return new Tenant(t, t.upstream, hostPortText(t.upstream));
  if (defaultUpstream === null || defaultUpstreamText === null) {
    throw new Error(`tenant ${t.id}: no upstream and no routing.upstream`);
  }
  return new Tenant(t, defaultUpstream, defaultUpstreamText);
}

/** What a derived policy takes from the one it derives from (see CompiledPolicy.withTenants). */
interface DerivedParts {
  tenants: ReadonlyMap<string, CompiledTenant>;
  exact: ReadonlyMap<string, CompiledTenant>;
  contested: ReadonlySet<string>;
  ruleCount: number;
  from: CompiledPolicy;
}

export class CompiledPolicy {
  /**
   * The configuration the policy was compiled from. After `withTenants`, its settings (listeners,
   * routing, ...) are those of the policy it derives from, and its `tenants` list is not
   * updated: read the tenants from `tenants`.
   */
  readonly config: LinkgateConfig;
  readonly tenants: ReadonlyMap<string, CompiledTenant>;
  readonly listeners: ReadonlyMap<string, CompiledListener>;
  readonly patterns: readonly HostMatcher[];
  readonly ruleCount: number;
  /** When this policy was compiled (ms since the epoch). */
  readonly compiledAt: number;
  readonly #hosts: HostResolver<CompiledTenant>;
  readonly #exact: ReadonlyMap<string, CompiledTenant>;
  /** Host names more than one tenant lists (a conflict; the first tenant in order has it). */
  readonly #contested: ReadonlySet<string>;
  readonly #fallback: HostPort | null;
  readonly #fallbackText: string | null;
  // Decisions that do not depend on the tenant are shared: a flood of unknown hosts allocates nothing.
  readonly #unknownHost: PolicyDecision;
  readonly #noSni: PolicyDecision;

  constructor(config: LinkgateConfig, derived?: DerivedParts) {
    this.config = config;
    let tenants: ReadonlyMap<string, CompiledTenant>;
    let exact: ReadonlyMap<string, CompiledTenant>;
    let contested: ReadonlySet<string>;
    let ruleCount: number;
    if (derived !== undefined) {
      ({ tenants, exact, contested, ruleCount } = derived);
    } else {
      const byId = new Map<string, CompiledTenant>();
      const byHost = new Map<string, CompiledTenant>();
      const conflicts = new Set<string>();
      ruleCount = 0;
      const defaultUpstream = config.routing.upstream;
      const defaultText = defaultUpstream === null ? null : hostPortText(defaultUpstream);
      for (const t of config.tenants) {
        const c = compileTenant(t, defaultUpstream, defaultText);
        byId.set(t.id, c);
        for (const h of t.hostnames) {
          if (!byHost.has(h)) byHost.set(h, c);
          else conflicts.add(h);
        }
        ruleCount += c.rules.length;
      }
      tenants = byId;
      exact = byHost;
      contested = conflicts;
    }
    const patterns =
      derived?.from.patterns ??
      config.routing.hostPatterns.map((p) => {
        const parsed = parseHostPattern(p);
        if (!parsed.ok) throw new Error(`host pattern ${JSON.stringify(p)} ${parsed.message}`);
        return hostMatcher(parsed.pattern);
      });
    this.tenants = tenants;
    this.#exact = exact;
    this.#contested = contested;
    this.patterns = patterns;
    this.ruleCount = ruleCount;
    this.#hosts = new HostResolver(exact, tenants, patterns);
    this.listeners =
      derived?.from.listeners ??
      new Map(
        config.listeners.map((l) => [
          l.name,
          {
            name: l.name,
            config: l,
            trustedProxies: cidrSetOf(l.trustedProxies),
          },
        ]),
      );
    this.#fallback = config.routing.fallbackUpstream;
    this.#fallbackText = this.#fallback === null ? null : hostPortText(this.#fallback);
    this.#unknownHost = this.#hostless("POLICY_UNKNOWN_HOST");
    this.#noSni = this.#hostless("TLS_NO_SNI");
    this.compiledAt = Date.now();
  }

  #hostless(reason: ErrorCode): PolicyDecision {
    return Object.freeze(
      this.#fallback === null
        ? {
            verdict: "deny",
            reason,
            tenant: null,
            ruleIndex: -1,
            upstream: null,
            upstreamText: null,
          }
        : {
            verdict: "allow",
            reason: "POLICY_FALLBACK",
            tenant: null,
            ruleIndex: -1,
            upstream: this.#fallback,
            upstreamText: this.#fallbackText,
          },
    ) as PolicyDecision;
  }

  #routingFingerprint: string | null = null;

  /**
   * Changes whenever something outside the tenants can change which tenant a live connection
   * belongs to or whether it may stay: host patterns, the fallback upstream, each listener's
   * trustedProxies. (A tenant's own changes show in its `fingerprint`.)
   */
  get routingFingerprint(): string {
    this.#routingFingerprint ??= JSON.stringify([
      this.config.routing.hostPatterns,
      this.config.routing.fallbackUpstream,
      this.config.listeners.map((l) => [l.name, l.trustedProxies]),
    ]);
    return this.#routingFingerprint;
  }

  /**
   * A policy with these tenants added, replaced (a config) or removed (null), everything else
   * shared with this one: only the changed tenants are compiled, so one tenant's change costs
   * the same with a million rules loaded. A host name keeps the tenant that had it first.
   */
  withTenants(changes: ReadonlyMap<string, TenantConfig | null>): CompiledPolicy {
    const tenantChanges = new Map<string, CompiledTenant | undefined>();
    const hostChanges = new Map<string, CompiledTenant | undefined>();
    const holder = (h: string) => (hostChanges.has(h) ? hostChanges.get(h) : this.#exact.get(h));
    let ruleCount = this.ruleCount;
    let contested = this.#contested;
    const defaultUpstream = this.config.routing.upstream;
    const defaultText = defaultUpstream === null ? null : hostPortText(defaultUpstream);
    // Removals first, so that a host name freed in this change can go to a tenant added in it.
    for (const id of changes.keys()) {
      const before = this.tenants.get(id);
      if (before === undefined) continue;
      ruleCount -= before.rules.length;
      tenantChanges.set(id, undefined);
      for (const h of before.hostnames) {
        if (this.#exact.get(h) !== before) continue;
        // A contested name goes to the first remaining tenant that lists it, as a full compile
        // would give it; a scan, but only for names two tenants list.
        let next: CompiledTenant | undefined;
        if (contested.has(h)) {
          for (const t of this.tenants.values()) {
            if (!changes.has(t.id) && t.hostnames.includes(h)) {
              next = t;
              break;
            }
          }
        }
        hostChanges.set(h, next);
      }
    }
    for (const [id, next] of changes) {
      if (next === null) continue;
      const c = compileTenant(next, defaultUpstream, defaultText);
      tenantChanges.set(id, c);
      ruleCount += c.rules.length;
      for (const h of next.hostnames) {
        if (holder(h) === undefined) hostChanges.set(h, c);
        else if (!contested.has(h)) contested = new Set([...contested, h]);
      }
    }
    return new CompiledPolicy(this.config, {
      tenants: LayeredMap.with(this.tenants, tenantChanges),
      exact: LayeredMap.with(this.#exact, hostChanges),
      contested,
      ruleCount,
      from: this,
    });
  }

  /** The tenant a host name maps to, or null. */
  tenantForHost(host: string): CompiledTenant | null {
    return this.#hosts.resolve(host);
  }

  decide(input: DecisionInput): PolicyDecision {
    if (input.sni === null) return this.#noSni;
    const tenant = this.#hosts.resolve(input.sni);
    if (tenant === null) return this.#unknownHost;
    return decideForTenant(tenant, input);
  }
}

function outcome(
  tenant: CompiledTenant,
  allowed: boolean,
  reason: ErrorCode,
  ruleIndex: number,
): PolicyDecision {
  const verdict: Verdict = allowed
    ? "allow"
    : tenant.enforcement === "report-only"
      ? "would-deny"
      : "deny";
  const forwarded = verdict !== "deny";
  return {
    verdict,
    reason,
    tenant,
    ruleIndex,
    upstream: forwarded ? tenant.upstream : null,
    upstreamText: forwarded ? tenant.upstreamText : null,
  };
}

/** The decision for a connection already mapped to `tenant`. */
function decideForTenant(tenant: CompiledTenant, input: DecisionInput): PolicyDecision {
  if (tenant.unrestricted) return outcome(tenant, true, "POLICY_NO_RESTRICTION", -1);
  if (input.link !== null) {
    const entry = tenant.links.get(input.link);
    if (entry === undefined) return outcome(tenant, false, "POLICY_LINK_NOT_ALLOWED", -1);
    if (entry.unrestrictedRule >= 0)
      return outcome(tenant, true, "POLICY_LINK_ALLOWED", entry.unrestrictedRule);
    const rule =
      entry.cidrs === null || input.sourceFamily === 0
        ? -1
        : entry.cidrs.match(input.sourceFamily, input.sourceBytes);
    return rule >= 0
      ? outcome(tenant, true, "POLICY_LINK_CIDR_ALLOWED", rule)
      : outcome(tenant, false, "POLICY_LINK_SOURCE_NOT_ALLOWED", -1);
  }
  if (tenant.publicCidrs !== null && input.sourceFamily !== 0) {
    const rule = tenant.publicCidrs.match(input.sourceFamily, input.sourceBytes);
    if (rule >= 0) return outcome(tenant, true, "POLICY_CIDR_ALLOWED", rule);
  }
  if (tenant.publicInternet) return outcome(tenant, true, "POLICY_PUBLIC_ALLOWED", -1);
  return outcome(tenant, false, "POLICY_PUBLIC_NOT_ALLOWED", -1);
}
