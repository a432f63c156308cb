/**
 * The data plane's sockets on Node.js (`node:net`), see ../../engine.ts. Socket events go to
 * module-level functions that find their EngineSocket through a symbol on the `net.Socket` (as
 * undici does): no closure per socket. Reads land in one shared buffer from the first byte (a
 * header-phase read is copied out of it for the connection to keep), and writes go out with
 * one write(2) when nothing is queued (relay-io.ts).
 */
import net from "node:net";
import {
  type Engine,
  type EngineServer,
  type EngineSocket,
  type ListenOptions,
  type SocketOwner,
  sharedWriteBuffer,
} from "../../engine.js";
import {
  descriptorOf,
  peerOf,
  readIntoRelayBuffer,
  relayBuffer,
  type WriteError,
  writeNow,
} from "./relay-io.js";

const kSocket = Symbol("linkgate.engineSocket");

type RawSocket = net.Socket & { [kSocket]?: NodeSocket };

class NodeSocket implements EngineSocket {
  readonly raw: RawSocket;
  owner: SocketOwner;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** The descriptor for direct writes (relay-io.ts), -1 until known (or where there is none). */
  fd = -1;
  /**
   * Reads land in the shared buffer (relay-io.ts) where Node.js allows it: for a dialled socket
   * from the start, for an accepted one from accept. Until `relaying`, each such read is copied
   * into a buffer of its own before the owner gets it (the header phase keeps its bytes).
   */
  relaying = false;

  /** `accepted`: read the peer (a dialled socket's is never read, and not known yet). */
  constructor(raw: RawSocket, owner: SocketOwner, accepted: boolean) {
    this.raw = raw;
    this.owner = owner;
    raw[kSocket] = this;
    if (accepted) {
      const peer = peerOf(raw);
      this.remoteAddress = peer.address;
      this.remotePort = peer.port;
    } else {
      this.remoteAddress = "";
      this.remotePort = 0;
    }
  }

  localAddress(): { address: string; port: number } {
    return { address: this.raw.localAddress ?? "", port: this.raw.localPort ?? 0 };
  }

  write(buffer: Buffer, length: number): boolean {
    const raw = this.raw;
    if (raw.destroyed) return true;
    let written = 0;
    if (this.fd >= 0 && raw.writableLength === 0) {
      try {
        written = writeNow(this.fd, buffer, length);
      } catch (error) {
        this.owner.onError(this, (error as WriteError).code);
        return true;
      }
      if (written === length) return true;
    }
    // The shared buffers are copied (see relay-io.ts and engine.ts); a caller's own is kept.
    if (buffer === relayBuffer || buffer === sharedWriteBuffer)
      return raw.write(Buffer.from(buffer.subarray(written, length)));
    return raw.write(
      written === 0 && length === buffer.length ? buffer : buffer.subarray(written, length),
    );
  }

  shutdown(): void {
    const raw = this.raw;
    // After the peer's FIN, with nothing queued, both directions are done: a close sends the
    // same FIN (every byte was read, so no reset) and spares the shutdown(2) and Node's
    // shutdown request. Bytes already handed to the kernel are still sent.
    if (raw.readableEnded && raw.writableLength === 0 && !raw.destroyed) raw.destroy();
    else raw.end();
  }

  pause(): void {
    this.raw.pause();
  }

  resume(): void {
    this.raw.resume();
  }

  destroy(): void {
    this.raw.destroy();
  }

  setKeepAlive(delayMs: number): void {
    this.raw.setKeepAlive(true, delayMs);
  }

  relayReads(): void {
    // Where Node.js gave no shared reads ('data' events), every read is a buffer of its own
    // already, and bytes read while paused come, in order, when the relay resumes reading.
    this.relaying = true;
  }
}

function socketOf(raw: RawSocket): NodeSocket {
  return raw[kSocket] as NodeSocket;
}

function onData(this: RawSocket, chunk: Buffer): void {
  const s = socketOf(this);
  s.owner.onData(s, chunk, chunk.length);
}

function onRelayRead(this: RawSocket, nread: number, buffer: Buffer): boolean {
  const s = socketOf(this);
  if (s.relaying) {
    s.owner.onData(s, buffer, nread);
  } else {
    // The header phase keeps what it reads: a copy of its own, out of the shared buffer.
    s.owner.onData(s, Buffer.copyBytesFrom(buffer, 0, nread), nread);
  }
  return true;
}

function onEnd(this: RawSocket): void {
  const s = socketOf(this);
  s.owner.onEnd(s);
}

function onDrain(this: RawSocket): void {
  const s = socketOf(this);
  s.owner.onDrain(s);
}

function onError(this: RawSocket, error: Error): void {
  const s = socketOf(this);
  const code = (error as NodeJS.ErrnoException).code;
  s.owner.onError(s, typeof code === "string" ? code : null);
}

function onClose(this: RawSocket): void {
  const s = socketOf(this);
  s.owner.onClose(s);
}

function onConnect(this: RawSocket): void {
  const s = socketOf(this);
  s.fd = descriptorOf(this);
  s.owner.onOpen(s);
}

function listen(
  options: ListenOptions,
  accept: (socket: EngineSocket) => SocketOwner,
): Promise<EngineServer> {
  // allowHalfOpen: a client's FIN is forwarded upstream instead of closing both directions.
  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: false, noDelay: true });
  server.on("connection", (raw: RawSocket) => {
    const s = new NodeSocket(raw, null as unknown as SocketOwner, true);
    s.fd = descriptorOf(raw);
    s.owner = accept(s);
    // Reads into the shared buffer from the first byte: no stream machinery per read, no
    // 'data' listener (which would set the stream flowing, a tick later).
    if (!readIntoRelayBuffer(raw, onRelayRead)) raw.on("data", onData);
    raw.on("end", onEnd);
    raw.on("drain", onDrain);
    raw.on("error", onError);
    raw.on("close", onClose);
    s.owner.onOpen(s);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    // Under `serve --workers N`, node:cluster turns this into one socket shared by every worker.
    server.listen({ host: options.host, port: options.port, backlog: 4096 }, () => {
      server.off("error", reject);
      const a = server.address() as net.AddressInfo;
      resolve({
        host: a.address,
        port: a.port,
        // server.close()'s callback waits for every connection to end: draining waits for
        // those separately.
        stopAccepting: () => {
          if (server.listening) server.close();
        },
      });
    });
  });
}

function connect(host: string, port: number, owner: SocketOwner): EngineSocket {
  const raw: RawSocket = net.connect({
    host,
    port,
    allowHalfOpen: true,
    noDelay: true,
    // Reads land in the shared buffer from the start: a dialled socket's bytes are only relayed.
    onread: { buffer: relayBuffer, callback: onRelayRead },
  });
  const s = new NodeSocket(raw, owner, false);
  s.relaying = true;
  raw.on("end", onEnd);
  raw.on("drain", onDrain);
  raw.on("error", onError);
  raw.on("close", onClose);
  // on(), not once(): "connect" comes at most once, and once() makes a wrapper per connection.
  raw.on("connect", onConnect);
  return s;
}

export const nodeEngine: Engine = { name: "node", listen, connect };
