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
 * adds. The engine reads the peer's address and port of every accepted socket, as under linkgate;
 * the floor checks the address against the trusted CIDRs.
 *
 *   node|bun bench/floor/engine.ts LISTEN:PORT UPSTREAM:PORT HOST[,HOST...] [v2|none] [CIDR,...]
 *
 * It imports the engine from dist/ (`npm run build`; the suite builds first). Prints
 * {"event":"listening","port":P}; exits on SIGTERM.
 */
// Types from src/; the code from dist/, which the build makes (a clean checkout has none yet).
import type { Engine, EngineSocket, SocketOwner } from "../../src/dataplane/engine.js";
import {
  DROP,
  floorArguments,
  freshHeaderLength,
  inspect,
  MORE,
  READ_AHEAD_BYTES,
  writeFreshHeader,
} from "./minimal.ts";

const fromDist = async (path: string) => {
  const url = new URL(`../../dist/${path}`, import.meta.url);
  try {
    return await import(url.href);
  } catch (error) {
    process.stderr.write(
      `engine.ts: cannot load ${url.pathname} (run \`npm run build\`): ${error}\n`,
    );
    process.exit(2);
  }
};
const { sharedWriteBuffer } = (await fromDist("dataplane/engine.js")) as {
  sharedWriteBuffer: Buffer;
};
const engine: Engine =
  process.versions.bun === undefined
    ? (await fromDist("dataplane/engines/node/index.js")).nodeEngine
    : (await fromDist("dataplane/engines/bun/index.js")).bunEngine;

const { listen, upstream, serverNames, upstreamProxy, trusted } = floorArguments("engine.ts");

/** One proxied connection: owns both sockets, as linkgate's Connection does. */
class FloorConnection implements SocketOwner {
  readonly client: EngineSocket;
  upstream: EngineSocket | null = null;
  /** The client's bytes until the upstream has them. */
  received: Buffer | null = null;
  headerLength = 0;
  clientEnded = false;
  upstreamEnded = false;
  /** Paused while connecting: the client sent more than the read-ahead (as linkgate). */
  clientPaused = false;

  constructor(client: EngineSocket) {
    this.client = client;
  }

  onOpen(socket: EngineSocket): void {
    if (socket === this.client) {
      // The engine read the peer's address at accept, as under linkgate.
      if (!trusted(socket.remoteAddress)) socket.destroy();
      return;
    }
    // Connected: one write of a fresh header (the incoming addresses) and the client's bytes.
    const b = this.received as Buffer;
    this.received = null;
    const rest = b.subarray(this.headerLength);
    const headerBytes = upstreamProxy === "none" ? 0 : freshHeaderLength(b);
    // The shared buffer, unless the bytes read meanwhile do not fit (as linkgate does).
    const out =
      headerBytes + rest.length <= sharedWriteBuffer.length
        ? sharedWriteBuffer
        : Buffer.allocUnsafe(headerBytes + rest.length);
    if (headerBytes > 0) writeFreshHeader(out, b);
    out.set(rest, headerBytes);
    socket.write(out, headerBytes + rest.length);
    this.client.relayReads();
    if (this.clientEnded) socket.shutdown();
    else if (this.clientPaused) this.client.resume();
    this.clientPaused = false;
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
    if (this.upstream !== null) {
      // Read while connecting: sent with the rest; past the read-ahead, the client waits.
      if (this.received.length > this.headerLength + READ_AHEAD_BYTES && !this.clientPaused) {
        this.clientPaused = true;
        this.client.pause();
      }
      return;
    }
    const headerLength = inspect(this.received, serverNames);
    if (headerLength === MORE) return;
    if (headerLength === DROP) {
      this.client.destroy();
      return;
    }
    this.headerLength = headerLength;
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

const server = await engine.listen(listen, (socket) => new FloorConnection(socket));
process.stdout.write(`${JSON.stringify({ event: "listening", port: server.port })}\n`);
process.on("SIGTERM", () => process.exit(0));
