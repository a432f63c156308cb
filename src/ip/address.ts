/**
 * IP address text <-> bytes, strict, with no dependency on `node:net`.
 *
 * Parsing is strict on purpose: addresses come from PROXY v1 lines, configuration and the
 * command line, where anything ambiguous (leading zeros, zone IDs, short forms) is an error.
 * IPv6 is printed in the canonical form of RFC 5952.
 */

/** Dotted-quad text of the 4 bytes at `off`. */
export function formatIPv4(bytes: Uint8Array, off: number): string {
  return `${bytes[off]}.${bytes[off + 1]}.${bytes[off + 2]}.${bytes[off + 3]}`;
}

/**
 * IPv4 texts by address, for the addresses of every connection (the TCP peer, the PROXY
 * header's source and destination): those repeat (a load balancer's few addresses, the
 * endpoint's, a client's pool of connections), and on Bun a remembered text costs a third of
 * making one and reading it back (the template's rope is flattened when the connection line
 * reads it). Bounded: forgotten all at once when full.
 */
const ipv4Texts = new Map<number, string>();
const IPV4_TEXTS_MAX = 4096;

/** `formatIPv4`, the same string for the same address while it is remembered. */
export function ipv4Text(bytes: Uint8Array, off: number): string {
  const key =
    ((bytes[off] << 24) | (bytes[off + 1] << 16) | (bytes[off + 2] << 8) | bytes[off + 3]) >>> 0;
  let text = ipv4Texts.get(key);
  if (text === undefined) {
    text = formatIPv4(bytes, off);
    if (ipv4Texts.size >= IPV4_TEXTS_MAX) ipv4Texts.clear();
    ipv4Texts.set(key, text);
  }
  return text;
}

/**
 * RFC 5952 text of the 16 bytes at `off`: lower-case hex, no leading zeros, the longest run of
 * two or more zero groups (the first on a tie) shortened to "::", and IPv4-mapped addresses
 * (::ffff:0:0/96) in mixed notation.
 */
export function formatIPv6(bytes: Uint8Array, off: number): string {
  // IPv4-mapped: ten zero bytes then ff ff.
  let mapped = bytes[off + 10] === 0xff && bytes[off + 11] === 0xff;
  for (let i = 0; mapped && i < 10; i++) if (bytes[off + i] !== 0) mapped = false;
  if (mapped) return `::ffff:${formatIPv4(bytes, off + 12)}`;

  let bestStart = -1;
  let bestLen = 0;
  let runStart = -1;
  for (let g = 0; g < 8; g++) {
    const zero = bytes[off + 2 * g] === 0 && bytes[off + 2 * g + 1] === 0;
    if (zero) {
      if (runStart < 0) runStart = g;
      const len = g - runStart + 1;
      if (len > bestLen) {
        bestLen = len;
        bestStart = runStart;
      }
    } else {
      runStart = -1;
    }
  }
  if (bestLen < 2) bestStart = -1;

  let text = "";
  for (let g = 0; g < 8; g++) {
    if (g === bestStart) {
      text += "::";
      g += bestLen - 1;
      continue;
    }
    if (text.length > 0 && !text.endsWith(":")) text += ":";
    text += ((bytes[off + 2 * g] << 8) | bytes[off + 2 * g + 1]).toString(16);
  }
  return text;
}

const CH_0 = 48;
const CH_9 = 57;
const CH_DOT = 46;
const CH_COLON = 58;

/**
 * Parses strict dotted-quad IPv4 (four decimal octets 0-255, no leading zeros, nothing else)
 * from the bytes bytes[start, end) into `out[off..off+4)`. Returns false on any deviation.
 */
export function parseIPv4Bytes(
  bytes: Uint8Array,
  start: number,
  end: number,
  out: Uint8Array,
  off: number,
): boolean {
  let octet = 0;
  let digits = 0;
  let parts = 0;
  for (let i = start; i < end; i++) {
    const c = bytes[i];
    if (c >= CH_0 && c <= CH_9) {
      if (digits > 0 && octet === 0) return false; // leading zero
      octet = octet * 10 + (c - CH_0);
      if (octet > 255 || ++digits > 3) return false;
    } else if (c === CH_DOT) {
      if (digits === 0 || parts === 3) return false;
      out[off + parts++] = octet;
      octet = 0;
      digits = 0;
    } else {
      return false;
    }
  }
  if (digits === 0 || parts !== 3) return false;
  out[off + 3] = octet;
  return true;
}

// Short strings (addresses, ports) are copied here rather than into a new array.
const asciiScratch = new Uint8Array(64);

/**
 * Latin-1 bytes of an ASCII string, or null if it has other characters. Strings of up to 64
 * characters come back in a shared scratch array: use the result before the next call.
 */
function asciiBytes(text: string, start: number, end: number): Uint8Array | null {
  const n = end - start;
  const out = n <= asciiScratch.length ? asciiScratch : new Uint8Array(n);
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c > 0x7f) return null;
    out[i - start] = c;
  }
  return out;
}

/** Text form of parseIPv4Bytes, for configuration and command lines. */
export function parseIPv4Into(
  text: string,
  out: Uint8Array,
  off: number,
  start = 0,
  end = text.length,
): boolean {
  const bytes = asciiBytes(text, start, end);
  return bytes !== null && parseIPv4Bytes(bytes, 0, end - start, out, off);
}

function hexValue(c: number): number {
  if (c >= CH_0 && c <= CH_9) return c - CH_0;
  const l = c | 0x20;
  if (l >= 97 && l <= 102) return l - 87;
  return -1;
}

/**
 * Parses IPv6 text (RFC 4291 section 2.2: full, "::"-compressed, or with a trailing dotted
 * IPv4) from `text[start, end)` into `out[off..off+16)`. Zone IDs ("%eth0"), brackets and
 * groups of more than four hex digits are rejected. Returns false on any deviation.
 */
export function parseIPv6Into(
  text: string,
  out: Uint8Array,
  off: number,
  start = 0,
  end = text.length,
): boolean {
  if (end - start < 2 || end - start > 45) return false;
  const groups: number[] = [];
  let compressAt = -1;
  let i = start;
  if (text.charCodeAt(i) === CH_COLON) {
    if (text.charCodeAt(i + 1) !== CH_COLON) return false;
    compressAt = 0;
    i += 2;
    if (i === end) {
      out.fill(0, off, off + 16);
      return true;
    }
  }
  for (;;) {
    // One group, or a trailing IPv4.
    const groupStart = i;
    let value = 0;
    let digits = 0;
    while (i < end) {
      const h = hexValue(text.charCodeAt(i));
      if (h < 0) break;
      value = (value << 4) | h;
      digits++;
      i++;
    }
    if (i < end && text.charCodeAt(i) === CH_DOT) {
      // Embedded IPv4: must be the last 32 bits.
      if (groups.length > 6) return false;
      const tmp = new Uint8Array(4);
      if (!parseIPv4Into(text, tmp, 0, groupStart, end)) return false;
      groups.push((tmp[0] << 8) | tmp[1], (tmp[2] << 8) | tmp[3]);
      i = end;
      break;
    }
    if (digits === 0 || digits > 4) return false;
    groups.push(value);
    if (groups.length > 8) return false;
    if (i === end) break;
    if (text.charCodeAt(i) !== CH_COLON) return false;
    i++;
    if (i < end && text.charCodeAt(i) === CH_COLON) {
      if (compressAt >= 0) return false; // a second "::"
      compressAt = groups.length;
      i++;
      if (i === end) break;
    } else if (i === end) {
      return false; // trailing single colon
    }
  }
  if (compressAt >= 0) {
    if (groups.length > 7) return false;
  } else if (groups.length !== 8) {
    return false;
  }
  const fill = 8 - groups.length;
  let g = 0;
  for (let k = 0; k < 8; k++) {
    let v: number;
    if (compressAt >= 0 && k >= compressAt && k < compressAt + fill) v = 0;
    else v = groups[g++];
    out[off + 2 * k] = v >>> 8;
    out[off + 2 * k + 1] = v & 0xff;
  }
  return true;
}

export type IpFamily = 4 | 6;

export interface ParsedIp {
  family: IpFamily;
  /** 4 or 16 bytes in network order. */
  bytes: Uint8Array;
}

/**
 * Parses an IPv4 or IPv6 address into `out` (4 or 16 bytes at its start) without allocating;
 * returns the family, or 0 if it is neither.
 */
export function parseIpInto(text: string, out: Uint8Array): 0 | 4 | 6 {
  if (text.includes(":")) return parseIPv6Into(text, out, 0) ? 6 : 0;
  return parseIPv4Into(text, out, 0) ? 4 : 0;
}

/** Parses an IPv4 or IPv6 address; returns null if it is neither. */
export function parseIp(text: string): ParsedIp | null {
  if (text.includes(":")) {
    const bytes = new Uint8Array(16);
    return parseIPv6Into(text, bytes, 0) ? { family: 6, bytes } : null;
  }
  const bytes = new Uint8Array(4);
  return parseIPv4Into(text, bytes, 0) ? { family: 4, bytes } : null;
}

/** Canonical text of an address: dotted quad, or RFC 5952 IPv6. */
export function formatIp(bytes: Uint8Array): string {
  return bytes.length === 4 ? formatIPv4(bytes, 0) : formatIPv6(bytes, 0);
}

/**
 * Splits "host:port" or "[v6]:port" into an address and a port. Returns null if the port is
 * not a decimal 0-65535 without leading zeros or the address is not valid.
 */
export function parseIpPort(text: string): { ip: ParsedIp; port: number } | null {
  let host: string;
  let portText: string;
  if (text.startsWith("[")) {
    const close = text.indexOf("]");
    if (close < 0 || text.charCodeAt(close + 1) !== CH_COLON) return null;
    host = text.slice(1, close);
    portText = text.slice(close + 2);
    if (!host.includes(":")) return null;
  } else {
    const colon = text.lastIndexOf(":");
    if (colon < 0) return null;
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host.includes(":")) return null; // bare IPv6 needs brackets
  }
  const port = parsePort(portText);
  const ip = parseIp(host);
  if (port < 0 || ip === null) return null;
  return { ip, port };
}

/** Strict decimal port 0-65535 without sign or leading zeros from bytes[start, end); -1 if invalid. */
export function parsePortBytes(bytes: Uint8Array, start: number, end: number): number {
  const n = end - start;
  if (n < 1 || n > 5) return -1;
  if (n > 1 && bytes[start] === CH_0) return -1;
  let port = 0;
  for (let i = start; i < end; i++) {
    const c = bytes[i];
    if (c < CH_0 || c > CH_9) return -1;
    port = port * 10 + (c - CH_0);
  }
  return port <= 65535 ? port : -1;
}

/** Text form of parsePortBytes. */
export function parsePort(text: string, start = 0, end = text.length): number {
  const bytes = asciiBytes(text, start, end);
  return bytes === null ? -1 : parsePortBytes(bytes, 0, end - start);
}
