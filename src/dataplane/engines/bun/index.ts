/**
 * The data plane's sockets on Bun's native TCP API (`Bun.listen`, `Bun.connect`), see
 * ../../engine.ts. One small object per socket carries the engine's state; Bun hands it back
 * as `socket.data` to one shared set of handlers: no closure per socket.
 *
 * What Bun 1.4.5 does that shapes this file (pinned by test/engines/bun-api.test.ts):
 * - `write()` makes one attempt and queues nothing: what the kernel did not take is queued
 *   here, in order, and written on `drain`;
 * - `end()` closes the socket at once, even with `allowHalfOpen`: the half-close is
 *   `shutdown()` without an argument (`shutdown(true)` shuts the read side instead);
 * - a socket whose write side was shut closes when the peer's FIN arrives, with no `end`
 *   event: that FIN is reported here before the close;
 * - socket errors (a reset, a broken pipe) arrive as the close event's error;
 * - every read is a new buffer of its own: there is no shared read buffer to protect, so
 *   queued writes keep the buffers they are given (but for engine.ts's sharedWriteBuffer);
 * - `remoteAddress` and `remotePort` make a getpeername(2) each: peer-name.ts makes one;
 * - `end()` sets TCP_CORK off before its close(2), a system call for nothing here: `close()`
 *   closes the same way without it;
 * - with a `drain` handler, the peer's FIN on a half-open socket costs that handler's call and
 *   the same TCP_CORK setsockopt(2) (Bun polls the socket for writing once): dialled sockets,
 *   whose handlers are their own, get theirs only when a write leaves bytes queued (`reload`).
 *   An accepted socket's handlers are its listener's, shared: they keep `drain`.
 */
import cluster from "node:cluster";
import type { SocketAddressText } from "../../../ip/sockaddr.js";
import {
  type Engine,
  type EngineServer,
  type EngineSocket,
  type ListenOptions,
  type SocketOwner,
  sharedWriteBuffer,
} from "../../engine.js";
import { type BunSocket, type BunSocketError, type BunSocketHandlers, bunApi } from "./bun-api.js";
import { readPeer } from "./peer-name.js";

type Raw = BunSocket<BunEngineSocket>;

/** readPeer's output, reused: sockets are constructed one at a time. */
const peer: SocketAddressText = { address: "", port: 0 };

class BunEngineSocket implements EngineSocket {
  /** Null until a dialled socket connects. */
  raw: Raw | null;
  /** The peer of an accepted socket ("" for a dialled one: nothing reads it). */
  owner: SocketOwner;
  remoteAddress = "";
  remotePort = 0;
  /** What the kernel did not take yet, in order; null when nothing is queued. */
  queue: Buffer[] | null = null;
  /**
   * Bun calls `drain` on it: always for accepted sockets, from the first queued byte for
   * dialled ones.
   */
  drainWatched: boolean;
  /** shutdown() was asked while bytes were queued: the FIN follows them. */
  finPending = false;
  /** The peer's FIN was reported. */
  ended = false;
  destroyed = false;

  constructor(raw: Raw | null, owner: SocketOwner) {
    this.raw = raw;
    this.owner = owner;
    this.drainWatched = raw !== null;
    // Read once, for accepted sockets only: the connection's record needs the client's.
    if (raw !== null) {
      readPeer(raw, peer);
      this.remoteAddress = peer.address;
      this.remotePort = peer.port;
    }
  }

  localAddress(): { address: string; port: number } {
    return { address: this.raw?.localAddress ?? "", port: this.raw?.localPort ?? 0 };
  }

  write(buffer: Buffer, length: number): boolean {
    const raw = this.raw;
    if (this.destroyed || raw === null) return true;
    if (this.queue !== null) {
      this.queue.push(kept(buffer, 0, length));
      return false;
    }
    const written = raw.write(buffer, 0, length);
    // -1: the socket is closed, and its close event says why.
    if (written === length || written < 0) return true;
    this.queue = [kept(buffer, written, length)];
    if (!this.drainWatched) {
      this.drainWatched = true;
      raw.reload(drainingDialOptions);
    }
    return false;
  }

  /** Writes what is queued, on `drain`; then the pending FIN, and tells the owner. */
  flush(): void {
    const raw = this.raw;
    const queue = this.queue;
    if (queue === null || raw === null || this.destroyed) return;
    while (queue.length > 0) {
      const head = queue[0];
      const written = raw.write(head, 0, head.length);
      if (written < 0) return;
      if (written < head.length) {
        queue[0] = head.subarray(written);
        return;
      }
      queue.shift();
    }
    this.queue = null;
    if (this.finPending) this.sendFin(raw);
    this.owner.onDrain(this);
  }

  shutdown(): void {
    if (this.destroyed || this.raw === null) return;
    if (this.queue !== null) this.finPending = true;
    else this.sendFin(this.raw);
  }

  /**
   * Our FIN. After the peer's, both directions are done: close(2) sends the same FIN (every
   * byte was read, so no reset) and saves the shutdown(2) and the poll change and wake-up Bun
   * spends on a socket whose write side is shut. `onClose` follows, as for a shut socket.
   */
  sendFin(raw: Raw): void {
    if (this.ended) raw.close();
    else raw.shutdown();
  }

  pause(): void {
    this.raw?.pause();
  }

  resume(): void {
    this.raw?.resume();
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.queue = null;
    // A dialled socket still connecting is closed when it opens (dialHandlers.open).
    this.raw?.close();
  }

  setKeepAlive(delayMs: number): void {
    this.raw?.setKeepAlive(true, delayMs);
  }

  relayReads(): void {
    // Every read is a buffer of its own already.
  }
}

/** `buffer[from, to)` to queue: a copy out of the shared write buffer, else a view. */
function kept(buffer: Buffer, from: number, to: number): Buffer {
  if (buffer === sharedWriteBuffer) return Buffer.from(buffer.subarray(from, to));
  return from === 0 && to === buffer.length ? buffer : buffer.subarray(from, to);
}

function errnoOf(error: BunSocketError): string | null {
  return typeof error.code === "string" ? error.code : null;
}

/**
 * The events every socket shares; `open` differs between accepted and dialled sockets, and
 * `drain` is set for dialled ones only once they need it (see the top of this file).
 */
const socketHandlers: BunSocketHandlers<BunEngineSocket> = {
  data(raw, data) {
    const s = raw.data;
    s.owner.onData(s, data, data.length);
  },
  end(raw) {
    const s = raw.data;
    s.ended = true;
    s.owner.onEnd(s);
  },
  error(raw, error) {
    const s = raw.data;
    s.owner.onError(s, errnoOf(error));
  },
  close(raw, error) {
    const s = raw.data;
    if (error !== undefined) s.owner.onError(s, errnoOf(error));
    else if (!s.ended && !s.destroyed) {
      // Closed without an error after our own FIN: the peer's FIN arrived (Bun reports no end).
      s.ended = true;
      s.owner.onEnd(s);
    }
    s.owner.onClose(s);
  },
};

function drain(raw: Raw): void {
  raw.data.flush();
}

const dialHandlers: BunSocketHandlers<BunEngineSocket> = {
  ...socketHandlers,
  open(raw) {
    const s = raw.data;
    s.raw = raw;
    if (s.destroyed) raw.close();
    else s.owner.onOpen(s);
  },
  connectError(raw, error) {
    const s = raw.data;
    s.owner.onError(s, errnoOf(error));
    s.owner.onClose(s);
  },
};

/** A dialled socket's handlers once a write left bytes queued. */
const drainingDialOptions = { socket: { ...dialHandlers, drain } };

function ignore(): void {}

function listen(
  options: ListenOptions,
  accept: (socket: EngineSocket) => SocketOwner,
): Promise<EngineServer> {
  const handlers: BunSocketHandlers<BunEngineSocket> = {
    ...socketHandlers,
    drain,
    open(raw) {
      const s = new BunEngineSocket(raw, null as unknown as SocketOwner);
      raw.data = s;
      s.owner = accept(s);
      s.owner.onOpen(s);
    },
  };
  try {
    const listener = bunApi().listen<BunEngineSocket>({
      hostname: options.host,
      port: options.port,
      allowHalfOpen: true,
      // Bun has no node:cluster handle passing for its own listeners: under `serve --workers N`
      // each worker binds the port itself, and the kernel spreads connections (SO_REUSEPORT).
      reusePort: cluster.isWorker,
      socket: handlers,
    });
    return Promise.resolve({
      host: listener.hostname,
      port: listener.port,
      stopAccepting: () => listener.stop(false),
    });
  } catch (error) {
    const e = error as BunSocketError;
    return Promise.reject(new Error(`listen ${e.code ?? "failed"}: ${e.message}`));
  }
}

function connect(host: string, port: number, owner: SocketOwner): EngineSocket {
  const s = new BunEngineSocket(null, owner);
  // The promise rejects after connectError has reported the failure.
  bunApi()
    .connect<BunEngineSocket>({
      hostname: host,
      port,
      allowHalfOpen: true,
      data: s,
      socket: dialHandlers,
    })
    .catch(ignore);
  return s;
}

export const bunEngine: Engine = { name: "bun", listen, connect };
