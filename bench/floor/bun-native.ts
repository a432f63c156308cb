/**
 * The runtime's floor on Bun's own TCP API (`Bun.listen`, `Bun.connect`): the least a Bun proxy
 * must do for an allowed linkgate connection, with nothing else (no policy, no deadlines, no
 * logs, no metrics). `npm run bench` runs it as the `floor-bun-native` system, the yardstick of
 * linkgate's Bun engine (`floor-bun` is bench/floor/node.ts run by Bun, on its node:net).
 *
 *   bun bench/floor/bun-native.ts LISTEN:PORT UPSTREAM:PORT HOST[,HOST...] [v2|none] [CIDR,...]
 *
 * The same work as bench/floor/node.ts (same checks, the trusted peer's among them, same fresh
 * header, same relay), plus what Bun's API leaves to the program: write() queues nothing, so what
 * the kernel does not take is queued here; the half-close is shutdown() (end() closes outright); a
 * socket whose write side is shut closes without an end event when the peer's FIN arrives. Like
 * linkgate, it spares Bun's pause() and resume() where they change nothing (a client is not paused
 * while its upstream connects unless it sends more than 64 KiB), its FIN after the peer's is a
 * close, it closes with close() (end() makes a setsockopt(2) first), and its upstream sockets get a
 * drain handler only once a write leaves bytes queued (with one, the upstream's FIN costs another
 * setsockopt(2)). Prints {"event":"listening","port":P}; exits on SIGTERM.
 */
import { DROP, floorArguments, freshHeader, inspect, MORE, READ_AHEAD_BYTES } from "./minimal.ts";

interface Socket {
  data: Side;
  /** A getpeername(2) at its first read; Bun keeps the answer. */
  readonly remoteAddress: string;
  write(data: Uint8Array, byteOffset?: number, byteLength?: number): number;
  shutdown(): void;
  close(): void;
  reload(options: { socket: object }): void;
  pause(): void;
  resume(): void;
}

/** One socket's half of a proxied connection. */
interface Side {
  socket: Socket | null;
  other: Side | null;
  /** Client side only: bytes until the PROXY header and the first TLS record are in. */
  buffered: Buffer | null;
  /** What the kernel did not take yet (or everything, before a dialled socket opens). */
  queue: Buffer[];
  finPending: boolean;
  ended: boolean;
  /** Reading is paused (Bun's pause() and resume() are not free: see pause and resume). */
  paused: boolean;
  /** Bun calls drain on it: client sockets always, upstream ones once bytes were queued. */
  drainWatched: boolean;
  /** Bytes queued while the socket connects (client bytes after the hello). */
  connectingBytes: number;
}

const Bun = (
  globalThis as unknown as {
    Bun: {
      listen(options: object): { port: number };
      connect(options: object): Promise<unknown>;
    };
  }
).Bun;

const { listen, upstream, serverNames, upstreamProxy, trusted } =
  floorArguments("bun bun-native.ts");

function side(socket: Socket | null, drainWatched: boolean): Side {
  return {
    socket,
    other: null,
    buffered: null,
    queue: [],
    finPending: false,
    ended: false,
    paused: false,
    drainWatched,
    connectingBytes: 0,
  };
}

/** Bun's pause() and resume() each change the poll twice and wake the loop: only when needed. */
function pause(s: Side): void {
  if (s.paused) return;
  s.paused = true;
  s.socket?.pause();
}

function resume(s: Side | null): void {
  if (s === null || !s.paused) return;
  s.paused = false;
  s.socket?.resume();
}

/** Our FIN: after the peer's, a close (the same FIN, one system call less), else the half-close. */
function sendFin(s: Side): void {
  const socket = s.socket as Socket;
  if (s.ended) socket.close();
  else socket.shutdown();
}

/** Sends `data` on `to`; false when some of it had to be queued (pause the reader). */
function send(to: Side, data: Buffer): boolean {
  if (to.socket === null) {
    to.queue.push(data);
    to.connectingBytes += data.length;
    return to.connectingBytes <= READ_AHEAD_BYTES;
  }
  if (to.queue.length > 0) {
    to.queue.push(data);
    return false;
  }
  const n = to.socket.write(data);
  if (n >= data.length || n < 0) return true;
  to.queue.push(data.subarray(n));
  watchDrain(to);
  return false;
}

/** Bytes are queued on `s`: an upstream socket gets its drain handler now. */
function watchDrain(s: Side): void {
  if (s.drainWatched) return;
  s.drainWatched = true;
  (s.socket as Socket).reload({ socket: drainingUpstreamHandlers });
}

/** Writes what is queued on `s`; then its pending FIN, and resumes the other side's reads. */
function flush(s: Side): void {
  const socket = s.socket as Socket;
  while (s.queue.length > 0) {
    const head = s.queue[0];
    const n = socket.write(head);
    if (n < 0) return;
    if (n < head.length) {
      s.queue[0] = head.subarray(n);
      watchDrain(s);
      return;
    }
    s.queue.shift();
  }
  if (s.finPending) sendFin(s);
  resume(s.other);
}

/** `from` sent its FIN: `to` half-closes once its queue is written. */
function forwardFin(from: Side): void {
  from.ended = true;
  const to = from.other;
  if (to === null) return;
  if (to.socket === null || to.queue.length > 0) to.finPending = true;
  else sendFin(to);
}

function drain(socket: Socket): void {
  flush(socket.data);
}

const relayHandlers = {
  data(socket: Socket, data: Buffer) {
    const s = socket.data;
    if (!send(s.other as Side, data)) pause(s);
  },
  end(socket: Socket) {
    forwardFin(socket.data);
  },
  close(socket: Socket, error?: Error) {
    const s = socket.data;
    if (error !== undefined) s.other?.socket?.close();
    else if (!s.ended) forwardFin(s); // the FIN after our own: Bun reports no end
  },
};

const upstreamHandlers = {
  ...relayHandlers,
  open(socket: Socket) {
    const s = socket.data;
    s.socket = socket;
    flush(s);
  },
  connectError(socket: Socket) {
    socket.data.other?.socket?.close();
  },
};
const drainingUpstreamHandlers = { ...upstreamHandlers, drain };

const clientHandlers = {
  ...relayHandlers,
  drain,
  open(socket: Socket) {
    socket.data = side(socket, true);
    if (!trusted(socket.remoteAddress)) socket.close();
  },
  data(socket: Socket, data: Buffer) {
    const s = socket.data;
    if (s.other !== null) {
      relayHandlers.data(socket, data);
      return;
    }
    const buffered = s.buffered === null ? data : Buffer.concat([s.buffered, data]);
    const headerLength = inspect(buffered, serverNames);
    if (headerLength === MORE) {
      s.buffered = buffered;
      return;
    }
    if (headerLength === DROP) {
      socket.close();
      return;
    }
    s.buffered = null;
    const u = side(null, false);
    u.other = s;
    s.other = u;
    const received = buffered.subarray(headerLength);
    u.queue.push(
      upstreamProxy === "none" ? received : Buffer.concat([freshHeader(buffered), received]),
    );
    Bun.connect({
      hostname: upstream.host,
      port: upstream.port,
      allowHalfOpen: true,
      data: u,
      socket: upstreamHandlers,
    }).catch(() => {});
  },
  end(socket: Socket) {
    const s = socket.data;
    if (s.other === null)
      socket.close(); // FIN before the ClientHello was in
    else forwardFin(s);
  },
};

const listener = Bun.listen({
  hostname: listen.host,
  port: listen.port,
  allowHalfOpen: true,
  socket: clientHandlers,
});
process.stdout.write(`${JSON.stringify({ event: "listening", port: listener.port })}\n`);
process.on("SIGTERM", () => process.exit(0));
