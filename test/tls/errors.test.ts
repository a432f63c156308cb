/**
 * Every TLS error code from a crafted input, at the offset where the input proves invalid,
 * whatever the chunking; and the host name rules of the SNI.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  type ClientHello,
  ClientHelloDecoder,
  type ClientHelloOptions,
  DONE,
  decodeClientHello,
  ERROR_CATALOGUE,
  type ErrorCode,
  INVALID,
  LinkgateError,
  NEED_MORE,
  ParseError,
  parseHostName,
  requireSni,
  resolveClientHelloOptions,
} from "../../src/tls/index.js";
import {
  alpnData,
  clientHello,
  extension,
  handshake,
  helloWithSni,
  loadFixture,
  serverNameData,
  splitAt,
  supportedVersionsData,
  toRecords,
  toRecordsBySizes,
  u8,
  u16,
  vec8,
  vec16,
} from "./hello-builder.js";

const seen = new Set<ErrorCode>();

function byteByByte(bytes: Buffer): Buffer[] {
  return splitAt(
    bytes,
    [...Array(Math.max(0, bytes.length - 1)).keys()].map((i) => i + 1),
  );
}

/** Pushes chunks until the decoder is done; returns it. */
function run(chunks: Buffer[], options?: ClientHelloOptions): ClientHelloDecoder {
  const decoder = new ClientHelloDecoder(options);
  for (const chunk of chunks) if (decoder.push(chunk) !== NEED_MORE) break;
  return decoder;
}

/**
 * Checks that `input` fails with `code` (at `offset` when given) in one chunk, byte by byte and
 * split in two at a few points, with the same error each time. Early rejection shows in the
 * inputs of the tests: many end on the byte that proves them invalid.
 */
function expectError(
  input: Buffer,
  code: ErrorCode,
  offset?: number,
  options?: ClientHelloOptions,
): ParseError {
  seen.add(code);
  const whole = run([input], options);
  assert.equal(whole.status, INVALID, `expected ${code}, got status ${whole.status}`);
  const error = whole.error as ParseError;
  assert.equal(error.code, code, error.message);
  if (offset !== undefined) assert.equal(error.offset, offset, error.message);
  assert.ok(error.message.length > 0);
  assert.equal(whole.hello, null);

  const decoder = run(byteByByte(input), options);
  assert.equal(decoder.status, INVALID);
  assert.deepEqual(decoder.error?.toJSON(), error.toJSON());

  for (const at of [1, 5, 9, Math.floor(input.length / 2), input.length - 1]) {
    if (at <= 0 || at >= input.length) continue;
    const split = run(splitAt(input, [at]), options);
    assert.deepEqual(split.error?.toJSON(), error.toJSON(), `split at ${at}`);
  }
  // The status is final: more bytes change nothing.
  assert.equal(whole.push(Buffer.from([22])), INVALID);
  assert.equal(whole.end(), INVALID);
  assert.equal(whole.error, error);
  return error;
}

function expectHello(input: Buffer, options?: ClientHelloOptions): ClientHello {
  const decoder = run([input], options);
  assert.equal(decoder.status, DONE, decoder.error?.message);
  const split = run(byteByByte(input), options);
  assert.equal(split.status, DONE, split.error?.message);
  assert.equal(split.hello?.sni, decoder.hello?.sni);
  return decoder.hello as ClientHello;
}

const A_HELLO = clientHello([
  extension(0, serverNameData("megacorp.api.example.com")),
  extension(16, alpnData(["h2"])),
]);

/** Hello with a raw body after legacy_version, random and session id (for field errors). */
function rawHello(afterSessionId: Buffer, sessionId = Buffer.alloc(0)): Buffer {
  return toRecords(
    handshake(Buffer.concat([u16(0x0303), Buffer.alloc(32, 1), vec8(sessionId), afterSessionId])),
  );
}

const SUITES = vec16(u16(0x1301), u16(0x1302));
const NULL_COMPRESSION = vec8(u8(0));

/** A hello whose extensions block is `block` exactly (its own length field included). */
function helloWithBlock(block: Buffer): Buffer {
  return rawHello(Buffer.concat([SUITES, NULL_COMPRESSION, block]));
}

function helloWithExtensions(...extensions: Buffer[]): Buffer {
  return toRecords(clientHello(extensions));
}

describe("TLS_NOT_HANDSHAKE: the first byte is not a handshake record", () => {
  const cases: [string, Buffer][] = [
    ["an HTTP request", Buffer.from("GET / HTTP/1.1\r\nHost: megacorp.api.example.com\r\n\r\n")],
    ["the first byte of an HTTP request, alone", Buffer.from("G")],
    ["a PROXY v2 header", Buffer.from("0d0a0d0a000d0a515549540a2111000c", "hex")],
    ["a PROXY v1 header", Buffer.from("PROXY TCP4 192.0.2.1 198.51.100.1 56324 443\r\n")],
    ["an SSLv2-style hello", Buffer.from("802e0100020015000000100700c0", "hex")],
    ["an alert record", Buffer.from("15030300020228", "hex")],
    ["a ChangeCipherSpec record", Buffer.from("140303000101", "hex")],
    ["application data", Buffer.from("1703030005aabbccddee", "hex")],
    ["a zero byte", Buffer.alloc(10)],
  ];
  for (const [what, input] of cases) {
    test(what, () => {
      const error = expectError(input, "TLS_NOT_HANDSHAKE", 0);
      assert.match(error.message, /first byte 0x[0-9a-f]{2}/);
    });
  }
  test("the message guesses what came instead", () => {
    const message = (what: string) => run([new Map(cases).get(what) as Buffer]).error?.message;
    assert.match(message("a PROXY v2 header") ?? "", /PROXY v2/);
    assert.match(message("a PROXY v1 header") ?? "", /PROXY v1/);
    assert.match(message("an HTTP request") ?? "", /HTTP/);
  });
});

describe("TLS_BAD_RECORD", () => {
  test("record version 0x0300 (SSL 3.0), 0x0304, or a major version other than 3", () => {
    expectError(Buffer.from("160300", "hex"), "TLS_BAD_RECORD", 2);
    expectError(Buffer.from("160304", "hex"), "TLS_BAD_RECORD", 2);
    expectError(Buffer.from("160201", "hex"), "TLS_BAD_RECORD", 1);
    expectError(Buffer.from("16fefd", "hex"), "TLS_BAD_RECORD", 1);
  });
  test("every legacy record version from 0x0301 to 0x0303 is accepted", () => {
    for (const version of [0x0301, 0x0302, 0x0303]) {
      assert.equal(expectHello(toRecords(A_HELLO, 16384, version)).sni, "megacorp.api.example.com");
    }
  });
  test("an empty record", () => {
    expectError(Buffer.from("1603010000", "hex"), "TLS_BAD_RECORD", 3);
  });
  test("a record longer than 2^14", () => {
    expectError(Buffer.from("1603014001", "hex"), "TLS_BAD_RECORD", 3);
  });
  test("a ChangeCipherSpec record between two fragments of the hello", () => {
    const records = toRecords(A_HELLO, 50);
    const input = Buffer.concat([
      records.subarray(0, 55),
      Buffer.from("140303000101", "hex"),
      records.subarray(55),
    ]);
    expectError(input, "TLS_BAD_RECORD", 55);
  });
  test("a later record with a bad version", () => {
    const records = Buffer.from(toRecords(A_HELLO, 50));
    records.writeUInt16BE(0x0300, 55 + 1);
    expectError(records, "TLS_BAD_RECORD", 57);
  });
  test("the first record goes on past the hello", () => {
    // Found when the handshake length is read: the record is longer than the message.
    const input = toRecords(Buffer.concat([A_HELLO, u8(0)]));
    expectError(input.subarray(0, 9), "TLS_BAD_RECORD", 3);
  });
  test("a later record goes on past the hello", () => {
    const message = Buffer.concat([A_HELLO, Buffer.from([0, 0])]);
    const records = toRecordsBySizes(message, (i) => (i === 0 ? 30 : 1000));
    // Second record header at 35..39; its length field (38) proves it.
    expectError(records.subarray(0, 40), "TLS_BAD_RECORD", 38);
  });
  test("a record ending mid-hello followed by a record of another type", () => {
    const records = toRecords(A_HELLO, 20);
    const input = Buffer.concat([records.subarray(0, 25), Buffer.from("1703030001ff", "hex")]);
    expectError(input, "TLS_BAD_RECORD", 25);
  });
});

describe("TLS_TOO_MANY_RECORDS", () => {
  test("one-byte records: the 33rd record is refused on its first byte (default cap 32)", () => {
    expectError(toRecords(A_HELLO, 1).subarray(0, 32 * 6 + 1), "TLS_TOO_MANY_RECORDS", 32 * 6);
  });
  test("maxRecords: 2 refuses a third record and accepts two", () => {
    const half = Math.ceil(A_HELLO.length / 2);
    expectError(toRecords(A_HELLO, half - 1), "TLS_TOO_MANY_RECORDS", undefined, { maxRecords: 2 });
    assert.equal(expectHello(toRecords(A_HELLO, half), { maxRecords: 2 }).recordCount, 2);
  });
  test("maxRecords: 1 accepts a hello in one record", () => {
    assert.equal(expectHello(toRecords(A_HELLO), { maxRecords: 1 }).recordCount, 1);
  });
});

describe("TLS_NOT_CLIENT_HELLO", () => {
  test("a ServerHello (type 2), refused on the type byte", () => {
    expectError(toRecords(clientHello([], { type: 2 })).subarray(0, 6), "TLS_NOT_CLIENT_HELLO", 5);
  });
  test("type 0 (HelloRequest) and type 11 (Certificate)", () => {
    expectError(Buffer.from("160303000400000000", "hex"), "TLS_NOT_CLIENT_HELLO", 5);
    expectError(toRecords(handshake(Buffer.alloc(40), 11)), "TLS_NOT_CLIENT_HELLO", 5);
  });
});

describe("TLS_HELLO_TOO_LARGE", () => {
  test("a length of 16385 bytes is refused on the length field, before any body arrives", () => {
    // Record of 2^14 (valid), handshake header announcing 4 + 16381 bytes.
    expectError(Buffer.from("160301400001003ffd", "hex"), "TLS_HELLO_TOO_LARGE", 6);
  });
  test("a 16384-byte hello passes the default cap", () => {
    const body = clientHello([extension(21, Buffer.alloc(0))]);
    const padding = 16384 - body.length;
    const hello = clientHello([extension(21, Buffer.alloc(padding))]);
    assert.equal(hello.length, 16384);
    assert.equal(expectHello(toRecords(hello)).helloLength, 16384);
  });
  test("the option lowers the cap: chromium's 1991-byte hello", () => {
    const { bytes } = loadFixture("chromium");
    expectError(bytes.subarray(0, 9), "TLS_HELLO_TOO_LARGE", 6, { maxHelloSize: 1990 });
    assert.equal(expectHello(bytes, { maxHelloSize: 1991 }).helloLength, 1991);
  });
  test("a length field fragmented across records is still checked", () => {
    // Records of 2 bytes: the handshake length's bytes arrive in the first and second records;
    // the last of them, at 13, proves it; the field starts at 6.
    const input = toRecords(handshake(Buffer.alloc(20000)), 2);
    expectError(input.subarray(0, 14), "TLS_HELLO_TOO_LARGE", 6, { maxRecords: 65535 });
  });
});

describe("TLS_BAD_HELLO: lengths and structure", () => {
  test("a handshake message with an empty body", () => {
    expectError(Buffer.from("160301000401000000", "hex"), "TLS_BAD_HELLO");
  });
  test("a body too short for version, random and session id length", () => {
    expectError(toRecords(handshake(Buffer.alloc(34))), "TLS_BAD_HELLO");
  });
  test("a session id of 33 bytes", () => {
    // 5 + 4 + 2 + 32: the session id's length byte.
    expectError(
      rawHello(Buffer.concat([SUITES, NULL_COMPRESSION]), Buffer.alloc(33)),
      "TLS_BAD_HELLO",
      43,
    );
  });
  test("the hello ends inside the session id", () => {
    expectError(rawHello(Buffer.alloc(0), Buffer.alloc(20)), "TLS_BAD_HELLO");
  });
  test("cipher_suites empty, odd, or past the end", () => {
    expectError(rawHello(Buffer.concat([vec16(), NULL_COMPRESSION])), "TLS_BAD_HELLO", 44);
    expectError(rawHello(Buffer.concat([vec16(u8(0x13)), NULL_COMPRESSION])), "TLS_BAD_HELLO", 44);
    expectError(
      rawHello(Buffer.concat([u16(100), u16(0x1301), NULL_COMPRESSION])),
      "TLS_BAD_HELLO",
      44,
    );
  });
  test("compression methods empty, or past the end", () => {
    expectError(rawHello(Buffer.concat([SUITES, vec8()])), "TLS_BAD_HELLO");
    expectError(rawHello(Buffer.concat([SUITES, u8(3), u8(0)])), "TLS_BAD_HELLO");
  });
  test("the hello ends after cipher suites (no compression methods)", () => {
    expectError(rawHello(SUITES), "TLS_BAD_HELLO");
  });
  test("one stray byte after compression methods", () => {
    expectError(rawHello(Buffer.concat([SUITES, NULL_COMPRESSION, u8(0)])), "TLS_BAD_HELLO");
  });
  test("an extensions block longer or shorter than the rest of the hello", () => {
    const ext = extension(0x1234, Buffer.alloc(3));
    expectError(helloWithBlock(Buffer.concat([u16(ext.length + 1), ext])), "TLS_BAD_HELLO");
    expectError(helloWithBlock(Buffer.concat([u16(ext.length - 1), ext])), "TLS_BAD_HELLO");
  });
  test("an extension that declares more bytes than the block has", () => {
    const ext = Buffer.concat([u16(0x1234), u16(10), Buffer.alloc(5)]);
    expectError(helloWithBlock(vec16(ext)), "TLS_BAD_HELLO");
  });
  test("bytes after the last extension that cannot hold one", () => {
    expectError(
      helloWithBlock(vec16(extension(0x1234, Buffer.alloc(2)), Buffer.alloc(3))),
      "TLS_BAD_HELLO",
    );
  });
  test("server_name: empty, list not filling the extension, entry past the list", () => {
    expectError(helloWithExtensions(extension(0, Buffer.alloc(0))), "TLS_BAD_HELLO");
    const data = serverNameData("megacorp.api.example.com");
    expectError(helloWithExtensions(extension(0, Buffer.concat([data, u8(0)]))), "TLS_BAD_HELLO");
    const short = Buffer.concat([vec16(u8(0), u16(30), Buffer.from("megacorp"))]);
    expectError(helloWithExtensions(extension(0, short)), "TLS_BAD_HELLO");
    expectError(helloWithExtensions(extension(0, vec16(u8(0), u8(1)))), "TLS_BAD_HELLO");
  });
  test("ALPN: empty list, empty name, name past the list, list not filling the extension", () => {
    expectError(helloWithExtensions(extension(16, vec16())), "TLS_BAD_HELLO");
    expectError(
      helloWithExtensions(extension(16, vec16(vec8(Buffer.from("h2")), vec8()))),
      "TLS_BAD_HELLO",
    );
    expectError(
      helloWithExtensions(extension(16, vec16(u8(5), Buffer.from("h2")))),
      "TLS_BAD_HELLO",
    );
    expectError(
      helloWithExtensions(extension(16, Buffer.concat([alpnData(["h2"]), u8(0)]))),
      "TLS_BAD_HELLO",
    );
    expectError(helloWithExtensions(extension(16, Buffer.alloc(1))), "TLS_BAD_HELLO");
  });
  test("supported_versions: empty, odd, or not filling the extension", () => {
    expectError(helloWithExtensions(extension(43, Buffer.alloc(0))), "TLS_BAD_HELLO");
    expectError(helloWithExtensions(extension(43, vec8())), "TLS_BAD_HELLO");
    expectError(helloWithExtensions(extension(43, vec8(Buffer.from([3, 4, 3])))), "TLS_BAD_HELLO");
    expectError(
      helloWithExtensions(extension(43, Buffer.concat([supportedVersionsData([0x0304]), u8(0)]))),
      "TLS_BAD_HELLO",
    );
  });
  test("a hello without an extensions block (TLS 1.2 and before) is valid, without SNI", () => {
    const hello = expectHello(toRecords(clientHello(undefined)));
    assert.equal(hello.sni, null);
    assert.deepEqual(hello.alpn, []);
    assert.equal(hello.supportedVersions, undefined);
  });
  test("an empty extensions block is valid", () => {
    assert.equal(expectHello(toRecords(clientHello([]))).sni, null);
  });
  test("an error in a fragmented hello is reported at its offset in the stream", () => {
    const message = clientHello([extension(0x1234, Buffer.alloc(4)), extension(16, vec16())]);
    const alpnAt = message.indexOf(Buffer.from([0, 16, 0, 2, 0, 0]));
    for (const size of [7, 16, 1000]) {
      const records = toRecords(message, size);
      // The ALPN list's length field: 2 bytes after the extension header.
      const k = alpnAt + 4;
      const expected = k + 5 * (Math.floor(k / size) + 1);
      expectError(records, "TLS_BAD_HELLO", expected, { maxRecords: 1000 });
    }
  });
});

describe("TLS_DUPLICATE_EXTENSION", () => {
  test("two server_name extensions", () => {
    const sni = extension(0, serverNameData("megacorp.api.example.com"));
    const input = helloWithExtensions(sni, sni);
    expectError(input, "TLS_DUPLICATE_EXTENSION", input.length - sni.length);
  });
  test("two unknown extensions of the same type, apart", () => {
    const x = extension(0xabcd, Buffer.alloc(0));
    expectError(
      helloWithExtensions(x, extension(16, alpnData(["h2"])), x),
      "TLS_DUPLICATE_EXTENSION",
    );
  });
  test("the same GREASE value twice", () => {
    const g = extension(0x1a1a, Buffer.alloc(0));
    expectError(helloWithExtensions(g, g), "TLS_DUPLICATE_EXTENSION");
  });
  test("types that share a bitmap word are distinct", () => {
    const types = [0, 1, 31, 32, 33, 63, 0xffff, 0xffe0];
    const extensions = types.map((t) =>
      extension(t, t === 0 ? serverNameData("a.example") : Buffer.alloc(0)),
    );
    const hello = expectHello(helloWithExtensions(...extensions));
    assert.equal(hello.sni, "a.example");
  });
  test("a failed hello leaves no trace: the next hello with the same types decodes", () => {
    const sni = extension(0, serverNameData("megacorp.api.example.com"));
    const x = extension(0x4242, Buffer.alloc(1));
    expectError(helloWithExtensions(x, sni, sni), "TLS_DUPLICATE_EXTENSION");
    expectError(helloWithExtensions(x, extension(0, serverNameData("bad_name"))), "TLS_BAD_SNI");
    expectError(helloWithExtensions(x, extension(16, vec16())), "TLS_BAD_HELLO");
    const hello = expectHello(helloWithExtensions(x, sni, extension(16, alpnData(["h2"]))));
    assert.equal(hello.sni, "megacorp.api.example.com");
    assert.deepEqual(hello.alpn, ["h2"]);
  });
});

describe("TLS_BAD_SNI and host name rules", () => {
  const invalid: [string, string | Buffer][] = [
    ["an IPv4 literal", "192.0.2.1"],
    ["an IPv4 literal with a trailing dot", "10.0.0.1."],
    ["an IPv6 literal", "::1"],
    ["a bracketed IPv6 literal", "[2001:db8::1]"],
    ["a number", "2130706433"],
    ["a hex IPv4 form", "0x7f.0.0.1"],
    ["a name ending in a hex number", "megacorp.0x1F"],
    ["an underscore", "exa_mple.com"],
    ["a space", "exa mple.com"],
    ["a NUL byte", Buffer.from("megacorp.api.example.com\0evil.example", "latin1")],
    ["a newline", "example.com\n"],
    ["raw UTF-8", Buffer.from("müller.example", "utf8")],
    ["an empty name", ""],
    ["a lone dot", "."],
    ["two trailing dots", "example.com.."],
    ["an empty label", "a..b"],
    ["a leading dot", ".example.com"],
    ["a label starting with a hyphen", "-megacorp.example.com"],
    ["a label ending with a hyphen", "megacorp-.example.com"],
    ["a label of 64 characters", `${"a".repeat(64)}.example`],
    ["254 characters", `${"a.".repeat(126)}ab`],
    ["a wildcard", "*.example.com"],
    ["a port", "example.com:443"],
  ];
  for (const [what, name] of invalid) {
    test(`refuses ${what}`, () => {
      const input = helloWithSni(name);
      const error = expectError(input, "TLS_BAD_SNI");
      assert.ok(
        error.offset >= input.indexOf(serverNameData(name)) && error.offset <= input.length,
      );
    });
  }
  test("the offset is the bad byte's, in a fragmented hello too", () => {
    const name = "megacorp_api.example.com";
    for (const size of [5, 33, 16384]) {
      const input = toRecords(clientHello([extension(0, serverNameData(name))]), size);
      expectError(input, "TLS_BAD_SNI", input.indexOf("_", 0, "latin1"), { maxRecords: 1000 });
    }
  });
  test("name_type other than host_name (0)", () => {
    expectError(helloWithSni("megacorp.api.example.com", 1), "TLS_BAD_SNI");
  });
  test("two names in the list", () => {
    const entry = Buffer.concat([u8(0), vec16(Buffer.from("a.example"))]);
    expectError(helloWithExtensions(extension(0, vec16(entry, entry))), "TLS_BAD_SNI");
  });

  const valid: [string, string][] = [
    ["megacorp.api.example.com", "megacorp.api.example.com"],
    ["MegaCorp.API.Example.COM", "megacorp.api.example.com"],
    ["megacorp.api.example.com.", "megacorp.api.example.com"],
    ["xn--mller-kva.example", "xn--mller-kva.example"],
    ["XN--MLLER-KVA.EXAMPLE", "xn--mller-kva.example"],
    ["localhost", "localhost"],
    ["a", "a"],
    ["1a.example", "1a.example"],
    ["10.0.0.1.example", "10.0.0.1.example"],
    ["example.123a", "example.123a"],
    ["a-b.c-d", "a-b.c-d"],
    ["0-0.x", "0-0.x"],
    [`${"a".repeat(63)}.example`, `${"a".repeat(63)}.example`],
    [`${"a.".repeat(126)}a`, `${"a.".repeat(126)}a`],
    [`${"a.".repeat(126)}a.`, `${"a.".repeat(126)}a`],
  ];
  for (const [name, expected] of valid) {
    test(`accepts ${name.length > 40 ? `${name.slice(0, 20)}… (${name.length})` : name}`, () => {
      assert.equal(expectHello(helloWithSni(name)).sni, expected);
    });
  }

  test("parseHostName reads a name in a buffer, offsets counted from an origin", () => {
    const buf = Buffer.from("xxMegaCorp.Example.");
    assert.equal(parseHostName(buf, 2, buf.length, 0), "megacorp.example");
    const error = parseHostName(Buffer.from("xxa_b"), 2, 5, 1);
    assert.ok(error instanceof ParseError);
    assert.equal(error.code, "TLS_BAD_SNI");
    assert.equal(error.offset, 2);
  });
});

describe("TLS_NO_SNI", () => {
  test("requireSni on a hello without server_name", () => {
    seen.add("TLS_NO_SNI");
    const records = toRecords(clientHello([extension(16, alpnData(["h2"]))]), 40);
    const hello = expectHello(records);
    assert.equal(hello.sni, null);
    const error = requireSni(hello);
    assert.ok(error instanceof ParseError);
    assert.equal(error.code, "TLS_NO_SNI");
    assert.equal(error.offset, records.length);
    assert.equal(requireSni(expectHello(helloWithSni("a.example"))), "a.example");
  });
});

describe("TLS_INCOMPLETE", () => {
  const { bytes } = loadFixture("openssl-tls13");
  test("decodeClientHello on every strict prefix of a hello", () => {
    seen.add("TLS_INCOMPLETE");
    for (let n = 0; n < bytes.length; n++) {
      const result = decodeClientHello(bytes.subarray(0, n));
      assert.ok(result instanceof ParseError, `prefix of ${n}`);
      assert.equal(result.code, "TLS_INCOMPLETE");
      assert.equal(result.offset, n);
    }
  });
  test("end() on a decoder still waiting; end() after DONE changes nothing", () => {
    const waiting = new ClientHelloDecoder();
    assert.equal(waiting.push(bytes.subarray(0, 100)), NEED_MORE);
    assert.equal(waiting.end(), INVALID);
    assert.equal(waiting.error?.code, "TLS_INCOMPLETE");
    assert.equal(waiting.error?.offset, 100);
    assert.match(waiting.error?.message ?? "", /short of the hello/);

    const done = new ClientHelloDecoder();
    assert.equal(done.push(bytes), DONE);
    assert.equal(done.end(), DONE);
    assert.equal(done.error, null);
  });
  test("decodeClientHello accepts a plain Uint8Array", () => {
    const view = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
    const hello = decodeClientHello(view);
    assert.ok(!(hello instanceof ParseError));
    assert.equal(hello.sni, "megacorp.api.example.com");
  });
  test("empty chunks are ignored", () => {
    const decoder = new ClientHelloDecoder();
    assert.equal(decoder.push(Buffer.alloc(0)), NEED_MORE);
    assert.equal(decoder.push(bytes), DONE);
  });
});

describe("TLS_BAD_OPTION", () => {
  const bad: [string, ClientHelloOptions][] = [
    ["maxRecords 0", { maxRecords: 0 }],
    ["maxRecords 1.5", { maxRecords: 1.5 }],
    ["maxHelloSize 10", { maxHelloSize: 10 }],
    ["maxHelloSize NaN", { maxHelloSize: Number.NaN }],
    ["maxHelloSize 1 GiB", { maxHelloSize: 2 ** 30 }],
  ];
  for (const [what, options] of bad) {
    test(what, () => {
      seen.add("TLS_BAD_OPTION");
      for (const make of [
        () => resolveClientHelloOptions(options),
        () => new ClientHelloDecoder(options),
      ]) {
        assert.throws(
          make,
          (e: unknown) => e instanceof LinkgateError && e.code === "TLS_BAD_OPTION",
        );
      }
    });
  }
  test("resolved options are reused as they are", () => {
    const options = resolveClientHelloOptions({ maxRecords: 2 });
    assert.deepEqual(options, { maxHelloSize: 16384, maxRecords: 2 });
    expectError(toRecords(A_HELLO, 10), "TLS_TOO_MANY_RECORDS", undefined, options);
  });
});

test("every TLS code in the catalogue is produced by a test above", () => {
  const tlsCodes = Object.keys(ERROR_CATALOGUE).filter((c) => c.startsWith("TLS_"));
  assert.deepEqual([...seen].sort(), tlsCodes.sort());
});
