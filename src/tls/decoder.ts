/**
 * Streaming TLS ClientHello decoder.
 *
 * Fed a connection's first bytes (after any PROXY header) in chunks of any size down to one
 * byte, it answers NEED_MORE, DONE (with the hello) or INVALID (with a coded error). It never
 * throws on input, never modifies the caller's chunks (the gateway forwards them unchanged),
 * and never looks past the record that completes the hello: what follows (a compatibility
 * ChangeCipherSpec, early data) belongs to the connection.
 *
 * When the first chunk holds the whole hello in one record (nearly always) it is parsed in place
 * without copying. Otherwise the handshake message is reassembled, across chunks and records,
 * into one buffer sized from its 4-byte header. Input is rejected as soon as the bytes seen prove
 * it invalid: an HTTP request or a PROXY header fails on its first byte, an oversized hello on
 * its length field.
 */
import { type ErrorCode, ParseError } from "../errors/index.js";
import { type ClientHello, parseClientHello } from "./client-hello.js";
import {
  HANDSHAKE_CLIENT_HELLO,
  HANDSHAKE_HEADER_LENGTH,
  MAX_RECORD_PAYLOAD,
  RECORD_HANDSHAKE,
  RECORD_HEADER_LENGTH,
  RECORD_VERSION_MAJOR,
  RECORD_VERSION_MINOR_MAX,
  RECORD_VERSION_MINOR_MIN,
} from "./constants.js";
import {
  type ClientHelloOptions,
  DEFAULT_CLIENT_HELLO_OPTIONS,
  isResolved,
  type ResolvedClientHelloOptions,
  resolveClientHelloOptions,
} from "./options.js";

// Same values as the PROXY decoder's, so one switch can serve both.
export const NEED_MORE = 0;
export const DONE = 1;
export const INVALID = 2;
export type HelloStatus = typeof NEED_MORE | typeof DONE | typeof INVALID;

function hex(byte: number): string {
  return `0x${byte.toString(16).padStart(2, "0")}`;
}

/** Names what a connection that is not TLS most likely carries, for the log line. */
function notHandshake(byte: number): ParseError {
  let guess = "";
  if (byte === 0x0d) guess = " (a PROXY v2 header?)";
  else if (byte === 0x50) guess = " (a PROXY v1 header or an HTTP request?)";
  else if (byte >= 0x41 && byte <= 0x5a) guess = " (plain-text HTTP?)";
  else if (byte === 0x80) guess = " (an SSLv2-style hello, not supported)";
  else if (byte === 21) guess = " (an alert)";
  return new ParseError(
    "TLS_NOT_HANDSHAKE",
    `first byte ${hex(byte)} is not a TLS handshake record (22)${guess}`,
    0,
  );
}

function toResolved(
  options: ClientHelloOptions | ResolvedClientHelloOptions | undefined,
): ResolvedClientHelloOptions {
  if (options === undefined) return DEFAULT_CLIENT_HELLO_OPTIONS;
  return isResolved(options) ? options : resolveClientHelloOptions(options);
}

/**
 * One decoder per connection. `push()` each chunk until it returns DONE or INVALID; then `hello`
 * or `error` is set. For DONE, `tailOffset` is where the bytes after the hello's last record
 * start in the chunk last pushed. Chunks may be kept by reference (the hello's ALPN is decoded
 * lazily from them); they are never written.
 */
export class ClientHelloDecoder {
  status: HelloStatus = NEED_MORE;
  hello: ClientHello | null = null;
  error: ParseError | null = null;
  /** Offset in the last pushed chunk where the bytes after the hello's last record start. */
  tailOffset = 0;

  readonly #options: ResolvedClientHelloOptions;
  /** Bytes of the stream before the current chunk. */
  #seen = 0;
  /** Bytes of the current record header seen (0-5); 5 while inside a record's payload. */
  #headerPos = 0;
  /** Payload bytes of the current record still to come (its length while the header is read). */
  #recordLeft = 0;
  #records = 0;
  /** Stream offset of the current record's header. */
  #recordAt = 0;
  /** Bytes of the handshake message seen. */
  #helloPos = 0;
  /** The 24-bit body length, while the handshake header is read. */
  #bodyLength = 0;
  /** The handshake message's whole length, header included; 0 until its header is read. */
  #helloLength = 0;
  /** The reassembled handshake message (slow path only). */
  #acc: Buffer | null = null;
  /** Handshake offset at which each record's payload starts, to report errors at stream offsets. */
  #recordStarts: number[] | null = null;

  constructor(options?: ClientHelloOptions | ResolvedClientHelloOptions) {
    this.#options = toResolved(options);
  }

  /**
   * Bytes taken so far (for diagnostics): every byte pushed while NEED_MORE, up to the end of
   * the hello's last record once DONE.
   */
  get bytesSeen(): number {
    return this.status === NEED_MORE ? this.#seen : this.#seen + this.tailOffset;
  }

  push(chunk: Buffer): HelloStatus {
    if (this.status !== NEED_MORE || chunk.length === 0) return this.status;
    if (this.#seen === 0 && this.#headerPos === 0 && this.#inPlace(chunk)) return this.status;
    return this.#walk(chunk);
  }

  /**
   * Declares the input over (the peer closed, or a deadline passed): a decoder still waiting
   * becomes INVALID with TLS_INCOMPLETE.
   */
  end(): HelloStatus {
    if (this.status !== NEED_MORE) return this.status;
    const got = this.#seen;
    const message =
      this.#helloLength !== 0
        ? `input ended after ${got} bytes, ${this.#helloLength - this.#helloPos} short of the hello`
        : `input ended after ${got} bytes, before the ClientHello's length was known`;
    return this.#fail(new ParseError("TLS_INCOMPLETE", message, got));
  }

  /** The fast path: the first chunk holds one record that is exactly the whole hello. */
  #inPlace(chunk: Buffer): boolean {
    if (chunk.length < RECORD_HEADER_LENGTH + HANDSHAKE_HEADER_LENGTH) return false;
    const minor = chunk[2];
    const recordLength = chunk.readUInt16BE(3);
    if (
      chunk[0] !== RECORD_HANDSHAKE ||
      chunk[1] !== RECORD_VERSION_MAJOR ||
      minor < RECORD_VERSION_MINOR_MIN ||
      minor > RECORD_VERSION_MINOR_MAX ||
      recordLength > MAX_RECORD_PAYLOAD ||
      recordLength > this.#options.maxHelloSize ||
      chunk.length < RECORD_HEADER_LENGTH + recordLength ||
      chunk[5] !== HANDSHAKE_CLIENT_HELLO ||
      chunk.readUIntBE(6, 3) + HANDSHAKE_HEADER_LENGTH !== recordLength
    ) {
      // Anything unusual, errors included, goes the general way, which reports it.
      return false;
    }
    this.#records = 1;
    this.tailOffset = RECORD_HEADER_LENGTH + recordLength;
    this.#finish(chunk, RECORD_HEADER_LENGTH, recordLength);
    return true;
  }

  /** The general path: a state machine over record headers, handshake header, hello bytes. */
  #walk(chunk: Buffer): HelloStatus {
    const options = this.#options;
    const n = chunk.length;
    let off = 0;
    while (off < n) {
      const at = this.#seen + off;
      if (this.#headerPos < RECORD_HEADER_LENGTH) {
        const b = chunk[off++];
        const pos = this.#headerPos++;
        if (pos === 0) {
          this.#recordAt = at;
          if (b !== RECORD_HANDSHAKE) {
            return this.#records === 0
              ? this.#fail(notHandshake(b))
              : this.#failAt(
                  "TLS_BAD_RECORD",
                  `record type ${b} arrived before the ClientHello was complete`,
                  at,
                );
          }
          if (this.#records === options.maxRecords) {
            return this.#failAt(
              "TLS_TOO_MANY_RECORDS",
              `the ClientHello is not complete after ${options.maxRecords} records`,
              at,
            );
          }
        } else if (pos === 1 || pos === 2) {
          const ok =
            pos === 1
              ? b === RECORD_VERSION_MAJOR
              : b >= RECORD_VERSION_MINOR_MIN && b <= RECORD_VERSION_MINOR_MAX;
          if (!ok) {
            return this.#failAt(
              "TLS_BAD_RECORD",
              `record version byte ${hex(b)} is outside 0x0301..0x0303`,
              at,
            );
          }
        } else if (pos === 3) {
          this.#recordLeft = b << 8;
        } else if (!this.#startRecord(this.#recordLeft | b, at)) {
          return INVALID;
        }
        continue;
      }
      if (this.#helloPos < HANDSHAKE_HEADER_LENGTH) {
        const b = chunk[off++];
        this.#recordLeft--;
        if (this.#helloPos++ === 0) {
          if (b !== HANDSHAKE_CLIENT_HELLO) {
            return this.#failAt(
              "TLS_NOT_CLIENT_HELLO",
              `handshake message type ${b} is not ClientHello (1)`,
              at,
            );
          }
        } else {
          this.#bodyLength = (this.#bodyLength << 8) | b;
          if (this.#helloPos === HANDSHAKE_HEADER_LENGTH && !this.#startHello()) return INVALID;
        }
      } else {
        const acc = this.#acc as Buffer;
        const take = Math.min(this.#recordLeft, n - off);
        chunk.copy(acc, this.#helloPos, off, off + take);
        this.#helloPos += take;
        this.#recordLeft -= take;
        off += take;
      }
      if (this.#recordLeft === 0) this.#headerPos = 0;
      if (this.#helloPos === this.#helloLength) {
        this.tailOffset = off;
        return this.#finish(this.#acc as Buffer, 0, this.#helloLength);
      }
    }
    this.#seen += n;
    return NEED_MORE;
  }

  /** Checks a record header's length; false once failed. */
  #startRecord(length: number, at: number): boolean {
    if (length === 0 || length > MAX_RECORD_PAYLOAD) {
      this.#failAt(
        "TLS_BAD_RECORD",
        `record length ${length} is outside 1..${MAX_RECORD_PAYLOAD}`,
        at - 1,
      );
      return false;
    }
    if (this.#helloLength !== 0 && length > this.#helloLength - this.#helloPos) {
      this.#failAt(
        "TLS_BAD_RECORD",
        "the record continues past the end of the ClientHello",
        at - 1,
      );
      return false;
    }
    this.#recordLeft = length;
    this.#records++;
    if (this.#recordStarts === null) this.#recordStarts = [];
    this.#recordStarts.push(this.#helloPos);
    return true;
  }

  /**
   * Checks the handshake message length just read, then sets up reassembly; false once failed.
   * Errors point at the start of the length field at fault (which may lie in an earlier record).
   */
  #startHello(): boolean {
    const total = HANDSHAKE_HEADER_LENGTH + this.#bodyLength;
    if (total > this.#options.maxHelloSize) {
      this.#failAt(
        "TLS_HELLO_TOO_LARGE",
        `the ClientHello is ${total} bytes, more than the cap of ${this.#options.maxHelloSize}`,
        this.#streamOffset(1),
      );
      return false;
    }
    if (this.#recordLeft > total - HANDSHAKE_HEADER_LENGTH) {
      this.#failAt(
        "TLS_BAD_RECORD",
        "the record continues past the end of the ClientHello",
        this.#recordAt + 3,
      );
      return false;
    }
    const acc = Buffer.allocUnsafe(total);
    acc[0] = HANDSHAKE_CLIENT_HELLO;
    acc.writeUIntBE(this.#bodyLength, 1, 3);
    this.#helloLength = total;
    this.#acc = acc;
    return true;
  }

  #finish(buf: Buffer, start: number, length: number): HelloStatus {
    const result = parseClientHello(buf, start, length, this.#records);
    if (result instanceof ParseError) {
      return this.#fail(
        new ParseError(result.code, result.message, this.#streamOffset(result.offset)),
      );
    }
    this.hello = result;
    this.status = DONE;
    this.#acc = null;
    this.#recordStarts = null;
    return DONE;
  }

  /** Maps an offset in the handshake message to one in the stream, past the record headers. */
  #streamOffset(helloOffset: number): number {
    const starts = this.#recordStarts;
    let record = 0;
    if (starts !== null) {
      while (record + 1 < starts.length && starts[record + 1] <= helloOffset) record++;
    }
    return helloOffset + RECORD_HEADER_LENGTH * (record + 1);
  }

  #failAt(code: ErrorCode, message: string, at: number): HelloStatus {
    return this.#fail(new ParseError(code, message, at));
  }

  #fail(error: ParseError): HelloStatus {
    this.error = error;
    this.status = INVALID;
    this.#acc = null;
    this.#recordStarts = null;
    return INVALID;
  }
}

/**
 * Decodes the ClientHello at the start of `input` (TLS records) in one call. Input that ends
 * before the hello does gives TLS_INCOMPLETE.
 */
export function decodeClientHello(
  input: Uint8Array,
  options?: ClientHelloOptions | ResolvedClientHelloOptions,
): ClientHello | ParseError {
  const buf = Buffer.isBuffer(input)
    ? input
    : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  const decoder = new ClientHelloDecoder(options);
  decoder.push(buf);
  decoder.end();
  return decoder.hello ?? (decoder.error as ParseError);
}
