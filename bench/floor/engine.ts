/**
 * The floor's work on linkgate's own engine: the same minimal proxy as node.ts and
 * bun-native.ts (read the PROXY v2 header and the first TLS record, accept it if the record
 * names one of the host names, connect, send a fresh PROXY v2 header and the bytes after the
 * incoming header, relay both ways with backpressure and half-close), but on the socket layer
 * linkgate's data plane uses (src/dataplane/engines: node:net with the shared read buffer and
 * direct writes on Node.js, Bun.listen / Bun.connect on Bun), and nothing else of linkgate: no
 * decoders, policy, deadlines, registry, logs or metrics. `npm run bench` runs it as
 * `floor-node-engine` and `floor-bun-engine`. Between the runtime's floor and linkgate, it
 * splits linkgate's cost into what its engine adds (or saves) and what the rest of linkgate
 * adds. The engine reads the peer's address and port of every accepted socket, as under linkgate.
 *
 *   node|bun bench/floor/engine.ts LISTEN_HOST:PORT UPSTREAM_HOST:PORT HOST[,HOST...] [v2|none]
 *
 * It imports the engine from dist/ (`npm run build`; the suite builds first). Prints
 * {"event":"listening","port":P}; exits on SIGTERM.
 */
// Types from src/; the code from dist/, which the build makes (a clean checkout has none yet).
import type { Engine, EngineSocket, SocketOwner } from "../../src/dataplane/engine.js";

const fromDist = (path: string) => import(new URL(`../../dist/${path}`, import.meta.url).href);
const { sharedWriteBuffer } = (await fromDist("dataplane/engine.js")) as {
  sharedWriteBuffer: Buffer;
};
const engine: Engine =
  process.versions.bun === undefined
    ? (await fromDist("dataplane/engines/node/index.js")).nodeEngine
    : (await fromDist("dataplane/engines/bun/index.js")).bunEngine;

const SIGNATURE = Buffer.from("0d0a0d0a000d0a515549540a", "hex");
const MORE = 0;
const DROP = -1;

function hostPort(text: string | undefined): { host: string; port: number } {
  const colon = text?.lastIndexOf(":") ?? -1;
  const port = Number(text?.slice(colon + 1));
  if (text === undefined || colon <= 0 || !Number.isInteger(port)) {
    process.stderr.write("usage: engine.ts LISTEN:PORT UPSTREAM:PORT HOST[,HOST] [v2|none]\n");
    process.exit(2);
  }
  return { host: text.slice(0, colon), port };
}

const [listenArg, upstreamArg, hostsArg = "", upstreamProxy = "v2"] = process.argv.slice(2);
const listenAt = hostPort(listenArg);
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
  return family === 0x11 ? 12 : family === 0x21 ? 36 : -1;
}

/** As in node.ts: MORE, DROP, or the incoming header's length once the record names a host. */
function inspect(b: Buffer): number {
  const signatureBytes = Math.min(b.length, SIGNATURE.length);
  if (b.compare(SIGNATURE, 0, signatureBytes, 0, signatureBytes) !== 0) return DROP;
  if (b.length < 16) return MORE;
  if (b[12] !== 0x21) return DROP;
  const addressLength = b.readUInt16BE(14);
  if (addressLength < addressBytes(b[13]) || addressBytes(b[13]) < 0) return DROP;
  const headerLength = 16 + addressLength;
  if (b.length < headerLength + 5) return MORE;
  if (b[headerLength] !== 0x16) return DROP;
  const recordEnd = headerLength + 5 + b.readUInt16BE(headerLength + 3);
  if (b.length < recordEnd) return MORE;
  const record = b.subarray(headerLength + 5, recordEnd);
  return serverNames.some((entry) => record.includes(entry)) ? headerLength : DROP;
}

/** One proxied connection: owns both sockets, as linkgate's Connection does. */
class FloorConnection implements SocketOwner {
  readonly client: EngineSocket;
  upstream: EngineSocket | null = null;
  /** The client's bytes until the upstream has them. */
  received: Buffer | null = null;
  headerLength = 0;
  clientEnded = false;
  upstreamEnded = false;

  constructor(client: EngineSocket) {
    this.client = client;
  }

  onOpen(socket: EngineSocket): void {
    if (socket === this.client) return;
    // Connected: one write of a fresh header (the incoming addresses) and the client's bytes.
    const b = this.received as Buffer;
    this.received = null;
    const rest = b.subarray(this.headerLength);
    const headerBytes = upstreamProxy === "none" ? 0 : 16 + addressBytes(b[13]);
    // The shared buffer, unless the bytes read meanwhile do not fit (as linkgate does).
    const out =
      headerBytes + rest.length <= sharedWriteBuffer.length
        ? sharedWriteBuffer
        : Buffer.allocUnsafe(headerBytes + rest.length);
    if (headerBytes > 0) {
      out.set(SIGNATURE, 0);
      out[12] = 0x21;
      out[13] = b[13];
      out.writeUInt16BE(headerBytes - 16, 14);
      out.set(b.subarray(16, headerBytes), 16);
    }
    out.set(rest, headerBytes);
    socket.write(out, headerBytes + rest.length);
    this.client.relayReads();
    if (this.clientEnded) socket.shutdown();
    else this.client.resume();
  }

  onData(socket: EngineSocket, buffer: Buffer, length: number): void {
    const to = socket === this.client ? this.upstream : this.client;
    if (to !== null && this.received === null) {
      if (!to.write(buffer, length)) socket.pause();
      return;
    }
    if (socket !== this.client) return;
    // Header phase: the engine hands over reads the owner may keep.
    const chunk = buffer.subarray(0, length);
    this.received = this.received === null ? chunk : Buffer.concat([this.received, chunk]);
    if (this.upstream !== null) return; // read while connecting: sent with the rest
    const headerLength = inspect(this.received);
    if (headerLength === MORE) return;
    if (headerLength === DROP) {
      this.client.destroy();
      return;
    }
    this.headerLength = headerLength;
    this.client.pause();
    this.upstream = engine.connect(upstream.host, upstream.port, this);
  }

  onEnd(socket: EngineSocket): void {
    if (socket !== this.client) {
      this.upstreamEnded = true;
      this.client.shutdown();
    } else if (this.upstream === null) {
      this.client.destroy(); // FIN before the ClientHello was in
    } else {
      this.clientEnded = true;
      if (this.received === null) this.upstream.shutdown(); // else once connected (onOpen)
    }
  }

  onDrain(socket: EngineSocket): void {
    (socket === this.client ? this.upstream : this.client)?.resume();
  }

  onError(socket: EngineSocket): void {
    (socket === this.client ? this.upstream : this.client)?.destroy();
  }

  onClose(socket: EngineSocket): void {
    // The upstream closing after its FIN: the client closes once its queue is written.
    if (socket === this.client) this.upstream?.destroy();
    else if (!this.upstreamEnded) this.client.destroy();
  }
}

const server = await engine.listen(listenAt, (socket) => new FloorConnection(socket));
process.stdout.write(`${JSON.stringify({ event: "listening", port: server.port })}\n`);
process.on("SIGTERM", () => process.exit(0));
