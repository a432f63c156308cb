/**
 * An accepted socket's peer, address and port, in one getpeername(2).
 *
 * Every connection needs both (the address for the trusted-peer check, the port for the
 * connection line), but Bun 1.4.5's `remoteAddress` and `remotePort` getters make a
 * getpeername(2) each: its accept4(2) receives the peer and drops it. On this project's
 * machines a system call costs 1.3-1.8 µs, about 1 % of a connection through the proxy. So on
 * Linux the engine makes the call itself through `bun:ffi` (Bun's own foreign function
 * interface, no native addon) and decodes the sockaddr (src/ip/sockaddr.ts), as node:net's
 * handle does for the Node.js engine. Where the C library cannot be loaded that way (not
 * Linux, a C library by another name), or the call fails, the two getters: the same answer,
 * one system call dearer (test/engines/bun/peer-name.test.ts checks the two agree).
 */
import { createRequire } from "node:module";
import { endianness } from "node:os";
import { decodeSockaddr, SOCKADDR_BYTES, type SocketAddressText } from "../../../ip/sockaddr.js";
import type { BunSocket } from "./bun-api.js";

type GetPeerName = (fd: number, address: Uint8Array, length: Uint32Array) => number;

/** The C libraries of Linux on the machines Bun runs on: glibc, then musl's. */
const LIBC_NAMES = ["libc.so.6", "libc.musl-x86_64.so.1", "libc.musl-aarch64.so.1"];

interface BunFfi {
  dlopen(
    path: string,
    symbols: Record<string, { args: string[]; returns: string }>,
  ): { symbols: Record<string, (...args: unknown[]) => unknown> };
}

/** getpeername(2) from the C library, or null where it cannot be had (or off Bun). */
function loadGetPeerName(): GetPeerName | null {
  // decodeSockaddr reads Linux's layout, with the family in little-endian host order.
  if (process.platform !== "linux" || endianness() !== "LE" || !process.versions.bun) return null;
  let ffi: BunFfi;
  try {
    ffi = createRequire(import.meta.url)("bun:ffi") as BunFfi;
  } catch {
    return null;
  }
  for (const name of LIBC_NAMES) {
    try {
      const lib = ffi.dlopen(name, {
        getpeername: { args: ["i32", "ptr", "ptr"], returns: "i32" },
      });
      return lib.symbols.getpeername as GetPeerName;
    } catch {
      // Not this C library: the next one.
    }
  }
  return null;
}

const getPeerName = loadGetPeerName();

/** How the Bun engine reads a peer: "getpeername" (one call) or "getters" (two). */
export const peerNameMethod: "getpeername" | "getters" =
  getPeerName === null ? "getters" : "getpeername";

// The call's output, reused: reads are synchronous.
const sockaddr = new Uint8Array(SOCKADDR_BYTES);
const sockaddrLength = new Uint32Array(1);

/**
 * The peer of `raw` into `into`: its address ("" when it cannot be told, e.g. a socket the
 * peer reset before it was handed over) and port.
 */
export function readPeer(raw: BunSocket<unknown>, into: SocketAddressText): void {
  if (getPeerName !== null) {
    sockaddrLength[0] = SOCKADDR_BYTES;
    if (
      getPeerName(raw.fd, sockaddr, sockaddrLength) === 0 &&
      decodeSockaddr(sockaddr, sockaddrLength[0], into)
    )
      return;
  }
  readPeerWithGetters(raw, into);
}

/** The same through Bun's getters: a getpeername(2) each. */
export function readPeerWithGetters(raw: BunSocket<unknown>, into: SocketAddressText): void {
  into.address = raw.remoteAddress ?? "";
  into.port = into.address === "" ? 0 : (raw.remotePort ?? 0);
}
