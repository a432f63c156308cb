/**
 * What every floor of bench/floor/ shares: its command line, the check that the bytes read so
 * far are a PROXY v2 header and a first TLS record naming an accepted host (a byte search), and
 * the fresh PROXY v2 header it sends upstream. One copy, so that the floors cannot drift apart:
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
}

/**
 * LISTEN_HOST:PORT UPSTREAM_HOST:PORT HOST[,HOST...] [v2|none] from the command line; prints
 * `usage` and exits 2 when it is not that.
 */
export function floorArguments(usage: string): FloorArguments {
  const [listenArg, upstreamArg, hostsArg = "", upstreamProxy = "v2"] = process.argv.slice(2);
  const fail = (): never => {
    process.stderr.write(`usage: ${usage} LISTEN:PORT UPSTREAM:PORT HOST[,HOST] [v2|none]\n`);
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
  };
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
