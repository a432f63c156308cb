/**
 * The PROXY v2 header linkgate sends upstream, built fresh for every connection: never the
 * client's header forwarded (a client-supplied header would become "the" header for the
 * backend). It carries the original client address, the Private Link identity in its cloud's
 * own TLV format (so a backend that already parses AWS/Azure/GCP TLVs keeps working), the SNI
 * as AUTHORITY, the tenant id, and a CRC32C.
 */
import {
  type EncodeV2Options,
  encodeProxyHeaderV2,
  type LinkIdentity,
} from "../proxy-protocol/index.js";

/**
 * TLV type carrying the tenant id (ASCII) in headers linkgate sends upstream. 0xE0-0xEF is the
 * spec's range for application use; 0xE0 (GCP), 0xEA (AWS) and 0xEE (Azure) are taken by the
 * clouds, so linkgate uses 0xE4.
 */
export const TENANT_TLV = 0xe4;

export interface UpstreamHeaderInput {
  source: { address: string; port: number } | null;
  destination: { address: string; port: number } | null;
  link: LinkIdentity | null;
  sni: string | null;
  tenant: string | null;
}

function family(address: string): "tcp4" | "tcp6" {
  return address.includes(":") ? "tcp6" : "tcp4";
}

/** Strips the "::ffff:" prefix Node gives IPv4 peers of a dual-stack socket. */
export function plainAddress(address: string): string {
  return address.startsWith("::ffff:") && address.includes(".") ? address.slice(7) : address;
}

export function upstreamProxyHeader(i: UpstreamHeaderInput): Buffer {
  const o: EncodeV2Options = { crc32c: true };
  if (i.source !== null && i.destination !== null) {
    const src = plainAddress(i.source.address);
    const dst = plainAddress(i.destination.address);
    if (family(src) === family(dst)) {
      o.family = family(src);
      o.source = { address: src, port: i.source.port };
      o.destination = { address: dst, port: i.destination.port };
    }
  }
  if (o.family === undefined) o.family = "unspec";
  if (i.link !== null) o.link = i.link;
  if (i.sni !== null) o.authority = i.sni;
  if (i.tenant !== null) o.tlvs = [{ type: TENANT_TLV, value: i.tenant }];
  return encodeProxyHeaderV2(o);
}
