/**
 * CRC-32C (Castagnoli): reflected polynomial 0x82F63B78, init and xorout 0xFFFFFFFF.
 * Check value for "123456789" is 0xE3069283.
 *
 * The PROXY v2 CRC32C TLV is computed over the whole header with the 4 value bytes set to
 * zero. `crc32cWithHole` does that without copying the header: it feeds four zero bytes in place
 * of the stored value. For PROXY headers (tens to hundreds of bytes) this slicing-by-8 table
 * implementation is faster than a native call, whose fixed cost dominates at these sizes (see
 * docs/BENCHMARKS.md); `@node-rs/crc32` is used for large inputs when it is installed.
 */
import { createRequire } from "node:module";

const POLY = 0x82f63b78;

function makeTables(): Int32Array[] {
  const t0 = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t0[n] = c;
  }
  const tables = [t0];
  for (let k = 1; k < 8; k++) {
    const prev = tables[k - 1];
    const t = new Int32Array(256);
    for (let n = 0; n < 256; n++) t[n] = t0[prev[n] & 0xff] ^ (prev[n] >>> 8);
    tables.push(t);
  }
  return tables;
}

// Slicing-by-8: table k advances the CRC over a byte followed by k zero bytes. Eight separate
// arrays index faster in V8 than one array with offsets.
const [T0, T1, T2, T3, T4, T5, T6, T7] = makeTables();

/** Feeds bytes [start, end) of `buf` into a running (pre-inverted) CRC state. */
function update(state: number, buf: Uint8Array, start: number, end: number): number {
  let c = state;
  let i = start;
  const end8 = end - 7;
  while (i < end8) {
    const lo = c ^ (buf[i] | (buf[i + 1] << 8) | (buf[i + 2] << 16) | (buf[i + 3] << 24));
    c =
      T7[lo & 0xff] ^
      T6[(lo >>> 8) & 0xff] ^
      T5[(lo >>> 16) & 0xff] ^
      T4[lo >>> 24] ^
      T3[buf[i + 4]] ^
      T2[buf[i + 5]] ^
      T1[buf[i + 6]] ^
      T0[buf[i + 7]];
    i += 8;
  }
  while (i < end) {
    c = T0[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
    i++;
  }
  return c;
}

/** Feeds `count` zero bytes into a running CRC state. */
function updateZeros(state: number, count: number): number {
  let c = state;
  for (let i = 0; i < count; i++) c = T0[c & 0xff] ^ (c >>> 8);
  return c;
}

/** Pure TypeScript CRC-32C of bytes [start, end) of `buf`. */
export function crc32cPure(buf: Uint8Array, start = 0, end = buf.length): number {
  return ~update(-1, buf, start, end) >>> 0;
}

/**
 * CRC-32C of bytes [start, end) of `buf`, with the 4 bytes at `hole` read as zero.
 * This is the PROXY v2 rule: "the checksum field set to zero" without mutating the input.
 */
export function crc32cWithHole(buf: Uint8Array, start: number, end: number, hole: number): number {
  let c = update(-1, buf, start, hole);
  c = updateZeros(c, 4);
  c = update(c, buf, hole + 4, end);
  return ~c >>> 0;
}

type NativeCrc32c = (input: Buffer, initialState?: number) => number;

function loadNative(): NativeCrc32c | null {
  try {
    const require = createRequire(import.meta.url);
    const mod = require("@node-rs/crc32") as { crc32c?: NativeCrc32c };
    const fn = mod.crc32c;
    // Refuse a binding that does not compute the standard check value.
    if (typeof fn !== "function" || fn(Buffer.from("123456789")) !== 0xe3069283) return null;
    return fn;
  } catch {
    return null;
  }
}

const native = loadNative();

/** Whether the native `@node-rs/crc32` binding is in use for large inputs. */
export const crc32cNativeAvailable = native !== null;

/** Size from which the native binding beats the table implementation (measured; see bench). */
const NATIVE_THRESHOLD = 1024;

/** CRC-32C of a whole buffer: native for large inputs when available, else pure TypeScript. */
export function crc32c(buf: Uint8Array): number {
  if (native !== null && buf.length >= NATIVE_THRESHOLD) {
    const b = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
    return native(b) >>> 0;
  }
  return crc32cPure(buf, 0, buf.length);
}
