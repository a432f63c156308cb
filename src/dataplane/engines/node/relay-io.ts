/**
 * The relay's reads and writes on Node.js: reads of every relayed socket, both directions, land
 * in one process-wide buffer, and each read is handed to the other socket before its callback
 * returns. Nothing is allocated per read unless the receiving socket is backed up.
 *
 * The invariant that makes one shared buffer safe: **no queued write ever points into it.** A
 * socket's next read target is fixed when its previous read completes, so a write queued from
 * the shared buffer would be overwritten by any other socket's next read (a connection would
 * send another connection's bytes). Hence `writeNow` first: when nothing is queued on the
 * receiving socket it writes with one write(2) on its descriptor, synchronously; whatever the
 * kernel does not take is copied into a buffer of its own and queued through the socket as
 * usual (index.ts). When something is already queued, the whole read is copied and queued
 * behind it, in order.
 *
 * Three Node.js details are used that have no public API, each checked, and with a fallback
 * that is slower but equally correct (test/engines/node/relay-io.test.ts pins that all three
 * are in use on the Node.js linkgate ships with):
 * - reads into a caller's buffer (`onread`) exist only for sockets linkgate connects; accepted
 *   sockets get the same, from accept, by setting the three fields `net.Socket`'s own `onread`
 *   option sets, then `_handle.useUserBuffer()`. Fallback: 'data' events (one buffer per read);
 * - the descriptor of a socket (`_handle.fd`) for the direct write. Fallback: every read copied;
 * - the peer of an accepted socket from its handle's `getpeername(out)` into one reused object
 *   (peerOf). The `remoteAddress` getter makes the same system call, but builds an object per
 *   socket and adds it to the socket as `_peername`, a change of the socket's hidden class
 *   that V8 handles in its runtime: about 3 µs per connection under the suite's load in a `perf`
 *   profile, where linkgate must read the address of every connection (the trusted-peer check).
 *   Fallback: the getters.
 */
import { writeSync } from "node:fs";
import net from "node:net";

/** Size of the shared read buffer: one read moves at most this much. */
export const RELAY_READ_SIZE = 64 * 1024;

/** The one buffer every relayed read lands in (see the module comment). */
export const relayBuffer: Buffer = Buffer.allocUnsafe(RELAY_READ_SIZE);

/** A read callback in `onread` form: `this` is the socket that read. */
export type RelayReadCallback = (this: net.Socket, nread: number, buffer: Buffer) => boolean;

interface UserBufferFields {
  buffer: symbol;
  callback: symbol;
  generator: symbol;
}

/** The fields `new net.Socket({ onread })` sets, found by their descriptions on a probe socket. */
function findUserBufferFields(): UserBufferFields | null {
  const probe = new net.Socket({ onread: { buffer: relayBuffer, callback: () => true } });
  const byName = new Map<string | undefined, symbol>();
  for (const s of Object.getOwnPropertySymbols(probe)) byName.set(s.description, s);
  const buffer = byName.get("kBuffer");
  const callback = byName.get("kBufferCb");
  const generator = byName.get("kBufferGen");
  const fields = probe as unknown as Record<symbol, unknown>;
  // The fields must hold what the option set, or they are not what this module takes them for.
  const found =
    buffer !== undefined &&
    callback !== undefined &&
    generator !== undefined &&
    fields[buffer] === relayBuffer &&
    typeof fields[callback] === "function";
  probe.destroy();
  return found ? { buffer, callback, generator } : null;
}

const userBufferFields = findUserBufferFields();

interface PeerOut {
  address: string;
  family: string;
  port: number;
}

interface StreamHandle {
  fd?: number;
  useUserBuffer?: (buffer: Uint8Array) => void;
  getpeername?: (out: PeerOut) => number;
}

function handleOf(socket: net.Socket): StreamHandle | null {
  return ((socket as unknown as { _handle?: StreamHandle | null })._handle ??
    null) as StreamHandle | null;
}

/**
 * Switches an accepted socket to reads into `relayBuffer`, delivered to `callback`. Call it
 * before its first read (in the 'connection' event), or with the socket paused and its stream
 * buffer empty (`read()` until null): bytes already read stay in the stream buffer otherwise. Returns
 * false, changing nothing, where Node.js does not allow it; keep using 'data' events then.
 */
export function readIntoRelayBuffer(socket: net.Socket, callback: RelayReadCallback): boolean {
  const handle = handleOf(socket);
  if (userBufferFields === null || handle === null || typeof handle.useUserBuffer !== "function")
    return false;
  const fields = socket as unknown as Record<symbol, unknown>;
  fields[userBufferFields.buffer] = relayBuffer;
  fields[userBufferFields.callback] = callback;
  fields[userBufferFields.generator] = null;
  handle.useUserBuffer(relayBuffer);
  return true;
}

/** Whether accepted sockets can read into the shared buffer on this Node.js. */
export const acceptedSocketsReadIntoRelayBuffer: boolean = userBufferFields !== null;

/** The socket's descriptor for `writeNow`, or -1 where there is none. */
export function descriptorOf(socket: net.Socket): number {
  const fd = handleOf(socket)?.fd;
  return typeof fd === "number" && fd >= 0 ? fd : -1;
}

/** What the handle's `getpeername` fills (address, family, port): one object, read at once. */
const peer = { address: "", family: "", port: 0 };

/** Whether Node.js gives this socket's handle a `getpeername` (peerOf reads it then). */
export function handleHasPeer(socket: net.Socket): boolean {
  return typeof handleOf(socket)?.getpeername === "function";
}

/**
 * The peer of a connected socket, `{ address: "", port: 0 }` when it cannot be told (the socket
 * was reset already, say). Returns a shared object: copy its fields before the next call.
 */
export function peerOf(socket: net.Socket): { address: string; port: number } {
  const handle = handleOf(socket);
  if (handle !== null && typeof handle.getpeername === "function") {
    // A failed call fills nothing: the previous socket's peer must not show through.
    if (handle.getpeername(peer) !== 0) {
      peer.address = "";
      peer.family = "";
      peer.port = 0;
    }
  } else {
    peer.address = socket.remoteAddress ?? "";
    peer.port = socket.remotePort ?? 0;
  }
  return peer;
}

/** The errno code of a failed write(2) (EPIPE, ECONNRESET, ...). */
export class WriteError extends Error {
  readonly code: string;
  constructor(code: string) {
    super(`write failed: ${code}`);
    this.code = code;
  }
}

/**
 * One write(2) of `buffer[0, length)` on `fd`: the bytes the kernel took, 0 when the socket is
 * full. Throws WriteError when the write fails (the peer reset, say).
 */
export function writeNow(fd: number, buffer: Buffer, length: number): number {
  try {
    return writeSync(fd, buffer, 0, length);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "EIO";
    if (code === "EAGAIN" || code === "EWOULDBLOCK") return 0;
    throw new WriteError(code);
  }
}
