/**
 * Fuzz targets for the PROXY protocol decoder: v1 lines and v2 headers built from parts that are
 * valid or subtly not (lengths that lie, TLVs that do not tile, huge and duplicate TLVs, wrong
 * CRC32C, families and commands out of range), then mutated, followed by application bytes, and
 * fed in one call, by prefix, and in chunks.
 *
 * `checkProxyInput` is the oracle. It throws (an assertion) when the decoder:
 * - throws, or answers an error whose code is not a PROXY code of the catalogue, or whose offset
 *   lies outside the input;
 * - reads past the header: a header decoded from the whole input must decode the same from its
 *   own bytes alone, and its fields must all be readable;
 * - answers differently on a prefix of the input than on the whole (unless it needs more);
 * - answers differently in chunks than in one call, loses or alters an application byte, or
 *   writes into a chunk it was given.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { isErrorCode } from "../../src/errors/index.js";
import {
  crc32cWithHole,
  type DecoderOptions,
  DONE,
  decodeProxyHeader,
  INVALID,
  NEED_MORE,
  ParseError,
  type ProxyHeader,
  ProxyHeaderDecoder,
  resolveOptions,
} from "../../src/proxy-protocol/index.js";
import { type Chunking, chunking, chunkingsOf, mutate, mutations, prefixAt } from "./bytes.js";

export interface ProxyFuzzInput {
  bytes: Buffer;
  chunking: Chunking;
  /** Length of the prefix decoded on its own. */
  prefix: number;
  options: DecoderOptions;
}

const SIGNATURE = Buffer.from("0d0a0d0a000d0a515549540a", "hex");
const VALID_FAMILIES = [0x00, 0x11, 0x12, 0x21, 0x22, 0x31, 0x32];
const ADDRESS_LENGTH: Record<number, number> = {
  0: 0,
  17: 12,
  18: 12,
  33: 36,
  34: 36,
  49: 216,
  50: 216,
};

const bytes = (max: number) => fc.uint8Array({ maxLength: max }).map((b) => Buffer.from(b));
const ascii = (re: RegExp) => fc.stringMatching(re).map((s) => Buffer.from(s, "latin1"));

// ---------------------------------------------------------------------------------------------
// Options: mostly the defaults, sometimes the listener settings a configuration can choose.

const options: fc.Arbitrary<DecoderOptions> = fc.oneof(
  { weight: 8, arbitrary: fc.constant({}) },
  {
    weight: 1,
    arbitrary: fc.record(
      {
        versions: fc.constantFrom<(1 | 2)[]>([1, 2], [1], [2]),
        maxHeaderSize: fc.oneof(
          fc.constantFrom(16, 28, 107, 232, 4096, 65551),
          fc.integer({ min: 16, max: 65551 }),
        ),
        requireCrc32c: fc.boolean(),
        maxAuthorityLength: fc.integer({ min: 1, max: 300 }),
        maxUniqueIdLength: fc.integer({ min: 0, max: 200 }),
        maxTlvValueLength: fc.integer({ min: 0, max: 2048 }),
      },
      { requiredKeys: [] },
    ),
  },
);

// ---------------------------------------------------------------------------------------------
// v2

interface TlvPart {
  type: number;
  value: Buffer;
  /** What the length field says instead of the value's length, or null for the truth. */
  lie: number | null;
}

/**
 * What a length field says: null for the truth (usually); a small delta from it (the likely
 * bug); or, encoded as 0x10000 + n, any value n.
 */
const lengthLie: fc.Arbitrary<number | null> = fc.oneof(
  { weight: 12, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.integer({ min: -3, max: 3 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0x10000, max: 0x1ffff }) },
);

const vpceId = fc.oneof(
  ascii(/^vpce-[0-9a-f]{17}$/),
  ascii(/^vpce-[0-9a-z]{1,59}$/),
  ascii(/^[ -~]{0,70}$/),
  bytes(20),
);

const sslValue = fc
  .record({
    client: fc.integer({ min: 0, max: 255 }),
    verify: fc.integer({ min: 0, max: 0xffffffff }),
    subs: fc.array(
      fc.record({
        type: fc.oneof(fc.integer({ min: 0x21, max: 0x28 }), fc.integer({ min: 0, max: 255 })),
        value: bytes(40),
        lie: lengthLie,
      }),
      { maxLength: 4 },
    ),
  })
  .map(({ client, verify, subs }) => {
    const head = Buffer.alloc(5);
    head[0] = client;
    head.writeUInt32BE(verify, 1);
    return Buffer.concat([head, ...subs.map(encodeTlv)]);
  });

const tlv: fc.Arbitrary<TlvPart> = fc.oneof(
  tlvOf(
    0x03,
    fc.oneof(
      { weight: 8, arbitrary: bytes(4).filter((b) => b.length === 4) },
      { weight: 1, arbitrary: bytes(8) },
    ),
  ),
  tlvOf(
    0x04,
    fc.oneof(fc.nat({ max: 80 }), fc.nat({ max: 1100 })).map((n) => Buffer.alloc(n)),
  ),
  tlvOf(
    0x02,
    fc.oneof(
      ascii(/^[a-z0-9.-]{1,40}$/),
      bytes(20),
      fc.nat({ max: 300 }).map((n) => Buffer.alloc(n, 0x61)),
    ),
  ),
  tlvOf(0x01, fc.oneof(ascii(/^(h2|http\/1\.1)$/), bytes(20))),
  tlvOf(0x05, fc.oneof(bytes(128), bytes(200))),
  tlvOf(0x20, fc.oneof({ weight: 4, arbitrary: sslValue }, { weight: 1, arbitrary: bytes(8) })),
  tlvOf(0x30, fc.oneof(ascii(/^[a-z0-9_-]{1,20}$/), bytes(10))),
  tlvOf(
    0xea,
    fc
      .tuple(
        fc.oneof(
          { weight: 6, arbitrary: fc.constant(1) },
          { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) },
        ),
        vpceId,
      )
      .map(([sub, id]) => Buffer.concat([Buffer.from([sub]), id])),
  ),
  tlvOf(
    0xee,
    fc.oneof(
      {
        weight: 6,
        arbitrary: bytes(4)
          .filter((b) => b.length === 4)
          .map((b) => Buffer.concat([Buffer.from([1]), b])),
      },
      { weight: 1, arbitrary: bytes(7) },
    ),
  ),
  tlvOf(
    0xe0,
    fc.oneof(
      { weight: 6, arbitrary: bytes(8).filter((b) => b.length === 8) },
      { weight: 1, arbitrary: bytes(12) },
    ),
  ),
  fc.record({ type: fc.integer({ min: 0, max: 255 }), value: bytes(64), lie: lengthLie }),
);

function tlvOf(type: number, value: fc.Arbitrary<Buffer>): fc.Arbitrary<TlvPart> {
  return fc.record({ type: fc.constant(type), value, lie: lengthLie });
}

/** The 16-bit length field for `length` bytes, as `lie` says (see lengthLie). */
function lengthField(length: number, lie: number | null): number {
  const said = lie === null ? length : lie >= 0x10000 ? lie - 0x10000 : length + lie;
  return Math.max(0, Math.min(0xffff, said));
}

function encodeTlv(t: TlvPart): Buffer {
  const head = Buffer.alloc(3);
  head[0] = t.type;
  head.writeUInt16BE(lengthField(t.value.length, t.lie), 1);
  return Buffer.concat([head, t.value]);
}

const v2Header = fc
  .record({
    signature: fc.oneof(
      { weight: 20, arbitrary: fc.constant(-1) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 11 }) },
    ),
    verCmd: fc.oneof(
      { weight: 8, arbitrary: fc.constant(0x21) },
      { weight: 2, arbitrary: fc.constant(0x20) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) },
    ),
    fam: fc.oneof(
      { weight: 10, arbitrary: fc.constantFrom(...VALID_FAMILIES) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) },
    ),
    /** -1: the family's own address block, else a block of this many bytes. */
    addressLength: fc.oneof(
      { weight: 10, arbitrary: fc.constant(-1) },
      { weight: 1, arbitrary: fc.nat({ max: 40 }) },
    ),
    addressSeed: fc.integer(),
    tlvs: fc.array(tlv, { maxLength: 6 }),
    /** Put the CRC32C right (when there is one CRC TLV of 4 bytes). */
    fixCrc: fc.boolean(),
    lenLie: lengthLie,
  })
  .map((h) => {
    const sig = Buffer.from(SIGNATURE);
    if (h.signature >= 0) sig[h.signature] ^= 0x20;
    const addressLength = h.addressLength >= 0 ? h.addressLength : (ADDRESS_LENGTH[h.fam] ?? 0);
    const address = Buffer.alloc(addressLength);
    for (let i = 0; i < addressLength; i++) address[i] = (h.addressSeed >>> (i % 24)) & 0xff;
    const body = Buffer.concat([address, ...h.tlvs.map(encodeTlv)]);
    const len = lengthField(body.length, h.lenLie);
    const fixed = Buffer.from([h.verCmd, h.fam, len >> 8, len & 0xff]);
    const header = Buffer.concat([sig, fixed, body]);
    if (h.fixCrc) fixCrc(header, 16 + addressLength, Math.min(header.length, 16 + len));
    return header;
  });

/** Writes the right CRC32C into the first 4-byte CRC TLV found by walking TLVs from `p`. */
function fixCrc(header: Buffer, p: number, end: number): void {
  while (p + 3 <= end) {
    const len = header.readUInt16BE(p + 1);
    if (header[p] === 0x03 && len === 4 && p + 7 <= end) {
      header.fill(0, p + 3, p + 7);
      header.writeUInt32BE(crc32cWithHole(header, 0, end, p + 3), p + 3);
      return;
    }
    p += 3 + len;
  }
}

/** What follows the header: nothing, a TLS record start, or anything. */
const applicationBytes = fc.oneof(
  fc.constant(Buffer.alloc(0)),
  fc.constant(Buffer.from("160301020001", "hex")),
  bytes(32),
);

export const proxyV2Input: fc.Arbitrary<ProxyFuzzInput> = fc
  .record({
    header: v2Header,
    tail: applicationBytes,
    mutations,
    chunking,
    prefix: prefixAt,
    options,
  })
  .map(({ header, tail, mutations: m, chunking: c, prefix, options: o }) => ({
    bytes: mutate(Buffer.concat([header, tail]), m),
    chunking: c,
    prefix,
    options: o,
  }));

// ---------------------------------------------------------------------------------------------
// v1

const v4 = fc.oneof(
  { weight: 6, arbitrary: fc.ipV4() },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      "01.2.3.4",
      "256.1.1.1",
      "1.2.3",
      "1.2.3.4.5",
      "1..2.3",
      "0x7f.0.0.1",
      " 1.2.3.4",
      "1.2.3.4 ",
    ),
  },
);
const v6 = fc.oneof(
  { weight: 6, arbitrary: fc.ipV6() },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      "::ffff:1.2.3.4",
      "fe80::1%eth0",
      ":::",
      "1::2::3",
      "FE80::1",
      "::",
      "[::1]",
      "1:2:3:4:5:6:7:8:9",
    ),
  },
);
const portText = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 65535 }).map(String) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      "080",
      "+80",
      "65536",
      "-1",
      "",
      "99999999999999999999",
      "0x50",
      "8 0",
    ),
  },
);
const separator = fc.oneof(
  { weight: 20, arbitrary: fc.constant(" ") },
  { weight: 1, arbitrary: fc.constantFrom("  ", "\t", "", "\r") },
);

const v1Line = fc
  .record({
    prefix: fc.oneof(
      { weight: 20, arbitrary: fc.constant("PROXY") },
      { weight: 1, arbitrary: fc.constantFrom("PROXZ", "proxy", "PROX", "PROXYY") },
    ),
    sep: fc.array(separator, { minLength: 5, maxLength: 5 }),
    proto: fc.oneof(
      { weight: 12, arbitrary: fc.constantFrom("TCP4", "TCP6", "UNKNOWN") },
      { weight: 1, arbitrary: fc.constantFrom("UDP4", "TCP", "TCP44", "tcp4", "UNKNOWNX") },
    ),
    /** 0: the protocol's own family; 1: the other one (IPv4 in a TCP6 line, ...). */
    swap: fc.oneof(
      { weight: 8, arbitrary: fc.constant(false) },
      { weight: 1, arbitrary: fc.constant(true) },
    ),
    src4: v4,
    dst4: v4,
    src6: v6,
    dst6: v6,
    sport: portText,
    dport: portText,
    extra: fc.oneof(
      { weight: 10, arbitrary: fc.constant("") },
      { weight: 1, arbitrary: fc.constantFrom(" extra", " ", " 1") },
    ),
    /** UNKNOWN lines: padding around the 107-byte limit. */
    pad: fc.oneof(fc.constant(0), fc.integer({ min: 80, max: 100 }), fc.nat({ max: 200 })),
    ending: fc.oneof(
      { weight: 20, arbitrary: fc.constant("\r\n") },
      { weight: 1, arbitrary: fc.constantFrom("\n", "\r", "", "\r\r\n", "\n\r") },
    ),
  })
  .map((l) => {
    const six = (l.proto === "TCP6") !== l.swap;
    const [src, dst] = six ? [l.src6, l.dst6] : [l.src4, l.dst4];
    const s = l.sep;
    let line: string;
    if (l.proto === "UNKNOWN") {
      line = `${l.prefix}${s[0]}UNKNOWN${l.pad > 0 ? ` ${"x".repeat(l.pad)}` : ""}`;
    } else {
      line = `${l.prefix}${s[0]}${l.proto}${s[1]}${src}${s[2]}${dst}${s[3]}${l.sport}${s[4]}${l.dport}${l.extra}`;
    }
    return Buffer.from(`${line}${l.ending}`, "latin1");
  });

export const proxyV1Input: fc.Arbitrary<ProxyFuzzInput> = fc
  .record({ line: v1Line, tail: applicationBytes, mutations, chunking, prefix: prefixAt, options })
  .map(({ line, tail, mutations: m, chunking: c, prefix, options: o }) => ({
    bytes: mutate(Buffer.concat([line, tail]), m),
    chunking: c,
    prefix,
    options: o,
  }));

// ---------------------------------------------------------------------------------------------
// The oracle

interface Outcome {
  status: number;
  code: string | null;
  headerLength: number;
  json: string | null;
}

function outcomeOf(result: ProxyHeader | ParseError): Outcome {
  if (result instanceof ParseError) {
    if (result.code === "PP_INCOMPLETE")
      return { status: NEED_MORE, code: null, headerLength: -1, json: null };
    return { status: INVALID, code: result.code, headerLength: -1, json: null };
  }
  return {
    status: DONE,
    code: null,
    headerLength: result.headerLength,
    json: JSON.stringify(result),
  };
}

function checkError(e: ParseError, inputLength: number): void {
  assert.ok(isErrorCode(e.code), `unknown code ${e.code}`);
  assert.ok(
    /^PP[12]?_/.test(e.code) && e.code !== "PP_BAD_OPTION",
    `not a PROXY parse code: ${e.code}`,
  );
  assert.ok(
    Number.isInteger(e.offset) && e.offset >= 0 && e.offset <= inputLength,
    `offset ${e.offset} outside 0..${inputLength}`,
  );
  assert.equal(typeof e.message, "string");
}

/** Reads every field, as the gateway, the logs and `linkgate pp2 decode` do. */
function checkHeader(h: ProxyHeader, inputLength: number): void {
  assert.ok(h.headerLength > 0 && h.headerLength <= inputLength, "header within the input");
  assert.ok(h.version === 1 || h.version === 2);
  if (h.version === 2) assert.equal(h.headerLength, 16 + h.bytes.readUInt16BE(14));
  if (h.command === "local") assert.equal(h.link, null, "a LOCAL header carries no identity");
  if (h.link !== null) {
    assert.match(h.link.id, /^(aws:vpce-[0-9a-z]{1,59}|azure:\d{1,10}|gcp:\d{1,20})$/);
    assert.ok(h.linkTlv !== null);
  }
  let tlvBytes = 0;
  for (const t of h.tlvs) tlvBytes += 3 + t.value.length;
  assert.ok(tlvBytes <= h.headerLength);
  const source = h.source;
  const destination = h.destination;
  if (!h.hasAddresses) assert.equal(source, null);
  else assert.ok(source !== null && destination !== null);
  void [h.authority, h.alpn, h.netns, h.uniqueId, h.ssl, h.sourceIp(new Uint8Array(16))];
  const json = JSON.stringify(h);
  assert.equal(JSON.stringify(h.compact()), json, "a compact copy reads the same");
}

function feed(chunks: Buffer[], options: DecoderOptions) {
  const d = new ProxyHeaderDecoder(options);
  const copies = chunks.map((c) => Buffer.from(c));
  let taken = 0;
  let tail: Buffer | null = null;
  for (let i = 0; i < chunks.length; i++) {
    const status = d.push(chunks[i]);
    assert.ok(status === NEED_MORE || status === DONE || status === INVALID);
    assert.equal(d.status, status);
    if (status === DONE) {
      assert.ok(d.tailOffset >= 0 && d.tailOffset <= chunks[i].length);
      tail = Buffer.concat([chunks[i].subarray(d.tailOffset), ...chunks.slice(i + 1)]);
      taken += d.tailOffset;
      // Once decided, more bytes change nothing.
      assert.equal(d.push(Buffer.from([0x16])), DONE);
      break;
    }
    if (status === INVALID) {
      assert.equal(d.push(Buffer.from([0x0d])), INVALID);
      break;
    }
    taken += chunks[i].length;
  }
  for (let i = 0; i < chunks.length; i++)
    assert.ok(chunks[i].equals(copies[i]), "a chunk was modified");
  return { decoder: d, tail, taken };
}

export function checkProxyInput(input: ProxyFuzzInput): void {
  const { bytes: all, options: o } = input;
  resolveOptions(o); // the generators only make valid options
  const one = decodeProxyHeader(all, o);
  const whole = outcomeOf(one);
  if (one instanceof ParseError) checkError(one, all.length);
  else {
    checkHeader(one, all.length);
    // Never reads past the header: its own bytes decode the same.
    const alone = decodeProxyHeader(Buffer.from(all.subarray(0, one.headerLength)), o);
    assert.deepEqual(outcomeOf(alone), whole, "the header alone decodes the same");
  }

  // A prefix answers the same as the whole, or needs more.
  const cut = all.length === 0 ? 0 : input.prefix % (all.length + 1);
  const part = decodeProxyHeader(all.subarray(0, cut), o);
  if (part instanceof ParseError) checkError(part, cut);
  const p = outcomeOf(part);
  if (p.status !== NEED_MORE)
    assert.deepEqual(p, whole, `the ${cut}-byte prefix answers differently`);

  if (all.length === 0) return;
  for (const chunks of chunkingsOf(all, input.chunking)) {
    const { decoder: d, tail, taken } = feed(chunks, o);
    if (whole.status === NEED_MORE) {
      assert.equal(d.status, NEED_MORE, "streaming agrees: needs more");
      assert.equal(taken, all.length);
    } else if (whole.status === INVALID) {
      assert.equal(d.status, INVALID, `streaming agrees: invalid (${whole.code})`);
      assert.equal(d.error?.code, whole.code, "streaming agrees on the code");
      checkError(d.error as ParseError, all.length);
    } else {
      assert.equal(d.status, DONE, "streaming agrees: done");
      const h = d.header as ProxyHeader;
      assert.equal(JSON.stringify(h), whole.json, "streaming agrees on the header");
      assert.equal(taken, whole.headerLength, "streaming takes exactly the header");
      assert.ok(
        (tail as Buffer).equals(all.subarray(whole.headerLength)),
        "every application byte, unchanged",
      );
    }
  }
}
