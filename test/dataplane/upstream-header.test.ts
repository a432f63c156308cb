/** The header sent upstream equals what the general encoder builds from the same facts. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { TENANT_TLV, upstreamProxyHeader } from "../../src/dataplane/index.js";
import { writeUpstreamProxyHeader } from "../../src/dataplane/upstream-header.js";
import {
  decodeProxyHeader,
  encodeProxyHeaderV1,
  encodeProxyHeaderV2,
  ParseError,
  type ProxyHeader,
} from "../../src/proxy-protocol/index.js";

function decoded(b: Buffer): ProxyHeader {
  const h = decodeProxyHeader(b);
  if (h instanceof ParseError) assert.fail(h.message);
  return h;
}

/** An incoming PROXY v2 header over TCP (ports 5000 -> 443) with a CRC32C. */
function tcpHeader(src: string, dst: string, link: string): ProxyHeader {
  return decoded(
    encodeProxyHeaderV2({
      source: { address: src, port: 5000 },
      destination: { address: dst, port: 443 },
      link,
      crc32c: true,
    }),
  );
}

const SNI = "megacorp.api.example.com";
const base = {
  peerAddress: "127.0.0.1",
  peerPort: 1,
  localAddress: "127.0.0.1",
  localPort: 2,
  sni: SNI,
  tenant: "megacorp",
};

describe("upstream PROXY v2 header", () => {
  for (const link of [
    "aws:vpce-0123456789abcdef0",
    "azure:553665985",
    "gcp:18446744072646845442",
    null,
  ]) {
    for (const [src, dst] of [
      ["172.31.7.113", "172.31.10.31"],
      ["2001:db8::1", "2001:db8::2"],
    ]) {
      test(`from a v2 header: ${link ?? "no identity"}, ${src}`, () => {
        const incoming = decoded(
          encodeProxyHeaderV2({
            source: { address: src, port: 51442 },
            destination: { address: dst, port: 443 },
            ...(link === null ? {} : { link }),
            crc32c: true,
            padTo: 100,
          }),
        );
        const out = upstreamProxyHeader({ ...base, header: incoming });
        const expected = encodeProxyHeaderV2({
          source: { address: src, port: 51442 },
          destination: { address: dst, port: 443 },
          ...(link === null ? {} : { link }),
          authority: SNI,
          tlvs: [{ type: TENANT_TLV, value: "megacorp" }],
          crc32c: true,
        });
        assert.deepEqual(out, expected);
        const back = decoded(out);
        assert.equal(back.crc32c, "valid");
        assert.equal(back.link?.id ?? null, link);
        assert.equal(back.source?.address, src);
      });
    }
  }

  test("with the client's first bytes after it, in the same buffer", () => {
    const incoming = tcpHeader("10.1.2.3", "10.0.0.1", "azure:553665985");
    const alone = upstreamProxyHeader({ ...base, header: incoming });
    const tail = [Buffer.from("first chunk,"), Buffer.alloc(0), Buffer.from(" second")];
    const out = upstreamProxyHeader({ ...base, header: incoming }, tail);
    assert.deepEqual(out, Buffer.concat([alone, ...tail]));
    assert.equal(decoded(out).crc32c, "valid", "the CRC covers the header only");
  });

  test("into a used shared buffer: the same bytes; one too small is left as it was", () => {
    const input = {
      ...base,
      header: tcpHeader("2001:db8::1", "2001:db8::2", "gcp:18446744072646845442"),
    };
    const tail = [Buffer.from("the ClientHello")];
    const expected = upstreamProxyHeader(input, tail);
    const shared = Buffer.alloc(4096, 0xee); // what an earlier connection left in it
    assert.equal(writeUpstreamProxyHeader(shared, input, tail), expected.length);
    assert.deepEqual(shared.subarray(0, expected.length), expected);
    assert.equal(shared[expected.length], 0xee, "nothing written past the end");
    // One byte short: minus the bytes needed, and not a byte written.
    const small = Buffer.alloc(expected.length - 1, 0xee);
    assert.equal(writeUpstreamProxyHeader(small, input, tail), -expected.length);
    assert.deepEqual(small, Buffer.alloc(expected.length - 1, 0xee));
    const exact = Buffer.alloc(expected.length);
    assert.equal(writeUpstreamProxyHeader(exact, input, tail), expected.length);
    assert.deepEqual(exact, expected);
  });

  test("a UDP family is sent as TCP (linkgate proxies streams)", () => {
    const incoming = decoded(
      encodeProxyHeaderV2({
        family: "udp4",
        source: { address: "10.0.0.1", port: 1 },
        destination: { address: "10.0.0.2", port: 2 },
      }),
    );
    assert.equal(decoded(upstreamProxyHeader({ ...base, header: incoming })).family, "tcp4");
  });

  test("from a v1 line, from the TCP connection (none listener), and without addresses", () => {
    const v1 = decoded(
      encodeProxyHeaderV1({
        source: { address: "2001:db8::7", port: 9 },
        destination: { address: "2001:db8::8", port: 443 },
      }),
    );
    const a = decoded(upstreamProxyHeader({ ...base, header: v1 }));
    assert.deepEqual(
      [a.family, a.source?.address, a.source?.port, a.destination?.port],
      ["tcp6", "2001:db8::7", 9, 443],
    );
    const b = decoded(
      upstreamProxyHeader({
        ...base,
        header: null,
        peerAddress: "::ffff:198.51.100.7",
        peerPort: 4000,
        localAddress: "::ffff:10.0.0.1",
        localPort: 443,
      }),
    );
    assert.deepEqual(
      [b.family, b.source?.address, b.source?.port, b.destination?.address],
      ["tcp4", "198.51.100.7", 4000, "10.0.0.1"],
    );
    const unspec = decoded(encodeProxyHeaderV2({ family: "unspec" }));
    const c = decoded(upstreamProxyHeader({ ...base, header: unspec, sni: null, tenant: null }));
    assert.deepEqual([c.family, c.source, c.authority, c.crc32c], ["unspec", null, null, "valid"]);
    const mixed = decoded(
      upstreamProxyHeader({ ...base, header: null, peerAddress: "10.0.0.1", localAddress: "::1" }),
    );
    assert.equal(mixed.family, "unspec", "mixed families cannot be expressed: no addresses");
  });
});
