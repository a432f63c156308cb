/**
 * Property tests (fast-check): random and mutated bytes never make the decoder throw, only
 * answer NEED_MORE, DONE or INVALID with a coded error, take every byte they are given while
 * they need more (so a loop of pushes always ends), and answer the same whatever the chunking;
 * random valid ClientHellos, in random records and chunks, give back exactly their SNI.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { isErrorCode } from "../../src/errors/index.js";
import {
  ClientHelloDecoder,
  type ClientHelloOptions,
  DONE,
  INVALID,
  NEED_MORE,
  ParseError,
  parseHostName,
} from "../../src/tls/index.js";
import {
  alpnData,
  clientHello,
  extension,
  fixtureNames,
  handshakeOf,
  loadFixture,
  serverNameData,
  supportedVersionsData,
  toRecords,
  toRecordsBySizes,
} from "./hello-builder.js";

const RUNS = Number(process.env.LINKGATE_FC_RUNS ?? 300);
const TIMEOUT = { timeout: 60_000 };

interface Outcome {
  status: number;
  code: string | null;
  offset: number | null;
  sni: string | null | undefined;
  alpn: string[] | undefined;
  versions?: number[] | undefined;
  tailOffset: number;
}

/** Cuts `bytes` at the given points (any order, duplicates and out-of-range ones ignored). */
function chunked(bytes: Buffer, points: number[]): Buffer[] {
  const cuts = [...new Set(points.filter((p) => p > 0 && p < bytes.length))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const at of cuts) {
    chunks.push(bytes.subarray(from, at));
    from = at;
  }
  chunks.push(bytes.subarray(from));
  return chunks;
}

/**
 * Feeds the chunks and checks the decoder's contract on the way: no throw, a status of 0, 1 or
 * 2, every byte taken while it needs more, a coded TLS error within the input when invalid, a
 * well-formed hello when done. Returns the outcome, with the tail offset counted in the stream.
 */
function feed(chunks: Buffer[], options?: ClientHelloOptions): Outcome {
  const decoder = new ClientHelloDecoder(options);
  let pushed = 0;
  let tailOffset = -1;
  for (const chunk of chunks) {
    const status = decoder.push(chunk);
    assert.ok(status === NEED_MORE || status === DONE || status === INVALID);
    assert.equal(decoder.status, status);
    if (status === NEED_MORE) {
      pushed += chunk.length;
      assert.equal(decoder.bytesSeen, pushed, "a decoder that needs more takes every byte");
      continue;
    }
    tailOffset = pushed + decoder.tailOffset;
    pushed += chunk.length;
    break;
  }
  if (decoder.status === INVALID) {
    const error = decoder.error;
    assert.ok(error instanceof ParseError);
    assert.ok(isErrorCode(error.code) && error.code.startsWith("TLS_"), error.code);
    assert.ok(Number.isInteger(error.offset) && error.offset >= 0 && error.offset <= pushed);
    assert.equal(decoder.hello, null);
    return {
      status: INVALID,
      code: error.code,
      offset: error.offset,
      sni: undefined,
      alpn: undefined,
      tailOffset: -1,
    };
  }
  if (decoder.status === DONE) {
    const hello = decoder.hello;
    assert.ok(hello !== null && decoder.error === null);
    if (hello.sni !== null) {
      const again = Buffer.from(hello.sni, "latin1");
      assert.equal(parseHostName(again, 0, again.length, 0), hello.sni, "SNI is a clean name");
    }
    const alpn = hello.alpn;
    assert.ok(alpn.every((p) => typeof p === "string" && p.length > 0));
    const versions = hello.supportedVersions;
    for (const v of versions ?? []) assert.ok(v >= 0 && v <= 0xffff);
    assert.ok(tailOffset <= pushed);
    return { status: DONE, code: null, offset: null, sni: hello.sni, alpn, versions, tailOffset };
  }
  return {
    status: NEED_MORE,
    code: null,
    offset: null,
    sni: undefined,
    alpn: undefined,
    tailOffset,
  };
}

/** Offsets and widths of every length field of a one-record hello, found by walking it. */
function lengthFields(bytes: Buffer): { at: number; width: number }[] {
  const fields = [
    { at: 3, width: 2 },
    { at: 6, width: 3 },
  ];
  const end = bytes.length;
  let p = 5 + 4 + 2 + 32;
  fields.push({ at: p, width: 1 });
  p += 1 + bytes[p];
  fields.push({ at: p, width: 2 });
  p += 2 + bytes.readUInt16BE(p);
  fields.push({ at: p, width: 1 });
  p += 1 + bytes[p];
  if (p >= end) return fields;
  fields.push({ at: p, width: 2 });
  for (p += 2; p < end; p += 4 + bytes.readUInt16BE(p + 2)) {
    const type = bytes.readUInt16BE(p);
    const data = p + 4;
    fields.push({ at: p + 2, width: 2 });
    if (type === 0) fields.push({ at: data, width: 2 }, { at: data + 3, width: 2 });
    if (type === 16) {
      fields.push({ at: data, width: 2 });
      for (let q = data + 2; q < data + 4 + bytes.readUInt16BE(data); q += 1 + bytes[q]) {
        fields.push({ at: q, width: 1 });
      }
    }
    if (type === 43) fields.push({ at: data, width: 1 });
  }
  return fields;
}

const FIXTURES = fixtureNames().map((name) => loadFixture(name).bytes);
const fixture = fc.constantFrom(...FIXTURES);
const cutPoints = fc.array(fc.integer({ min: 1, max: 20000 }), { maxLength: 8 });

const mutation = fc.oneof(
  fc.record({
    kind: fc.constant("flip" as const),
    at: fc.nat(),
    mask: fc.integer({ min: 1, max: 255 }),
  }),
  fc.record({
    kind: fc.constant("set" as const),
    at: fc.nat(),
    value: fc.integer({ min: 0, max: 255 }),
  }),
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant("length" as const),
    field: fc.nat(),
    // Off by a little (the likely bug) or anything.
    change: fc.oneof(fc.integer({ min: -3, max: 3 }), fc.integer({ min: 0, max: 0xffffff })),
    absolute: fc.boolean(),
  }),
);

type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function mutate(original: Buffer, mutations: Mutation[]): Buffer {
  let bytes = Buffer.from(original);
  for (const m of mutations) {
    if (bytes.length === 0) break;
    if (m.kind === "flip") bytes[m.at % bytes.length] ^= m.mask;
    else if (m.kind === "set") bytes[m.at % bytes.length] = m.value;
    else if (m.kind === "truncate") bytes = bytes.subarray(0, m.at % bytes.length);
    else {
      const fields = lengthFields(original).filter((f) => f.at + f.width <= bytes.length);
      if (fields.length === 0) continue;
      const { at, width } = fields[m.field % fields.length];
      const max = 2 ** (8 * width) - 1;
      const old = bytes.readUIntBE(at, width);
      const value = m.absolute
        ? ((m.change % (max + 1)) + max + 1) % (max + 1)
        : Math.min(max, Math.max(0, old + m.change));
      bytes.writeUIntBE(value, at, width);
    }
  }
  return bytes;
}

describe("the decoder's contract on any input", () => {
  test(
    "random bytes, in random chunks: no throw, coded errors, same answer in one chunk",
    TIMEOUT,
    () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 3000 }), cutPoints, (raw, cuts) => {
          const bytes = Buffer.from(raw);
          const whole = feed([bytes]);
          assert.deepEqual(feed(chunked(bytes, cuts)), whole);
        }),
        { numRuns: RUNS },
      );
    },
  );

  test(
    "random bodies behind valid record and handshake headers reach the hello parser",
    TIMEOUT,
    () => {
      fc.assert(
        fc.property(
          fc.uint8Array({ minLength: 0, maxLength: 1500 }),
          fc.integer({ min: 1, max: 3 }),
          cutPoints,
          (body, minor, cuts) => {
            const header = Buffer.from([22, 3, minor, 0, 0, 1, 0, 0, 0]);
            header.writeUInt16BE(body.length + 4, 3);
            header.writeUIntBE(body.length, 6, 3);
            const bytes = Buffer.concat([header, body]);
            const whole = feed([bytes]);
            assert.notEqual(whole.status, NEED_MORE);
            assert.deepEqual(feed(chunked(bytes, cuts)), whole);
          },
        ),
        { numRuns: RUNS },
      );
    },
  );

  test("mutated captures (flips, truncations, corrupted lengths): same contract", TIMEOUT, () => {
    fc.assert(
      fc.property(
        fixture,
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        cutPoints,
        (original, mutations, cuts) => {
          const bytes = mutate(original, mutations);
          const whole = feed([bytes]);
          assert.deepEqual(feed(chunked(bytes, cuts)), whole);
        },
      ),
      { numRuns: RUNS * 3 },
    );
  });

  test("mutated captures re-fragmented into records: same contract", TIMEOUT, () => {
    fc.assert(
      fc.property(
        fixture,
        fc.array(mutation, { minLength: 1, maxLength: 3 }),
        fc.integer({ min: 1, max: 400 }),
        cutPoints,
        (original, mutations, size, cuts) => {
          const records = toRecords(handshakeOf(mutate(original, mutations)), size);
          const whole = feed([records], { maxRecords: 65535 });
          assert.deepEqual(feed(chunked(records, cuts), { maxRecords: 65535 }), whole);
        },
      ),
      { numRuns: RUNS },
    );
  });

  test("a strict prefix of a capture, in any chunks, always needs more", TIMEOUT, () => {
    fc.assert(
      fc.property(fixture, fc.nat(), cutPoints, (bytes, n, cuts) => {
        const prefix = bytes.subarray(0, n % bytes.length);
        assert.equal(feed(chunked(prefix, cuts)).status, NEED_MORE);
      }),
      { numRuns: RUNS },
    );
  });
});

// A DNS host name: LDH labels, mixed case, a top label that cannot read as a number.
const label = fc.stringMatching(/^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/);
const topLabel = fc.stringMatching(/^[a-zA-Z](?:[a-zA-Z0-9-]{0,20}[a-zA-Z0-9])?$/);
const hostName = fc
  .tuple(fc.array(label, { maxLength: 6 }), topLabel, fc.boolean())
  .map(([labels, top, trailingDot]) => ({
    wire: [...labels, top].join(".") + (trailingDot ? "." : ""),
    expected: [...labels, top].join(".").toLowerCase(),
  }))
  .filter((h) => h.expected.length <= 253);

const otherExtension = fc.record({
  type: fc.integer({ min: 0, max: 0xffff }).filter((t) => t !== 0 && t !== 16 && t !== 43),
  data: fc.uint8Array({ maxLength: 64 }),
});

const validHello = fc.record({
  host: fc.option(hostName, { freq: 8 }),
  alpn: fc.option(
    fc.array(fc.stringMatching(/^[\x21-\x7e]{1,16}$/), { minLength: 1, maxLength: 5 }),
  ),
  versions: fc.option(
    fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 1, maxLength: 8 }),
  ),
  others: fc.uniqueArray(otherExtension, { maxLength: 30, selector: (e) => e.type }),
  order: fc.array(fc.nat(), { minLength: 3, maxLength: 3 }),
  sessionId: fc.uint8Array({ maxLength: 32 }),
  suites: fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 1, maxLength: 40 }),
  compression: fc.uint8Array({ minLength: 1, maxLength: 4 }),
  recordSizes: fc.option(
    fc.array(fc.integer({ min: 1, max: 600 }), { minLength: 1, maxLength: 6 }),
  ),
  recordVersion: fc.integer({ min: 0x0301, max: 0x0303 }),
  trailing: fc.uint8Array({ maxLength: 16 }),
  cuts: cutPoints,
});

describe("random valid ClientHellos", () => {
  test("give back exactly their SNI, ALPN and versions, in any records and chunks", TIMEOUT, () => {
    fc.assert(
      fc.property(validHello, (h) => {
        const extensions = h.others.map((e) => extension(e.type, Buffer.from(e.data)));
        // The known extensions go to random places among the others.
        const known: [number, Buffer][] = [];
        if (h.host !== null) known.push([0, extension(0, serverNameData(h.host.wire))]);
        if (h.alpn !== null) known.push([1, extension(16, alpnData(h.alpn))]);
        if (h.versions !== null) known.push([2, extension(43, supportedVersionsData(h.versions))]);
        for (const [i, ext] of known) {
          extensions.splice(h.order[i] % (extensions.length + 1), 0, ext);
        }
        const message = clientHello(extensions, {
          sessionId: Buffer.from(h.sessionId),
          cipherSuites: h.suites,
          compressionMethods: [...h.compression],
        });
        const sizes = h.recordSizes;
        const records =
          sizes === null
            ? toRecords(message, 16384, h.recordVersion)
            : toRecordsBySizes(message, (i) => sizes[i % sizes.length], h.recordVersion);
        const bytes = Buffer.concat([records, Buffer.from(h.trailing)]);
        const options = { maxRecords: 65535 };
        const outcome = feed(
          chunked(
            bytes,
            h.cuts.map((c) => c % (bytes.length + 1)),
          ),
          options,
        );
        assert.equal(outcome.status, DONE, `${outcome.code}: at ${outcome.offset}`);
        assert.equal(outcome.sni, h.host === null ? null : h.host.expected);
        assert.deepEqual(outcome.alpn, h.alpn ?? []);
        assert.deepEqual(outcome.versions, h.versions ?? undefined);
        assert.equal(outcome.tailOffset, records.length, "nothing after the hello is taken");
        assert.deepEqual(feed([bytes], options), outcome);
      }),
      { numRuns: RUNS },
    );
  });
});
