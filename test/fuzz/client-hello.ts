/**
 * Fuzz target for the TLS ClientHello decoder: hellos built from parts that are valid or subtly
 * not (session id, cipher suites, compression, extension block and extension lengths that lie;
 * server_name lists with zero or two names, IP literals, over-long labels; ALPN and
 * supported_versions that do not fill their extension; duplicate extensions), wrapped in records
 * of random sizes and versions, then mutated, followed by what a client sends next, and fed in
 * one call, by prefix, and in chunks. The real captures of test/tls/fixtures are mutated too.
 *
 * `checkClientHelloInput` is the oracle. It throws (an assertion) when the decoder:
 * - throws, or answers an error whose code is not a TLS code of the catalogue, or whose offset
 *   lies outside the input;
 * - answers a hello whose SNI is not a clean lower-case DNS name, or whose fields cannot be read;
 * - reads past the hello: the records that carried it must decode the same on their own;
 * - answers differently on a prefix of the input than on the whole (unless it needs more);
 * - answers differently in chunks than in one call (status, code, offset, fields, where the
 *   bytes after the hello start), does not take every byte while it needs more, or writes into
 *   a chunk it was given.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { isErrorCode } from "../../src/errors/index.js";
import {
  type ClientHello,
  ClientHelloDecoder,
  type ClientHelloOptions,
  DONE,
  decodeClientHello,
  INVALID,
  NEED_MORE,
  ParseError,
  parseHostName,
} from "../../src/tls/index.js";
import {
  alpnData,
  fixtureNames,
  handshake,
  helloBody,
  loadFixture,
  serverNameData,
  supportedVersionsData,
  u16,
  vec16,
} from "../tls/hello-builder.js";
import { type Chunking, chunking, chunkingsOf, mutate, mutations, prefixAt } from "./bytes.js";

export interface ClientHelloFuzzInput {
  bytes: Buffer;
  chunking: Chunking;
  prefix: number;
  options: ClientHelloOptions;
}

const bytes = (max: number) => fc.uint8Array({ maxLength: max }).map((b) => Buffer.from(b));

const options: fc.Arbitrary<ClientHelloOptions> = fc.oneof(
  { weight: 8, arbitrary: fc.constant({}) },
  {
    weight: 1,
    arbitrary: fc.record(
      {
        maxHelloSize: fc.oneof(
          fc.constantFrom(64, 512, 16384, 262144),
          fc.integer({ min: 64, max: 262144 }),
        ),
        maxRecords: fc.oneof(fc.constantFrom(1, 2, 32, 65535), fc.integer({ min: 1, max: 100 })),
      },
      { requiredKeys: [] },
    ),
  },
);

// ---------------------------------------------------------------------------------------------
// Extensions

const label = fc.stringMatching(/^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,20}[a-zA-Z0-9])?$/);
const hostName = fc.oneof(
  { weight: 8, arbitrary: fc.array(label, { minLength: 1, maxLength: 5 }).map((l) => l.join(".")) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      "10.0.0.1",
      "2130706433",
      "a.0x7f",
      "::1",
      "a..b",
      "-a.b",
      "a-.b",
      "a.b.",
      "a.b..",
      ".",
      "",
      "UPPER.Example.COM",
      "xn--bcher-kva.example",
      `${"a".repeat(63)}.b`,
      `${"a".repeat(64)}.b`,
      `${"abcdefghi.".repeat(25)}abc`,
      `${"abcdefghi.".repeat(26)}a`,
      "a\u0000b.c",
      "caf\u00e9.fr",
    ),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 30 }) },
);

const sniData = fc.oneof(
  { weight: 8, arbitrary: hostName.map((n) => serverNameData(n)) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(hostName, fc.integer({ min: 1, max: 255 }))
      .map(([n, t]) => serverNameData(n, t)),
  },
  {
    weight: 1,
    arbitrary: fc
      .array(hostName, { minLength: 0, maxLength: 3 })
      .map((names) =>
        vec16(
          ...names.map((n) => Buffer.concat([Buffer.from([0]), vec16(Buffer.from(n, "latin1"))])),
        ),
      ),
  },
  { weight: 1, arbitrary: bytes(12) },
);

const alpnExtension = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .array(fc.stringMatching(/^[\x21-\x7e]{1,12}$/), { minLength: 1, maxLength: 4 })
      .map(alpnData),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(alpnData([]), alpnData([""]), Buffer.from([0, 3, 2, 0x68, 0x32])),
  },
  { weight: 1, arbitrary: bytes(10) },
);

const versionsExtension = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .array(fc.integer({ min: 0, max: 0xffff }), { minLength: 1, maxLength: 6 })
      .map(supportedVersionsData),
  },
  { weight: 1, arbitrary: bytes(9) },
);

interface ExtensionPart {
  type: number;
  data: Buffer;
}

const anExtension: fc.Arbitrary<ExtensionPart> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ type: fc.constant(0), data: sniData }) },
  { weight: 2, arbitrary: fc.record({ type: fc.constant(16), data: alpnExtension }) },
  { weight: 2, arbitrary: fc.record({ type: fc.constant(43), data: versionsExtension }) },
  {
    weight: 3,
    arbitrary: fc.record({
      type: fc.oneof(
        fc.constantFrom(10, 11, 13, 23, 35, 41, 45, 51, 0xff01, 0xfe0d),
        fc.integer({ min: 0, max: 0xffff }),
      ),
      data: fc.oneof(
        bytes(40),
        fc.nat({ max: 3000 }).map((n) => Buffer.alloc(n, 0xaa)),
      ),
    }),
  },
);

// ---------------------------------------------------------------------------------------------
// The hello and its records

/** A length field's value: the truth, off by a little, or anything (see proxy-protocol.ts). */
const lengthLie: fc.Arbitrary<number | null> = fc.oneof(
  { weight: 14, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.integer({ min: -3, max: 3 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0x1000000, max: 0x1ffffff }) },
);

function said(length: number, lie: number | null, max: number): number {
  const n = lie === null ? length : lie >= 0x1000000 ? lie - 0x1000000 : length + lie;
  return Math.max(0, Math.min(max, n));
}

const helloMessage = fc
  .record({
    legacyVersion: fc.oneof(fc.constant(0x0303), fc.integer({ min: 0, max: 0xffff })),
    sessionId: fc.oneof(bytes(32), fc.constant(Buffer.alloc(33))),
    suites: fc.oneof(
      {
        weight: 8,
        arbitrary: fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 1, maxLength: 20 }),
      },
      { weight: 1, arbitrary: fc.constant<number[]>([]) },
    ),
    compression: fc.oneof(
      { weight: 8, arbitrary: fc.constant<number[]>([0]) },
      { weight: 1, arbitrary: fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 3 }) },
    ),
    extensions: fc.option(
      fc.array(fc.record({ ext: anExtension, lie: lengthLie }), { maxLength: 8 }),
      { freq: 12 },
    ),
    /** Repeat one extension (TLS_DUPLICATE_EXTENSION). */
    duplicate: fc.oneof(
      { weight: 12, arbitrary: fc.constant(-1) },
      { weight: 1, arbitrary: fc.nat() },
    ),
    blockLie: lengthLie,
    type: fc.oneof(
      { weight: 20, arbitrary: fc.constant(1) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) },
    ),
    handshakeLie: lengthLie,
  })
  .map((h) => {
    let block: Buffer[] | undefined;
    if (h.extensions !== null) {
      const encoded = h.extensions.map(({ ext, lie }) =>
        Buffer.concat([u16(ext.type), u16(said(ext.data.length, lie, 0xffff)), ext.data]),
      );
      if (h.duplicate >= 0 && encoded.length > 0)
        encoded.push(encoded[h.duplicate % encoded.length]);
      block = encoded;
    }
    let body = helloBody({
      legacyVersion: h.legacyVersion,
      sessionId: h.sessionId,
      cipherSuites: h.suites,
      compressionMethods: h.compression,
    });
    if (block !== undefined) {
      const all = Buffer.concat(block);
      body = Buffer.concat([body, u16(said(all.length, h.blockLie, 0xffff)), all]);
    }
    const message = handshake(body, h.type);
    message.writeUIntBE(said(body.length, h.handshakeLie, 0xffffff), 1, 3);
    return message;
  });

const recordPlan = fc.record({
  /** Payload sizes of the records, used in turn; empty: one record of up to 16384 bytes. */
  sizes: fc.oneof(
    { weight: 6, arbitrary: fc.constant([] as number[]) },
    {
      weight: 3,
      arbitrary: fc.array(fc.integer({ min: 1, max: 600 }), { minLength: 1, maxLength: 5 }),
    },
    { weight: 1, arbitrary: fc.constant([1]) },
  ),
  version: fc.oneof(
    { weight: 12, arbitrary: fc.integer({ min: 0x0301, max: 0x0303 }) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff }) },
  ),
  type: fc.oneof(
    { weight: 30, arbitrary: fc.constant(22) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) },
  ),
  lie: lengthLie,
});

type RecordPlan = typeof recordPlan extends fc.Arbitrary<infer T> ? T : never;

function toRecords(message: Buffer, plan: RecordPlan): Buffer {
  const out: Buffer[] = [];
  for (let p = 0, i = 0; p < message.length || i === 0; i++) {
    const size = plan.sizes.length === 0 ? 16384 : plan.sizes[i % plan.sizes.length];
    const length = Math.min(size, message.length - p);
    const header = Buffer.alloc(5);
    header[0] = i === 0 ? plan.type : 22;
    header.writeUInt16BE(plan.version, 1);
    header.writeUInt16BE(i === 0 ? said(length, plan.lie, 0xffff) : length, 3);
    out.push(header, message.subarray(p, p + length));
    p += length;
    if (length === 0) break;
  }
  return Buffer.concat(out);
}

/** What a client sends after its hello: nothing, a ChangeCipherSpec, early data, anything. */
const following = fc.oneof(
  fc.constant(Buffer.alloc(0)),
  fc.constant(Buffer.from("140303000101", "hex")),
  fc.constant(Buffer.from("1703030005", "hex")),
  bytes(16),
);

const FIXTURES = fixtureNames().map((name) => loadFixture(name).bytes);

const built = fc
  .record({ message: helloMessage, plan: recordPlan })
  .map(({ message, plan }) => toRecords(message, plan));

export const clientHelloInput: fc.Arbitrary<ClientHelloFuzzInput> = fc
  .record({
    hello: fc.oneof(
      { weight: 5, arbitrary: built },
      { weight: 1, arbitrary: fc.constantFrom(...FIXTURES) },
    ),
    following,
    mutations,
    chunking,
    prefix: prefixAt,
    options,
  })
  .map((i) => ({
    bytes: mutate(Buffer.concat([i.hello, i.following]), i.mutations),
    chunking: i.chunking,
    prefix: i.prefix,
    options: i.options,
  }));

// ---------------------------------------------------------------------------------------------
// The oracle

interface Outcome {
  status: number;
  code: string | null;
  offset: number | null;
  hello: string | null;
  /** Stream offset where the bytes after the hello's last record start. */
  end: number;
}

function helloJson(h: ClientHello): string {
  return JSON.stringify(h);
}

function checkError(e: ParseError, inputLength: number): void {
  assert.ok(isErrorCode(e.code), `unknown code ${e.code}`);
  assert.ok(
    e.code.startsWith("TLS_") && e.code !== "TLS_BAD_OPTION",
    `not a TLS parse code: ${e.code}`,
  );
  assert.ok(
    Number.isInteger(e.offset) && e.offset >= 0 && e.offset <= inputLength,
    `offset ${e.offset} outside 0..${inputLength}`,
  );
}

function checkHello(h: ClientHello, end: number): void {
  if (h.sni !== null) {
    const again = Buffer.from(h.sni, "latin1");
    assert.equal(parseHostName(again, 0, again.length, 0), h.sni, "the SNI is a clean host name");
  }
  assert.ok(h.alpn.every((p) => typeof p === "string" && p.length > 0));
  for (const v of h.supportedVersions ?? [])
    assert.ok(Number.isInteger(v) && v >= 0 && v <= 0xffff);
  assert.ok(h.recordCount >= 1 && h.helloLength >= 4 && h.helloLength + 5 * h.recordCount <= end);
}

/** Feeds chunks to one decoder, then ends the input; checks the contract on the way. */
function feed(chunks: Buffer[], options: ClientHelloOptions): Outcome {
  const d = new ClientHelloDecoder(options);
  const copies = chunks.map((c) => Buffer.from(c));
  let pushed = 0;
  let end = -1;
  for (const chunk of chunks) {
    const status = d.push(chunk);
    assert.ok(status === NEED_MORE || status === DONE || status === INVALID);
    assert.equal(d.status, status);
    if (status === NEED_MORE) {
      pushed += chunk.length;
      assert.equal(d.bytesSeen, pushed, "a decoder that needs more takes every byte");
      continue;
    }
    if (status === DONE) {
      assert.ok(d.tailOffset >= 0 && d.tailOffset <= chunk.length);
      end = pushed + d.tailOffset;
      assert.equal(d.bytesSeen, end);
    }
    break;
  }
  for (let i = 0; i < chunks.length; i++)
    assert.ok(chunks[i].equals(copies[i]), "a chunk was modified");
  d.end();
  assert.notEqual(d.status, NEED_MORE, "end() decides");
  if (d.status === DONE) {
    const h = d.hello as ClientHello;
    checkHello(h, end);
    return { status: DONE, code: null, offset: null, hello: helloJson(h), end };
  }
  const e = d.error as ParseError;
  return { status: INVALID, code: e.code, offset: e.offset, hello: null, end: -1 };
}

function outcomeOf(result: ClientHello | ParseError, end: number): Outcome {
  if (result instanceof ParseError) {
    return { status: INVALID, code: result.code, offset: result.offset, hello: null, end: -1 };
  }
  return { status: DONE, code: null, offset: null, hello: helloJson(result), end };
}

export function checkClientHelloInput(input: ClientHelloFuzzInput): void {
  const { bytes: all, options: o } = input;
  const whole = feed([all], o);
  const one = decodeClientHello(all, o);
  if (one instanceof ParseError) checkError(one, all.length);
  assert.deepEqual(outcomeOf(one, whole.end), whole, "decodeClientHello agrees with the decoder");

  if (whole.status === DONE) {
    // Never reads past the hello: its records alone decode the same.
    assert.deepEqual(
      feed([Buffer.from(all.subarray(0, whole.end))], o),
      whole,
      "the hello's records alone decode the same",
    );
  }

  // A prefix answers the same as the whole, or is incomplete.
  const cut = input.prefix % (all.length + 1);
  const part = feed([all.subarray(0, cut)], o);
  if (!(part.status === INVALID && part.code === "TLS_INCOMPLETE")) {
    assert.deepEqual(part, whole, `the ${cut}-byte prefix answers differently`);
  } else if (whole.code !== "TLS_INCOMPLETE") {
    assert.ok(cut < all.length, "only a strict prefix can be incomplete");
  }

  if (all.length === 0) return;
  for (const chunks of chunkingsOf(all, input.chunking)) {
    assert.deepEqual(feed(chunks, o), whole, "chunked input decodes the same");
  }
}
