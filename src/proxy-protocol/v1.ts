/**
 * PROXY protocol v1: one text line (spec section 2.1).
 *   "PROXY" SP ("TCP4" | "TCP6") SP src SP dst SP sport SP dport CRLF
 *   "PROXY" SP "UNKNOWN" [SP anything] CRLF
 * Exactly one space between fields, no leading zeros, ports 0-65535; anything else is invalid.
 */
import { ParseError } from "../errors/index.js";
import { formatIPv6, parseIPv4Into, parseIPv6Into, parsePort } from "../ip/address.js";
import { type MutableProxyHeader, ProxyHeader } from "./header.js";

const scratch = new Uint8Array(16);

function fail(code: ParseError["code"], message: string, offset: number): ParseError {
  return new ParseError(code, message, offset);
}

/**
 * Parses the complete v1 line at buf[start, start + length), CRLF included. The caller has
 * checked the "PROXY " prefix, the CRLF and the length cap.
 */
export function parseV1(buf: Buffer, start: number, length: number): ProxyHeader | ParseError {
  const line = buf.toString("latin1", start, start + length - 2);
  const protoEnd = line.indexOf(" ", 6);
  const proto = protoEnd < 0 ? line.slice(6) : line.slice(6, protoEnd);
  if (proto === "UNKNOWN") {
    // "the receiver must ignore anything presented before the CRLF"
    const header = new ProxyHeader(1, "proxy", 0, buf, start, length);
    const m: MutableProxyHeader = header;
    m._source = null;
    m._destination = null;
    return header;
  }
  if (proto === "") {
    return protoEnd < 0
      ? fail("PP1_BAD_PROTOCOL", "no protocol after PROXY", 6)
      : fail("PP1_BAD_SEPARATOR", "two spaces after PROXY", 6);
  }
  if (proto !== "TCP4" && proto !== "TCP6") {
    return fail(
      "PP1_BAD_PROTOCOL",
      `protocol ${JSON.stringify(proto)} is not TCP4, TCP6 or UNKNOWN`,
      6,
    );
  }
  if (protoEnd < 0) return fail("PP1_BAD_FIELD_COUNT", `${proto} line has no addresses`, 10);
  const parts = line.slice(protoEnd + 1).split(" ");
  let at = protoEnd + 1;
  for (const part of parts) {
    if (part === "") return fail("PP1_BAD_SEPARATOR", "fields must be separated by one space", at);
    at += part.length + 1;
  }
  if (parts.length !== 4) {
    return fail(
      "PP1_BAD_FIELD_COUNT",
      `${proto} line has ${parts.length} fields after the protocol, not 4`,
      protoEnd + 1,
    );
  }
  const v6 = proto === "TCP6";
  const addresses: string[] = [];
  at = protoEnd + 1;
  for (let i = 0; i < 2; i++) {
    const text = parts[i];
    const ok = v6 ? parseIPv6Into(text, scratch, 0) : parseIPv4Into(text, scratch, 0);
    if (!ok) {
      return fail(
        "PP1_BAD_ADDRESS",
        `${JSON.stringify(text)} is not a valid ${v6 ? "IPv6" : "IPv4"} address`,
        at,
      );
    }
    addresses.push(v6 ? formatIPv6(scratch, 0) : text);
    at += text.length + 1;
  }
  const ports: number[] = [];
  for (let i = 2; i < 4; i++) {
    const port = parsePort(parts[i]);
    if (port < 0) {
      return fail(
        "PP1_BAD_PORT",
        `${JSON.stringify(parts[i])} is not a port (0-65535, no leading zeros)`,
        at,
      );
    }
    ports.push(port);
    at += parts[i].length + 1;
  }
  const header = new ProxyHeader(1, "proxy", v6 ? 0x21 : 0x11, buf, start, length);
  const m: MutableProxyHeader = header;
  m._source = { address: addresses[0], port: ports[0] };
  m._destination = { address: addresses[1], port: ports[1] };
  return header;
}
