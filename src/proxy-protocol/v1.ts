/**
 * PROXY protocol v1: one text line (spec section 2.1).
 *   "PROXY" SP ("TCP4" | "TCP6") SP src SP dst SP sport SP dport CRLF
 *   "PROXY" SP "UNKNOWN" [SP anything] CRLF
 * Exactly one space between fields, no leading zeros, ports 0-65535; anything else is invalid.
 * Scanned as bytes: no string is built but the two address strings.
 */
import { type ErrorCode, ParseError } from "../errors/index.js";
import { formatIPv6, parseIPv4Bytes, parseIPv6Into, parsePortBytes } from "../ip/address.js";
import { type MutableProxyHeader, ProxyHeader } from "./header.js";

const SPACE = 0x20;
const scratch = new Uint8Array(16);
// Field boundaries of the current line: [start0, end0, start1, end1, ...] for the four fields.
const fieldBounds = new Int32Array(8);

function fail(code: ErrorCode, message: string, offset: number): ParseError {
  return new ParseError(code, message, offset);
}

/** Whether buf[p, p+4) spells "TCP4"/"TCP6"-style tokens; returns the digit, or 0. */
function tcpVersion(buf: Buffer, p: number): number {
  if (buf[p] !== 0x54 || buf[p + 1] !== 0x43 || buf[p + 2] !== 0x50) return 0;
  return buf[p + 3] === 0x34 ? 4 : buf[p + 3] === 0x36 ? 6 : 0;
}

function isUnknown(buf: Buffer, p: number, n: number): boolean {
  return n === 7 && buf.toString("latin1", p, p + 7) === "UNKNOWN";
}

/**
 * Parses the complete v1 line at buf[start, start + length), CRLF included. The caller has
 * checked the "PROXY " prefix, the CRLF and the length cap.
 */
export function parseV1(buf: Buffer, start: number, length: number): ProxyHeader | ParseError {
  const end = start + length - 2; // before CRLF
  const p = start + 6;
  let protoEnd = p;
  while (protoEnd < end && buf[protoEnd] !== SPACE) protoEnd++;
  const protoLength = protoEnd - p;
  if (isUnknown(buf, p, protoLength)) {
    // "the receiver must ignore anything presented before the CRLF"
    const header = new ProxyHeader(1, "proxy", 0, buf, start, length);
    const m: MutableProxyHeader = header;
    m._source = null;
    m._destination = null;
    return header;
  }
  if (protoLength === 0) {
    return protoEnd === end
      ? fail("PP1_BAD_PROTOCOL", "no protocol after PROXY", 6)
      : fail("PP1_BAD_SEPARATOR", "two spaces after PROXY", 6);
  }
  const version = protoLength === 4 ? tcpVersion(buf, p) : 0;
  if (version === 0) {
    const proto = buf.toString("latin1", p, protoEnd);
    return fail(
      "PP1_BAD_PROTOCOL",
      `protocol ${JSON.stringify(proto)} is not TCP4, TCP6 or UNKNOWN`,
      6,
    );
  }
  if (protoEnd === end)
    return fail("PP1_BAD_FIELD_COUNT", `TCP${version} line has no addresses`, 10);

  // Four fields separated by single spaces, then the end of the line.
  let q = protoEnd + 1;
  let count = 0;
  for (;;) {
    let e = q;
    while (e < end && buf[e] !== SPACE) e++;
    if (e === q)
      return fail("PP1_BAD_SEPARATOR", "fields must be separated by one space", q - start);
    if (count < 4) {
      fieldBounds[2 * count] = q;
      fieldBounds[2 * count + 1] = e;
    }
    count++;
    if (e === end) break;
    q = e + 1;
  }
  if (count !== 4) {
    return fail(
      "PP1_BAD_FIELD_COUNT",
      `TCP${version} line has ${count} fields after the protocol, not 4`,
      protoEnd + 1 - start,
    );
  }

  const addresses: string[] = ["", ""];
  for (let i = 0; i < 2; i++) {
    const s = fieldBounds[2 * i];
    const e = fieldBounds[2 * i + 1];
    if (version === 4) {
      if (!parseIPv4Bytes(buf, s, e, scratch, 0)) return badAddress(buf, s, e, start, 4);
      addresses[i] = buf.toString("latin1", s, e); // strict grammar: already canonical
    } else {
      const text = buf.toString("latin1", s, e);
      if (!parseIPv6Into(text, scratch, 0)) return badAddress(buf, s, e, start, 6);
      addresses[i] = formatIPv6(scratch, 0);
    }
  }
  const sourcePort = parsePortBytes(buf, fieldBounds[4], fieldBounds[5]);
  if (sourcePort < 0) return badPort(buf, fieldBounds[4], fieldBounds[5], start);
  const destinationPort = parsePortBytes(buf, fieldBounds[6], fieldBounds[7]);
  if (destinationPort < 0) return badPort(buf, fieldBounds[6], fieldBounds[7], start);

  const header = new ProxyHeader(1, "proxy", version === 6 ? 0x21 : 0x11, buf, start, length);
  const m: MutableProxyHeader = header;
  m._source = { address: addresses[0], port: sourcePort };
  m._destination = { address: addresses[1], port: destinationPort };
  return header;
}

function badAddress(buf: Buffer, s: number, e: number, start: number, v: 4 | 6): ParseError {
  const text = JSON.stringify(buf.toString("latin1", s, e));
  return fail("PP1_BAD_ADDRESS", `${text} is not a valid IPv${v} address`, s - start);
}

function badPort(buf: Buffer, s: number, e: number, start: number): ParseError {
  const text = JSON.stringify(buf.toString("latin1", s, e));
  return fail("PP1_BAD_PORT", `${text} is not a port (0-65535, no leading zeros)`, s - start);
}
