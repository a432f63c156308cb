/**
 * The ClientHellos captured from real clients (test/tls/fixtures/README.md): each decodes to the
 * expected SNI and ALPN in one chunk, at every split point, byte by byte, and re-fragmented into
 * several TLS records, without the caller's chunks being modified.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  type ClientHello,
  ClientHelloDecoder,
  type ClientHelloOptions,
  DONE,
  decodeClientHello,
  NEED_MORE,
  ParseError,
  requireSni,
} from "../../src/tls/index.js";
import {
  fixtureNames,
  handshakeOf,
  loadFixture,
  recordCount,
  splitAt,
  toRecords,
  toRecordsBySizes,
} from "./hello-builder.js";

const HOST = "megacorp.api.example.com";
const TLS13 = 0x0304;
const TLS12 = 0x0303;

interface Expected {
  sni: string | null;
  alpn: string[];
  /** supported_versions without GREASE values; undefined when the extension is absent. */
  versions: number[] | undefined;
  length: number;
}

const EXPECTED: Record<string, Expected> = {
  chromium: { sni: HOST, alpn: ["h2", "http/1.1"], versions: [TLS13, TLS12], length: 1996 },
  curl: {
    sni: HOST,
    alpn: ["h2", "http/1.1"],
    versions: [TLS13, TLS12, 0x0302, 0x0301],
    length: 517,
  },
  node: { sni: HOST, alpn: [], versions: [TLS13, TLS12], length: 382 },
  "node-alpn-h2": { sni: HOST, alpn: ["h2", "http/1.1"], versions: [TLS13, TLS12], length: 400 },
  "openssl-alpn-h2": {
    sni: HOST,
    alpn: ["h2"],
    versions: [TLS13, TLS12, 0x0302, 0x0301],
    length: 339,
  },
  "openssl-nosni": { sni: null, alpn: [], versions: [TLS13, TLS12, 0x0302, 0x0301], length: 297 },
  "openssl-tls12": { sni: HOST, alpn: [], versions: undefined, length: 221 },
  "openssl-tls13": { sni: HOST, alpn: [], versions: [TLS13, TLS12, 0x0302, 0x0301], length: 330 },
  python: { sni: HOST, alpn: [], versions: [TLS13, TLS12], length: 517 },
};

const isGrease = (v: number) => (v & 0x0f0f) === 0x0a0a && v >> 8 === (v & 0xff);

/**
 * Pushes the chunks into a fresh decoder until it is done, checking on the way that it never
 * writes to a chunk, answers NEED_MORE until the last byte of the hello, and takes every byte
 * pushed while it needs more.
 */
function decodeChunks(chunks: Buffer[], options?: ClientHelloOptions): ClientHelloDecoder {
  const copies = chunks.map((c) => Buffer.from(c));
  const decoder = new ClientHelloDecoder(options);
  let pushed = 0;
  for (const chunk of chunks) {
    const status = decoder.push(chunk);
    pushed += chunk.length;
    if (status !== NEED_MORE) break;
    assert.equal(decoder.bytesSeen, pushed);
  }
  for (const [i, c] of chunks.entries()) assert.ok(c.equals(copies[i]), `chunk ${i} was modified`);
  return decoder;
}

function checkHello(hello: ClientHello | null, expected: Expected, records: number): void {
  assert.ok(hello !== null);
  assert.equal(hello.sni, expected.sni);
  assert.deepEqual(hello.alpn, expected.alpn);
  assert.equal(hello.legacyVersion, TLS12);
  assert.deepEqual(
    hello.supportedVersions?.filter((v) => !isGrease(v)),
    expected.versions,
  );
  assert.equal(hello.recordCount, records);
  assert.equal(hello.helloLength, expected.length - 5);
}

function assertDone(decoder: ClientHelloDecoder, tailOffset: number): ClientHello {
  assert.equal(decoder.status, DONE, decoder.error?.message);
  assert.equal(decoder.error, null);
  assert.equal(decoder.tailOffset, tailOffset);
  return decoder.hello as ClientHello;
}

describe("captured ClientHellos", () => {
  test("every fixture has an expectation, and every expectation a fixture", () => {
    assert.deepEqual(fixtureNames(), Object.keys(EXPECTED).sort());
  });

  for (const name of fixtureNames()) {
    const expected = EXPECTED[name];
    const { bytes, chunks } = loadFixture(name);

    describe(name, () => {
      test("is one record of the expected size", () => {
        assert.equal(bytes.length, expected.length);
        assert.equal(recordCount(bytes), 1);
      });

      test("in one chunk", () => {
        const decoder = decodeChunks([bytes]);
        checkHello(assertDone(decoder, bytes.length), expected, 1);
        assert.equal(decoder.bytesSeen, bytes.length);
      });

      test("in the chunks the capture server read", () => {
        const decoder = decodeChunks(chunks);
        checkHello(assertDone(decoder, chunks[chunks.length - 1].length), expected, 1);
      });

      test("with one-shot decodeClientHello, and the bytes after it left alone", () => {
        const hello = decodeClientHello(bytes);
        assert.ok(!(hello instanceof ParseError), (hello as ParseError).message);
        checkHello(hello, expected, 1);
        // A ChangeCipherSpec and early data may follow; the decoder must not read them.
        const after = Buffer.from("140303000101170303000aff", "hex");
        const decoder = decodeChunks([Buffer.concat([bytes, after])]);
        checkHello(assertDone(decoder, bytes.length), expected, 1);
      });

      test("split into two chunks at every point", () => {
        for (let at = 1; at < bytes.length; at++) {
          const decoder = decodeChunks(splitAt(bytes, [at]));
          checkHello(assertDone(decoder, bytes.length - at), expected, 1);
        }
      });

      test("byte by byte", () => {
        const decoder = decodeChunks(
          splitAt(
            bytes,
            [...Array(bytes.length - 1).keys()].map((i) => i + 1),
          ),
        );
        checkHello(assertDone(decoder, 1), expected, 1);
      });

      test("re-fragmented into records of 1, 2, 3, 7, 100, 256 and 1000 bytes", () => {
        const message = handshakeOf(bytes);
        for (const size of [1, 2, 3, 7, 100, 256, 1000]) {
          const records = toRecords(message, size, 0x0303);
          const count = Math.ceil(message.length / size);
          const decoder = decodeChunks([records], { maxRecords: 65535 });
          checkHello(assertDone(decoder, records.length), expected, count);
        }
      });

      test("re-fragmented into records of 100 bytes, split at every point", () => {
        const records = toRecords(handshakeOf(bytes), 100);
        const count = recordCount(records);
        for (let at = 1; at < records.length; at++) {
          const decoder = decodeChunks(splitAt(records, [at]));
          checkHello(assertDone(decoder, records.length - at), expected, count);
        }
      });

      test("re-fragmented into uneven records (1, 4, 5, 37, ...), byte by byte", () => {
        const sizes = [1, 4, 5, 37, 3, 250, 64];
        const records = toRecordsBySizes(handshakeOf(bytes), (i) => sizes[i % sizes.length]);
        const decoder = decodeChunks(
          splitAt(
            records,
            [...Array(records.length - 1).keys()].map((i) => i + 1),
          ),
          { maxRecords: 1000 },
        );
        checkHello(assertDone(decoder, 1), expected, recordCount(records));
      });

      test("requireSni gives the name, or TLS_NO_SNI", () => {
        const hello = decodeClientHello(bytes) as ClientHello;
        const sni = requireSni(hello);
        if (expected.sni === null) {
          assert.ok(sni instanceof ParseError);
          assert.equal(sni.code, "TLS_NO_SNI");
          assert.equal(sni.offset, bytes.length);
        } else {
          assert.equal(sni, expected.sni);
        }
      });
    });
  }

  test("chromium's hello carries an X25519MLKEM768 key share (the reason for its size)", () => {
    const message = handshakeOf(loadFixture("chromium").bytes);
    assert.ok(message.includes(Buffer.from([0x11, 0xec, 0x04, 0xc0])), "group 0x11ec, 1216 bytes");
  });

  test("in one chunk, the hello is parsed in place: ALPN is read lazily from the caller's bytes", () => {
    const bytes = Buffer.from(loadFixture("openssl-alpn-h2").bytes);
    const decoder = decodeChunks([bytes]);
    const at = bytes.indexOf("h2", 0, "latin1");
    bytes[at + 1] = 0x33; // "h3", on our own copy of the fixture
    assert.deepEqual(decoder.hello?.alpn, ["h3"]);
  });

  test("split, the hello is reassembled into the decoder's own buffer", () => {
    const bytes = Buffer.from(loadFixture("openssl-alpn-h2").bytes);
    const decoder = decodeChunks(splitAt(bytes, [100]));
    bytes[bytes.indexOf("h2", 0, "latin1") + 1] = 0x33;
    assert.deepEqual(decoder.hello?.alpn, ["h2"]);
  });

  test("toJSON gives the fields, getters included", () => {
    const hello = decodeClientHello(loadFixture("openssl-tls12").bytes) as ClientHello;
    assert.deepEqual(JSON.parse(JSON.stringify(hello)), {
      sni: HOST,
      alpn: [],
      legacyVersion: TLS12,
      recordCount: 1,
      helloLength: 216,
    });
  });
});
