/**
 * `linkgate doctor dns HOST...`: resolves each host name (A and AAAA) and warns when a name that
 * should lead to a private endpoint does not. The usual cause (the seed's DNS section): the
 * customer never created the private DNS record for the private-link name, so their clients
 * resolve it publicly, reach linkgate's public listener over the internet, and are denied there,
 * because the tenant admits only its private endpoints.
 */
import { Resolver } from "node:dns/promises";
import { dnsNameProblem } from "../config/dns.js";
import {
  formatConfigErrors,
  type HostPattern,
  loadConfigFile,
  matchHostPattern,
  parseHostPattern,
} from "../config/index.js";
import type { ErrorCode } from "../errors/index.js";
import { parseIp, parseIpPort } from "../ip/address.js";
import { type AddressKind, classifyAddress, isPrivateEndpointKind } from "./doctor-address.js";
import { CommandFailure, EXIT_INVALID, type Io, printJson, usageError } from "./output.js";

/** The two queries doctor makes; node:dns's Resolver has them, and tests may pass their own. */
export interface DnsLookup {
  resolve4(host: string): Promise<string[]>;
  resolve6(host: string): Promise<string[]>;
}

/** How a query ended, when it gave no address. */
export type QueryOutcome = "answered" | "no-record" | "nxdomain" | "timeout" | "failed";

export interface QueryResult {
  outcome: QueryOutcome;
  addresses: string[];
  /** The resolver's error code (ENOTFOUND, ETIMEOUT, ESERVFAIL...), or null. */
  error: string | null;
}

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
  kind: AddressKind;
  range: string | null;
}

export interface HostProblem {
  code: ErrorCode;
  message: string;
}

export interface HostReport {
  host: string;
  /** Whether the name should lead to a private endpoint, and why (null when it should not). */
  privateLink: boolean;
  privateBecause: string | null;
  /** With --config: the tenant the name routes to, and how; null without --config or no match. */
  route: { tenant: string; via: string } | null;
  a: QueryResult;
  aaaa: QueryResult;
  addresses: ResolvedAddress[];
  /** Warnings: each makes the exit code 1. */
  problems: HostProblem[];
  /** Remarks that need no action. */
  notes: string[];
}

export interface DnsCheckOptions {
  privateDomains: string[];
  /** From --config: the host patterns and the tenants' exact host names. */
  routing: RoutingTable | null;
  lookup: DnsLookup;
  timeoutMs: number;
}

export interface RoutingTable {
  patterns: HostPattern[];
  hostnames: Map<string, string>;
}

/** The label that marks a host pattern as the private-link domain (linkgate's convention). */
export const PRIVATE_LINK_LABEL = "privatelink";

const TIMEOUT_CODES = new Set(["ETIMEOUT", "ETIMEDOUT", "ECANCELLED"]);

async function query(run: () => Promise<string[]>, timeoutMs: number): Promise<QueryResult> {
  let timer: NodeJS.Timeout | undefined;
  // The resolver has its own timeout; this one is a backstop for a lookup that ignores it.
  const backstop = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(Object.assign(new Error("timed out"), { code: "ETIMEOUT" })),
      timeoutMs + 1000,
    );
  });
  try {
    const addresses = await Promise.race([run(), backstop]);
    return addresses.length === 0
      ? { outcome: "no-record", addresses: [], error: null }
      : { outcome: "answered", addresses, error: null };
  } catch (error) {
    const code = String((error as { code?: unknown }).code ?? "EUNKNOWN");
    if (code === "ENODATA") return { outcome: "no-record", addresses: [], error: code };
    if (code === "ENOTFOUND") return { outcome: "nxdomain", addresses: [], error: code };
    if (TIMEOUT_CODES.has(code)) return { outcome: "timeout", addresses: [], error: code };
    return { outcome: "failed", addresses: [], error: code };
  } finally {
    clearTimeout(timer);
  }
}

function matchesDomain(host: string, suffix: string): boolean {
  return host === suffix || host.endsWith(`.${suffix}`);
}

/** Which tenant linkgate would give this host name, per the configuration file. */
function routeOf(
  host: string,
  routing: RoutingTable,
): { tenant: string; via: string; pattern: HostPattern | null } | null {
  const exact = routing.hostnames.get(host);
  if (exact !== undefined) return { tenant: exact, via: "tenants[].hostnames", pattern: null };
  for (const pattern of routing.patterns) {
    const tenant = matchHostPattern(pattern, host);
    if (tenant !== null) return { tenant, via: pattern.text, pattern };
  }
  return null;
}

function problem(code: ErrorCode, message: string): HostProblem {
  return { code, message };
}

const MISSING_RECORD =
  "the private DNS record for this name is missing where this ran (or this machine does not use the network's private resolver)";
const PUBLIC_PATH =
  "clients here reach linkgate's public listener over the internet, where a tenant that admits only its private endpoints denies the connection";

/** Resolves and judges one host name. */
export async function checkHost(host: string, o: DnsCheckOptions): Promise<HostReport> {
  const [a, aaaa] = await Promise.all([
    query(() => o.lookup.resolve4(host), o.timeoutMs),
    query(() => o.lookup.resolve6(host), o.timeoutMs),
  ]);
  const addresses: ResolvedAddress[] = [];
  for (const [result, family] of [
    [a, 4],
    [aaaa, 6],
  ] as const) {
    for (const address of result.addresses) {
      const c = classifyAddress(address);
      addresses.push({ address, family, kind: c?.kind ?? "public", range: c?.range ?? null });
    }
  }

  let privateBecause: string | null = null;
  const domain = o.privateDomains.find((d) => matchesDomain(host, d));
  if (domain !== undefined) privateBecause = `--private-domain ${domain}`;
  let route: HostReport["route"] = null;
  const problems: HostProblem[] = [];
  const notes: string[] = [];
  if (o.routing !== null) {
    const r = routeOf(host, o.routing);
    if (r === null) {
      problems.push(
        problem(
          "DOCTOR_DNS_NO_TENANT",
          "the configuration maps this name to no tenant (no host pattern or tenant host name matches): linkgate denies its connections (POLICY_UNKNOWN_HOST)",
        ),
      );
    } else {
      route = { tenant: r.tenant, via: r.via };
      if (privateBecause === null && r.pattern?.labels.includes(PRIVATE_LINK_LABEL)) {
        privateBecause = `host pattern ${r.pattern.text}`;
      }
    }
  }
  const privateLink = privateBecause !== null;

  const answered = addresses.length > 0;
  if (!answered) {
    const outcomes = [a.outcome, aaaa.outcome];
    const why = privateLink ? `: ${MISSING_RECORD}` : "";
    if (outcomes.includes("timeout")) {
      problems.push(
        problem(
          "DOCTOR_DNS_TIMEOUT",
          `the resolver did not answer within ${o.timeoutMs} ms (A: ${a.error ?? a.outcome}, AAAA: ${aaaa.error ?? aaaa.outcome})`,
        ),
      );
    } else if (outcomes.includes("failed")) {
      problems.push(
        problem(
          "DOCTOR_DNS_FAILED",
          `the resolver failed the query (A: ${a.error ?? a.outcome}, AAAA: ${aaaa.error ?? aaaa.outcome})`,
        ),
      );
    } else if (outcomes.every((x) => x === "nxdomain")) {
      problems.push(problem("DOCTOR_DNS_NXDOMAIN", `the name does not exist (NXDOMAIN)${why}`));
    } else {
      problems.push(problem("DOCTOR_DNS_NO_ADDRESS", `the name has no A or AAAA record${why}`));
    }
  } else if (privateLink) {
    const privateV4 = addresses.some((x) => x.family === 4 && isPrivateEndpointKind(x.kind));
    const publicV4 = addresses.filter((x) => x.family === 4 && x.kind === "public");
    const publicV6 = addresses.filter((x) => x.family === 6 && x.kind === "public");
    const odd = addresses.filter((x) => !isPrivateEndpointKind(x.kind) && x.kind !== "public");
    if (publicV4.length > 0) {
      problems.push(
        problem(
          "DOCTOR_DNS_PUBLIC_ADDRESS",
          `resolves to the public address ${publicV4.map((x) => x.address).join(", ")}, not a private endpoint: ${MISSING_RECORD}; ${PUBLIC_PATH}. Create the record, pointing at the private endpoint's address, in the private DNS zone this network uses`,
        ),
      );
    }
    if (publicV6.length > 0 && privateV4) {
      // A dual-stack endpoint's IPv6 address is a global one: VPCs and VNets get global ranges.
      notes.push(
        `the IPv6 address ${publicV6.map((x) => x.address).join(", ")} is global, beside private IPv4: that is how a dual-stack endpoint looks; check that it is the endpoint's`,
      );
    } else if (publicV6.length > 0) {
      problems.push(
        problem(
          "DOCTOR_DNS_PUBLIC_ADDRESS",
          `resolves only to the global IPv6 address ${publicV6.map((x) => x.address).join(", ")} and no private IPv4 address: unless that is an IPv6 private endpoint's address, ${MISSING_RECORD}; ${PUBLIC_PATH}`,
        ),
      );
    }
    if (odd.length > 0) {
      problems.push(
        problem(
          "DOCTOR_DNS_NOT_PRIVATE",
          `resolves to ${odd.map((x) => `${x.address} (${x.kind})`).join(", ")}: not the address of a private endpoint (a hosts-file override, a DNS sinkhole or a typo in the record?)`,
        ),
      );
    }
  }
  if (answered) {
    for (const [result, type] of [
      [a, "A"],
      [aaaa, "AAAA"],
    ] as const) {
      if (result.outcome === "timeout" || result.outcome === "failed") {
        notes.push(`the ${type} query failed (${result.error}); the answer above is partial`);
      }
    }
  }
  return { host, privateLink, privateBecause, route, a, aaaa, addresses, problems, notes };
}

export interface DnsFlags {
  privateDomain?: string[];
  config?: string;
  json?: boolean;
  resolver?: string;
  timeout: number;
}

/** "IP" or "IP:PORT" (IPv6 as "[IP]:PORT"), as Resolver.setServers takes it. */
function resolverAddress(text: string): string | null {
  if (parseIp(text) !== null) return text;
  return parseIpPort(text) === null ? null : text;
}

function normaliseName(text: string, what: string): string {
  const name = text.toLowerCase().replace(/\.$/, "").replace(/^\./, "");
  if (parseIp(name) !== null) {
    throw usageError(`${what} "${text}" is an IP address: give the host name that clients use`);
  }
  const why = dnsNameProblem(name, false);
  if (why !== null) throw usageError(`${what} "${text}" is not a DNS name: it ${why}`);
  return name;
}

async function routingFrom(file: string, io: Io): Promise<RoutingTable> {
  const loaded = await loadConfigFile(file);
  if (!loaded.ok) {
    io.stderr(formatConfigErrors(loaded.errors));
    throw new CommandFailure(EXIT_INVALID, `--config ${file} is not a valid configuration`);
  }
  const patterns: HostPattern[] = [];
  for (const text of loaded.config.routing.hostPatterns) {
    const p = parseHostPattern(text);
    if (p.ok) patterns.push(p.pattern);
  }
  const hostnames = new Map<string, string>();
  for (const t of loaded.config.tenants) for (const h of t.hostnames) hostnames.set(h, t.id);
  return { patterns, hostnames };
}

function pad(text: string, width: number): string {
  return text.length >= width ? `${text} ` : text + " ".repeat(width - text.length);
}

function describeQuery(type: "A" | "AAAA", r: QueryResult): string | null {
  if (r.outcome === "answered") return null;
  const text: Record<QueryOutcome, string> = {
    answered: "",
    "no-record": "no record",
    nxdomain: "NXDOMAIN (no such name)",
    timeout: "no answer (timeout)",
    failed: `failed (${r.error})`,
  };
  return `  ${pad(type, 6)}${text[r.outcome]}`;
}

function formatReport(r: HostReport): string {
  const lines: string[] = [];
  const because: string[] = [];
  if (r.privateBecause?.startsWith("--private-domain")) because.push(r.privateBecause);
  if (r.route !== null) {
    const via = r.route.via.includes("{") ? `host pattern ${r.route.via}` : r.route.via;
    because.push(`${via}, tenant ${r.route.tenant}`);
  }
  const role = r.privateLink ? "private-link name" : "not a private-link name";
  lines.push(`${r.host}: ${role}${because.length === 0 ? "" : ` (${because.join("; ")})`}`);
  for (const x of r.addresses) {
    const what = x.range === null ? x.kind : `${x.kind} (${x.range})`;
    lines.push(`  ${pad(x.family === 4 ? "A" : "AAAA", 6)}${pad(x.address, 40)}${what}`);
  }
  for (const line of [describeQuery("A", r.a), describeQuery("AAAA", r.aaaa)]) {
    if (line !== null) lines.push(line);
  }
  for (const p of r.problems) lines.push(`  WARNING ${p.code}: ${p.message}.`);
  for (const n of r.notes) lines.push(`  note: ${n}.`);
  if (r.problems.length === 0) {
    lines.push(
      r.privateLink
        ? r.addresses.every((x) => isPrivateEndpointKind(x.kind))
          ? "  ok: resolves to private addresses only"
          : "  ok: resolves to private IPv4 addresses (see the note)"
        : "  ok: resolves (no private-link expectation for this name)",
    );
  }
  return `${lines.join("\n")}\n`;
}

/**
 * Exit 0 when every name is fine, 1 when any has a warning, 2 on a bad command line (and 1 for an
 * invalid --config, with its errors, as `linkgate check` does).
 */
export async function dnsCommand(
  hosts: string[],
  flags: DnsFlags,
  io: Io,
  lookupFor: (servers: string | null, timeoutMs: number) => DnsLookup = systemLookup,
): Promise<void> {
  const names = hosts.map((h) => normaliseName(h, "host"));
  const privateDomains = (flags.privateDomain ?? []).map((d) =>
    normaliseName(d, "--private-domain"),
  );
  let server: string | null = null;
  if (flags.resolver !== undefined) {
    server = resolverAddress(flags.resolver);
    if (server === null) {
      throw usageError(
        `--resolver "${flags.resolver}" is not an IP address, IP:PORT or [IPv6]:PORT`,
      );
    }
  }
  const routing = flags.config === undefined ? null : await routingFrom(flags.config, io);
  const options: DnsCheckOptions = {
    privateDomains,
    routing,
    lookup: lookupFor(server, flags.timeout),
    timeoutMs: flags.timeout,
  };
  const reports = await Promise.all(names.map((h) => checkHost(h, options)));
  const warnings = reports.filter((r) => r.problems.length > 0).length;
  if (flags.json) {
    printJson(
      io,
      {
        ok: warnings === 0,
        resolver: server ?? "system",
        timeoutMs: flags.timeout,
        privateDomains,
        config: flags.config ?? null,
        hosts: reports,
      },
      false,
    );
  } else {
    io.stdout(reports.map(formatReport).join("\n"));
    const privateCount = reports.filter((r) => r.privateLink).length;
    io.stdout(
      `\n${reports.length} name${reports.length === 1 ? "" : "s"} (${privateCount} private-link), ${warnings} with warnings; resolver: ${server ?? "the system's"}\n`,
    );
    if (privateCount === 0 && privateDomains.length === 0 && routing === null) {
      io.stdout(
        "No name was checked against a private-link expectation: add --private-domain (e.g. privatelink.example.com) or --config.\n",
      );
    }
  }
  if (warnings > 0) throw new CommandFailure(EXIT_INVALID);
}

/** node:dns's Resolver: the system's servers (/etc/resolv.conf), or the one given. */
export function systemLookup(server: string | null, timeoutMs: number): DnsLookup {
  return {
    // One Resolver per query keeps the queries independent; `tries: 1` makes the timeout exact.
    resolve4: (host) => makeResolver(server, timeoutMs).resolve4(host),
    resolve6: (host) => makeResolver(server, timeoutMs).resolve6(host),
  };
}

function makeResolver(server: string | null, timeoutMs: number): Resolver {
  const resolver = new Resolver({ timeout: timeoutMs, tries: 1 });
  if (server !== null) resolver.setServers([server]);
  return resolver;
}
