/**
 * Warnings about a valid configuration: it loads and serves, but probably not as intended.
 * `linkgate check` prints them (exit 0); nothing refuses to start over one.
 */
import { parseCidr } from "../ip/cidr.js";
import type { LinkgateConfig } from "./types.js";

export interface ConfigWarning {
  code: "CONFIG_TRUST_MAPPED_IPV4";
  /** The key, as in errors: "listeners[0].trustedProxies". */
  key: string;
  message: string;
}

/** Whether a CIDR covers the IPv4-mapped IPv6 range ::ffff:0:0/96 (or part of it). */
function coversMappedIpv4(text: string): boolean {
  const r = parseCidr(text);
  if (!r.ok || r.cidr.family !== 6) return false;
  const mapped = new Uint8Array(16);
  mapped[10] = 0xff;
  mapped[11] = 0xff;
  // The CIDR holds some mapped address when its fixed bits agree with ::ffff:0:0/96's.
  const bits = Math.min(r.cidr.prefix, 96);
  for (let i = 0; i < bits; i++) {
    const byte = i >> 3;
    const mask = 0x80 >> (i & 7);
    if ((r.cidr.bytes[byte] & mask) !== (mapped[byte] & mask)) return false;
  }
  return true;
}

export function configWarnings(config: LinkgateConfig): ConfigWarning[] {
  const out: ConfigWarning[] = [];
  config.listeners.forEach((l, i) => {
    if (l.proxyProtocol !== "required") return;
    const ipv4 = l.trustedProxies.some((c) => parseCidr(c).ok && !c.includes(":"));
    const mapped = l.trustedProxies.filter(coversMappedIpv4);
    if (ipv4 || mapped.length === 0) return;
    out.push({
      code: "CONFIG_TRUST_MAPPED_IPV4",
      key: `listeners[${i}].trustedProxies`,
      message: `${mapped.join(", ")} covers IPv4-mapped addresses (::ffff:a.b.c.d), but linkgate matches an IPv4 peer of a dual-stack listener as IPv4: no IPv4 load balancer is trusted here, and such connections are refused (fail closed). To trust IPv4 peers, list their IPv4 ranges (0.0.0.0/0 for any)`,
    });
  });
  return out;
}
