/**
 * The PROXY v2 header linkgate sends upstream, built fresh for every connection: never the
 * client's header forwarded (a client-supplied header would become "the" header for the
 * backend). It carries the original client address, the Private Link identity in its cloud's
 * own TLV format (so a backend that already parses AWS/Azure/GCP TLVs keeps working), the SNI
 * as AUTHORITY, the tenant id, and a CRC32C.
 *
 * It is built on the hot path, once per admitted connection, straight from the incoming
 * header's bytes: the address block and the identity TLV are copied as they arrived, so no
 * address string is formatted and parsed again. The declared length always equals the bytes
 * written.
 */
import { parseIpInto } from "../ip/address.js";
import { crc32cWithHole } from "../proxy-protocol/crc32c.js";
import type { ProxyHeader } from "../proxy-protocol/index.js";

/**
 * TLV type carrying the tenant id (ASCII) in headers linkgate sends upstream. 0xE0-0xEF is the
 * spec's range for application use; 0xE0 (GCP), 0xEA (AWS) and 0xEE (Azure) are taken by the
 * clouds, so linkgate uses 0xE4.
 */
export const TENANT_TLV = 0xe4;

const SIGNATURE = Buffer.from("0d0a0d0a000d0a515549540a", "hex");
// Address block scratch: 36 bytes for TCP6.
const block = new Uint8Array(36);

/** Strips the "::ffff:" prefix Node gives IPv4 peers of a dual-stack socket. */
export function plainAddress(address: string): string {
  return address.startsWith("::ffff:") && address.includes(".") ? address.slice(7) : address;
}

/** Writes source and destination (text) into `block`; returns the family byte or 0. */
function blockFromText(src: string, srcPort: number, dst: string, dstPort: number): number {
  const f1 = parseIpInto(plainAddress(src), block);
  if (f1 === 0) return 0;
  const size = f1 === 4 ? 4 : 16;
  const tmp = block.slice(0, size); // the destination parse reuses the start of `block`
  const f2 = parseIpInto(plainAddress(dst), block);
  if (f2 !== f1) return 0;
  block.copyWithin(size, 0, size);
  block.set(tmp, 0);
  block[2 * size] = srcPort >> 8;
  block[2 * size + 1] = srcPort & 0xff;
  block[2 * size + 2] = dstPort >> 8;
  block[2 * size + 3] = dstPort & 0xff;
  return f1 === 4 ? 0x11 : 0x21;
}

/**
 * Copies a string the parsers and the configuration made ASCII (a host name, a tenant id) into
 * `out` at `at`; returns the end. A loop beats Buffer#write for a few dozen characters.
 */
function copyAscii(text: string, out: Buffer, at: number): number {
  for (let i = 0; i < text.length; i++) out[at + i] = text.charCodeAt(i);
  return at + text.length;
}

export interface UpstreamHeaderInput {
  /** The client's PROXY header, or null on a `none` listener. */
  header: ProxyHeader | null;
  /** The TCP peer and the local address, used when there is no header. */
  peerAddress: string;
  peerPort: number;
  localAddress: string;
  localPort: number;
  sni: string | null;
  tenant: string | null;
}

/**
 * Writes the header for `i`, then the bytes of `tail` (the client's first bytes, sent in the
 * same write), into `out` from its start, and returns the end. When `out` is too small it
 * writes nothing and returns minus the bytes needed. `out` may be shared scratch (the
 * engine's sharedWriteBuffer): a connection's first write then needs no buffer of its own.
 */
export function writeUpstreamProxyHeader(
  out: Buffer,
  i: UpstreamHeaderInput,
  tail: readonly Buffer[],
): number {
  const h = i.header;
  // The address block: copied from a v2 header, rebuilt from text otherwise.
  let fam = 0;
  if (h === null) {
    fam = blockFromText(i.peerAddress, i.peerPort, i.localAddress, i.localPort);
  } else if (h.version === 2) {
    const copied = h._copyAddressBlock(block, 0);
    fam = copied === 12 ? 0x11 : copied === 36 ? 0x21 : 0; // TCP: linkgate proxies streams
  } else if (h.source !== null && h.destination !== null) {
    fam = blockFromText(
      h.source.address,
      h.source.port ?? 0,
      h.destination.address,
      h.destination.port ?? 0,
    );
  }
  const addressLength = fam === 0 ? 0 : fam === 0x11 ? 12 : 36;
  const sni = i.sni;
  const tenant = i.tenant;
  const length =
    16 +
    addressLength +
    7 + // CRC32C
    (h === null ? 0 : h._linkTlvLength()) +
    (sni === null ? 0 : 3 + sni.length) +
    (tenant === null ? 0 : 3 + tenant.length);
  let end = length;
  for (const t of tail) end += t.length;
  if (end > out.length) return -end;

  out.set(SIGNATURE, 0);
  out[12] = 0x21; // v2, PROXY
  out[13] = fam;
  out.writeUInt16BE(length - 16, 14);
  let p = 16;
  for (let k = 0; k < addressLength; k++) out[p++] = block[k];
  out[p] = 0x03; // CRC32C, computed last
  out.writeUInt16BE(4, p + 1);
  const crcAt = p + 3;
  p += 7;
  // The identity TLV as it arrived, in its cloud's own format.
  if (h !== null) p += h._copyLinkTlv(out, p);
  if (sni !== null) {
    out[p] = 0x02; // AUTHORITY
    out.writeUInt16BE(sni.length, p + 1);
    p = copyAscii(sni, out, p + 3);
  }
  if (tenant !== null) {
    out[p] = TENANT_TLV;
    out.writeUInt16BE(tenant.length, p + 1);
    p = copyAscii(tenant, out, p + 3);
  }
  if (p !== length) throw new Error(`internal: wrote ${p} bytes of a ${length}-byte header`);
  out.writeUInt32BE(crc32cWithHole(out, 0, length, crcAt), crcAt);
  // TypedArray#set: a plain memory copy (Buffer#copy takes a slower path for its arguments).
  for (const t of tail) {
    out.set(t, p);
    p += t.length;
  }
  return p;
}

const NO_ROOM = Buffer.alloc(0);

/** The header for `i` followed by `tail`, in a buffer of its own. */
export function upstreamProxyHeader(i: UpstreamHeaderInput, tail: readonly Buffer[] = []): Buffer {
  const out = Buffer.allocUnsafe(-writeUpstreamProxyHeader(NO_ROOM, i, tail));
  writeUpstreamProxyHeader(out, i, tail);
  return out;
}
