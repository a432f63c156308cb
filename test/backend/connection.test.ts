/**
 * behindLinkgate at the connection level: linkgate's header is read (in any split, under a
 * deadline and a cap, only from trusted peers), what it vouches for is exposed, and every byte
 * after it reaches the server untouched; anything else is destroyed before the server sees it.
 */
import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import { describe, type TestContext, test } from "node:test";
import fc from "fast-check";
import { behindLinkgate, LinkgateError, linkgateInfo } from "../../src/backend/index.js";
import { encodeProxyHeaderV1, encodeProxyHeaderV2 } from "../../src/proxy-protocol/index.js";
import { waitFor } from "../helpers/programs.js";
import {
  describeInfo,
  exchange,
  get,
  linkgateHeader,
  startBackend,
  statusOf,
  waitForDrops,
} from "./helpers.js";

/** A plain HTTP backend that answers every request with its linkgate info as JSON. */
async function httpBackend(t: TestContext, options = {}) {
  let connections = 0;
  const server = http.createServer(describeInfo((req) => linkgateInfo(req)));
  server.on("connection", () => {
    connections++;
  });
  const b = await startBackend(t, server, options);
  return { ...b, connections: () => connections };
}

function bodyOf(text: string): unknown {
  return JSON.parse(text.slice(text.indexOf("\r\n\r\n") + 4));
}

describe("behindLinkgate: the connection", () => {
  test("exposes what linkgate vouched for, and hands the request over untouched", async (t) => {
    const b = await httpBackend(t);
    const header = linkgateHeader({
      tenant: "megacorp",
      link: "aws:vpce-0123456789abcdef0",
      source: "172.31.7.113",
      sourcePort: 51442,
    });
    const r = await exchange(b.port, [
      Buffer.concat([header, Buffer.from(get("megacorp.api.example.com", "/", true))]),
    ]);
    assert.equal(statusOf(r.received), 200, r.received);
    const info = bodyOf(r.received) as Record<string, unknown>;
    assert.equal(info.tenant, "megacorp");
    assert.equal(info.identity, "aws:vpce-0123456789abcdef0");
    assert.equal(info.authority, "megacorp.api.example.com");
    assert.deepEqual(info.source, { address: "172.31.7.113", port: 51442 });
    assert.deepEqual(info.destination, { address: "10.0.9.1", port: 443 });
    assert.equal((info.peer as { address: string }).address, "127.0.0.1");
    assert.deepEqual(b.backend.stats(), { accepted: 1, dropped: {}, misdirected: {} });
  });

  test("the header split at every byte, the request in the same or the next segment", async (t) => {
    const b = await httpBackend(t);
    const header = linkgateHeader({ link: "gcp:18446744072646845442" });
    const whole = Buffer.concat([header, Buffer.from(get("megacorp.api.example.com", "/", true))]);
    // Split points inside the header, at its end, and inside the request.
    for (let k = 1; k < header.length + 8; k++) {
      const r = await exchange(b.port, [whole.subarray(0, k), whole.subarray(k)]);
      assert.equal(statusOf(r.received), 200, `split at ${k}: ${r.received}`);
      assert.equal(
        (bodyOf(r.received) as { identity: string }).identity,
        "gcp:18446744072646845442",
      );
    }
    // And one byte per segment, all the way.
    const r = await exchange(
      b.port,
      [...whole].map((byte) => Buffer.from([byte])),
    );
    assert.equal(statusOf(r.received), 200, r.received);
    assert.equal(b.drops.length, 0);
  });

  test("a net.Server that reads late still gets every byte after the header", async (t) => {
    const payload = Buffer.from("hello after the header\n");
    const server = net.createServer((socket) => {
      // Attach the reader a while after the handover: nothing may flow away meanwhile.
      setTimeout(() => {
        let got = Buffer.alloc(0);
        socket.on("data", (d: Buffer) => {
          got = Buffer.concat([got, d]);
          if (got.includes(0x0a)) socket.end(`${linkgateInfo(socket)?.tenant} ${got.toString()}`);
        });
      }, 50);
    });
    const b = await startBackend(t, server);
    const r = await exchange(b.port, [Buffer.concat([linkgateHeader(), payload])]);
    assert.equal(r.received, `megacorp ${payload.toString()}`);
  });

  test("a connection from a peer outside trustedProxies is destroyed unread", async (t) => {
    const b = await httpBackend(t, { trustedProxies: ["127.0.0.2/32"] });
    const r = await exchange(b.port, [
      Buffer.concat([linkgateHeader(), Buffer.from(get("megacorp.api.example.com", "/", true))]),
    ]);
    assert.equal(r.received, "");
    const [drop] = await waitForDrops(b, 1);
    assert.equal(drop.code, "PP_UNTRUSTED_PEER");
    assert.equal(drop.peer.address, "127.0.0.1");
    assert.equal(b.connections(), 0, "the server never saw it");
    // The trusted peer still gets in.
    const ok = await exchange(
      b.port,
      [Buffer.concat([linkgateHeader(), Buffer.from(get("megacorp.api.example.com", "/", true))])],
      { localAddress: "127.0.0.2" },
    );
    assert.equal(statusOf(ok.received), 200);
  });

  test("no header, a bad header or garbage: destroyed with a code, and the server lives on", async (t) => {
    const b = await httpBackend(t);
    const request = Buffer.from(get("megacorp.api.example.com", "/", true));
    const good = linkgateHeader();
    const badCrc = Buffer.from(good);
    badCrc[badCrc.length - 1] ^= 1; // the tenant's last letter, under the CRC32C
    const cases: [string, Buffer[], string][] = [
      ["a plain HTTP request", [request], "PP_MISSING_HEADER"],
      ["a TLS ClientHello", [Buffer.from("160301020001", "hex")], "PP_MISSING_HEADER"],
      [
        "a v1 header (linkgate sends v2)",
        [
          encodeProxyHeaderV1({
            source: { address: "10.0.0.1", port: 1 },
            destination: { address: "10.0.0.2", port: 2 },
          }),
          request,
        ],
        "PP_VERSION_NOT_ALLOWED",
      ],
      [
        "a v2 header without CRC32C (linkgate always adds one)",
        [
          encodeProxyHeaderV2({
            source: { address: "10.0.0.1", port: 1 },
            destination: { address: "10.0.0.2", port: 2 },
            tlvs: [{ type: 0xe4, value: "megacorp" }],
          }),
        ],
        "PP2_MISSING_CRC32C",
      ],
      ["a corrupted header", [badCrc, request], "PP2_BAD_CRC32C"],
      [
        "two tenant TLVs",
        [
          encodeProxyHeaderV2({
            source: { address: "10.0.0.1", port: 1 },
            destination: { address: "10.0.0.2", port: 2 },
            tlvs: [
              { type: 0xe4, value: "megacorp" },
              { type: 0xe4, value: "initech" },
            ],
            crc32c: true,
          }),
          request,
        ],
        "BACKEND_BAD_TENANT_TLV",
      ],
      [
        "a tenant TLV that is no tenant id",
        [
          encodeProxyHeaderV2({
            source: { address: "10.0.0.1", port: 1 },
            destination: { address: "10.0.0.2", port: 2 },
            tlvs: [{ type: 0xe4, value: "Mega Corp" }],
            crc32c: true,
          }),
          request,
        ],
        "BACKEND_BAD_TENANT_TLV",
      ],
      [
        "a header larger than the cap",
        [
          encodeProxyHeaderV2({
            source: { address: "10.0.0.1", port: 1 },
            destination: { address: "10.0.0.2", port: 2 },
            crc32c: true,
            padTo: 5000,
          }),
        ],
        "PP2_HEADER_TOO_LARGE",
      ],
      [
        "version 1 after a v2 signature",
        [Buffer.from("0d0a0d0a000d0a515549540a1f11", "hex")],
        "PP2_BAD_VERSION",
      ],
      ["garbage", [Buffer.from("deadbeef00ff0d0a0d0a", "hex")], "PP_MISSING_HEADER"],
    ];
    for (const [what, chunks, code] of cases) {
      const before = b.drops.length;
      const r = await exchange(b.port, chunks);
      assert.equal(r.received, "", what);
      assert.notEqual(r.ended, "timeout", what);
      const drops = await waitForDrops(b, before + 1);
      assert.equal(drops[before].code, code, what);
    }
    assert.equal(b.connections(), 0, "the server never saw one of them");
    const ok = await exchange(b.port, [Buffer.concat([good, request])]);
    assert.equal(statusOf(ok.received), 200);
  });

  test("random bytes, raw or after a v2 signature: never a crash, never the server", async (t) => {
    const b = await httpBackend(t, { headerTimeoutMs: 100 });
    const signature = Buffer.from("0d0a0d0a000d0a515549540a", "hex");
    await fc.assert(
      fc.asyncProperty(
        fc.boolean(),
        fc.uint8Array({ minLength: 1, maxLength: 600 }),
        async (signed, bytes) => {
          const input = signed ? Buffer.concat([signature, bytes]) : Buffer.from(bytes);
          const before = b.drops.length;
          const r = await exchange(b.port, [input]);
          assert.notEqual(r.ended, "timeout");
          await waitForDrops(b, before + 1);
        },
      ),
      { numRuns: 60 },
    );
    assert.equal(b.connections(), 0);
    const ok = await exchange(b.port, [
      Buffer.concat([linkgateHeader(), Buffer.from(get("megacorp.api.example.com", "/", true))]),
    ]);
    assert.equal(statusOf(ok.received), 200);
  });

  test("a connection that ends early is reported as such", async (t) => {
    const b = await httpBackend(t);
    await exchange(b.port, [], { endAfterWrite: true });
    await exchange(b.port, [linkgateHeader().subarray(0, 20)], { endAfterWrite: true });
    const drops = await waitForDrops(b, 2);
    assert.deepEqual(
      drops.map((d) => d.code),
      ["PP_MISSING_HEADER", "PP_INCOMPLETE"],
    );
  });

  test("a header that does not arrive in time is dropped at the deadline", async (t) => {
    const b = await httpBackend(t, { headerTimeoutMs: 200 });
    const started = Date.now();
    const r = await exchange(b.port, [linkgateHeader().subarray(0, 10)]);
    assert.notEqual(r.ended, "timeout");
    const [drop] = await waitForDrops(b, 1);
    assert.equal(drop.code, "BACKEND_HEADER_TIMEOUT");
    assert.ok(Date.now() - started >= 180, "not before the deadline");
  });

  test("a LOCAL header is accepted with no tenant, and its requests get 421", async (t) => {
    const b = await httpBackend(t, { hosts: { hostPatterns: ["{tenant}.api.example.com"] } });
    const local = encodeProxyHeaderV2({ command: "local", crc32c: true });
    const r = await exchange(b.port, [
      Buffer.concat([local, Buffer.from(get("megacorp.api.example.com", "/", true))]),
    ]);
    assert.equal(statusOf(r.received), 421, r.received);
    await waitFor(() => b.misdirected.length === 1);
    assert.equal(b.misdirected[0].code, "BACKEND_NO_TENANT");
  });

  test("options are checked", () => {
    const bad = (options: Parameters<typeof behindLinkgate>[1], pattern: RegExp) =>
      assert.throws(
        () => behindLinkgate(net.createServer(), options),
        (e: unknown) =>
          e instanceof LinkgateError && e.code === "BACKEND_BAD_OPTION" && pattern.test(e.message),
      );
    bad({ trustedProxies: [] }, /trustedProxies must list/);
    bad({ trustedProxies: ["10.0.0.1/8"] }, /host bits set/);
    bad({ trustedProxies: ["10.0.0.0/8"], headerTimeoutMs: 0 }, /headerTimeoutMs/);
    bad(
      { trustedProxies: ["10.0.0.0/8"], hosts: { hostPatterns: ["api.example.com"] } },
      /placeholder/,
    );
    const server = net.createServer();
    behindLinkgate(server, { trustedProxies: ["10.0.0.0/8"] });
    assert.throws(
      () => behindLinkgate(server, { trustedProxies: ["10.0.0.0/8"] }),
      /already wrapped/,
    );
  });
});
