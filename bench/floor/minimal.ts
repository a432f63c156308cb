/**
 * What every floor of bench/floor/ shares: its command line, the check that the TCP peer may
 * send a PROXY header (linkgate's `trustedProxies`), the check that the bytes read so far are a
 * PROXY v2 header and a first TLS record naming an accepted host (a byte search), and the fresh
 * PROXY v2 header it sends upstream. One copy, so that the floors cannot drift apart:
 * each floor differs only in its socket layer (node:net, Bun's own sockets, linkgate's engine).
 * Runtimes run it as it is (Node.js type stripping, Bun): no loader is measured.
 */

const SIGNATURE = Buffer.from("0d0a0d0a000d0a515549540a", "hex");
const VERSION_2_PROXY = 0x21;
const TCP4 = 0x11;
const TCP6 = 0x21;
const TLS_HANDSHAKE = 0x16;
/** inspect(): more bytes are needed. */
export const MORE = 0;
/** inspect(): the bytes cannot be an accepted connection. */
export const DROP = -1;
/**
 * What a client may send while its upstream connects before it is paused: linkgate's
 * CONNECTING_READ_AHEAD_BYTES (src/dataplane/connection.ts; test/bench/floors.test.ts checks).
 */
export const READ_AHEAD_BYTES = 64 * 1024;

export interface FloorArguments {
  listen: { host: string; port: number };
  upstream: { host: string; port: number };
  /** Each accepted host as a server_name entry carries it: type 0, 2-byte length, name. */
  serverNames: Buffer[];
  /** What goes upstream before the client's bytes: a fresh PROXY v2 header, or nothing. */
  upstreamProxy: "v2" | "none";
  /**
   * Whether a TCP peer (its address as the socket reports it) may send a PROXY header: the
   * check linkgate makes against its listener's `trustedProxies` before it reads the header,
   * so a floor pays for reading the peer's address too (a getpeername(2) on both runtimes).
   */
  trusted(address: string | undefined): boolean;
}

/**
 * LISTEN_HOST:PORT UPSTREAM_HOST:PORT HOST[,HOST...] [v2|none] [CIDR[,CIDR...]] from the command
 * line (the CIDRs: the trusted peers, IPv4, 0.0.0.0/0 when absent); prints `usage` and exits 2
 * when it is not that.
 */
export function floorArguments(usage: string): FloorArguments {
  const [listenArg, upstreamArg, hostsArg = "", upstreamProxy = "v2", trustedArg = "0.0.0.0/0"] =
    process.argv.slice(2);
  const fail = (): never => {
    process.stderr.write(
      `usage: ${usage} LISTEN:PORT UPSTREAM:PORT HOST[,HOST] [v2|none] [IPV4_CIDR[,IPV4_CIDR]]\n`,
    );
    process.exit(2);
  };
  const hostPort = (text: string | undefined): { host: string; port: number } => {
    const colon = text?.lastIndexOf(":") ?? -1;
    const port = Number(text?.slice(colon + 1));
    if (text === undefined || colon <= 0 || !Number.isInteger(port)) return fail();
    return { host: text.slice(0, colon), port };
  };
  if (upstreamProxy !== "v2" && upstreamProxy !== "none") return fail();
  return {
    listen: hostPort(listenArg),
    upstream: hostPort(upstreamArg),
    serverNames: hostsArg
      .split(",")
      .filter((h) => h !== "")
      .map((h) => {
        const name = Buffer.from(h, "latin1");
        return Buffer.concat([Buffer.from([0, name.length >> 8, name.length & 0xff]), name]);
      }),
    upstreamProxy,
    trusted: trustedPeers(trustedArg) ?? fail(),
  };
}

/**
 * The check of a TCP peer's address (as the socket reports it) against "CIDR[,CIDR...]", IPv4
 * only; null when the list is not that (or a CIDR has host bits set, as linkgate's config says).
 * Parsed once, at start: per connection it is a few character codes and a mask.
 */
export function trustedPeers(list: string): ((address: string | undefined) => boolean) | null {
  const cidrs: { network: number; mask: number }[] = [];
  for (const text of list.split(",")) {
    const slash = text.indexOf("/");
    const bitsText = text.slice(slash + 1);
    const address = ipv4Number(text.slice(0, slash));
    if (slash < 0 || !/^\d{1,2}$/.test(bitsText) || Number(bitsText) > 32 || address < 0) {
      return null;
    }
    const bits = Number(bitsText);
    const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    if ((address & mask) >>> 0 !== address) return null; // host bits set, as linkgate refuses
    cidrs.push({ network: address, mask });
  }
  return (address) => {
    const a = address === undefined ? -1 : ipv4Number(address);
    return a >= 0 && cidrs.some((c) => (a & c.mask) >>> 0 === c.network);
  };
}

/** "a.b.c.d" (or "::ffff:a.b.c.d", as Node.js reports a mapped peer) as a 32-bit number, or -1. */
function ipv4Number(text: string): number {
  let i = text.startsWith("::ffff:") ? 7 : 0;
  let value = 0;
  for (let part = 0; part < 4; part++) {
    if (part > 0 && text.charCodeAt(i++) !== 0x2e) return -1; // "."
    const start = i;
    let octet = 0;
    for (let c = text.charCodeAt(i); c >= 0x30 && c <= 0x39; c = text.charCodeAt(++i)) {
      octet = octet * 10 + c - 0x30;
    }
    if (i === start || i - start > 3 || octet > 255) return -1;
    value = value * 256 + octet;
  }
  return i === text.length ? value : -1;
}

/** Address bytes of the families a fresh header can carry (TCP over IPv4 or IPv6). */
function addressBytes(family: number): number {
  return family === TCP4 ? 12 : family === TCP6 ? 36 : -1;
}

/**
 * MORE until the PROXY header and the first TLS record are in; then the header's length if
 * the record holds one of `serverNames`, else DROP. DROP as soon as the bytes cannot be one.
 */
export function inspect(b: Buffer, serverNames: readonly Buffer[]): number {
  const signatureBytes = Math.min(b.length, SIGNATURE.length);
  if (b.compare(SIGNATURE, 0, signatureBytes, 0, signatureBytes) !== 0) return DROP;
  if (b.length < 16) return MORE;
  if (b[12] !== VERSION_2_PROXY) return DROP;
  const addressLength = b.readUInt16BE(14);
  if (addressLength < addressBytes(b[13]) || addressBytes(b[13]) < 0) return DROP;
  const headerLength = 16 + addressLength;
  if (b.length < headerLength + 5) return MORE;
  if (b[headerLength] !== TLS_HANDSHAKE) return DROP;
  const recordEnd = headerLength + 5 + b.readUInt16BE(headerLength + 3);
  if (b.length < recordEnd) return MORE;
  const record = b.subarray(headerLength + 5, recordEnd);
  return serverNames.some((entry) => record.includes(entry)) ? headerLength : DROP;
}

/** Bytes of the fresh header for an incoming one that inspect() accepted. */
export function freshHeaderLength(incoming: Buffer): number {
  return 16 + addressBytes(incoming[13]);
}

/**
 * Writes a PROXY v2 header with the incoming header's addresses and no TLV at the start of
 * `out` (room for freshHeaderLength bytes); returns its length.
 */
export function writeFreshHeader(out: Buffer, incoming: Buffer): number {
  const length = freshHeaderLength(incoming);
  out.set(SIGNATURE, 0);
  out[12] = VERSION_2_PROXY;
  out[13] = incoming[13];
  out.writeUInt16BE(length - 16, 14);
  incoming.copy(out, 16, 16, length);
  return length;
}

/** The fresh header in a buffer of its own. */
export function freshHeader(incoming: Buffer): Buffer {
  const header = Buffer.allocUnsafe(freshHeaderLength(incoming));
  writeFreshHeader(header, incoming);
  return header;
}
