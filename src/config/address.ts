/** "host:port" as written in configuration: bind addresses and upstreams. */
import { formatIp, parseIp, parsePort } from "../ip/address.js";
import { dnsNameProblem } from "./dns.js";
import type { HostPort } from "./types.js";

export interface HostPortRules {
  /** Bind addresses: the host must be an IP address. */
  ipOnly: boolean;
  /** Bind addresses may use port 0 (a free port); upstreams may not. */
  allowPortZero: boolean;
}

export type HostPortResult = { ok: true; value: HostPort } | { ok: false; message: string };

/**
 * Parses "10.0.0.1:443", "[2001:db8::1]:443" or (unless ipOnly) "backend.internal:443". IP
 * hosts are returned in canonical text (IPv6 without brackets); DNS names in lower case.
 */
export function parseHostPort(text: string, rules: HostPortRules): HostPortResult {
  const fail = (message: string): HostPortResult => ({ ok: false, message });
  let host: string;
  let portText: string;
  if (text.startsWith("[")) {
    const close = text.indexOf("]");
    if (close < 0) return fail(`"${text}" has no closing "]"`);
    host = text.slice(1, close);
    if (text.charAt(close + 1) !== ":") {
      return fail(`"${text}" has no port: write "[${host}]:PORT"`);
    }
    portText = text.slice(close + 2);
    if (parseIp(host)?.family !== 6) return fail(`"${host}" in brackets is not an IPv6 address`);
  } else {
    const colon = text.lastIndexOf(":");
    if (colon < 0) return fail(`"${text}" has no port: write "${text}:PORT"`);
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host.includes(":")) {
      const split = parseIp(host);
      const whole = parseIp(text);
      const hint =
        split !== null && parsePort(portText) >= 0
          ? `"[${formatIp(split.bytes)}]:${portText}"`
          : whole !== null
            ? `"[${formatIp(whole.bytes)}]:PORT"`
            : `"[ADDRESS]:PORT"`;
      return fail(`an IPv6 address must be in brackets (and quoted in YAML): write ${hint}`);
    }
  }
  if (host === "") return fail(`"${text}" has no host`);
  const port = parsePort(portText);
  if (port < 0) return fail(`the port "${portText}" must be a number from 0 to 65535`);
  if (port === 0 && !rules.allowPortZero) return fail("the port must be from 1 to 65535");
  const ip = parseIp(host);
  if (ip !== null) return { ok: true, value: { host: formatIp(ip.bytes), port } };
  if (rules.ipOnly) {
    return fail(`"${host}" is not an IP address (a bind address cannot be a host name)`);
  }
  const problem = dnsNameProblem(host, false);
  if (problem !== null)
    return fail(`the host "${host}" is neither an IP address nor a DNS name: it ${problem}`);
  return { ok: true, value: { host: host.toLowerCase(), port } };
}

/** "host:port" text of a parsed address, IPv6 in brackets. */
export function formatHostPort(value: HostPort): string {
  return value.host.includes(":") ? `[${value.host}]:${value.port}` : `${value.host}:${value.port}`;
}
