/**
 * The runtime's floor on Node.js: the least a proxy must do for an allowed linkgate connection,
 * written the plain `node:net` way, with nothing else (no policy, no deadlines, no logs, no
 * metrics). `npm run bench` runs it as the `floor-node` system, so that every run shows
 * linkgate's own cost over what Node.js itself costs for the same work.
 *
 *   node bench/floor/node.ts LISTEN_HOST:PORT UPSTREAM_HOST:PORT HOST[,HOST...] [v2|none]
 *
 * Per connection: read the whole PROXY v2 header and the whole first TLS record, accept it if
 * the record holds one of the host names as a server_name entry (a byte search), connect to
 * the upstream, send a fresh PROXY v2 header with the client's addresses (unless `none`, the
 * suite's --upstream-proxy none), then the bytes after the incoming header exactly as
 * received, then relay both ways with backpressure and half-close. Anything else is dropped. Node.js >= 22.18 runs this file as it is (type
 * stripping): no loader is measured. Prints {"event":"listening","port":P}; exits on SIGTERM.
 */
import net from "node:net";

const SIGNATURE = Buffer.from("0d0a0d0a000d0a515549540a", "hex");
const VERSION_2_PROXY = 0x21;
const TCP4 = 0x11;
const TCP6 = 0x21;
const TLS_HANDSHAKE = 0x16;
const MORE = 0;
const DROP = -1;

function hostPort(text: string | undefined): { host: string; port: number } {
  const colon = text?.lastIndexOf(":") ?? -1;
  const port = Number(text?.slice(colon + 1));
  if (text === undefined || colon <= 0 || !Number.isInteger(port)) {
    process.stderr.write("usage: node node.ts LISTEN:PORT UPSTREAM:PORT HOST[,HOST] [v2|none]\n");
    process.exit(2);
  }
  return { host: text.slice(0, colon), port };
}

const [listenArg, upstreamArg, hostsArg = "", upstreamProxy = "v2"] = process.argv.slice(2);
const listen = hostPort(listenArg);
const upstream = hostPort(upstreamArg);
// A server_name entry as the extension carries it: type 0 (host_name), 2-byte length, name.
const serverNames = hostsArg
  .split(",")
  .filter((h) => h !== "")
  .map((h) => {
    const name = Buffer.from(h, "latin1");
    return Buffer.concat([Buffer.from([0, name.length >> 8, name.length & 0xff]), name]);
  });

/** Address bytes of the families a fresh header can carry (TCP over IPv4 or IPv6). */
function addressBytes(family: number): number {
  return family === TCP4 ? 12 : family === TCP6 ? 36 : -1;
}

/**
 * MORE until the PROXY header and the first TLS record are in; then the header's length if
 * the record names an accepted host, else DROP. DROP as soon as the bytes cannot be one.
 */
function inspect(b: Buffer): number {
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

/** A PROXY v2 header with the incoming header's addresses and no TLV. */
function freshHeader(incoming: Buffer): Buffer {
  const length = addressBytes(incoming[13]);
  const header = Buffer.allocUnsafe(16 + length);
  SIGNATURE.copy(header, 0);
  header[12] = VERSION_2_PROXY;
  header[13] = incoming[13];
  header.writeUInt16BE(length, 14);
  incoming.copy(header, 16, 16, 16 + length);
  return header;
}

/**
 * from -> to: pause `from` while `to` cannot take more; its FIN ends `to`'s write half. Each
 * socket closes by itself once both of its halves have ended (net sockets auto-destroy).
 */
function relay(from: net.Socket, to: net.Socket): void {
  from.on("data", (chunk: Buffer) => {
    if (!to.write(chunk)) from.pause();
  });
  to.on("drain", () => from.resume());
  from.on("end", () => to.end());
}

function onConnection(client: net.Socket): void {
  let buffered: Buffer = Buffer.alloc(0);
  let server: net.Socket | null = null;
  client.on("error", () => server?.destroy());
  client.on("end", () => {
    if (server === null) client.destroy(); // FIN before the ClientHello was in
  });
  const onHeaderData = (chunk: Buffer): void => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    const headerLength = inspect(buffered);
    if (headerLength === MORE) return;
    if (headerLength === DROP) {
      client.destroy();
      return;
    }
    client.off("data", onHeaderData);
    const s = net.connect({ ...upstream, allowHalfOpen: true, noDelay: true });
    server = s;
    s.on("error", () => client.destroy());
    // Written before the connect completes: the socket sends it once connected.
    const received = buffered.subarray(headerLength);
    s.write(upstreamProxy === "none" ? received : Buffer.concat([freshHeader(buffered), received]));
    relay(client, s);
    relay(s, client);
  };
  client.on("data", onHeaderData);
}

const listener = net.createServer({ allowHalfOpen: true, noDelay: true }, onConnection);
listener.listen({ ...listen, backlog: 4096 }, () => {
  const { port } = listener.address() as net.AddressInfo;
  process.stdout.write(`${JSON.stringify({ event: "listening", port })}\n`);
});
process.on("SIGTERM", () => process.exit(0));
