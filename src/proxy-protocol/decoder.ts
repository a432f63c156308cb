/**
 * Streaming PROXY protocol decoder.
 *
 * Fed the bytes of a connection as they arrive, in chunks of any size down to one byte, it
 * answers NEED_MORE, DONE (with the header and where the application's bytes start in the last
 * chunk) or INVALID (with a coded error). It never throws on input, and never consumes a byte
 * past the header: everything after it belongs to the application.
 *
 * When the whole header sits in the first chunk (the usual case: load balancers send it in one
 * segment) it is parsed in place without copying. Otherwise only the header's own bytes are
 * gathered into a buffer sized to the header, and invalid input is rejected as soon as the
 * bytes seen so far prove it invalid: a TLS ClientHello fails on its first byte, an oversized
 * v2 length on its 16th.
 */
import { type ErrorCode, ParseError } from "../errors/index.js";
import {
  ADDRESS_BLOCK_LENGTH,
  V1_MAX_LENGTH,
  V1_PREFIX,
  V2_FIXED_LENGTH,
  V2_SIGNATURE,
} from "./constants.js";
import type { ProxyHeader } from "./header.js";
import {
  DEFAULT_OPTIONS,
  type DecoderOptions,
  type ResolvedOptions,
  resolveOptions,
} from "./options.js";
import { parseV1 } from "./v1.js";
import { parseV2 } from "./v2.js";

export const NEED_MORE = 0;
export const DONE = 1;
export const INVALID = 2;
export type DecodeStatus = typeof NEED_MORE | typeof DONE | typeof INVALID;

// measure() reports a failure here instead of allocating a result object.
let measureError: ParseError | null = null;

function measureFail(code: ErrorCode, message: string, offset: number): 0 {
  measureError = new ParseError(code, message, offset);
  return 0;
}

/** Checks the first `n` (<= 12) signature bytes: 0 (measureError set) on a mismatch, else 1. */
function checkSignature(buf: Buffer, start: number, n: number): number {
  for (let i = 1; i < n; i++) {
    if (buf[start + i] !== V2_SIGNATURE[i]) {
      return measureFail("PP2_BAD_SIGNATURE", `byte ${i} of the v2 signature is wrong`, i);
    }
  }
  return 1;
}

/**
 * Looks at the first `avail` bytes of a stream at buf[start..]. Returns 0 when they are
 * invalid (see measureError); otherwise a byte count: when it is <= avail the header is complete
 * and that long; when it is > avail, that many bytes are needed before anything more is known.
 */
function measure(buf: Buffer, start: number, avail: number, o: ResolvedOptions): number {
  const b0 = buf[start];
  if (b0 === 0x0d) {
    if (!o.allowV2) return measureFail("PP_VERSION_NOT_ALLOWED", "PROXY v2 is not accepted", 0);
    if (avail >= V2_FIXED_LENGTH) {
      // Fast path: the signature as three words.
      if (
        buf.readUInt32BE(start) !== 0x0d0a0d0a ||
        buf.readUInt32BE(start + 4) !== 0x000d0a51 ||
        buf.readUInt32BE(start + 8) !== 0x5549540a
      ) {
        return checkSignature(buf, start, 12);
      }
    } else {
      if (checkSignature(buf, start, Math.min(avail, 12)) === 0) return 0;
      if (avail <= 12) return V2_FIXED_LENGTH;
    }
    const verCmd = buf[start + 12];
    if (verCmd >> 4 !== 2) {
      return measureFail("PP2_BAD_VERSION", `version nibble is ${verCmd >> 4}, not 2`, 12);
    }
    const cmd = verCmd & 0x0f;
    if (cmd > 1) return measureFail("PP2_BAD_COMMAND", `command ${cmd} is not LOCAL or PROXY`, 12);
    if (avail === 13) return V2_FIXED_LENGTH;
    const fam = buf[start + 13];
    const addressLength = ADDRESS_BLOCK_LENGTH[fam];
    if (addressLength < 0) {
      return measureFail(
        "PP2_BAD_FAMILY",
        `family byte 0x${fam.toString(16).padStart(2, "0")} is not defined`,
        13,
      );
    }
    if (avail < V2_FIXED_LENGTH) return V2_FIXED_LENGTH;
    const len = (buf[start + 14] << 8) | buf[start + 15];
    const total = V2_FIXED_LENGTH + len;
    if (total > o.maxHeaderSize) {
      return measureFail(
        "PP2_HEADER_TOO_LARGE",
        `header is ${total} bytes, more than the cap of ${o.maxHeaderSize}`,
        14,
      );
    }
    if (cmd === 1 && len < addressLength) {
      return measureFail(
        "PP2_ADDRESS_TRUNCATED",
        `length ${len} is smaller than the ${addressLength}-byte address block of the family`,
        14,
      );
    }
    return total;
  }
  if (b0 === 0x50) {
    if (!o.allowV1) return measureFail("PP_VERSION_NOT_ALLOWED", "PROXY v1 is not accepted", 0);
    const n = Math.min(avail, 6);
    for (let i = 1; i < n; i++) {
      if (buf[start + i] !== V1_PREFIX[i]) {
        return measureFail("PP1_BAD_SIGNATURE", 'a v1 header starts with "PROXY "', i);
      }
    }
    const limit = Math.min(avail, V1_MAX_LENGTH);
    for (let i = 6; i < limit; i++) {
      const c = buf[start + i];
      if (c === 0x0a) return measureFail("PP1_BAD_LINE_ENDING", "LF without CR", i);
      if (c === 0x0d) {
        if (i + 2 > V1_MAX_LENGTH) break;
        if (i + 1 === avail) return i + 2;
        if (buf[start + i + 1] !== 0x0a)
          return measureFail("PP1_BAD_LINE_ENDING", "CR without LF", i);
        return i + 2;
      }
    }
    if (avail >= V1_MAX_LENGTH) {
      return measureFail("PP1_NO_CRLF", `no CRLF within ${V1_MAX_LENGTH} bytes`, V1_MAX_LENGTH);
    }
    return V1_MAX_LENGTH;
  }
  return measureFail(
    "PP_MISSING_HEADER",
    `first byte 0x${b0.toString(16).padStart(2, "0")} starts neither a v1 nor a v2 header`,
    0,
  );
}

function parse(
  buf: Buffer,
  start: number,
  length: number,
  o: ResolvedOptions,
): ProxyHeader | ParseError {
  return buf[start] === 0x0d ? parseV2(buf, start, length, o) : parseV1(buf, start, length);
}

function asBuffer(input: Uint8Array): Buffer {
  return Buffer.isBuffer(input)
    ? input
    : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
}

/**
 * Decodes the header at the start of `input` in one call: the header (its `headerLength` says
 * where the application bytes start) or a coded error. Input that ends before the header does
 * gives PP_INCOMPLETE.
 */
export function decodeProxyHeader(
  input: Uint8Array,
  options?: DecoderOptions | ResolvedOptions,
): ProxyHeader | ParseError {
  const o = options === undefined ? DEFAULT_OPTIONS : toResolved(options);
  const buf = asBuffer(input);
  if (buf.length === 0) return new ParseError("PP_INCOMPLETE", "no input", 0);
  const m = measure(buf, 0, buf.length, o);
  if (m === 0) return takeMeasureError();
  if (m > buf.length) {
    return new ParseError(
      "PP_INCOMPLETE",
      `input has ${buf.length} bytes; the header needs at least ${m}`,
      buf.length,
    );
  }
  return parse(buf, 0, m, o);
}

function takeMeasureError(): ParseError {
  const e = measureError as ParseError;
  measureError = null;
  return e;
}

function toResolved(options: DecoderOptions | ResolvedOptions): ResolvedOptions {
  return "allowV1" in options ? options : resolveOptions(options);
}

/**
 * One decoder per connection. `push()` each chunk until it returns DONE or INVALID; then
 * `header` or `error` is set, and for DONE the application's bytes start at `tailOffset` in the
 * chunk last pushed (equal to its length when the chunk held nothing else).
 */
export class ProxyHeaderDecoder {
  status: DecodeStatus = NEED_MORE;
  header: ProxyHeader | null = null;
  error: ParseError | null = null;
  /** Offset in the last pushed chunk where the bytes after the header start. */
  tailOffset = 0;

  readonly #options: ResolvedOptions;
  // Header bytes gathered across chunks; null until a chunk ends mid-header.
  #acc: Buffer | null = null;
  #filled = 0;
  #target = 0;

  constructor(options?: DecoderOptions | ResolvedOptions) {
    this.#options = options === undefined ? DEFAULT_OPTIONS : toResolved(options);
  }

  /** Bytes of header seen so far (for diagnostics). */
  get bytesSeen(): number {
    return this.#filled;
  }

  push(chunk: Buffer): DecodeStatus {
    if (this.status !== NEED_MORE || chunk.length === 0) return this.status;
    if (this.#filled === 0) {
      const m = measure(chunk, 0, chunk.length, this.#options);
      if (m === 0) return this.#fail(takeMeasureError());
      if (m <= chunk.length) {
        this.tailOffset = m;
        return this.#finish(chunk, m);
      }
      this.#target = m;
    }
    return this.#gather(chunk);
  }

  /** Copies header bytes from `chunk` into the accumulator until the header is known. */
  #gather(chunk: Buffer): DecodeStatus {
    let off = 0;
    while (off < chunk.length) {
      const target = this.#target;
      let acc = this.#acc;
      if (acc === null || acc.length < target) {
        const grown = Buffer.allocUnsafe(target);
        if (acc !== null) acc.copy(grown, 0, 0, this.#filled);
        acc = this.#acc = grown;
      }
      const take = Math.min(target - this.#filled, chunk.length - off);
      chunk.copy(acc, this.#filled, off, off + take);
      this.#filled += take;
      off += take;
      const m = measure(acc, 0, this.#filled, this.#options);
      if (m === 0) return this.#fail(takeMeasureError());
      if (m <= this.#filled) {
        this.tailOffset = off - (this.#filled - m);
        return this.#finish(acc, m);
      }
      this.#target = m;
    }
    return NEED_MORE;
  }

  #finish(buf: Buffer, length: number): DecodeStatus {
    const result = parse(buf, 0, length, this.#options);
    if (result instanceof ParseError) return this.#fail(result);
    this.header = result;
    this.status = DONE;
    return DONE;
  }

  #fail(error: ParseError): DecodeStatus {
    this.error = error;
    this.status = INVALID;
    this.#acc = null;
    return INVALID;
  }
}
