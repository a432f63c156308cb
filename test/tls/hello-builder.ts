/**
 * Test helpers: the captured fixtures, and a builder of ClientHellos and TLS records for crafted
 * inputs (valid ones for the generators, broken ones for the error tests).
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const FIXTURES = join(import.meta.dirname, "fixtures");

export interface Fixture {
  name: string;
  /** The bytes as captured, records included. */
  bytes: Buffer;
  /** The bytes as the capture server's socket delivered them (one hex line each). */
  chunks: Buffer[];
}

export function loadFixture(name: string): Fixture {
  const lines = readFileSync(join(FIXTURES, `${name}.hex`), "utf8")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "");
  const chunks = lines.map((l) => Buffer.from(l, "hex"));
  return { name, bytes: Buffer.concat(chunks), chunks };
}

export function fixtureNames(): string[] {
  return readdirSync(FIXTURES)
    .filter((f) => f.endsWith(".hex"))
    .map((f) => f.slice(0, -4))
    .sort();
}

/** The handshake message carried by `records` (the payloads of every record, concatenated). */
export function handshakeOf(records: Buffer): Buffer {
  const parts: Buffer[] = [];
  for (let p = 0; p + 5 <= records.length; p += 5 + records.readUInt16BE(p + 3)) {
    parts.push(records.subarray(p + 5, p + 5 + records.readUInt16BE(p + 3)));
  }
  return Buffer.concat(parts);
}

/** Wraps a handshake message into handshake records of at most `size` payload bytes each. */
export function toRecords(message: Buffer, size = 16384, version = 0x0301): Buffer {
  return toRecordsBySizes(message, () => size, version);
}

/** Like toRecords, with each record's payload size chosen by `nextSize` (clamped to what is left). */
export function toRecordsBySizes(
  message: Buffer,
  nextSize: (index: number) => number,
  version = 0x0301,
): Buffer {
  const out: Buffer[] = [];
  for (let p = 0, i = 0; p < message.length; i++) {
    const length = Math.max(1, Math.min(nextSize(i), message.length - p));
    const header = Buffer.alloc(5);
    header[0] = 22;
    header.writeUInt16BE(version, 1);
    header.writeUInt16BE(length, 3);
    out.push(header, message.subarray(p, p + length));
    p += length;
  }
  return Buffer.concat(out);
}

export function recordCount(records: Buffer): number {
  let n = 0;
  for (let p = 0; p + 5 <= records.length; p += 5 + records.readUInt16BE(p + 3)) n++;
  return n;
}

/** Splits `bytes` into chunks at the given offsets (sorted, within bounds). */
export function splitAt(bytes: Buffer, offsets: number[]): Buffer[] {
  const chunks: Buffer[] = [];
  let from = 0;
  for (const at of offsets) {
    chunks.push(bytes.subarray(from, at));
    from = at;
  }
  chunks.push(bytes.subarray(from));
  return chunks;
}

export function u8(n: number): Buffer {
  return Buffer.from([n]);
}

export function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

/** opaque<..2^8-1> and opaque<..2^16-1> vectors. */
export function vec8(...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  return Buffer.concat([u8(body.length), body]);
}

export function vec16(...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  return Buffer.concat([u16(body.length), body]);
}

export function extension(type: number, data: Buffer): Buffer {
  return Buffer.concat([u16(type), vec16(data)]);
}

/** server_name extension data for one host_name (raw bytes, so invalid names can be built). */
export function serverNameData(name: string | Buffer, nameType = 0): Buffer {
  const raw = typeof name === "string" ? Buffer.from(name, "latin1") : name;
  return vec16(u8(nameType), vec16(raw));
}

export function alpnData(protocols: string[]): Buffer {
  return vec16(...protocols.map((p) => vec8(Buffer.from(p, "latin1"))));
}

export function supportedVersionsData(versions: number[]): Buffer {
  return vec8(...versions.map(u16));
}

export interface HelloParts {
  legacyVersion?: number;
  random?: Buffer;
  sessionId?: Buffer;
  cipherSuites?: number[];
  compressionMethods?: number[];
  /** Extensions in order, already encoded; undefined omits the block (valid before TLS 1.3). */
  extensions?: Buffer[];
  /** msg_type; 1 for ClientHello. */
  type?: number;
}

/** The ClientHello body (no handshake header). */
export function helloBody(parts: HelloParts = {}): Buffer {
  const suites = parts.cipherSuites ?? [0x1301, 0x1302, 0xc02f];
  const fields = [
    u16(parts.legacyVersion ?? 0x0303),
    parts.random ?? Buffer.alloc(32, 0xab),
    vec8(parts.sessionId ?? Buffer.alloc(32, 0x5e)),
    vec16(...suites.map(u16)),
    vec8(Buffer.from(parts.compressionMethods ?? [0])),
  ];
  if (parts.extensions !== undefined) fields.push(vec16(...parts.extensions));
  return Buffer.concat(fields);
}

/** A handshake message: msg_type, 24-bit length, body. */
export function handshake(body: Buffer, type = 1): Buffer {
  const header = Buffer.alloc(4);
  header[0] = type;
  header.writeUIntBE(body.length, 1, 3);
  return Buffer.concat([header, body]);
}

/** A whole ClientHello message with the given extensions. */
export function clientHello(extensions: Buffer[] | undefined, parts: HelloParts = {}): Buffer {
  return handshake(helloBody({ ...parts, extensions }), parts.type ?? 1);
}

/** A typical hello for SNI tests: the name, ALPN h2 and http/1.1, TLS 1.3 and 1.2. */
export function helloWithSni(name: string | Buffer, nameType = 0): Buffer {
  return toRecords(
    clientHello([
      extension(0, serverNameData(name, nameType)),
      extension(16, alpnData(["h2", "http/1.1"])),
      extension(43, supportedVersionsData([0x0304, 0x0303])),
    ]),
  );
}
