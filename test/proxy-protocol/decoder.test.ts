import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ERROR_CATALOGUE } from "../../src/errors/index.js";
import {
  DONE,
  decodeProxyHeader,
  encodeProxyHeaderV2,
  INVALID,
  NEED_MORE,
  ParseError,
  type ProxyHeader,
  ProxyHeaderDecoder,
} from "../../src/proxy-protocol/index.js";

const SIG = "0d0a0d0a000d0a515549540a";

function hex(s: string): Buffer {
  return Buffer.from(s.replace(/\s/g, ""), "hex");
}

function ok(
  input: Buffer | string,
  options?: Parameters<typeof decodeProxyHeader>[1],
): ProxyHeader {
  const r = decodeProxyHeader(typeof input === "string" ? hex(input) : input, options);
  if (r instanceof ParseError) assert.fail(`expected a header, got ${r.code}: ${r.message}`);
  return r;
}

function code(input: Buffer | string, options?: Parameters<typeof decodeProxyHeader>[1]): string {
  const r = decodeProxyHeader(typeof input === "string" ? hex(input) : input, options);
  assert.ok(r instanceof ParseError, "expected an error");
  assert.ok(r.code in ERROR_CATALOGUE, `${r.code} is in the catalogue`);
  return r.code;
}

/** A TCP4 PROXY header with the given TLV bytes (hex) after the address block. */
function tcp4(tlvHex = ""): Buffer {
  const tlvs = hex(tlvHex);
  const len = 12 + tlvs.length;
  return Buffer.concat([
    hex(`${SIG}2111`),
    Buffer.from([len >> 8, len & 0xff]),
    hex("0a000001 0a000002 c350 01bb"),
    tlvs,
  ]);
}

function tlv(type: number, value: Buffer | string): string {
  const v = typeof value === "string" ? Buffer.from(value, "latin1") : value;
  return Buffer.concat([Buffer.from([type, v.length >> 8, v.length & 0xff]), v]).toString("hex");
}

describe("v2 fixed header", () => {
  test("every ver_cmd byte: only 0x20 (LOCAL) and 0x21 (PROXY) are accepted", () => {
    for (let b = 0; b < 256; b++) {
      const h = tcp4();
      h[12] = b;
      const r = decodeProxyHeader(h);
      if (b === 0x20 || b === 0x21) assert.ok(!(r instanceof ParseError), `0x${b.toString(16)}`);
      else {
        assert.ok(r instanceof ParseError);
        assert.equal(r.code, b >> 4 !== 2 ? "PP2_BAD_VERSION" : "PP2_BAD_COMMAND");
        assert.equal(r.offset, 12);
      }
    }
  });

  test("every family byte: exactly the seven defined ones are accepted (LOCAL and PROXY)", () => {
    const valid = new Map([
      [0x00, "unspec"],
      [0x11, "tcp4"],
      [0x12, "udp4"],
      [0x21, "tcp6"],
      [0x22, "udp6"],
      [0x31, "unix"],
      [0x32, "unix"],
    ]);
    for (const cmd of [0x20, 0x21]) {
      for (let fam = 0; fam < 256; fam++) {
        // len = the family's address block (216 bytes for invalid families).
        const size = [0, 12, 36, 216][fam >> 4] ?? 216;
        const h = Buffer.concat([
          hex(SIG),
          Buffer.from([cmd, fam, 0, size]),
          Buffer.alloc(size, 0x61),
        ]);
        const r = decodeProxyHeader(h);
        if (valid.has(fam)) {
          assert.ok(
            !(r instanceof ParseError),
            `fam 0x${fam.toString(16)}: ${(r as ParseError).message}`,
          );
          assert.equal(r.family, valid.get(fam));
        } else {
          assert.ok(r instanceof ParseError);
          assert.equal(r.code, "PP2_BAD_FAMILY");
        }
      }
    }
  });

  test("len smaller than the address block is rejected for PROXY (CVE-2019-14243 crasher)", () => {
    assert.equal(code(`${SIG}21120000`), "PP2_ADDRESS_TRUNCATED");
    assert.equal(code(`${SIG}2121000c${"00".repeat(12)}`), "PP2_ADDRESS_TRUNCATED");
    assert.equal(code(`${SIG}213100d7${"00".repeat(215)}`), "PP2_ADDRESS_TRUNCATED");
  });

  test("the signature is checked byte by byte", () => {
    for (let i = 1; i < 12; i++) {
      const h = tcp4();
      h[i] ^= 0x40;
      const r = decodeProxyHeader(h);
      assert.ok(r instanceof ParseError);
      assert.equal(r.code, "PP2_BAD_SIGNATURE");
      assert.equal(r.offset, i);
    }
  });

  test("the header size cap is enforced from the 16th byte, default 4096", () => {
    const big = encodeProxyHeaderV2({
      source: { address: "10.0.0.1", port: 1 },
      destination: { address: "10.0.0.2", port: 2 },
      tlvs: [0, 1, 2, 3, 4].map(() => ({ type: 0xf0, value: Buffer.alloc(1000) })),
    });
    assert.equal(big.length, 16 + 12 + 5 * 1003);
    assert.equal(code(big), "PP2_HEADER_TOO_LARGE");
    assert.equal(ok(big, { maxHeaderSize: 8192 }).headerLength, big.length);
    const d = new ProxyHeaderDecoder();
    assert.equal(d.push(big.subarray(0, 15)), NEED_MORE);
    assert.equal(d.push(big.subarray(15, 16)), INVALID, "rejected as soon as len is known");
    assert.equal(d.error?.code, "PP2_HEADER_TOO_LARGE");
  });

  test("the largest header allowed by the format decodes when the cap allows it", () => {
    const h = encodeProxyHeaderV2({
      source: { address: "10.0.0.1", port: 1 },
      destination: { address: "10.0.0.2", port: 2 },
      padTo: 65551,
    });
    assert.equal(h.length, 65551);
    assert.equal(code(h), "PP2_HEADER_TOO_LARGE");
    assert.equal(code(h, { maxHeaderSize: 65551 }), "PP2_TLV_TOO_LARGE");
    assert.equal(ok(h, { maxHeaderSize: 65551, maxTlvValueLength: 65535 }).headerLength, 65551);
  });
});

describe("v2 TLVs", () => {
  test("TLVs must tile the header exactly", () => {
    assert.equal(code(tcp4("0200")), "PP2_TLV_LEFTOVER");
    assert.equal(code(tcp4("02")), "PP2_TLV_LEFTOVER");
    assert.equal(code(tcp4("02000531")), "PP2_TLV_OVERRUN");
    assert.equal(code(tcp4(`${tlv(0x04, "")}ff`)), "PP2_TLV_LEFTOVER");
    assert.deepEqual(
      ok(tcp4(tlv(0x04, "") + tlv(0xf1, "x"))).tlvs.map((t) => t.type),
      [0x04, 0xf1],
    );
  });

  test("per-TLV caps: AUTHORITY 255, UNIQUE_ID 128, others 1024", () => {
    assert.equal(ok(tcp4(tlv(0x02, "a".repeat(255)))).authority, "a".repeat(255));
    assert.equal(code(tcp4(tlv(0x02, "a".repeat(256)))), "PP2_TLV_TOO_LARGE");
    assert.equal(ok(tcp4(tlv(0x05, Buffer.alloc(128, 1)))).uniqueId?.length, 128);
    assert.equal(code(tcp4(tlv(0x05, Buffer.alloc(129, 1)))), "PP2_TLV_TOO_LARGE");
    assert.equal(ok(tcp4(tlv(0x04, Buffer.alloc(1024)))).tlvs[0].value.length, 1024);
    assert.equal(code(tcp4(tlv(0x04, Buffer.alloc(1025)))), "PP2_TLV_TOO_LARGE");
    assert.equal(code(tcp4(tlv(0xf0, Buffer.alloc(1025)))), "PP2_TLV_TOO_LARGE");
    assert.equal(
      ok(tcp4(tlv(0xf0, Buffer.alloc(1025))), { maxTlvValueLength: 2048 }).tlvs.length,
      1,
    );
  });

  test("singleton TLVs may not repeat; NOOP and unknown types may", () => {
    for (const t of [0x01, 0x02, 0x05, 0x30]) {
      assert.equal(code(tcp4(tlv(t, "ab") + tlv(t, "cd"))), "PP2_DUPLICATE_TLV", `type ${t}`);
    }
    const ssl = "0100000000";
    assert.equal(code(tcp4(tlv(0x20, hex(ssl)) + tlv(0x20, hex(ssl)))), "PP2_DUPLICATE_TLV");
    assert.equal(
      ok(tcp4(tlv(4, "") + tlv(4, "x") + tlv(0xf2, "a") + tlv(0xf2, "b"))).tlvs.length,
      4,
    );
  });

  test("AUTHORITY must be a non-empty host name in UTF-8", () => {
    assert.equal(
      ok(tcp4(tlv(0x02, "megacorp.api.example.com"))).authority,
      "megacorp.api.example.com",
    );
    assert.equal(
      ok(tcp4(tlv(0x02, Buffer.from("bücher.example", "utf8")))).authority,
      "bücher.example",
    );
    assert.equal(code(tcp4(tlv(0x02, ""))), "PP2_BAD_AUTHORITY");
    assert.equal(code(tcp4(tlv(0x02, "a b"))), "PP2_BAD_AUTHORITY");
    assert.equal(code(tcp4(tlv(0x02, hex("61ff62")))), "PP2_BAD_AUTHORITY");
    assert.equal(code(tcp4(tlv(0x02, "a\r\nb"))), "PP2_BAD_AUTHORITY");
  });

  test("NETNS must be printable US-ASCII", () => {
    assert.equal(ok(tcp4(tlv(0x30, "blue"))).netns, "blue");
    assert.equal(code(tcp4(tlv(0x30, ""))), "PP2_BAD_NETNS");
    assert.equal(code(tcp4(tlv(0x30, hex("00")))), "PP2_BAD_NETNS");
  });

  test("SSL TLV: 5-byte prefix, sub-TLVs tile the rest, decoded on demand", () => {
    const sub = tlv(0x21, "TLSv1.3") + tlv(0x23, "TLS_AES_128_GCM_SHA256") + tlv(0x22, "client");
    const h = ok(tcp4(tlv(0x20, hex(`07 00000000 ${sub}`))));
    const ssl = h.ssl;
    assert.ok(ssl !== null);
    assert.equal(ssl.clientSsl, true);
    assert.equal(ssl.certInConnection, true);
    assert.equal(ssl.certInSession, true);
    assert.equal(ssl.verify, 0);
    assert.equal(ssl.version, "TLSv1.3");
    assert.equal(ssl.cipher, "TLS_AES_128_GCM_SHA256");
    assert.equal(ssl.cn, "client");
    assert.equal(ssl.subTlvs.length, 3);
    assert.equal(code(tcp4(tlv(0x20, hex("01000000")))), "PP2_BAD_SSL_TLV");
    assert.equal(code(tcp4(tlv(0x20, hex("0100000000 2100")))), "PP2_BAD_SSL_TLV");
    assert.equal(code(tcp4(tlv(0x20, hex("0100000000 210005 6162")))), "PP2_BAD_SSL_TLV");
  });

  test("ALPN and UNIQUE_ID are exposed", () => {
    const h = ok(tcp4(tlv(0x01, "h2") + tlv(0x05, hex("00010203"))));
    assert.equal(h.alpn, "h2");
    assert.deepEqual([...(h.uniqueId ?? [])], [0, 1, 2, 3]);
    assert.equal(h.authority, null);
    assert.equal(h.ssl, null);
    assert.equal(h.netns, null);
  });
});

describe("CRC32C", () => {
  const body = tlv(0x02, "example.com");
  function withCrc(value: number): Buffer {
    const h = tcp4(tlv(0x03, Buffer.alloc(4)) + body);
    h.writeUInt32BE(value, 16 + 12 + 3);
    return h;
  }

  test("big-endian CRC-32C over the header with the field zeroed is accepted", () => {
    const h = encodeProxyHeaderV2({
      source: { address: "10.0.0.1", port: 50000 },
      destination: { address: "10.0.0.2", port: 443 },
      authority: "example.com",
      crc32c: true,
    });
    assert.equal(ok(h).crc32c, "valid");
    const stored = h.readUInt32BE(16 + 12 + 3);
    assert.equal(ok(withCrc(stored)).crc32c, "valid");
    // The same value stored little-endian (libproxyprotocol's mistake) is rejected.
    const swapped = Buffer.alloc(4);
    swapped.writeUInt32LE(stored);
    assert.equal(code(withCrc(swapped.readUInt32BE())), "PP2_BAD_CRC32C");
  });

  test("every single-bit flip in a CRC-protected header is caught, with requireCrc32c even in the CRC TLV type", () => {
    const h = encodeProxyHeaderV2({
      source: { address: "10.0.0.1", port: 50000 },
      destination: { address: "10.0.0.2", port: 443 },
      link: "aws:vpce-0123456789abcdef0",
      crc32c: true,
      padTo: 100,
    });
    const crcTypeAt = 16 + 12;
    assert.equal(h[crcTypeAt], 0x03);
    for (let i = 0; i < h.length; i++) {
      for (let bit = 0; bit < 8; bit++) {
        const m = Buffer.from(h);
        m[i] ^= 1 << bit;
        const lenient = decodeProxyHeader(m);
        // Flipping the CRC TLV's type byte turns it into another TLV: nothing is left to check
        // against, which is why a listener behind AWS can require the CRC.
        if (i !== crcTypeAt) assert.ok(lenient instanceof ParseError, `flip ${i}:${bit}`);
        assert.ok(
          decodeProxyHeader(m, { requireCrc32c: true }) instanceof ParseError,
          `flip ${i}:${bit}`,
        );
      }
    }
  });

  test("requireCrc32c rejects a PROXY header without CRC and accepts one with it", () => {
    assert.equal(code(tcp4(body), { requireCrc32c: true }), "PP2_MISSING_CRC32C");
    const h = encodeProxyHeaderV2({
      source: { address: "10.0.0.1", port: 1 },
      destination: { address: "10.0.0.2", port: 2 },
      crc32c: true,
    });
    assert.equal(ok(h, { requireCrc32c: true }).crc32c, "valid");
  });

  test("a CRC32C TLV must be 4 bytes and appear once", () => {
    assert.equal(code(tcp4(tlv(0x03, hex("000000")))), "PP2_BAD_CRC32C_LENGTH");
    assert.equal(code(tcp4(tlv(0x03, hex("0000000000")))), "PP2_BAD_CRC32C_LENGTH");
    assert.equal(
      code(tcp4(tlv(0x03, hex("00000000")) + tlv(0x03, hex("00000000")))),
      "PP2_DUPLICATE_TLV",
    );
  });

  test("no CRC TLV: crc32c is absent", () => {
    assert.equal(ok(tcp4(body)).crc32c, "absent");
  });
});

describe("cloud identities", () => {
  test("AWS: subtype 0x01 and a vpce- ID", () => {
    const h = ok(tcp4(tlv(0xea, `\x01vpce-0123456789abcdef0`)));
    assert.deepEqual({ ...h.link }, { provider: "aws", id: "aws:vpce-0123456789abcdef0" });
    assert.equal(code(tcp4(tlv(0xea, "\x01"))), "PP2_BAD_AWS_VPCE_ID", "empty ID");
    assert.equal(code(tcp4(tlv(0xea, "\x01vpce-"))), "PP2_BAD_AWS_VPCE_ID");
    assert.equal(code(tcp4(tlv(0xea, "\x01vpce-ABC"))), "PP2_BAD_AWS_VPCE_ID", "upper case");
    assert.equal(code(tcp4(tlv(0xea, "\x01vcpe-!?***&&&&&&&"))), "PP2_BAD_AWS_VPCE_ID");
    assert.equal(
      code(tcp4(tlv(0xea, `\x01vpce-${"a".repeat(60)}`))),
      "PP2_BAD_AWS_VPCE_ID",
      "too long",
    );
    assert.equal(code(tcp4(tlv(0xea, ""))), "PP2_BAD_AWS_VPCE_ID", "no subtype");
    // Another subtype is not an identity: kept raw.
    const other = ok(tcp4(tlv(0xea, "\x02vpce-abc")));
    assert.equal(other.link, null);
    assert.equal(other.tlvs[0].type, 0xea);
  });

  test("Azure: subtype 0x01 and a little-endian uint32 LINKID", () => {
    assert.equal(ok(tcp4(tlv(0xee, hex("01c1450021")))).link?.id, "azure:553665985");
    assert.equal(ok(tcp4(tlv(0xee, hex("01ffffffff")))).link?.id, "azure:4294967295");
    assert.equal(ok(tcp4(tlv(0xee, hex("0200000000")))).link, null, "other subtype kept raw");
    assert.equal(code(tcp4(tlv(0xee, hex("01c14500")))), "PP2_BAD_AZURE_LINKID");
    assert.equal(code(tcp4(tlv(0xee, hex("01c145002100")))), "PP2_BAD_AZURE_LINKID");
    assert.equal(code(tcp4(tlv(0xee, ""))), "PP2_BAD_AZURE_LINKID");
  });

  test("GCP: big-endian uint64, exact above 2^53", () => {
    assert.equal(ok(tcp4(tlv(0xe0, hex("ffffffffc0a86402")))).link?.id, "gcp:18446744072646845442");
    assert.equal(ok(tcp4(tlv(0xe0, hex("ffffffffffffffff")))).link?.id, "gcp:18446744073709551615");
    assert.equal(ok(tcp4(tlv(0xe0, hex("0020000000000001")))).link?.id, "gcp:9007199254740993");
    assert.equal(ok(tcp4(tlv(0xe0, hex("0000000000000000")))).link?.id, "gcp:0");
    assert.equal(code(tcp4(tlv(0xe0, hex("ffffff")))), "PP2_BAD_GCP_PSC_ID");
    assert.equal(code(tcp4(tlv(0xe0, hex("ffffffffc0a8640200")))), "PP2_BAD_GCP_PSC_ID");
  });

  test("two identity TLVs, of one cloud or of two, are ambiguous: rejected, never first-wins", () => {
    const aws = tlv(0xea, "\x01vpce-aaaaaaa");
    const aws2 = tlv(0xea, "\x01vpce-bbbbbbb");
    const az = tlv(0xee, hex("01c1450021"));
    const gcp = tlv(0xe0, hex("ffffffffc0a86402"));
    for (const pair of [aws + aws2, aws + aws, az + az, gcp + gcp, aws + gcp, gcp + az, az + aws]) {
      assert.equal(code(tcp4(pair)), "PP2_DUPLICATE_IDENTITY");
    }
    // A non-identity 0xEA/0xEE TLV next to an identity is fine.
    assert.equal(
      ok(tcp4(aws + tlv(0xea, "\x02x") + tlv(0xee, hex("02"))))?.link?.id,
      "aws:vpce-aaaaaaa",
    );
  });

  test("identities are interned: a repeated endpoint allocates nothing new", () => {
    const a = ok(tcp4(tlv(0xea, "\x01vpce-0123456789abcdef0"))).link;
    const b = ok(tcp4(tlv(0xea, "\x01vpce-0123456789abcdef0"))).link;
    assert.equal(a, b);
    assert.ok(Object.isFrozen(a));
  });

  test("LOCAL headers never carry an identity", () => {
    const h = Buffer.concat([
      hex(`${SIG}20110018`),
      hex("0a000001 0a000002 c350 01bb"),
      hex(tlv(0xea, "\x01vpce-abc")),
    ]);
    const r = ok(h);
    assert.equal(r.command, "local");
    assert.equal(r.link, null);
    assert.equal(r.source, null);
  });
});

describe("LOCAL", () => {
  test("AWS NLB health check: fam 0x11, no address block, CRC32C and NOOP at byte 16", () => {
    const b3 = hex(`${SIG}20110054030004bce5951f04004a${"00".repeat(74)}`);
    const h = ok(b3);
    assert.equal(h.command, "local");
    assert.equal(h.family, "tcp4");
    assert.equal(h.source, null);
    assert.equal(h.crc32c, "valid");
    assert.deepEqual(
      h.tlvs.map((t) => t.name),
      ["CRC32C", "NOOP"],
    );
    // A corrupted CRC byte: the reading at byte 16 fails, but the block also tiles after the
    // address block (zero padding), so the health check still counts as LOCAL.
    const bad = Buffer.from(b3);
    bad[20] ^= 1;
    assert.equal(ok(bad).crc32c, "absent");
    // A LOCAL header whose TLVs (from byte 16, the only reading that tiles) fail the CRC is rejected.
    const only16 = hex(`${SIG}2000000f030004deadbeef040005aabbccddee`);
    assert.equal(code(only16), "PP2_BAD_CRC32C");
  });

  test("LOCAL with an address block that happens to read as a CRC32C TLV is not rejected", () => {
    // fam 0x11, the address block reads from byte 16 as CRC32C(4 bytes) + a 2-byte TLV, then a
    // NOOP follows the block: a real header from a sender that writes addresses in LOCAL.
    const h = ok(`${SIG}2011000f030004deadbeef000002aabb040000`);
    assert.equal(h.command, "local");
    assert.deepEqual(
      h.tlvs.map((t) => t.name),
      ["NOOP"],
    );
    assert.equal(h.crc32c, "absent");
  });

  test("LOCAL with an address block that does not parse as TLVs is skipped whole", () => {
    const h = ok(
      `${SIG}2000002420010db800000001000000000000000020010db8000000020000000000000000c35001bb`,
    );
    assert.equal(h.command, "local");
    assert.equal(h.headerLength, 52);
    assert.deepEqual(h.tlvs, []);
  });

  test("LOCAL with an address block then TLVs reads the TLVs", () => {
    const h = ok(
      Buffer.concat([
        hex(`${SIG}20110015`),
        hex("0a000001 0a000002 c350 01bb"),
        hex(tlv(0x01, "h2") + "0400 01 00".replace(/ /g, "")),
      ]),
    );
    assert.deepEqual(
      h.tlvs.map((t) => t.name),
      ["ALPN", "NOOP"],
    );
  });

  test("LOCAL with len 0 and any family", () => {
    for (const fam of ["00", "11", "21", "31"]) {
      const h = ok(`${SIG}20${fam}0000`);
      assert.equal(h.headerLength, 16);
      assert.equal(h.source, null);
    }
  });
});

describe("addresses", () => {
  test("IPv4, IPv6 (RFC 5952), UNIX, UDP", () => {
    const v6 = ok(
      `${SIG}2121002420010db800000001000000000000000020010db8000000020000000000000000c35001bb`,
    );
    assert.deepEqual(v6.source, { address: "2001:db8:0:1::", port: 50000 });
    assert.deepEqual(v6.destination, { address: "2001:db8:0:2::", port: 443 });
    const u = encodeProxyHeaderV2({
      family: "unix",
      source: { address: "/run/a.sock" },
      destination: { address: "/run/b.sock" },
    });
    const uh = ok(u);
    assert.equal(uh.family, "unix");
    assert.equal(uh.transport, "stream");
    assert.deepEqual(uh.source, { address: "/run/a.sock", port: null });
    const d = ok(
      encodeProxyHeaderV2({
        family: "udp6",
        source: { address: "::1", port: 53 },
        destination: { address: "::2", port: 53 },
      }),
    );
    assert.equal(d.family, "udp6");
    assert.equal(d.transport, "dgram");
    const out = new Uint8Array(16);
    assert.equal(d.sourceIp(out), 6);
    assert.equal(out[15], 1);
  });

  test("PROXY with UNSPEC is accepted without addresses (the spec allows it)", () => {
    const h = ok(`${SIG}21000000`);
    assert.equal(h.command, "proxy");
    assert.equal(h.family, "unspec");
    assert.equal(h.source, null);
    assert.equal(h.sourceIp(new Uint8Array(16)), 0);
  });
});

describe("streaming decoder", () => {
  const header = encodeProxyHeaderV2({
    source: { address: "192.0.2.1", port: 50000 },
    destination: { address: "198.51.100.1", port: 443 },
    link: "gcp:18446744072646845442",
    crc32c: true,
  });
  const app = Buffer.from("\x16\x03\x01 application bytes");
  const stream = Buffer.concat([header, app]);

  test("one chunk: parsed in place, no copy", () => {
    const d = new ProxyHeaderDecoder();
    assert.equal(d.push(stream), DONE);
    assert.equal(d.tailOffset, header.length);
    assert.equal(d.header?.bytes.buffer, stream.buffer, "the header is a view of the chunk");
  });

  test("every split into two chunks and byte by byte give the same header and the exact tail", () => {
    for (let k = 1; k < stream.length; k++) {
      const d = new ProxyHeaderDecoder();
      const a = stream.subarray(0, k);
      const b = stream.subarray(k);
      let st = d.push(a);
      let tail: Buffer;
      if (st === DONE) tail = Buffer.concat([a.subarray(d.tailOffset), b]);
      else {
        assert.equal(st, NEED_MORE);
        st = d.push(b);
        assert.equal(st, DONE, `split at ${k}`);
        tail = b.subarray(d.tailOffset);
      }
      assert.deepEqual(tail, app, `split at ${k}`);
      assert.equal(d.header?.link?.id, "gcp:18446744072646845442");
      assert.equal(d.header?.crc32c, "valid");
    }
    const d = new ProxyHeaderDecoder();
    let i = 0;
    while (d.push(stream.subarray(i, i + 1)) === NEED_MORE) i++;
    assert.equal(i + 1, header.length, "DONE exactly on the last header byte");
    assert.equal(d.tailOffset, 1);
  });

  test("a TLS ClientHello on a PROXY listener is rejected on its first byte", () => {
    const d = new ProxyHeaderDecoder();
    assert.equal(d.push(Buffer.from([0x16])), INVALID);
    assert.equal(d.error?.code, "PP_MISSING_HEADER");
  });

  test("a bad version, command or family byte is rejected on arrival, before byte 16", () => {
    for (const [bytes, expected] of [
      ["11", "PP2_BAD_VERSION"],
      ["99", "PP2_BAD_VERSION"],
      ["2f", "PP2_BAD_COMMAND"],
      ["2199", "PP2_BAD_FAMILY"],
      ["2013", "PP2_BAD_FAMILY"],
    ] as const) {
      const d = new ProxyHeaderDecoder();
      assert.equal(d.push(hex(SIG)), NEED_MORE);
      assert.equal(d.push(hex(bytes)), INVALID, bytes);
      assert.equal(d.error?.code, expected);
    }
    const d = new ProxyHeaderDecoder();
    assert.equal(d.push(hex(`${SIG}2111`)), NEED_MORE, "a valid prefix waits");
  });

  test("a bad signature is rejected as soon as the wrong byte arrives", () => {
    const d = new ProxyHeaderDecoder();
    assert.equal(d.push(hex("0d0a0d0a")), NEED_MORE);
    assert.equal(d.push(Buffer.from("G")), INVALID);
    assert.equal(d.error?.code, "PP2_BAD_SIGNATURE");
    assert.equal(d.error?.offset, 4);
  });

  test("after DONE or INVALID, push consumes nothing and repeats the status", () => {
    const d = new ProxyHeaderDecoder();
    assert.equal(d.push(stream), DONE);
    assert.equal(d.push(Buffer.from("more")), DONE);
    assert.equal(d.tailOffset, header.length);
    const e = new ProxyHeaderDecoder();
    assert.equal(e.push(Buffer.from("GET /")), INVALID);
    assert.equal(e.push(stream), INVALID);
  });

  test("compact(): a copy owning only the header bytes, with every field intact", () => {
    const withTlvs = encodeProxyHeaderV2({
      source: { address: "192.0.2.1", port: 50000 },
      destination: { address: "198.51.100.1", port: 443 },
      link: "aws:vpce-0123456789abcdef0",
      authority: "megacorp.api.example.com",
      alpn: "h2",
      crc32c: true,
    });
    // Buffer.alloc never draws from the shared pool, so the chunk has its own ArrayBuffer.
    const chunk = Buffer.alloc(withTlvs.length + 2000, 0x16);
    withTlvs.copy(chunk);
    const d = new ProxyHeaderDecoder();
    assert.equal(d.push(chunk), DONE);
    const h = d.header as ProxyHeader;
    const c = h.compact();
    assert.notEqual(c.bytes.buffer, chunk.buffer, "no longer a view of the chunk");
    assert.equal(c.bytes.length, withTlvs.length);
    assert.deepEqual(c.toJSON(), h.toJSON());
    assert.equal(c.authority, "megacorp.api.example.com");
    assert.equal(c.alpn, "h2");
    assert.deepEqual(c.linkTlv, h.linkTlv);
    assert.equal(c.compact(), c, "already compact");
    const v1 = ok(Buffer.from("PROXY TCP4 192.0.2.1 198.51.100.1 1 2\r\nGET"));
    assert.deepEqual(v1.compact().source, { address: "192.0.2.1", port: 1 });
  });

  test("compact(): its own ArrayBuffer, not a slice of Buffer's pool; addresses already read carried over", () => {
    const header = encodeProxyHeaderV2({
      source: { address: "192.0.2.1", port: 50000 },
      destination: { address: "198.51.100.1", port: 443 },
      link: "aws:vpce-0123456789abcdef0",
      crc32c: true,
    });
    const chunk = Buffer.concat([header, Buffer.alloc(2000, 0x16)]);
    const d = new ProxyHeaderDecoder();
    assert.equal(d.push(chunk), DONE);
    const h = d.header as ProxyHeader;
    const source = h.source;
    const c = h.compact();
    // A pooled slice would keep the whole pool (64 KiB on Node.js 24) alive with the connection.
    assert.equal(c.bytes.buffer.byteLength, header.length, "an ArrayBuffer of its own");
    assert.equal(c.source, source, "the source read before compact() is not formatted again");
    assert.deepEqual(c.destination, { address: "198.51.100.1", port: 443 });
  });

  test("empty chunks are ignored", () => {
    const d = new ProxyHeaderDecoder();
    assert.equal(d.push(Buffer.alloc(0)), NEED_MORE);
    assert.equal(d.push(stream), DONE);
  });

  test("only the versions allowed are accepted", () => {
    const v1 = Buffer.from("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n");
    assert.equal(code(v1, { versions: [2] }), "PP_VERSION_NOT_ALLOWED");
    assert.equal(code(header, { versions: [1] }), "PP_VERSION_NOT_ALLOWED");
    assert.equal(ok(v1, { versions: [1] }).version, 1);
  });

  test("a truncated header is PP_INCOMPLETE for the one-shot decoder", () => {
    assert.equal(code(header.subarray(0, header.length - 1)), "PP_INCOMPLETE");
    assert.equal(code(Buffer.alloc(0)), "PP_INCOMPLETE");
    assert.equal(code(Buffer.from("PROXY TCP4")), "PP_INCOMPLETE");
  });

  test("Uint8Array input works like Buffer", () => {
    const u = new Uint8Array(stream);
    const r = ok(Buffer.from(u));
    assert.equal(r.headerLength, header.length);
    const r2 = decodeProxyHeader(u);
    assert.ok(!(r2 instanceof ParseError));
    assert.equal(r2.link?.id, "gcp:18446744072646845442");
  });

  test("bad options are refused with PP_BAD_OPTION", () => {
    assert.throws(() => new ProxyHeaderDecoder({ maxHeaderSize: 10 }), { code: "PP_BAD_OPTION" });
    assert.throws(() => new ProxyHeaderDecoder({ maxHeaderSize: 70000 }), {
      code: "PP_BAD_OPTION",
    });
    assert.throws(() => new ProxyHeaderDecoder({ versions: [] }), { code: "PP_BAD_OPTION" });
    assert.throws(() => new ProxyHeaderDecoder({ versions: [3 as 1] }), { code: "PP_BAD_OPTION" });
  });
});

describe("v1", () => {
  const valid: [string, object][] = [
    [
      "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n",
      {
        family: "tcp4",
        source: { address: "192.168.0.1", port: 56324 },
        destination: { address: "192.168.0.11", port: 443 },
      },
    ],
    [
      "PROXY TCP6 2001:DB8::1 ::1 0 65535\r\n",
      {
        family: "tcp6",
        source: { address: "2001:db8::1", port: 0 },
        destination: { address: "::1", port: 65535 },
      },
    ],
    [
      "PROXY TCP6 ::ffff:192.0.2.1 ::1 1 2\r\n",
      { family: "tcp6", source: { address: "::ffff:192.0.2.1", port: 1 } },
    ],
    ["PROXY UNKNOWN\r\n", { family: "unspec", source: null, destination: null }],
    [
      "PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n",
      { family: "unspec", source: null },
    ],
    [`PROXY UNKNOWN ${"x".repeat(91)}\r\n`, { headerLength: 107 }],
  ];
  for (const [line, expected] of valid) {
    test(`accepts ${JSON.stringify(line.slice(0, 60))}`, () => {
      const h = ok(Buffer.from(line, "latin1"));
      assert.equal(h.version, 1);
      assert.equal(h.command, "proxy");
      for (const [k, v] of Object.entries(expected))
        assert.deepEqual(h[k as keyof ProxyHeader], v, k);
    });
  }

  const invalid: [string, string][] = [
    ["PROXY TCP4 1.2.3.4 5.6.7.8 080 443\r\n", "PP1_BAD_PORT"],
    ["PROXY TCP4 1.2.3.4 5.6.7.8 +80 443\r\n", "PP1_BAD_PORT"],
    ["PROXY TCP4 1.2.3.4 5.6.7.8 65536 443\r\n", "PP1_BAD_PORT"],
    ["PROXY TCP4 01.2.3.4 5.6.7.8 80 443\r\n", "PP1_BAD_ADDRESS"],
    ["PROXY TCP4 ::1 5.6.7.8 80 443\r\n", "PP1_BAD_ADDRESS"],
    ["PROXY TCP6 1.2.3.4 ::1 80 443\r\n", "PP1_BAD_ADDRESS"],
    ["PROXY TCP6 fe80::1%eth0 fe80::2 80 443\r\n", "PP1_BAD_ADDRESS"],
    ["PROXY TCP4 1.2.3.4 5.6.7.8 80 443 extra\r\n", "PP1_BAD_FIELD_COUNT"],
    ["PROXY TCP4 1.2.3.4 5.6.7.8 80\r\n", "PP1_BAD_FIELD_COUNT"],
    ["PROXY TCP4\r\n", "PP1_BAD_FIELD_COUNT"],
    ["PROXY TCP4  1.2.3.4 5.6.7.8 80 443\r\n", "PP1_BAD_SEPARATOR"],
    ["PROXY TCP4 1.2.3.4 5.6.7.8 80 443 \r\n", "PP1_BAD_SEPARATOR"],
    ["PROXY  TCP4 1.2.3.4 5.6.7.8 80 443\r\n", "PP1_BAD_SEPARATOR"],
    ["PROXY TCP1 1.2.3.4 5.6.7.8 80 443\r\n", "PP1_BAD_PROTOCOL"],
    ["PROXY UDP4 1.2.3.4 5.6.7.8 80 443\r\n", "PP1_BAD_PROTOCOL"],
    ["PROXY tcp4 1.2.3.4 5.6.7.8 80 443\r\n", "PP1_BAD_PROTOCOL"],
    ["PROXY UNKNOWNX\r\n", "PP1_BAD_PROTOCOL"],
    ["PROXY TCP4 1.2.3.4 5.6.7.8 80 443\n", "PP1_BAD_LINE_ENDING"],
    ["PROXY TCP4 1.2.3.4 5.6.7.8 80 443\rX\n", "PP1_BAD_LINE_ENDING"],
    ["PROXYjunk TCP4 1.2.3.4 5.6.7.8 80 443\r\n", "PP1_BAD_SIGNATURE"],
    ["PROX TCP4 1.2.3.4 5.6.7.8 80 443\r\n", "PP1_BAD_SIGNATURE"],
    ["PROXZ TCP4 1.2.3.4 5.6.7.8 80 443\r\n", "PP1_BAD_SIGNATURE"],
    [`PROXY UNKNOWN ${"x".repeat(92)}\r\n`, "PP1_NO_CRLF"],
    [`PROXY UNKNOWN ${"x".repeat(200)}`, "PP1_NO_CRLF"],
    ["GET / HTTP/1.1\r\n", "PP_MISSING_HEADER"],
  ];
  for (const [line, expected] of invalid) {
    test(`rejects ${JSON.stringify(line.slice(0, 50))} with ${expected}`, () => {
      assert.equal(code(Buffer.from(line, "latin1")), expected);
    });
  }

  test("the 108-byte line is rejected as soon as the 107th byte is not the end", () => {
    const d = new ProxyHeaderDecoder();
    const line = Buffer.from(`PROXY UNKNOWN ${"x".repeat(92)}\r\n`, "latin1");
    assert.equal(d.push(line.subarray(0, 106)), NEED_MORE);
    assert.equal(d.push(line.subarray(106, 107)), INVALID);
    assert.equal(d.error?.code, "PP1_NO_CRLF");
  });

  test("v1 followed by application bytes: the tail is exact at every split", () => {
    const line = Buffer.from(
      "PROXY TCP4 192.0.2.1 198.51.100.1 56324 443\r\nGET / HTTP/1.1\r\n\r\n",
      "latin1",
    );
    const headerLength = line.indexOf("\n") + 1;
    for (let k = 1; k < line.length; k++) {
      const d = new ProxyHeaderDecoder();
      const a = line.subarray(0, k);
      const b = line.subarray(k);
      let tail: Buffer;
      if (d.push(a) === DONE) tail = Buffer.concat([a.subarray(d.tailOffset), b]);
      else {
        assert.equal(d.push(b), DONE, `split ${k}`);
        tail = b.subarray(d.tailOffset);
      }
      assert.equal(tail.toString("latin1"), "GET / HTTP/1.1\r\n\r\n", `split ${k}`);
      assert.equal(d.header?.headerLength, headerLength);
    }
  });
});
