/**
 * The known PROXY protocol receiver bugs and CVEs of other implementations (the table "Known
 * bugs, CVEs and pitfalls" of the shared reference proxy-protocol.md, rows 1-22), one test each:
 * the input that triggered the bug there, and what linkgate does with it. Bytes are the
 * reference's verbatim vectors (section 4, with their sources) or built from the bug's
 * description. Rows about a whole connection run through the data plane over loopback sockets.
 */
import assert from "node:assert/strict";
import net from "node:net";
import { describe, type TestContext, test } from "node:test";
import type { LinkgateConfig } from "../../src/config/types.js";
import { upstreamProxyHeader } from "../../src/dataplane/index.js";
import type { ConnectionRecord } from "../../src/observability/types.js";
import { CompiledPolicy } from "../../src/policy/index.js";
import {
  DONE,
  decodeProxyHeader,
  encodeProxyHeaderV1,
  encodeProxyHeaderV2,
  INVALID,
  NEED_MORE,
  ParseError,
  type ProxyHeader,
  ProxyHeaderDecoder,
} from "../../src/proxy-protocol/index.js";
import { config, listener, tenant } from "../helpers/config.js";
import { startGateway } from "../helpers/gateway.js";
import { delay, waitFor } from "../helpers/programs.js";
import { helloWithSni } from "../tls/hello-builder.js";

const hex = (h: string) => Buffer.from(h.replace(/\s+/g, ""), "hex");
const SIG = "0d0a0d0a000d0a515549540a";
// Reference section 4: A1 (HAProxy reg-test), B1 and B3 (AWS NLB), C (libproxyprotocol),
// E2/E3 (Apache Traffic Server), F1 (CVE-2019-14243).
const A1 = hex(`${SIG} 21 11 0014 7f000001 7f000001 002a 0539 02 0005 3132333435`);
const B1 = hex(
  `${SIG}21110054ac1f0771ac1f0a1fc8f20050030004e8d6892dea001701767063652d3038643262663135666163353030316339040024${"00".repeat(36)}`,
);
const B3 = hex(`${SIG}20110054030004bce5951f04004a${"00".repeat(74)}`);
const C = hex(
  `${SIG}21110040c0a80a64c0a80b5aa55c1f90030004e51886f8ea001701767063652d32336438657a6a6b3338626368696c6d3404001000000000000000000000000000000000`,
);
const E2 = hex(
  `${SIG}2121002420010db800000001000000000000000020010db8000000020000000000000000c35001bb`,
);
const E3 = hex(
  `${SIG}2000002420010db800000001000000000000000020010db8000000020000000000000000c35001bb`,
);
const F1 = hex(`${SIG}21120000`);

const VPCE = "aws:vpce-0123456789abcdef0";
const HOST = "megacorp.api.example.com";
const HELLO = helloWithSni(HOST);

function decoded(bytes: Buffer): ProxyHeader {
  const h = decodeProxyHeader(bytes);
  if (h instanceof ParseError) assert.fail(`${h.code}: ${h.message}`);
  return h;
}

function errorCode(bytes: Buffer, options = {}): string {
  const h = decodeProxyHeader(bytes, options);
  assert.ok(h instanceof ParseError, "rejected");
  return h.code;
}

/** Every two-chunk split of `bytes`: the header and the exact bytes after it, each time. */
function everySplit(bytes: Buffer): { header: ProxyHeader; tail: Buffer }[] {
  const out: { header: ProxyHeader; tail: Buffer }[] = [];
  for (let i = 1; i < bytes.length; i++) {
    const d = new ProxyHeaderDecoder();
    let status = d.push(bytes.subarray(0, i));
    let last = bytes.subarray(0, i);
    let rest = bytes.subarray(i);
    if (status === NEED_MORE) {
      status = d.push(rest);
      last = rest;
      rest = Buffer.alloc(0);
    }
    assert.equal(status, DONE, `split at ${i}`);
    out.push({
      header: d.header as ProxyHeader,
      tail: Buffer.concat([last.subarray(d.tailOffset), rest]),
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Data plane harness: an origin that records raw bytes, the gateway, raw clients.

interface RawOrigin {
  port: number;
  received: Buffer[];
}

async function rawOrigin(t: TestContext): Promise<RawOrigin> {
  const received: Buffer[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    const i = received.push(Buffer.alloc(0)) - 1;
    sockets.add(s);
    s.on("data", (d) => {
      received[i] = Buffer.concat([received[i], d]);
    });
    s.on("error", () => {});
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { port: (server.address() as net.AddressInfo).port, received };
}

function gatewayConfig(
  originPort: number,
  over: Partial<LinkgateConfig["listeners"][number]> = {},
): LinkgateConfig {
  return config({
    listeners: [
      listener({
        name: "privatelink",
        trustedProxies: ["127.0.0.1/32"],
        headerTimeoutMs: 400,
        ...over,
      }),
      listener({ name: "public", proxyProtocol: "none", trustedProxies: [], headerTimeoutMs: 400 }),
    ],
    routing: {
      hostPatterns: ["{tenant}.api.example.com"],
      upstream: { host: "127.0.0.1", port: originPort },
      upstreamProxyProtocol: "v2",
      connectTimeoutMs: 2000,
      fallbackUpstream: null,
    },
    tenants: [
      tenant("megacorp", {
        allow: {
          rules: [
            { link: VPCE },
            { link: "azure:2701004993" },
            { link: "gcp:18410927349038644224" },
            { cidr: "203.0.113.0/24" },
            { cidr: "2001:db8::/32" },
          ],
        },
      }),
    ],
  });
}

/** Sends `chunks` (with `gapMs` between them) and waits until the gateway closes the socket. */
function send(
  port: number,
  chunks: Buffer[],
  gapMs = 0,
  keepOpenMs = 0,
): Promise<{ closedAfterMs: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const s = net.connect({ host: "127.0.0.1", port });
    s.on("error", () => {});
    s.on("data", () => {});
    s.on("close", () => resolve({ closedAfterMs: Date.now() - started }));
    s.on("connect", async () => {
      for (const c of chunks) {
        if (s.destroyed) return;
        s.write(c);
        if (gapMs > 0) await delay(gapMs);
      }
      if (keepOpenMs > 0) setTimeout(() => s.destroy(), keepOpenMs);
    });
    setTimeout(() => reject(new Error("the gateway never closed the connection")), 10_000).unref();
  });
}

const pp2 = (o: Parameters<typeof encodeProxyHeaderV2>[0]) =>
  encodeProxyHeaderV2({
    source: { address: "203.0.113.7", port: 41000 },
    destination: { address: "10.0.0.10", port: 443 },
    crc32c: true,
    ...o,
  });

function only(records: ConnectionRecord[]): ConnectionRecord {
  assert.equal(records.length, 1, JSON.stringify(records));
  return records[0];
}

// ---------------------------------------------------------------------------------------------

describe("known PROXY protocol receiver bugs and CVEs of other implementations", () => {
  test("1. HAProxy BUG/MAJOR 488ee7fb6: payload bytes in the same read are never parsed as TLVs", () => {
    // reg-test proxy_protocol_tlv_validation.vtc: A1, then 8 bytes that read like a TLV.
    const payload = hex("0200053534333231");
    for (const { header, tail } of [
      { header: decoded(Buffer.concat([A1, payload])), tail: payload },
      ...everySplit(Buffer.concat([A1, payload])),
    ]) {
      assert.equal(header.headerLength, 36);
      assert.deepEqual(
        header.tlvs.map((x) => x.type),
        [0x02],
      );
      assert.equal(header.authority, "12345");
      assert.ok(tail.equals(payload));
    }
  });

  test("2. HAProxy efd3aa934: a length shorter than the address block is rejected before any address is read", () => {
    assert.equal(errorCode(hex(`${SIG} 21 11 0004 7f000001`)), "PP2_ADDRESS_TRUNCATED");
    assert.equal(errorCode(hex(`${SIG} 21 21 000c ${"00".repeat(12)}`)), "PP2_ADDRESS_TRUNCATED");
    assert.equal(errorCode(hex(`${SIG} 21 31 00d7 ${"00".repeat(215)}`)), "PP2_ADDRESS_TRUNCATED");
    // Rejected at byte 16, whatever follows: nothing is waited for.
    const d = new ProxyHeaderDecoder();
    assert.equal(d.push(hex(`${SIG} 21 11 0004`)), INVALID);
  });

  test("3. HAProxy 7209c204b: TLV offsets count from the header's start, so proxied data is never a TLV", () => {
    // A header without TLVs, followed by application bytes that are a perfect AWS TLV.
    const header = hex(`${SIG} 21 11 000c c0000201 c6336401 c350 01bb`);
    const awsTlv = hex("ea001701767063652d3038643262663135666163353030316339");
    const h = decoded(Buffer.concat([header, awsTlv]));
    assert.equal(h.headerLength, 28);
    assert.equal(h.link, null);
    assert.deepEqual(h.tlvs, []);
  });

  test("4. Dovecot #125, Jetty #4843: LOCAL with an address block and TLVs, or TLVs and no block, is accepted", () => {
    for (const bytes of [E3, B3]) {
      const h = decoded(bytes);
      assert.equal(h.command, "local");
      assert.equal(h.headerLength, bytes.length);
      assert.equal(h.link, null);
      assert.equal(h.source, null);
    }
    assert.equal(decoded(B3).crc32c, "valid", "the AWS health check's CRC32C is verified");
  });

  test("5. go-proxyproto CVE-2021-23351: a v1 line without CRLF is refused at 107 bytes, not buffered", () => {
    const line = Buffer.concat([Buffer.from("PROXY TCP4 "), Buffer.alloc(1 << 20, 0x31)]);
    assert.equal(errorCode(line), "PP1_NO_CRLF");
    const d = new ProxyHeaderDecoder();
    let fed = 0;
    while (d.status === NEED_MORE) d.push(line.subarray(fed, ++fed));
    assert.equal(d.status, INVALID);
    assert.equal(fed, 107, "decided on the 107th byte");
    // The v2 counterpart: a declared length over the cap fails on the length field.
    const v2 = new ProxyHeaderDecoder();
    assert.equal(v2.push(hex(`${SIG} 21 11 ffff`)), INVALID);
    assert.equal(v2.error?.code, "PP2_HEADER_TOO_LARGE");
  });

  test("6. go-proxyproto CVE-2021-23409: silent and trickling connections are closed at headerTimeout", async (t) => {
    const origin = await rawOrigin(t);
    const g = await startGateway(t, gatewayConfig(origin.port));
    const { port } = g.address("privatelink");
    const silent = await send(port, [], 0, 5000);
    // One byte every 100 ms never completes the header: the deadline covers the whole header.
    const trickle = await send(
      port,
      [...pp2({ link: VPCE })].map((b) => Buffer.from([b])),
      100,
    );
    await g.waitForRecords(2);
    for (const r of g.records) {
      assert.equal(r.decision, "drop");
      assert.equal(r.reason, "CONN_HEADER_TIMEOUT");
    }
    for (const c of [silent, trickle])
      assert.ok(c.closedAfterMs >= 350 && c.closedAfterMs < 2000, `${c.closedAfterMs} ms`);
    assert.equal(origin.received.length, 0);
  });

  test("7. go-proxyproto GHSA-xcf7-q56x-78gh: a connection past its header is not cut at headerTimeout", async (t) => {
    const origin = await rawOrigin(t);
    const g = await startGateway(t, gatewayConfig(origin.port));
    const s = net.connect({ host: "127.0.0.1", port: g.address("privatelink").port });
    s.on("error", () => {});
    await new Promise((resolve) => s.once("connect", resolve));
    s.write(Buffer.concat([pp2({ link: VPCE }), HELLO]));
    await delay(1200); // three header timeouts
    assert.ok(!s.destroyed && s.readyState === "open", "still open");
    s.write("after the deadline");
    await waitFor(() => origin.received[0]?.includes("after the deadline"), {
      what: "bytes relayed after the deadline",
    });
    s.end();
    const r = only(await g.waitForRecords(1));
    assert.equal(r.decision, "allow");
    assert.equal(r.closedBy, null);
  });

  test("8. go-proxyproto 5914db8: a family byte outside the seven is rejected, under PROXY and LOCAL", () => {
    const valid = new Set([0x00, 0x11, 0x12, 0x21, 0x22, 0x31, 0x32]);
    for (let fam = 0; fam < 256; fam++) {
      for (const cmd of [0x21, 0x20]) {
        const bytes = Buffer.concat([hex(SIG), Buffer.from([cmd, fam, 0, 216]), Buffer.alloc(216)]);
        const h = decodeProxyHeader(bytes);
        if (!valid.has(fam)) {
          assert.ok(
            h instanceof ParseError && h.code === "PP2_BAD_FAMILY",
            `fam 0x${fam.toString(16)}`,
          );
        } else if (!(h instanceof ParseError)) {
          // Whatever was accepted can be read and logged (the 0x13 crash was in RemoteAddr()).
          JSON.stringify([h.source, h.destination, h.toJSON()]);
        }
      }
    }
  });

  test("9. go-proxyproto 2cd5f00: no guessing: a header is required where configured, refused elsewhere", async (t) => {
    const origin = await rawOrigin(t);
    const g = await startGateway(t, gatewayConfig(origin.port));
    await send(g.address("privatelink").port, [HELLO]); // no header where one is required
    await send(g.address("public").port, [Buffer.concat([pp2({ link: VPCE }), HELLO])]); // a header where none is allowed
    const records = await g.waitForRecords(2);
    const reasons = records.map((r) => `${r.listener} ${r.decision} ${r.reason}`).sort();
    assert.deepEqual(reasons, [
      "privatelink drop PP_MISSING_HEADER",
      "public drop TLS_NOT_HANDSHAKE",
    ]);
    assert.equal(origin.received.length, 0);
  });

  test("10. CVE-2019-14243 (mastercactapus/proxyprotocol): UDP4 with length 0 is rejected, in one call and streamed", () => {
    assert.equal(errorCode(F1), "PP2_ADDRESS_TRUNCATED");
    const d = new ProxyHeaderDecoder();
    for (const b of F1) d.push(Buffer.from([b]));
    assert.equal(d.error?.code, "PP2_ADDRESS_TRUNCATED");
  });

  test("11. Envoy CVE-2024-23327: a LOCAL header without address block is a health check, never routed upstream", async (t) => {
    const origin = await rawOrigin(t);
    const g = await startGateway(t, gatewayConfig(origin.port));
    await send(g.address("privatelink").port, [Buffer.concat([B3, HELLO])]);
    const r = only(await g.waitForRecords(1));
    assert.equal(r.decision, "health-check");
    assert.equal(origin.received.length, 0);
    // And a header built upstream from a LOCAL one (as Envoy's generator did) is well formed.
    const up = decoded(
      upstreamProxyHeader({
        header: decoded(B3),
        peerAddress: "127.0.0.1",
        peerPort: 1,
        localAddress: "127.0.0.1",
        localPort: 2,
        sni: null,
        tenant: null,
      }),
    );
    assert.equal(up.family, "unspec");
  });

  test("12. Envoy CVE-2024-23325: an IPv6 client address on an IPv4-only path is relayed, not dialled", async (t) => {
    const origin = await rawOrigin(t);
    const g = await startGateway(t, gatewayConfig(origin.port));
    await send(g.address("privatelink").port, [Buffer.concat([E2, HELLO])], 0, 300);
    const r = only(await g.waitForRecords(1));
    assert.equal(r.decision, "allow", r.reason);
    assert.equal(r.proxySource?.address, "2001:db8:0:1::");
    const up = decoded(origin.received[0]);
    assert.equal(up.family, "tcp6");
    assert.equal(up.source?.address, "2001:db8:0:1::");
  });

  test("13. Envoy CVE-2024-23324: binary identity TLVs (not UTF-8) keep their exact value, up to the backend", async (t) => {
    // LINKID 0xa0fe10c1 and a PSC ID with high bytes: both invalid as UTF-8.
    const azure = pp2({ tlvs: [{ type: 0xee, value: hex("01c110fea0") }] });
    const gcp = pp2({ tlvs: [{ type: 0xe0, value: hex("ff80c0e0f0f8fc00") }] });
    assert.equal(decoded(azure).link?.id, "azure:2701004993");
    assert.equal(decoded(gcp).link?.id, "gcp:18410927349038644224");
    const origin = await rawOrigin(t);
    const g = await startGateway(t, gatewayConfig(origin.port));
    for (const header of [azure, gcp])
      await send(g.address("privatelink").port, [Buffer.concat([header, HELLO])], 0, 200);
    const records = await g.waitForRecords(2);
    assert.deepEqual(
      records.map((r) => r.decision),
      ["allow", "allow"],
    );
    await waitFor(() => origin.received.length === 2 && origin.received.every((b) => b.length > 0));
    const forwarded = origin.received.map((b) => decoded(b).linkTlv?.toString("hex")).sort();
    assert.deepEqual(forwarded, ["e00008ff80c0e0f0f8fc00", "ee000501c110fea0"]);
  });

  test("14. Envoy CVE-2026-47692: the header sent upstream declares exactly what is written, and drops inbound TLVs", async (t) => {
    const noisy = pp2({
      link: VPCE,
      uniqueId: Buffer.alloc(128, 0x41),
      tlvs: [
        { type: 0xf0, value: Buffer.alloc(1000, 0x42) },
        { type: 0x04, value: Buffer.alloc(900) },
      ],
    });
    const origin = await rawOrigin(t);
    const g = await startGateway(t, gatewayConfig(origin.port));
    await send(g.address("privatelink").port, [Buffer.concat([noisy, HELLO])], 0, 300);
    only(await g.waitForRecords(1));
    await waitFor(() => (origin.received[0]?.length ?? 0) > 0);
    const bytes = origin.received[0];
    const up = decoded(bytes);
    assert.equal(up.headerLength, 16 + bytes.readUInt16BE(14));
    assert.deepEqual(
      up.tlvs.map((x) => x.type).sort((a, b) => a - b),
      [0x02, 0x03, 0xe4, 0xea],
    );
    assert.ok(bytes.subarray(up.headerLength).equals(HELLO), "then the client's bytes, exactly");
  });

  test("15. libproxyprotocol: the CRC32C is big-endian; its byte-swapped vector is rejected, real AWS headers pass", () => {
    assert.equal(errorCode(C), "PP2_BAD_CRC32C");
    assert.equal(decoded(B1).crc32c, "valid");
    assert.equal(decoded(B3).crc32c, "valid");
  });

  test("16. npm proxy-protocol-js: TLVs end where the length says; the application bytes start there", () => {
    const bytes = Buffer.concat([B1, HELLO]);
    const h = decoded(bytes);
    assert.equal(h.headerLength, 100);
    assert.deepEqual(
      h.tlvs.map((x) => x.type),
      [0x03, 0xea, 0x04],
    );
    for (const split of everySplit(bytes)) assert.ok(split.tail.equals(HELLO));
  });

  test("17. nats-server #7962: bytes after a v1 line in the same read are kept, at every split", () => {
    const line = encodeProxyHeaderV1({
      family: "tcp4",
      source: { address: "192.168.0.1", port: 56324 },
      destination: { address: "192.168.0.11", port: 443 },
    });
    const bytes = Buffer.concat([line, HELLO]);
    for (const { header, tail } of everySplit(bytes)) {
      assert.equal(header.headerLength, line.length);
      assert.ok(tail.equals(HELLO));
    }
  });

  test("18. p2pool #399: the length is a minimum for the address block: TLVs after it are accepted", () => {
    assert.equal(decoded(A1).source?.address, "127.0.0.1");
    const six = pp2({
      source: { address: "2001:db8::1", port: 1 },
      destination: { address: "2001:db8::2", port: 2 },
      link: VPCE,
    });
    assert.equal(decoded(six).link?.id, VPCE);
  });

  test("19. nginx < 1.23.3: headers longer than 107 bytes are accepted, up to the 4096-byte cap", () => {
    // Values of at most 1024 bytes each (the per-TLV cap), as many as it takes.
    const filler = (size: number) =>
      Array.from({ length: Math.floor(size / 1100) }, () => ({
        type: 0xf1,
        value: Buffer.alloc(1000),
      }));
    for (const size of [108, 536, 4096]) {
      const h = decoded(pp2({ link: VPCE, tlvs: filler(size), padTo: size }));
      assert.equal(h.headerLength, size);
    }
    assert.equal(
      errorCode(pp2({ link: VPCE, tlvs: filler(4097), padTo: 4097 })),
      "PP2_HEADER_TOO_LARGE",
    );
  });

  test("20. HAProxy's v1 receiver takes only the short UNKNOWN line; the spec's long form is accepted up to 107 bytes", () => {
    assert.equal(decoded(Buffer.from("PROXY UNKNOWN\r\n")).source, null);
    const long = (n: number) => Buffer.from(`PROXY UNKNOWN ${"x".repeat(n - 16)}\r\n`);
    assert.equal(decoded(long(107)).headerLength, 107);
    assert.equal(errorCode(long(108)), "PP1_NO_CRLF");
  });

  test("21. nginx as a v1 sender: an IPv4 address in a TCP6 line is rejected", () => {
    assert.equal(
      errorCode(Buffer.from("PROXY TCP6 192.168.0.1 192.168.0.11 56324 443\r\n")),
      "PP1_BAD_ADDRESS",
    );
  });

  test("22. HAProxy as a v2 sender: an IPv4-mapped TCP6 source matches IPv4 rules", () => {
    const policy = new CompiledPolicy(gatewayConfig(1));
    const h = decoded(
      pp2({
        source: { address: "::ffff:203.0.113.9", port: 1 },
        destination: { address: "::ffff:10.0.0.1", port: 443 },
      }),
    );
    const bytes = new Uint8Array(16);
    assert.equal(h.sourceIp(bytes), 6);
    const d = policy.decide({ sni: HOST, link: null, sourceFamily: 6, sourceBytes: bytes });
    assert.equal(d.verdict, "allow");
    assert.equal(d.reason, "POLICY_CIDR_ALLOWED");
  });

  test("AWS: a second PROXY header sent by the client is application data, and never reaches the backend as a header", async (t) => {
    const spoofed = pp2({
      source: { address: "198.51.100.1", port: 1 },
      link: "aws:vpce-0fedcba9876543210",
    });
    const origin = await rawOrigin(t);
    const g = await startGateway(t, gatewayConfig(origin.port));
    await send(
      g.address("privatelink").port,
      [Buffer.concat([pp2({ link: VPCE }), spoofed, HELLO])],
      0,
      300,
    );
    const r = only(await g.waitForRecords(1));
    // The bytes after the first header must be a ClientHello: a header there is not TLS.
    assert.equal(r.decision, "drop");
    assert.equal(r.reason, "TLS_NOT_HANDSHAKE");
    assert.equal(origin.received.length, 0);
  });
});
