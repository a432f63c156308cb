/**
 * Every row of the decision table (PRODUCT.md) over real sockets on loopback: a client sends a
 * PROXY header like a cloud load balancer, then a real TLS handshake with an SNI, through
 * linkgate, to an origin that records what reaches it.
 */
import assert from "node:assert/strict";
import net from "node:net";
import { describe, type TestContext, test } from "node:test";
import type { LinkgateConfig } from "../../src/config/types.js";
import { encodeProxyHeaderV1, encodeProxyHeaderV2 } from "../../src/proxy-protocol/index.js";
import { config, listener, tenant } from "../helpers/config.js";
import { OPENSSL_HELLO } from "../helpers/first-bytes.js";
import {
  connectThrough,
  type Origin,
  type RunningGateway,
  startGateway,
  startOrigin,
  testCertificate,
} from "../helpers/gateway.js";
import { waitFor } from "../helpers/programs.js";

const VPCE = "aws:vpce-0123456789abcdef0";
const OTHER_VPCE = "aws:vpce-0fedcba9876543210";
const GCP = "gcp:18446744072646845442";
const AZURE = "azure:553665985";
const HOST = "megacorp.api.example.com";
const TIMEOUT = { timeout: 20_000 };

function pp2(
  link: string | null,
  source = "10.1.2.3",
  port = 41000,
  extra: Parameters<typeof encodeProxyHeaderV2>[0] = {},
): Buffer {
  return encodeProxyHeaderV2({
    source: { address: source, port },
    destination: { address: "10.0.0.10", port: 443 },
    ...(link === null ? {} : { link }),
    crc32c: true,
    ...extra,
  });
}

function testConfig(origin: Origin, over: Partial<LinkgateConfig> = {}): LinkgateConfig {
  const base = config({
    listeners: [
      listener({ name: "privatelink", trustedProxies: ["127.0.0.1/32"], headerTimeoutMs: 2000 }),
      listener({ name: "public", proxyProtocol: "none", trustedProxies: [] }),
    ],
    tenants: [
      tenant("megacorp", {
        allow: {
          rules: [
            { link: VPCE, description: "prod VPC" },
            { link: GCP },
            { cidr: "203.0.113.0/24", description: "office" },
            { link: AZURE, cidr: "10.1.0.0/16" },
            { cidr: "127.0.0.1/32", description: "loopback office" },
          ],
        },
      }),
      tenant("open"),
      tenant("public-ok", { allow: { publicInternet: true, rules: [] } }),
      tenant("dryrun", { enforcement: "report-only", allow: { rules: [{ link: VPCE }] } }),
    ],
  });
  return {
    ...base,
    routing: { ...base.routing, upstream: { host: origin.host, port: origin.port } },
    ...over,
  };
}

interface Env {
  origin: Origin;
  gw: RunningGateway;
  pl: { host: string; port: number };
  pub: { host: string; port: number };
}

async function env(
  t: TestContext,
  over: Partial<LinkgateConfig> = {},
  raw = false,
): Promise<Env | null> {
  const cert = await testCertificate(t);
  if (cert === null) return null;
  const origin = await startOrigin(t, cert, { proxyProtocol: true, raw });
  const gw = await startGateway(t, testConfig(origin, over));
  return { origin, gw, pl: gw.address("privatelink"), pub: gw.address("public") };
}

describe("decision table over real sockets", () => {
  test(
    "allowed with each cloud's identity; the origin gets a fresh PROXY v2 header",
    TIMEOUT,
    async (t) => {
      const e = await env(t);
      if (e === null) return;
      const cases: [string, string][] = [
        [VPCE, "10.1.2.3"],
        [GCP, "10.0.60.2"],
        [AZURE, "10.1.200.7"],
      ];
      for (const [link, source] of cases) {
        const r = await connectThrough({ ...e.pl, preamble: pp2(link, source), servername: HOST });
        assert.equal(r.ok, true, `${link}: ${r.error}`);
        assert.equal(r.reply, "hello megacorp ping");
        const oc = e.origin.connections.at(-1);
        assert.ok(oc?.header);
        assert.equal(oc.header.command, "proxy");
        assert.equal(oc.header.link?.id, link, "the identity in its cloud's own TLV");
        assert.equal(oc.header.source?.address, source, "the original client address");
        assert.equal(oc.header.source?.port, 41000);
        assert.equal(oc.header.authority, HOST);
        assert.equal(oc.header.crc32c, "valid");
        assert.equal(oc.sni, HOST);
        const rec = await e.gw.next();
        assert.equal(rec.decision, "allow");
        assert.equal(rec.tenant, "megacorp");
        assert.equal(rec.link, link);
      }
      const recs = e.gw.records;
      assert.equal(recs[0].reason, "POLICY_LINK_ALLOWED");
      assert.deepEqual(recs[0].rule, { index: 0, description: "prod VPC" });
      assert.equal(recs[2].reason, "POLICY_LINK_CIDR_ALLOWED");
      assert.ok(recs[0].bytesFromClient > 100 && recs[0].bytesToClient > 100);
      assert.ok(recs[0].handshakeMs !== null && recs[0].handshakeMs >= 0);
    },
  );

  test("another endpoint: denied, nothing reaches the origin", TIMEOUT, async (t) => {
    const e = await env(t);
    if (e === null) return;
    const r = await connectThrough({ ...e.pl, preamble: pp2(OTHER_VPCE), servername: HOST });
    assert.equal(r.ok, false);
    assert.equal(r.handshake, false);
    const rec = await e.gw.next();
    assert.equal(rec.decision, "deny");
    assert.equal(rec.reason, "POLICY_LINK_NOT_ALLOWED");
    assert.equal(rec.upstream, null);
    assert.equal(e.origin.connections.length, 0, "the upstream was never dialled");
  });

  test(
    "a cidr-only rule never admits link traffic, even from inside its CIDR",
    TIMEOUT,
    async (t) => {
      const e = await env(t);
      if (e === null) return;
      const r = await connectThrough({
        ...e.pl,
        preamble: pp2(OTHER_VPCE, "203.0.113.9"),
        servername: HOST,
      });
      assert.equal(r.ok, false);
      assert.equal((await e.gw.next()).reason, "POLICY_LINK_NOT_ALLOWED");
      assert.equal(e.origin.connections.length, 0);
    },
  );

  test("link + cidr: allowed only from inside the CIDR", TIMEOUT, async (t) => {
    const e = await env(t);
    if (e === null) return;
    assert.equal(
      (await connectThrough({ ...e.pl, preamble: pp2(AZURE, "10.1.9.9"), servername: HOST })).ok,
      true,
    );
    assert.equal((await e.gw.next()).reason, "POLICY_LINK_CIDR_ALLOWED");
    assert.equal(
      (await connectThrough({ ...e.pl, preamble: pp2(AZURE, "10.2.9.9"), servername: HOST })).ok,
      false,
    );
    const denied = await e.gw.next();
    assert.equal(denied.decision, "deny");
    assert.equal(denied.reason, "POLICY_LINK_SOURCE_NOT_ALLOWED");
    assert.equal(e.origin.connections.length, 1);
  });

  test(
    "public traffic behind a PROXY listener: cidr rule, publicInternet, neither",
    TIMEOUT,
    async (t) => {
      const e = await env(t);
      if (e === null) return;
      const cases: [Buffer, string, boolean, string][] = [
        [pp2(null, "203.0.113.50"), HOST, true, "POLICY_CIDR_ALLOWED"],
        [pp2(null, "198.51.100.1"), "public-ok.api.example.com", true, "POLICY_PUBLIC_ALLOWED"],
        [pp2(null, "198.51.100.1"), HOST, false, "POLICY_PUBLIC_NOT_ALLOWED"],
      ];
      for (const [preamble, servername, ok, reason] of cases) {
        assert.equal((await connectThrough({ ...e.pl, preamble, servername })).ok, ok, reason);
        const rec = await e.gw.next();
        assert.equal(rec.decision, ok ? "allow" : "deny");
        assert.equal(rec.reason, reason);
      }
    },
  );

  test("public listener (no PROXY header): the TCP peer is the source", TIMEOUT, async (t) => {
    const e = await env(t);
    if (e === null) return;
    // 127.0.0.1 is in megacorp's "loopback office" CIDR; 127.0.0.2 is not.
    assert.equal(
      (await connectThrough({ ...e.pub, servername: HOST, localAddress: "127.0.0.1" })).ok,
      true,
    );
    assert.equal((await e.gw.next()).reason, "POLICY_CIDR_ALLOWED");
    assert.equal(
      (await connectThrough({ ...e.pub, servername: HOST, localAddress: "127.0.0.2" })).ok,
      false,
    );
    assert.equal((await e.gw.next()).reason, "POLICY_PUBLIC_NOT_ALLOWED");
    // The origin still gets a PROXY header, made from the TCP connection.
    assert.equal(e.origin.connections[0].header?.source?.address, "127.0.0.1");
    assert.equal(e.origin.connections[0].header?.link, null);
  });

  test("no PROXY header on a required listener: dropped", TIMEOUT, async (t) => {
    const e = await env(t);
    if (e === null) return;
    assert.equal((await connectThrough({ ...e.pl, servername: HOST })).ok, false);
    const rec = await e.gw.next();
    assert.equal(rec.decision, "drop");
    assert.equal(rec.reason, "PP_MISSING_HEADER");
    assert.equal(e.origin.connections.length, 0);
  });

  test(
    "a PROXY header from an untrusted peer (127.0.0.2): dropped before reading it",
    TIMEOUT,
    async (t) => {
      const e = await env(t);
      if (e === null) return;
      const r = await connectThrough({
        ...e.pl,
        preamble: pp2(VPCE),
        servername: HOST,
        localAddress: "127.0.0.2",
      });
      assert.equal(r.ok, false);
      const rec = await e.gw.next();
      assert.equal(rec.decision, "drop");
      assert.equal(rec.reason, "PP_UNTRUSTED_PEER");
      assert.equal(rec.peer.address, "127.0.0.2");
      assert.equal(rec.link, null, "the header was never parsed");
      assert.equal(e.origin.connections.length, 0);
    },
  );

  test("a client-sent PROXY header on a none listener: dropped as not TLS", TIMEOUT, async (t) => {
    const e = await env(t);
    if (e === null) return;
    assert.equal(
      (await connectThrough({ ...e.pub, preamble: pp2(VPCE), servername: HOST })).ok,
      false,
    );
    const rec = await e.gw.next();
    assert.equal(rec.decision, "drop");
    assert.equal(rec.reason, "TLS_NOT_HANDSHAKE");
    assert.equal(e.origin.connections.length, 0);
  });

  test("malformed headers: bad CRC, duplicate identity, v1 garbage", TIMEOUT, async (t) => {
    const e = await env(t);
    if (e === null) return;
    const badCrc = pp2(VPCE);
    badCrc[badCrc.length - 1] ^= 1;
    const dup = encodeProxyHeaderV2({
      source: { address: "10.1.2.3", port: 1 },
      destination: { address: "10.0.0.10", port: 443 },
      link: VPCE,
      tlvs: [{ type: 0xe0, value: Buffer.from("ffffffffc0a86402", "hex") }],
    });
    for (const [preamble, code] of [
      [badCrc, "PP2_BAD_CRC32C"],
      [dup, "PP2_DUPLICATE_IDENTITY"],
      [Buffer.from("PROXY TCP4 1.2.3.4 5.6.7.8 080 443\r\n"), "PP1_BAD_PORT"],
    ] as const) {
      assert.equal((await connectThrough({ ...e.pl, preamble, servername: HOST })).ok, false);
      const rec = await e.gw.next();
      assert.equal(rec.decision, "drop");
      assert.equal(rec.reason, code);
    }
    assert.equal(e.origin.connections.length, 0);
  });

  test("a v1 header works too", TIMEOUT, async (t) => {
    const e = await env(t);
    if (e === null) return;
    const v1 = encodeProxyHeaderV1({
      source: { address: "203.0.113.7", port: 5555 },
      destination: { address: "10.0.0.10", port: 443 },
    });
    assert.equal((await connectThrough({ ...e.pl, preamble: v1, servername: HOST })).ok, true);
    assert.equal((await e.gw.next()).reason, "POLICY_CIDR_ALLOWED");
  });

  test("the header and the ClientHello in 1-byte segments", TIMEOUT, async (t) => {
    const e = await env(t);
    if (e === null) return;
    const r = await connectThrough({
      ...e.pl,
      preamble: pp2(VPCE),
      servername: HOST,
      trickle: true,
    });
    assert.equal(r.ok, true, r.error ?? "");
  });

  test(
    "a ClientHello over two TLS records is read, and forwarded byte for byte",
    TIMEOUT,
    async (t) => {
      const e = await env(t, {}, true);
      if (e === null) return;
      // Re-cut the handshake message into two records.
      const body = OPENSSL_HELLO.subarray(5);
      const cut = 100;
      const rec = (payload: Buffer) =>
        Buffer.concat([
          Buffer.from([0x16, 0x03, 0x01, payload.length >> 8, payload.length & 0xff]),
          payload,
        ]);
      const twoRecords = Buffer.concat([rec(body.subarray(0, cut)), rec(body.subarray(cut))]);
      const socket = net.connect(e.pl);
      await new Promise((r) => socket.once("connect", r));
      socket.write(pp2(VPCE));
      socket.write(twoRecords.subarray(0, 50));
      await new Promise((r) => setTimeout(r, 20));
      socket.write(twoRecords.subarray(50));
      await waitFor(() => e.origin.connections[0]?.payload.length === twoRecords.length, {
        what: "the hello at the origin",
      });
      assert.deepEqual(e.origin.connections[0].payload, twoRecords);
      socket.destroy();
      const r = await e.gw.next();
      assert.equal(r.decision, "allow");
      assert.equal(r.sni, HOST);
    },
  );

  test("unknown host name and missing SNI: denied", TIMEOUT, async (t) => {
    const e = await env(t);
    if (e === null) return;
    assert.equal(
      (await connectThrough({ ...e.pl, preamble: pp2(VPCE), servername: "nobody.api.example.com" }))
        .ok,
      false,
    );
    assert.equal((await e.gw.next()).reason, "POLICY_UNKNOWN_HOST");
    assert.equal(
      (await connectThrough({ ...e.pl, preamble: pp2(VPCE), servername: null })).ok,
      false,
    );
    const rec = await e.gw.next();
    assert.equal(rec.decision, "deny");
    assert.equal(rec.reason, "TLS_NO_SNI");
    assert.equal(e.origin.connections.length, 0);
  });

  test("non-TLS bytes after the header: dropped", TIMEOUT, async (t) => {
    const e = await env(t);
    if (e === null) return;
    const socket = net.connect(e.pl);
    socket.on("error", () => {});
    await new Promise((r) => socket.once("connect", r));
    socket.write(Buffer.concat([pp2(VPCE), Buffer.from("GET / HTTP/1.1\r\nHost: x\r\n\r\n")]));
    const rec = await e.gw.next();
    assert.equal(rec.decision, "drop");
    assert.equal(rec.reason, "TLS_NOT_HANDSHAKE");
    assert.equal(rec.link, VPCE);
  });

  test("report-only tenant: forwarded, recorded as would-deny", TIMEOUT, async (t) => {
    const e = await env(t);
    if (e === null) return;
    const r = await connectThrough({
      ...e.pl,
      preamble: pp2(OTHER_VPCE),
      servername: "dryrun.api.example.com",
    });
    assert.equal(r.ok, true);
    const rec = await e.gw.next();
    assert.equal(rec.decision, "would-deny");
    assert.equal(rec.reason, "POLICY_LINK_NOT_ALLOWED");
    assert.equal(rec.tenant, "dryrun");
  });

  test("LOCAL health checks: TCP closes, HTTP gets 200, never routed", TIMEOUT, async (t) => {
    const e = await env(t);
    if (e === null) return;
    const local = encodeProxyHeaderV2({ command: "local", crc32c: true });
    // TCP check: header, then the load balancer closes.
    const tcp = net.connect(e.pl);
    await new Promise((r) => tcp.once("connect", r));
    tcp.end(local);
    let rec = await e.gw.next();
    assert.equal(rec.decision, "health-check");
    assert.equal(rec.reason, "HEALTH_CHECK_TCP");
    // HTTP check, in the AWS NLB form: LOCAL (fam 0x11, no address block) then a request.
    const aws = Buffer.from(
      `0d0a0d0a000d0a515549540a20110054030004bce5951f04004a${"00".repeat(74)}`,
      "hex",
    );
    const http = net.connect(e.pl);
    let response = "";
    http.on("data", (d) => {
      response += d.toString();
    });
    await new Promise((r) => http.once("connect", r));
    http.write(Buffer.concat([aws, Buffer.from("GET /health HTTP/1.1\r\nHost: 10.0.0.1\r\n\r\n")]));
    await new Promise((r) => http.once("close", r));
    assert.match(response, /^HTTP\/1\.1 200 OK\r\n/);
    rec = await e.gw.next();
    assert.equal(rec.decision, "health-check");
    assert.equal(rec.reason, "HEALTH_CHECK_HTTP");
    assert.equal(e.origin.connections.length, 0);
  });

  test("upstream down: allowed, then closed with UPSTREAM_CONNECT_FAILED", TIMEOUT, async (t) => {
    const cert = await testCertificate(t);
    if (cert === null) return;
    const origin = await startOrigin(t, cert, { proxyProtocol: true });
    // A port with nothing listening: bind and close.
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
    const deadPort = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const gw = await startGateway(t, testConfig({ ...origin, port: deadPort }));
    const r = await connectThrough({
      ...gw.address("privatelink"),
      preamble: pp2(VPCE),
      servername: HOST,
    });
    assert.equal(r.ok, false);
    const rec = await gw.next();
    assert.equal(rec.decision, "allow");
    assert.equal(rec.upstreamError, "UPSTREAM_CONNECT_FAILED");
    assert.equal(rec.upstream, `127.0.0.1:${deadPort}`);
  });

  test(
    "header deadline: 50 slow clients are closed on time while others are served",
    TIMEOUT,
    async (t) => {
      const e = await env(t, {});
      if (e === null) return;
      const base = testConfig(e.origin);
      const gw = await startGateway(t, {
        ...base,
        listeners: [
          listener({ name: "privatelink", trustedProxies: ["127.0.0.1/32"], headerTimeoutMs: 300 }),
          base.listeners[1],
        ],
      });
      const addr = gw.address("privatelink");
      const started = Date.now();
      const slow = await Promise.all(
        Array.from({ length: 50 }, async () => {
          const s = net.connect(addr);
          s.on("error", () => {});
          await new Promise((r) => s.once("connect", r));
          s.write(pp2(VPCE).subarray(0, 10)); // and never the rest
          return new Promise<number>((resolve) =>
            s.once("close", () => resolve(Date.now() - started)),
          );
        }),
      );
      // Meanwhile a well-behaved client gets through.
      const ok = await connectThrough({ ...addr, preamble: pp2(VPCE), servername: HOST });
      assert.equal(ok.ok, true);
      const closedAfter = await Promise.all(slow);
      assert.ok(
        Math.max(...closedAfter) < 3000,
        `all slow clients closed (latest after ${Math.max(...closedAfter)} ms)`,
      );
      const recs = await gw.waitForRecords(51);
      assert.equal(recs.filter((r) => r.reason === "CONN_HEADER_TIMEOUT").length, 50);
    },
  );

  /**
   * With a cap of 2 on `gw`'s privatelink listener: two idle connections fill it, a third is
   * dropped with `reason`, and once the two close a connection is served again.
   */
  async function overTheCap(gw: RunningGateway, reason: string): Promise<void> {
    const addr = gw.address("privatelink");
    const held = await Promise.all(
      [0, 1].map(async () => {
        const s = net.connect(addr);
        await new Promise((r) => s.once("connect", r));
        return s;
      }),
    );
    await waitFor(() => gw.opened === 2, { what: "two connections accepted" });
    const third = await connectThrough({ ...addr, preamble: pp2(VPCE), servername: HOST });
    assert.equal(third.ok, false);
    assert.equal((await gw.next()).reason, reason);
    for (const s of held) s.destroy();
    await gw.waitForRecords(3);
    assert.equal(
      (await connectThrough({ ...addr, preamble: pp2(VPCE), servername: HOST })).ok,
      true,
      "served again below the cap",
    );
  }

  test("maxConnections: the connection over the cap is dropped", TIMEOUT, async (t) => {
    const cert = await testCertificate(t);
    if (cert === null) return;
    const origin = await startOrigin(t, cert, { proxyProtocol: true });
    const base = testConfig(origin);
    const gw = await startGateway(t, {
      ...base,
      listeners: [
        listener({ name: "privatelink", trustedProxies: ["127.0.0.1/32"], maxConnections: 2 }),
        base.listeners[1],
      ],
    });
    await overTheCap(gw, "CONN_AT_CAPACITY");
  });

  test(
    "descriptor budget: the connection over it is dropped with CONN_AT_FD_LIMIT, then served again",
    TIMEOUT,
    async (t) => {
      const cert = await testCertificate(t);
      if (cert === null) return;
      const origin = await startOrigin(t, cert, { proxyProtocol: true });
      const gw = await startGateway(t, testConfig(origin), { descriptorBudget: 2 });
      assert.equal(gw.gateway.descriptorBudget, 2);
      await overTheCap(gw, "CONN_AT_FD_LIMIT");
    },
  );

  test(
    "a trusted peer that resets at once is a client error, never PP_UNTRUSTED_PEER",
    TIMEOUT,
    async (t) => {
      const cert = await testCertificate(t);
      if (cert === null) return;
      const origin = await startOrigin(t, cert, { proxyProtocol: true });
      const gw = await startGateway(t, testConfig(origin));
      const addr = gw.address("privatelink");
      const count = 100;
      await Promise.all(
        Array.from({ length: count }, async () => {
          const s = net.connect(addr);
          s.on("error", () => {});
          await new Promise((r) => s.once("connect", r));
          s.resetAndDestroy();
        }),
      );
      const recs = await gw.waitForRecords(count);
      const reasons = new Map<string, number>();
      for (const r of recs) reasons.set(String(r.reason), (reasons.get(String(r.reason)) ?? 0) + 1);
      assert.deepEqual([...reasons], [["CONN_CLIENT_ERROR", count]]);
    },
  );

  test("the default descriptor budget comes from RLIMIT_NOFILE on Linux", TIMEOUT, async (t) => {
    const cert = await testCertificate(t);
    if (cert === null) return;
    const origin = await startOrigin(t, cert, { proxyProtocol: true });
    const gw = await startGateway(t, testConfig(origin));
    if (process.platform !== "linux") {
      assert.equal(gw.gateway.descriptorBudget, null);
      return;
    }
    const budget = gw.gateway.descriptorBudget;
    assert.ok(budget !== null && budget > 0, `budget ${budget}`);
  });
});
