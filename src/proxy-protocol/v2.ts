/**
 * PROXY protocol v2: the binary header (spec section 2.2) and its TLVs.
 *
 * The caller (the decoder) has checked the signature, version, command, family, the size cap
 * and, for PROXY, that `len` covers the address block. This module walks the TLVs, which must
 * tile the rest of the header exactly, enforces per-TLV caps, decodes the cloud identity and
 * verifies the CRC32C.
 */
import { isUtf8 } from "node:buffer";
import { type ErrorCode, ParseError } from "../errors/index.js";
import {
  ADDRESS_BLOCK_LENGTH,
  AWS_SUBTYPE_VPCE_ID,
  AZURE_SUBTYPE_LINKID,
  TLV,
} from "./constants.js";
import { crc32cWithHole } from "./crc32c.js";
import { type MutableProxyHeader, ProxyHeader } from "./header.js";
import { awsIdentity, azureIdentity, gcpIdentity } from "./identity.js";
import type { ResolvedOptions } from "./options.js";

function hex(n: number, width: number): string {
  return `0x${n.toString(16).padStart(width, "0")}`;
}

function fail(code: ErrorCode, message: string, offset: number): ParseError {
  return new ParseError(code, message, offset);
}

/** Parses the complete, pre-checked v2 header at buf[start, start + length). */
export function parseV2(
  buf: Buffer,
  start: number,
  length: number,
  o: ResolvedOptions,
): ProxyHeader | ParseError {
  const local = (buf[start + 12] & 0x0f) === 0;
  const fam = buf[start + 13];
  const h = new ProxyHeader(2, local ? "local" : "proxy", fam, buf, start, length);
  const end = start + length;
  const err = local
    ? parseLocalBlock(h as MutableProxyHeader, buf, start, end, fam)
    : walkTlvs(h as MutableProxyHeader, buf, start + 16 + ADDRESS_BLOCK_LENGTH[fam], end, start, o);
  return err === null ? h : err;
}

/** Whether TLV headers chain from p to exactly `end`. */
function tiles(buf: Buffer, p: number, end: number): boolean {
  while (end - p >= 3) p += 3 + ((buf[p + 1] << 8) | buf[p + 2]);
  return p === end;
}

/**
 * LOCAL: the receiver must skip `len` bytes whatever the family says, and use no address and no
 * identity. The block is still read as TLVs when it can be, to verify a CRC32C and to show the
 * TLVs, but senders disagree on where they start: AWS health checks send fam 0x11 with no
 * address block and TLVs at byte 16; other senders put the family's address block first.
 * Some blocks tile both ways (zero padding does; address bytes sometimes do), so: a reading whose
 * CRC32C verifies wins (byte 16 first); otherwise a reading without CRC32C (after the address
 * block first); the header is rejected only when every reading that tiles has a wrong CRC32C;
 * when none tiles the block stays opaque. The order leans towards accepting: a LOCAL header is
 * never routed and carries no identity, while rejecting a real health check takes the instance
 * out of the load balancer.
 */
function parseLocalBlock(
  f: MutableProxyHeader,
  buf: Buffer,
  start: number,
  end: number,
  fam: number,
): ParseError | null {
  const atSixteen = start + 16;
  const afterAddress = start + 16 + ADDRESS_BLOCK_LENGTH[fam];
  const a = localReading(buf, start, atSixteen, end);
  const b =
    afterAddress > atSixteen && afterAddress <= end
      ? localReading(buf, start, afterAddress, end)
      : NO_READING;
  if (a === CRC_VALID || b === CRC_VALID) {
    f._tlvStart = a === CRC_VALID ? atSixteen : afterAddress;
    f.crc32c = "valid";
  } else if (b === NO_CRC) {
    f._tlvStart = afterAddress;
  } else if (a === NO_CRC) {
    f._tlvStart = atSixteen;
  } else if (a === CRC_BAD || b === CRC_BAD) {
    return fail("PP2_BAD_CRC32C", "CRC32C of the LOCAL header does not match", 16);
  }
  return null; // otherwise opaque
}

const NO_READING = 0; // does not tile
const NO_CRC = 1;
const CRC_VALID = 2;
const CRC_BAD = 3;

/** Reads TLVs from p: whether they tile to `end` and what their (single) CRC32C says. */
function localReading(buf: Buffer, start: number, p: number, end: number): number {
  if (!tiles(buf, p, end)) return NO_READING;
  let crcAt = -1;
  while (p < end) {
    const len = (buf[p + 1] << 8) | buf[p + 2];
    if (buf[p] === TLV.CRC32C) {
      if (len !== 4 || crcAt >= 0) return CRC_BAD;
      crcAt = p + 3;
    }
    p += 3 + len;
  }
  if (crcAt < 0) return NO_CRC;
  return crc32cWithHole(buf, start, end, crcAt) === buf.readUInt32BE(crcAt) ? CRC_VALID : CRC_BAD;
}

function checkCrc(
  f: MutableProxyHeader,
  buf: Buffer,
  start: number,
  end: number,
  crcAt: number,
): ParseError | null {
  const computed = crc32cWithHole(buf, start, end, crcAt);
  const stored = buf.readUInt32BE(crcAt);
  if (computed !== stored) {
    return fail(
      "PP2_BAD_CRC32C",
      `CRC32C is ${hex(stored, 8)} in the header, ${hex(computed, 8)} computed (big-endian)`,
      crcAt - start,
    );
  }
  f.crc32c = "valid";
  return null;
}

/** A host name: printable, no spaces or controls; non-ASCII must be valid UTF-8. */
function isAuthority(buf: Buffer, v: number, end: number): boolean {
  if (v === end) return false;
  let ascii = true;
  for (let i = v; i < end; i++) {
    const c = buf[i];
    if (c <= 0x20 || c === 0x7f) return false;
    if (c >= 0x80) ascii = false;
  }
  return ascii || isUtf8(buf.subarray(v, end));
}

function isPrintableAscii(buf: Buffer, v: number, end: number): boolean {
  if (v === end) return false;
  for (let i = v; i < end; i++) if (buf[i] < 0x20 || buf[i] > 0x7e) return false;
  return true;
}

/** SSL TLV: client(1) verify(4), then sub-TLVs that tile the rest exactly. */
function isSslValue(buf: Buffer, v: number, end: number): boolean {
  return end - v >= 5 && tiles(buf, v + 5, end);
}

/** Walks the TLVs of a PROXY header from p to end; records what it finds in `f`. */
function walkTlvs(
  f: MutableProxyHeader,
  buf: Buffer,
  p: number,
  end: number,
  start: number,
  o: ResolvedOptions,
): ParseError | null {
  f._tlvStart = p;
  let crcAt = -1;
  while (p < end) {
    if (end - p < 3) {
      return fail(
        "PP2_TLV_LEFTOVER",
        `${end - p} byte(s) left after the last TLV, too few for a TLV header`,
        p - start,
      );
    }
    const type = buf[p];
    const len = (buf[p + 1] << 8) | buf[p + 2];
    const v = p + 3;
    const next = v + len;
    if (next > end) {
      return fail(
        "PP2_TLV_OVERRUN",
        `TLV ${hex(type, 2)} declares ${len} bytes but ${end - v} remain in the header`,
        p - start,
      );
    }
    const cap =
      type === TLV.AUTHORITY
        ? o.maxAuthorityLength
        : type === TLV.UNIQUE_ID
          ? o.maxUniqueIdLength
          : o.maxTlvValueLength;
    if (len > cap) {
      return fail(
        "PP2_TLV_TOO_LARGE",
        `TLV ${hex(type, 2)} has ${len} bytes, more than its cap of ${cap}`,
        p - start,
      );
    }
    switch (type) {
      case TLV.CRC32C:
        if (len !== 4)
          return fail("PP2_BAD_CRC32C_LENGTH", `CRC32C TLV has ${len} bytes`, p - start);
        if (crcAt >= 0) return fail("PP2_DUPLICATE_TLV", "two CRC32C TLVs", p - start);
        crcAt = v;
        break;
      case TLV.NOOP:
        break;
      case TLV.AUTHORITY:
        if (f._authority >= 0) return fail("PP2_DUPLICATE_TLV", "two AUTHORITY TLVs", p - start);
        if (!isAuthority(buf, v, next)) {
          return fail(
            "PP2_BAD_AUTHORITY",
            "AUTHORITY is empty or not a UTF-8 host name",
            p - start,
          );
        }
        f._authority = p;
        break;
      case TLV.ALPN:
        if (f._alpn >= 0) return fail("PP2_DUPLICATE_TLV", "two ALPN TLVs", p - start);
        f._alpn = p;
        break;
      case TLV.UNIQUE_ID:
        if (f._uniqueId >= 0) return fail("PP2_DUPLICATE_TLV", "two UNIQUE_ID TLVs", p - start);
        f._uniqueId = p;
        break;
      case TLV.SSL:
        if (f._ssl >= 0) return fail("PP2_DUPLICATE_TLV", "two SSL TLVs", p - start);
        if (!isSslValue(buf, v, next)) {
          return fail(
            "PP2_BAD_SSL_TLV",
            "SSL TLV is shorter than 5 bytes or its sub-TLVs do not tile it",
            p - start,
          );
        }
        f._ssl = p;
        break;
      case TLV.NETNS:
        if (f._netns >= 0) return fail("PP2_DUPLICATE_TLV", "two NETNS TLVs", p - start);
        if (!isPrintableAscii(buf, v, next)) {
          return fail("PP2_BAD_NETNS", "NETNS is empty or not printable US-ASCII", p - start);
        }
        f._netns = p;
        break;
      case TLV.AWS:
        if (len === 0) return fail("PP2_BAD_AWS_VPCE_ID", "AWS TLV has no subtype", p - start);
        if (buf[v] === AWS_SUBTYPE_VPCE_ID) {
          if (f.link !== null) return duplicateIdentity(f, p - start);
          const identity = awsIdentity(buf, v + 1, next);
          if (identity === null) {
            return fail(
              "PP2_BAD_AWS_VPCE_ID",
              `AWS VPC endpoint ID ${JSON.stringify(buf.toString("latin1", v + 1, next))} is not "vpce-" and lower-case letters or digits`,
              p - start,
            );
          }
          f.link = identity;
          f._linkTlv = p;
        }
        break;
      case TLV.AZURE:
        if (len === 0) return fail("PP2_BAD_AZURE_LINKID", "Azure TLV has no subtype", p - start);
        if (buf[v] === AZURE_SUBTYPE_LINKID) {
          if (f.link !== null) return duplicateIdentity(f, p - start);
          if (len !== 5) {
            return fail(
              "PP2_BAD_AZURE_LINKID",
              `Azure LINKID TLV has ${len} bytes, not 5 (subtype and uint32)`,
              p - start,
            );
          }
          f.link = azureIdentity(buf.readUInt32LE(v + 1));
          f._linkTlv = p;
        }
        break;
      case TLV.GCP:
        if (f.link !== null) return duplicateIdentity(f, p - start);
        if (len !== 8) {
          return fail(
            "PP2_BAD_GCP_PSC_ID",
            `GCP PSC connection ID TLV has ${len} bytes, not 8`,
            p - start,
          );
        }
        f.link = gcpIdentity(buf.readUInt32BE(v), buf.readUInt32BE(v + 4));
        f._linkTlv = p;
        break;
      default:
        break;
    }
    p = next;
  }
  if (crcAt < 0) {
    return o.requireCrc32c
      ? fail("PP2_MISSING_CRC32C", "this listener requires a CRC32C TLV", 0)
      : null;
  }
  return checkCrc(f, buf, start, end, crcAt);
}

function duplicateIdentity(f: MutableProxyHeader, offset: number): ParseError {
  const first = f.link?.id;
  return fail(
    "PP2_DUPLICATE_IDENTITY",
    `a second Private Link identity TLV after ${first}: the identity is ambiguous`,
    offset,
  );
}
