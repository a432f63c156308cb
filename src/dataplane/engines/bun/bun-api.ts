/**
 * The part of Bun's native TCP API (`Bun.listen`, `Bun.connect`) the Bun engine uses, typed
 * here so that linkgate type-checks and loads on Node.js too; behaviour measured on Bun 1.4.5
 * and pinned by test/engines/bun-api.test.ts, where it differs from Bun's own documentation.
 */

/** A Bun TCP socket; `data` is whatever linkgate attached to it. */
export interface BunSocket<Data> {
  data: Data;
  /** The socket's file descriptor. */
  readonly fd: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  /**
   * One attempt: the bytes the kernel took (maybe fewer than given, 0 when full), -1 once the
   * socket is closed. Nothing is queued.
   */
  write(data: Uint8Array, byteOffset?: number, byteLength?: number): number;
  /** No argument: the write side (a FIN; reading goes on). `true`: the read side. */
  shutdown(readSide?: boolean): void;
  /**
   * Closes the socket at once, even with allowHalfOpen: not a half-close. Sets TCP_CORK off
   * first (a setsockopt(2) that changes nothing for a socket never corked).
   */
  end(): void;
  /**
   * Closes the socket at once (close(2): a FIN, or a reset if unread bytes remain, as for
   * `end()`), without `end()`'s setsockopt(2); the `close` handler runs as for `end()`.
   */
  close(): void;
  /**
   * Replaces the handlers. A dialled socket's handlers are its own; an accepted socket's are
   * its listener's, shared by every socket it accepted.
   */
  reload(options: { socket: BunSocketHandlers<Data> }): void;
  pause(): void;
  resume(): void;
  setKeepAlive(enable: boolean, initialDelayMs: number): boolean;
  setNoDelay(noDelay: boolean): boolean;
}

/** Errors carry the errno code (ECONNREFUSED, ECONNRESET, EPIPE, ...). */
export type BunSocketError = Error & { code?: string };

export interface BunSocketHandlers<Data> {
  open?(socket: BunSocket<Data>): void;
  data(socket: BunSocket<Data>, data: Buffer): void;
  /** The peer's FIN, when it arrives before linkgate shut its own write side. */
  end?(socket: BunSocket<Data>): void;
  /**
   * The socket is writable again after a write the kernel did not take in full. Where this
   * handler is set, Bun also calls it (after a setsockopt(2) of TCP_CORK) when the peer's FIN
   * arrives on a half-open socket, which it then polls for writing once.
   */
  drain?(socket: BunSocket<Data>): void;
  /** The last event: `error` set when a socket error (a reset, a broken pipe) closed it. */
  close?(socket: BunSocket<Data>, error?: BunSocketError): void;
  error?(socket: BunSocket<Data>, error: BunSocketError): void;
  connectError?(socket: BunSocket<Data>, error: BunSocketError): void;
}

export interface BunListener {
  readonly hostname: string;
  readonly port: number;
  /** Stops accepting; `true` also closes the live sockets. */
  stop(closeActiveConnections?: boolean): void;
}

export interface BunApi {
  listen<Data>(options: {
    hostname: string;
    port: number;
    allowHalfOpen?: boolean;
    reusePort?: boolean;
    socket: BunSocketHandlers<Data>;
  }): BunListener;
  connect<Data>(options: {
    hostname: string;
    port: number;
    allowHalfOpen?: boolean;
    data?: Data;
    socket: BunSocketHandlers<Data>;
  }): Promise<BunSocket<Data>>;
}

/** `Bun`, on Bun; throws elsewhere. */
export function bunApi(): BunApi {
  const bun = (globalThis as { Bun?: BunApi }).Bun;
  if (bun === undefined) throw new Error("the Bun engine runs on Bun only (run linkgate with bun)");
  return bun;
}
