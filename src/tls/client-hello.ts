import { type ErrorCode, ParseError } from "../errors/index.js";
import {
  EXT_ALPN,
  EXT_SERVER_NAME,
  EXT_SUPPORTED_VERSIONS,
  HANDSHAKE_HEADER_LENGTH,
  MAX_SESSION_ID_LENGTH,
  NAME_TYPE_HOST_NAME,
} from "./constants.js";
import { parseHostName } from "./hostname.js";

/**
 * What linkgate needs from a ClientHello. `alpn` and `supportedVersions` are decoded on first
 * access from the hello's bytes (validated already), which it keeps a reference to: those bytes
 * must stay unmodified, which holds since the gateway forwards them as they are.
 */
export class ClientHello {
  /** The server_name host name, lower-cased and without a trailing dot; null when absent. */
  readonly sni: string | null;
  /** ClientHello.legacy_version, e.g. 0x0303. */
  readonly legacyVersion: number;
  /** TLS records the hello arrived in. */
  readonly recordCount: number;
  /** Bytes of the handshake message, its 4-byte header included. */
  readonly helloLength: number;

  readonly #buf: Buffer;
  readonly #alpnStart: number;
  readonly #alpnEnd: number;
  readonly #versionsStart: number;
  readonly #versionsEnd: number;
  #alpn: string[] | null = null;

  /** @internal Built by the decoder from ranges it has validated. */
  constructor(
    buf: Buffer,
    sni: string | null,
    legacyVersion: number,
    recordCount: number,
    helloLength: number,
    alpnStart: number,
    alpnEnd: number,
    versionsStart: number,
    versionsEnd: number,
  ) {
    this.sni = sni;
    this.legacyVersion = legacyVersion;
    this.recordCount = recordCount;
    this.helloLength = helloLength;
    this.#buf = buf;
    this.#alpnStart = alpnStart;
    this.#alpnEnd = alpnEnd;
    this.#versionsStart = versionsStart;
    this.#versionsEnd = versionsEnd;
  }

  /** ALPN protocol names in the client's order; empty when the extension is absent. */
  get alpn(): string[] {
    if (this.#alpn !== null) return this.#alpn;
    const names: string[] = [];
    const buf = this.#buf;
    for (let p = this.#alpnStart; p < this.#alpnEnd; p += 1 + buf[p]) {
      // Protocol names are opaque bytes; latin1 keeps each byte as one character.
      names.push(buf.toString("latin1", p + 1, p + 1 + buf[p]));
    }
    this.#alpn = names;
    return names;
  }

  /** The supported_versions list (e.g. [0x0304, 0x0303]); undefined when the extension is absent. */
  get supportedVersions(): number[] | undefined {
    if (this.#versionsStart === this.#versionsEnd) return undefined;
    const versions: number[] = [];
    for (let p = this.#versionsStart; p < this.#versionsEnd; p += 2) {
      versions.push(this.#buf.readUInt16BE(p));
    }
    return versions;
  }

  toJSON(): {
    sni: string | null;
    alpn: string[];
    legacyVersion: number;
    supportedVersions?: number[];
    recordCount: number;
    helloLength: number;
  } {
    const json = {
      sni: this.sni,
      alpn: this.alpn,
      legacyVersion: this.legacyVersion,
      supportedVersions: this.supportedVersions,
      recordCount: this.recordCount,
      helloLength: this.helloLength,
    };
    if (json.supportedVersions === undefined) delete json.supportedVersions;
    return json;
  }
}

/**
 * Extension types seen in the hello being parsed, one bit each, and the words set. Shared across
 * calls (parsing is synchronous) and cleared after each parse through `setWords`, which is
 * cheaper than a Set per hello or a quadratic scan over up to 16383 extensions.
 */
const seenTypes = new Uint32Array(65536 / 32);
const setWords = new Uint16Array(65536 / 4);
let setCount = 0;

function clearSeen(): void {
  for (let i = 0; i < setCount; i++) seenTypes[setWords[i]] = 0;
  setCount = 0;
}

function fail(code: ErrorCode, message: string, at: number, origin: number): ParseError {
  return new ParseError(code, message, at - origin);
}

/**
 * Parses the ClientHello handshake message in buf[start..start+length), header included; the
 * caller has checked msg_type and that the 24-bit length equals length - 4. Error offsets are
 * counted from `start`.
 */
export function parseClientHello(
  buf: Buffer,
  start: number,
  length: number,
  recordCount: number,
): ClientHello | ParseError {
  const end = start + length;
  let p = start + HANDSHAKE_HEADER_LENGTH;
  // legacy_version, random, and the session id's length byte.
  if (end - p < 2 + 32 + 1) {
    return fail("TLS_BAD_HELLO", `the ClientHello body is only ${end - p} bytes`, end, start);
  }
  const legacyVersion = buf.readUInt16BE(p);
  p += 2 + 32;
  const sessionIdLength = buf[p];
  if (sessionIdLength > MAX_SESSION_ID_LENGTH) {
    return fail(
      "TLS_BAD_HELLO",
      `legacy_session_id is ${sessionIdLength} bytes; at most ${MAX_SESSION_ID_LENGTH}`,
      p,
      start,
    );
  }
  p += 1 + sessionIdLength;
  if (end - p < 2) return fail("TLS_BAD_HELLO", "the hello ends in the session id", end, start);
  const suitesLength = buf.readUInt16BE(p);
  if (suitesLength === 0 || suitesLength % 2 !== 0) {
    return fail(
      "TLS_BAD_HELLO",
      `cipher_suites is ${suitesLength} bytes; it must be even and non-zero`,
      p,
      start,
    );
  }
  p += 2;
  // Cipher suites, then at least the compression methods' length byte.
  if (end - p < suitesLength + 1) {
    return fail("TLS_BAD_HELLO", "cipher_suites runs past the end of the hello", p - 2, start);
  }
  p += suitesLength;
  const compressionLength = buf[p];
  if (compressionLength === 0) {
    return fail("TLS_BAD_HELLO", "legacy_compression_methods is empty", p, start);
  }
  p += 1;
  if (end - p < compressionLength) {
    return fail("TLS_BAD_HELLO", "compression methods run past the end of the hello", p - 1, start);
  }
  p += compressionLength;

  let sni: string | null = null;
  let alpnStart = 0;
  let alpnEnd = 0;
  let versionsStart = 0;
  let versionsEnd = 0;
  // Before TLS 1.3 the extensions block is optional: a hello may end after compression methods.
  if (p === end) {
    return new ClientHello(buf, sni, legacyVersion, recordCount, length, 0, 0, 0, 0);
  }
  if (end - p < 2) return fail("TLS_BAD_HELLO", "one stray byte after compression", p, start);
  const extensionsLength = buf.readUInt16BE(p);
  if (extensionsLength !== end - p - 2) {
    return fail(
      "TLS_BAD_HELLO",
      `the extensions block says ${extensionsLength} bytes; ${end - p - 2} remain in the hello`,
      p,
      start,
    );
  }
  p += 2;
  let error: ParseError | null = null;
  while (p < end) {
    if (end - p < 4) {
      error = fail("TLS_BAD_HELLO", "bytes after the last extension do not hold one", p, start);
      break;
    }
    const type = buf.readUInt16BE(p);
    const dataLength = buf.readUInt16BE(p + 2);
    const data = p + 4;
    const dataEnd = data + dataLength;
    if (dataEnd > end) {
      error = fail(
        "TLS_BAD_HELLO",
        `extension ${type} declares ${dataLength} bytes; ${end - data} remain`,
        p + 2,
        start,
      );
      break;
    }
    const bit = 1 << (type & 31);
    if ((seenTypes[type >>> 5] & bit) !== 0) {
      error = fail("TLS_DUPLICATE_EXTENSION", `extension ${type} appears twice`, p, start);
      break;
    }
    seenTypes[type >>> 5] |= bit;
    setWords[setCount++] = type >>> 5;
    if (type === EXT_SERVER_NAME) {
      const name = readServerName(buf, data, dataEnd, start);
      if (name instanceof ParseError) {
        error = name;
        break;
      }
      sni = name;
    } else if (type === EXT_ALPN) {
      error = checkAlpn(buf, data, dataEnd, start);
      alpnStart = data + 2;
      alpnEnd = dataEnd;
    } else if (type === EXT_SUPPORTED_VERSIONS) {
      error = checkSupportedVersions(buf, data, dataEnd, start);
      versionsStart = data + 1;
      versionsEnd = dataEnd;
    }
    if (error !== null) break;
    p = dataEnd;
  }
  clearSeen();
  if (error !== null) return error;
  return new ClientHello(
    buf,
    sni,
    legacyVersion,
    recordCount,
    length,
    alpnStart,
    alpnEnd,
    versionsStart,
    versionsEnd,
  );
}

/** server_name (RFC 6066 3): a list that tiles the extension and holds exactly one host_name. */
function readServerName(
  buf: Buffer,
  start: number,
  end: number,
  origin: number,
): string | ParseError {
  if (end - start < 2 || buf.readUInt16BE(start) !== end - start - 2) {
    return fail("TLS_BAD_HELLO", "the server_name list does not fill its extension", start, origin);
  }
  let entries = 0;
  for (let p = start + 2; p < end; p += 3 + buf.readUInt16BE(p + 1)) {
    if (end - p < 3 || end - p - 3 < buf.readUInt16BE(p + 1)) {
      return fail("TLS_BAD_HELLO", "a server_name entry runs past its list", p, origin);
    }
    entries++;
  }
  if (entries !== 1) {
    return fail(
      "TLS_BAD_SNI",
      `the server_name list has ${entries} names; 1 expected`,
      start,
      origin,
    );
  }
  const nameType = buf[start + 2];
  if (nameType !== NAME_TYPE_HOST_NAME) {
    return fail("TLS_BAD_SNI", `name_type ${nameType} is not host_name (0)`, start + 2, origin);
  }
  return parseHostName(buf, start + 5, end, origin);
}

/** ALPN (RFC 7301 3.1): a non-empty list of non-empty names that tiles the extension. */
function checkAlpn(buf: Buffer, start: number, end: number, origin: number): ParseError | null {
  if (end - start < 2 || buf.readUInt16BE(start) !== end - start - 2) {
    return fail("TLS_BAD_HELLO", "the ALPN list does not fill its extension", start, origin);
  }
  if (end - start === 2) return fail("TLS_BAD_HELLO", "the ALPN list is empty", start, origin);
  for (let p = start + 2; p < end; p += 1 + buf[p]) {
    if (buf[p] === 0) return fail("TLS_BAD_HELLO", "an ALPN protocol name is empty", p, origin);
    if (end - p - 1 < buf[p]) {
      return fail("TLS_BAD_HELLO", "an ALPN protocol name runs past its list", p, origin);
    }
  }
  return null;
}

/** supported_versions in a ClientHello (RFC 8446 4.2.1): versions<2..254>, 2 bytes each. */
function checkSupportedVersions(
  buf: Buffer,
  start: number,
  end: number,
  origin: number,
): ParseError | null {
  const listLength = end - start - 1;
  if (end === start || buf[start] !== listLength || listLength < 2 || listLength % 2 !== 0) {
    return fail(
      "TLS_BAD_HELLO",
      "supported_versions must be a non-empty list of 2-byte versions filling its extension",
      start,
      origin,
    );
  }
  return null;
}
