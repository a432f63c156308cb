import { ParseError } from "../errors/index.js";

const DOT = 0x2e;
const HYPHEN = 0x2d;

/** 1: lower-case letter or digit, 2: upper-case letter, 3: hyphen; 0: not allowed in a label. */
const LDH = new Uint8Array(256);
for (let c = 0x30; c <= 0x39; c++) LDH[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) LDH[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) LDH[c] = 2;
LDH[HYPHEN] = 3;

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isHexDigit(c: number): boolean {
  return isDigit(c) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
}

/**
 * Whether the last label reads as a number, which makes resolvers and URL parsers (WHATWG "ends
 * in a number") treat the whole name as an IPv4 address: "10.0.0.1", "2130706433", "0x7f.1".
 */
function endsInNumber(buf: Buffer, start: number, end: number): boolean {
  let allDigits = true;
  for (let i = start; i < end; i++) allDigits &&= isDigit(buf[i]);
  if (allDigits) return true;
  if (end - start < 2 || buf[start] !== 0x30 || (buf[start + 1] | 0x20) !== 0x78) return false;
  for (let i = start + 2; i < end; i++) if (!isHexDigit(buf[i])) return false;
  return true;
}

function bad(message: string, at: number, origin: number): ParseError {
  return new ParseError("TLS_BAD_SNI", message, at - origin);
}

/**
 * Reads the SNI host name in buf[start..end) as a DNS host name: LDH labels of 1 to 63
 * characters, not starting or ending with a hyphen, at most 253 characters in all after one
 * trailing dot is stripped, and not an IP literal (RFC 6066 3 forbids them). A-labels
 * ("xn--...") pass; raw UTF-8 does not. Returns the name lower-cased, or a TLS_BAD_SNI error
 * whose offset is counted from `origin`.
 */
export function parseHostName(
  buf: Buffer,
  start: number,
  end: number,
  origin: number,
): string | ParseError {
  let stop = end;
  if (stop > start && buf[stop - 1] === DOT) stop--;
  if (stop === start) return bad("the host name is empty", start, origin);
  if (stop - start > 253) {
    return bad(`the host name is ${stop - start} characters long; at most 253`, start, origin);
  }
  let upper = false;
  let labelStart = start;
  let lastLabelStart = start;
  for (let i = start; i <= stop; i++) {
    const c = i === stop ? DOT : buf[i];
    if (c === DOT) {
      const length = i - labelStart;
      if (length === 0) return bad("the host name has an empty label", i, origin);
      if (length > 63) return bad(`a label is ${length} characters long; at most 63`, i, origin);
      if (buf[i - 1] === HYPHEN) return bad("a label ends with a hyphen", i - 1, origin);
      lastLabelStart = labelStart;
      labelStart = i + 1;
      continue;
    }
    const kind = LDH[c];
    if (kind === 0) {
      const hint = c === 0x3a ? " (an IPv6 literal?)" : "";
      const hex = c.toString(16).padStart(2, "0");
      return bad(`byte 0x${hex} is not allowed in a host name${hint}`, i, origin);
    }
    if (kind === 3 && i === labelStart) {
      return bad("a label starts with a hyphen", i, origin);
    }
    if (kind === 2) upper = true;
  }
  if (endsInNumber(buf, lastLabelStart, stop)) {
    return bad("the host name is an IP address literal", start, origin);
  }
  // latin1 is a 1:1 byte decode, and every byte here is ASCII.
  const name = buf.toString("latin1", start, stop);
  return upper ? name.toLowerCase() : name;
}
