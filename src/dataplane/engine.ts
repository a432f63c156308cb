/**
 * The socket layer of the data plane: everything the connection state machine (connection.ts)
 * and the listeners ask of TCP sockets, with one implementation per runtime: engines/node on
 * `node:net`, engines/bun on `Bun.listen` / `Bun.connect`. The parsers, the policy, the registry,
 * the deadlines and the state machine are shared; only this layer differs (docs/engines.md).
 *
 * A socket reports to one owner (a Connection owns both of its sockets), through the owner's
 * methods, with the socket as the first argument: no closure per socket, and the owner tells
 * its two sockets apart by identity.
 */

/**
 * One process-wide buffer an owner may fill and pass to `write` at once, for bytes it would
 * otherwise allocate a buffer for only to write them (a connection's first upstream write: the
 * fresh PROXY header and the client's first bytes). Every engine copies out of it whatever it
 * must keep, so it is free again as soon as `write` returns. Bytes that do not fit go in a
 * buffer of their own.
 */
export const sharedWriteBuffer: Buffer = Buffer.allocUnsafeSlow(64 * 1024);

/** A connected TCP socket, accepted or dialled. */
export interface EngineSocket {
  /**
   * The TCP peer of an accepted socket, read once ("" when the runtime cannot tell, e.g. a
   * socket already reset; "" for dialled sockets, whose peer nothing reads).
   */
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** The local address (a getsockname: read it only when needed). */
  localAddress(): { address: string; port: number };
  /**
   * Sends `buffer[0, length)` after whatever is already queued. What the kernel does not take
   * now is queued by the engine: copied if `buffer` is `sharedWriteBuffer` (below) or the
   * engine's own read buffer, kept as is otherwise (the caller hands over buffers it will not
   * change). Returns false while something
   * is queued: the caller stops reading the other side until `onDrain`. A failed write is
   * reported through the owner's `onError` before this returns.
   */
  write(buffer: Buffer, length: number): boolean;
  /**
   * Half-close: sends a FIN once everything queued is written; reading goes on. After the
   * peer's FIN (`onEnd`), an engine may close the socket instead (the same FIN): `onClose`
   * follows in both cases once both directions are done.
   */
  shutdown(): void;
  /**
   * Stops and restarts reading (the peer backs up into the kernel buffers). Not free: on Bun
   * each is two poll changes and a wake-up, so a caller pauses only when it must.
   */
  pause(): void;
  resume(): void;
  /** Closes now, discarding what is queued; `onClose` follows. Idempotent. */
  destroy(): void;
  /** TCP keepalive probes after `delayMs` idle. */
  setKeepAlive(delayMs: number): void;
  /**
   * From now on, reads may land in a buffer the engine reuses for every socket (see
   * `SocketOwner.onData`). For accepted sockets, called when the relay starts: the header
   * phase keeps the bytes it reads, the relay does not. Bytes the engine read before are
   * delivered (`onData`) in order, before any later read. Dialled sockets read this way from
   * the start: their bytes are only ever relayed.
   */
  relayReads(): void;
}

/** What a socket reports. Called by the engine; `socket` is the one the event is about. */
export interface SocketOwner {
  /**
   * `buffer[0, length)` was read. Before `relayReads()`, `buffer` holds exactly that read and
   * the owner may keep it; after it, the bytes are valid only until this call returns.
   */
  onData(socket: EngineSocket, buffer: Buffer, length: number): void;
  /** The peer sent its FIN: nothing more will be read. */
  onEnd(socket: EngineSocket): void;
  /** Everything queued was written. */
  onDrain(socket: EngineSocket): void;
  /**
   * The socket is ready: an accepted one right after `accept` returned its owner, a dialled
   * one once connected. The first event; the owner may act on the socket from here on.
   */
  onOpen(socket: EngineSocket): void;
  /** A socket error (refused, reset, broken pipe): its errno code, or null; `onClose` follows. */
  onError(socket: EngineSocket, errno: string | null): void;
  /** The socket is closed for good (both directions done, destroyed, or failed). Last event. */
  onClose(socket: EngineSocket): void;
}

export interface ListenOptions {
  host: string;
  port: number;
}

export interface EngineServer {
  /** The bound address (the port the kernel chose for port 0). */
  readonly host: string;
  readonly port: number;
  /** Stops accepting; live sockets carry on. */
  stopAccepting(): void;
}

export interface Engine {
  readonly name: "node" | "bun";
  /**
   * Binds and accepts; `accept` returns the owner of each new socket, without acting on it yet
   * (`onOpen` follows at once). Sockets have Nagle off and half-open allowed (a FIN travels one
   * direction at a time). Rejects with the runtime's error when the address cannot be bound.
   * In a worker of `serve --workers N`, every worker accepts on the same port.
   */
  listen(
    options: ListenOptions,
    accept: (socket: EngineSocket) => SocketOwner,
  ): Promise<EngineServer>;
  /** Dials host:port for `owner`: `onOpen` once connected, or `onError` then `onClose`. */
  connect(host: string, port: number, owner: SocketOwner): EngineSocket;
}
