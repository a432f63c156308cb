/** CIDR text as written in configuration: strict, with a hint for the usual mistakes. */
import { formatIp, type IpFamily, parseIp, parseIpInto, parsePort } from "./address.js";

export interface Cidr {
  family: IpFamily;
  /** The network address, 4 or 16 bytes, host bits zero. */
  bytes: Uint8Array;
  prefix: number;
  /** Canonical text: dotted quad or RFC 5952 IPv6, "/", the prefix. */
  text: string;
}

export type CidrResult = { ok: true; cidr: Cidr } | { ok: false; message: string };

function maskHostBits(bytes: Uint8Array, prefix: number): Uint8Array {
  const out = new Uint8Array(bytes);
  for (let i = 0; i < out.length; i++) {
    const bits = Math.max(0, Math.min(8, prefix - 8 * i));
    out[i] &= bits === 0 ? 0 : (0xff << (8 - bits)) & 0xff;
  }
  return out;
}

/**
 * Parses "10.0.0.0/8" or "2001:db8::/32". The prefix is decimal without leading zeros, 0-32 or
 * 0-128; host bits must be zero ("10.0.0.1/8" is an error that suggests "10.0.0.0/8"); a bare
 * address is an error that suggests "/32" or "/128".
 */
export function parseCidr(text: string): CidrResult {
  const slash = text.indexOf("/");
  if (slash < 0) {
    const ip = parseIp(text);
    if (ip !== null) {
      const all = ip.family === 4 ? 32 : 128;
      return {
        ok: false,
        message: `"${text}" has no prefix length: did you mean "${formatIp(ip.bytes)}/${all}"?`,
      };
    }
    return {
      ok: false,
      message: `"${text}" is not a CIDR such as "10.0.0.0/8" or "2001:db8::/32"`,
    };
  }
  const addressText = text.slice(0, slash);
  const prefixText = text.slice(slash + 1);
  const ip = parseIp(addressText);
  if (ip === null) {
    return { ok: false, message: `"${addressText}" is not an IPv4 or IPv6 address` };
  }
  const max = ip.family === 4 ? 32 : 128;
  if (!/^(0|[1-9][0-9]{0,2})$/.test(prefixText) || Number(prefixText) > max) {
    return {
      ok: false,
      message: `the prefix length of "${text}" must be a number from 0 to ${max} for IPv${ip.family}`,
    };
  }
  const prefix = Number(prefixText);
  const network = maskHostBits(ip.bytes, prefix);
  const canonical = `${formatIp(network)}/${prefix}`;
  if (network.some((b, i) => b !== ip.bytes[i])) {
    return {
      ok: false,
      message: `"${text}" has host bits set: did you mean "${canonical}"?`,
    };
  }
  return { ok: true, cidr: { family: ip.family, bytes: network, prefix, text: canonical } };
}

const cidrScratch = new Uint8Array(16);

/**
 * The lean parse for compiling validated configuration: no canonical text, no message. Returns
 * null when `text` is not a CIDR or has host bits set (validation has reported those).
 */
export function parseCidrFast(
  text: string,
): { family: IpFamily; bytes: Uint8Array; prefix: number } | null {
  const slash = text.indexOf("/");
  if (slash < 0) return null;
  const family = parseIpInto(text.slice(0, slash), cidrScratch);
  if (family === 0) return null;
  const prefix = parsePort(text, slash + 1);
  const max = family === 4 ? 32 : 128;
  if (prefix < 0 || prefix > max) return null;
  const size = family === 4 ? 4 : 16;
  for (let bit = prefix; bit < max; bit++) {
    if (cidrScratch[bit >> 3] & (0x80 >> (bit & 7))) return null;
  }
  return { family, bytes: cidrScratch.slice(0, size), prefix };
}
