/**
 * Builds PROXY protocol headers: v2 with any family, TLVs (the cloud identities included) and an
 * optional CRC32C; v1 lines. Used by the gateway for the header it sends upstream, by tests and
 * by `linkgate pp2 encode`. The declared length always equals the bytes written.
 */
import { LinkgateError, ParseError } from "../errors/index.js";
import { parseIPv4Into, parseIPv6Into } from "../ip/address.js";
import {
  FAMILY_BYTE,
  type Family,
  SSL_SUB,
  TLV,
  type Transport,
  V2_SIGNATURE,
} from "./constants.js";
import { crc32cPure } from "./crc32c.js";
import { identityTlv, type LinkIdentity, parseLinkIdentity } from "./identity.js";

export interface EncodeAddress {
  /** IPv4, IPv6, or a UNIX socket path (at most 108 bytes). */
  address: string;
  /** Ignored for UNIX sockets. */
  port?: number;
}

export interface EncodeTlv {
  type: number;
  value: Uint8Array | string;
}

export interface EncodeSsl {
  /** PP2_CLIENT_* bit field; default 0x01 (client connected over SSL). */
  client?: number;
  /** 0 when a client certificate verified; default 0. */
  verify?: number;
  version?: string;
  cn?: string;
  cipher?: string;
  sigAlg?: string;
  keyAlg?: string;
  group?: string;
  sigScheme?: string;
  clientCert?: Uint8Array;
}

export interface EncodeV2Options {
  /** Default "proxy". */
  command?: "proxy" | "local";
  /** Default: tcp4/tcp6 from the source address, or unspec without addresses. */
  family?: Family;
  /** Default "stream" for tcp and unix, "dgram" for udp. */
  transport?: Transport;
  source?: EncodeAddress;
  destination?: EncodeAddress;
  /** The Private Link identity, as an object or written "aws:vpce-…", "azure:N", "gcp:N". */
  link?: LinkIdentity | string;
  authority?: string;
  alpn?: string | Uint8Array;
  uniqueId?: string | Uint8Array;
  netns?: string;
  ssl?: EncodeSsl;
  /** Further TLVs, written in order after the ones above. */
  tlvs?: readonly EncodeTlv[];
  /** Add a CRC32C TLV (first, as AWS does). */
  crc32c?: boolean;
  /** Pad with a NOOP TLV so the header is at least this long (AWS pads to 100 bytes). */
  padTo?: number;
}

function bad(
  code: "PP_ENCODE_BAD_ADDRESS" | "PP_ENCODE_BAD_PORT" | "PP_ENCODE_BAD_TLV",
  message: string,
): never {
  throw new LinkgateError(code, message);
}

function bytesOf(value: Uint8Array | string): Uint8Array {
  return typeof value === "string" ? Buffer.from(value, "utf8") : value;
}

function checkPort(port: number | undefined, which: string): number {
  const p = port ?? 0;
  if (!Number.isInteger(p) || p < 0 || p > 65535) {
    bad("PP_ENCODE_BAD_PORT", `${which} port ${port} is not an integer from 0 to 65535`);
  }
  return p;
}

function inferFamily(o: EncodeV2Options): Family {
  if (o.family !== undefined) return o.family;
  if (o.source === undefined) return "unspec";
  return o.source.address.includes(":") ? "tcp6" : o.source.address.includes(".") ? "tcp4" : "unix";
}

function familyByte(family: Family, transport: Transport | undefined): number {
  const t =
    transport ??
    (family === "udp4" || family === "udp6" ? "dgram" : family === "unspec" ? "unspec" : "stream");
  const byte = FAMILY_BYTE[`${family}/${t}`];
  if (byte === undefined) {
    bad("PP_ENCODE_BAD_ADDRESS", `family ${family} cannot use transport ${t}`);
  }
  return byte;
}

function writeAddressBlock(out: Buffer, at: number, famByte: number, o: EncodeV2Options): void {
  const src = o.source;
  const dst = o.destination;
  if (famByte === 0) return;
  if (src === undefined || dst === undefined) {
    bad("PP_ENCODE_BAD_ADDRESS", "a family other than unspec needs a source and a destination");
  }
  const fam = famByte >> 4;
  if (fam === 3) {
    for (const [i, a] of [src, dst].entries()) {
      const path = Buffer.from(a.address, "utf8");
      if (path.length > 108) bad("PP_ENCODE_BAD_ADDRESS", `UNIX path longer than 108 bytes`);
      out.fill(0, at + 108 * i, at + 108 * (i + 1));
      path.copy(out, at + 108 * i);
    }
    return;
  }
  const size = fam === 1 ? 4 : 16;
  const parseInto = fam === 1 ? parseIPv4Into : parseIPv6Into;
  for (const [i, a] of [src, dst].entries()) {
    if (!parseInto(a.address, out, at + size * i)) {
      bad(
        "PP_ENCODE_BAD_ADDRESS",
        `${JSON.stringify(a.address)} is not an IPv${fam === 1 ? 4 : 6} address`,
      );
    }
  }
  out.writeUInt16BE(checkPort(src.port, "source"), at + 2 * size);
  out.writeUInt16BE(checkPort(dst.port, "destination"), at + 2 * size + 2);
}

function sslValue(s: EncodeSsl): Uint8Array {
  const subs: [number, Uint8Array | string | undefined][] = [
    [SSL_SUB.VERSION, s.version],
    [SSL_SUB.CN, s.cn],
    [SSL_SUB.CIPHER, s.cipher],
    [SSL_SUB.SIG_ALG, s.sigAlg],
    [SSL_SUB.KEY_ALG, s.keyAlg],
    [SSL_SUB.GROUP, s.group],
    [SSL_SUB.SIG_SCHEME, s.sigScheme],
    [SSL_SUB.CLIENT_CERT, s.clientCert],
  ];
  const parts: Buffer[] = [Buffer.alloc(5)];
  parts[0][0] = s.client ?? 0x01;
  parts[0].writeUInt32BE(s.verify ?? 0, 1);
  for (const [type, v] of subs) {
    if (v === undefined) continue;
    const value = bytesOf(v);
    const head = Buffer.allocUnsafe(3);
    head[0] = type;
    head.writeUInt16BE(value.length, 1);
    parts.push(head, Buffer.from(value));
  }
  return Buffer.concat(parts);
}

/** Builds a v2 header. Throws LinkgateError (PP_ENCODE_*) on invalid input. */
export function encodeProxyHeaderV2(o: EncodeV2Options = {}): Buffer {
  const local = o.command === "local";
  const family = inferFamily(o);
  const famByte = familyByte(family, o.transport);
  const addressLength = [0, 12, 36, 216][famByte >> 4];

  const tlvs: { type: number; value: Uint8Array }[] = [];
  if (o.link !== undefined) {
    let link = o.link;
    if (typeof link === "string") {
      const parsed = parseLinkIdentity(link);
      if (parsed instanceof ParseError)
        throw new LinkgateError("PP_ENCODE_BAD_IDENTITY", parsed.message);
      link = parsed;
    }
    tlvs.push(identityTlv(link));
  }
  if (o.authority !== undefined) tlvs.push({ type: TLV.AUTHORITY, value: bytesOf(o.authority) });
  if (o.alpn !== undefined) tlvs.push({ type: TLV.ALPN, value: bytesOf(o.alpn) });
  if (o.uniqueId !== undefined) tlvs.push({ type: TLV.UNIQUE_ID, value: bytesOf(o.uniqueId) });
  if (o.ssl !== undefined) tlvs.push({ type: TLV.SSL, value: sslValue(o.ssl) });
  if (o.netns !== undefined) tlvs.push({ type: TLV.NETNS, value: bytesOf(o.netns) });
  for (const t of o.tlvs ?? []) {
    if (!Number.isInteger(t.type) || t.type < 0 || t.type > 255) {
      bad("PP_ENCODE_BAD_TLV", `TLV type ${t.type} is not a byte`);
    }
    tlvs.push({ type: t.type, value: bytesOf(t.value) });
  }

  let length = 16 + addressLength + (o.crc32c ? 7 : 0);
  for (const t of tlvs) {
    if (t.value.length > 0xffff)
      bad("PP_ENCODE_BAD_TLV", `TLV 0x${t.type.toString(16)} value exceeds 65535 bytes`);
    length += 3 + t.value.length;
  }
  let pad = -1;
  if (o.padTo !== undefined && o.padTo > length) {
    pad = Math.max(0, o.padTo - length - 3);
    length += 3 + pad;
  }
  if (length - 16 > 0xffff) {
    throw new LinkgateError("PP_ENCODE_TOO_LARGE", `header would be ${length} bytes`);
  }

  const out = Buffer.alloc(length);
  for (let i = 0; i < 12; i++) out[i] = V2_SIGNATURE[i];
  out[12] = local ? 0x20 : 0x21;
  out[13] = famByte;
  out.writeUInt16BE(length - 16, 14);
  writeAddressBlock(out, 16, famByte, o);
  let p = 16 + addressLength;
  let crcAt = -1;
  if (o.crc32c) {
    out[p] = TLV.CRC32C;
    out.writeUInt16BE(4, p + 1);
    crcAt = p + 3;
    p += 7;
  }
  for (const t of tlvs) {
    out[p] = t.type;
    out.writeUInt16BE(t.value.length, p + 1);
    out.set(t.value, p + 3);
    p += 3 + t.value.length;
  }
  if (pad >= 0) {
    out[p] = TLV.NOOP;
    out.writeUInt16BE(pad, p + 1);
    p += 3 + pad;
  }
  if (p !== length) throw new Error(`internal: wrote ${p} bytes of a ${length}-byte header`);
  if (crcAt >= 0) out.writeUInt32BE(crc32cPure(out), crcAt);
  return out;
}

export interface EncodeV1Options {
  /** "tcp4", "tcp6", or "unknown" (no addresses). Default: from the source address. */
  family?: "tcp4" | "tcp6" | "unknown";
  source?: EncodeAddress;
  destination?: EncodeAddress;
}

/** Builds a v1 line ("PROXY TCP4 src dst sport dport\r\n"). */
export function encodeProxyHeaderV1(o: EncodeV1Options = {}): Buffer {
  const family =
    o.family ??
    (o.source === undefined ? "unknown" : o.source.address.includes(":") ? "tcp6" : "tcp4");
  if (family === "unknown") return Buffer.from("PROXY UNKNOWN\r\n", "latin1");
  const src = o.source;
  const dst = o.destination;
  if (src === undefined || dst === undefined) {
    bad("PP_ENCODE_BAD_ADDRESS", "TCP4/TCP6 lines need a source and a destination");
  }
  const scratch = new Uint8Array(16);
  for (const a of [src, dst]) {
    const ok =
      family === "tcp4"
        ? parseIPv4Into(a.address, scratch, 0)
        : parseIPv6Into(a.address, scratch, 0);
    if (!ok)
      bad("PP_ENCODE_BAD_ADDRESS", `${JSON.stringify(a.address)} is not valid for ${family}`);
  }
  const line = `PROXY ${family.toUpperCase()} ${src.address} ${dst.address} ${checkPort(src.port, "source")} ${checkPort(dst.port, "destination")}\r\n`;
  return Buffer.from(line, "latin1");
}
