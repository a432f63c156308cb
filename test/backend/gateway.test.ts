/**
 * End to end: a client -> the real linkgate data plane -> an HTTP/2 + HTTP/1.1 backend wrapped
 * by behindLinkgate. linkgate admits the connection for the tenant of the SNI; a request inside
 * TLS for another tenant is what linkgate cannot see, and the backend answers it 421.
 */
import assert from "node:assert/strict";
import http2 from "node:http2";
import { describe, type TestContext, test } from "node:test";
import { linkgateInfo } from "../../src/backend/index.js";
import { encodeProxyHeaderV2 } from "../../src/proxy-protocol/index.js";
import { config, listener, tenant } from "../helpers/config.js";
import { startGateway, testCertificate } from "../helpers/gateway.js";
import { requireProgram, run } from "../helpers/programs.js";
import {
  exchange,
  get,
  HOST_PATTERNS,
  h2Get,
  h2Session,
  startBackend,
  statusesOf,
  tlsExchange,
} from "./helpers.js";

const VPCE = "aws:vpce-0123456789abcdef0";
const MEGACORP = "megacorp.api.example.com";
const INITECH = "initech.api.example.com";
const TIMEOUT = { timeout: 30_000 };

async function setup(t: TestContext) {
  const cert = await testCertificate(t);
  if (cert === null) return null;
  // allowHTTP1: one backend for HTTP/2 and HTTP/1.1 clients, as most HTTPS backends are.
  const server = http2.createSecureServer({ cert: cert.cert, key: cert.key, allowHTTP1: true });
  server.on("request", (req, res) => {
    const info = linkgateInfo(req);
    res.setHeader("content-type", "application/json");
    res.end(
      `${JSON.stringify({ tenant: info?.tenant, identity: info?.identity, source: info?.source?.address })}\n`,
    );
  });
  const backend = await startBackend(t, server, {
    trustedProxies: ["127.0.0.1/32"], // the linkgate instance
    hosts: { hostPatterns: HOST_PATTERNS },
  });
  const base = config({
    listeners: [
      listener({ name: "privatelink", trustedProxies: ["127.0.0.1/32"] }),
      listener({ name: "public", proxyProtocol: "none", trustedProxies: [] }),
    ],
    tenants: [
      // megacorp admits the (loopback) office; initech admits only its VPC endpoint.
      tenant("megacorp", { allow: { rules: [{ cidr: "127.0.0.0/8", description: "office" }] } }),
      tenant("initech", { allow: { rules: [{ link: VPCE }] } }),
    ],
  });
  const gw = await startGateway(t, {
    ...base,
    routing: { ...base.routing, upstream: { host: "127.0.0.1", port: backend.port } },
  });
  return {
    backend,
    gw,
    publicPort: gw.address("public").port,
    privatePort: gw.address("privatelink").port,
  };
}

describe("end to end through linkgate", () => {
  test(
    "admitted for megacorp by its SNI, asking for initech inside TLS: 421",
    TIMEOUT,
    async (t) => {
      const s = await setup(t);
      if (s === null) return;
      const out = await tlsExchange(s.publicPort, null, MEGACORP, [
        get(MEGACORP),
        get(INITECH, "/", true),
      ]);
      assert.deepEqual(statusesOf(out), [200, 421], out);
      assert.match(out, /"tenant":"megacorp","identity":null,"source":"127\.0\.0\.1"/);
      const record = await s.gw.next();
      assert.equal(
        record.decision,
        "allow",
        "linkgate admitted the connection: it only saw the SNI",
      );
      assert.equal(record.tenant, "megacorp");
      assert.deepEqual(
        s.backend.misdirected.map((m) => [m.code, m.tenant, m.host]),
        [["BACKEND_HOST_MISMATCH", "megacorp", INITECH]],
      );
    },
  );

  test(
    "through a Private Link endpoint: the identity reaches the backend, the tenant is bound",
    TIMEOUT,
    async (t) => {
      const s = await setup(t);
      if (s === null) return;
      const lbHeader = encodeProxyHeaderV2({
        source: { address: "172.31.7.113", port: 51442 },
        destination: { address: "172.31.10.31", port: 443 },
        link: VPCE,
        crc32c: true,
      });
      const out = await tlsExchange(s.privatePort, lbHeader, INITECH, [
        get(INITECH),
        get(MEGACORP, "/", true),
      ]);
      assert.deepEqual(statusesOf(out), [200, 421], out);
      assert.match(
        out,
        /"tenant":"initech","identity":"aws:vpce-0123456789abcdef0","source":"172\.31\.7\.113"/,
      );
    },
  );

  test(
    "the spoofed-header cases of docs/security.md never reach the backend",
    TIMEOUT,
    async (t) => {
      const s = await setup(t);
      if (s === null) return;
      const forged = encodeProxyHeaderV2({
        source: { address: "10.9.9.9", port: 1 },
        destination: { address: "10.0.0.1", port: 443 },
        link: VPCE,
        crc32c: true,
      });
      const lb = encodeProxyHeaderV2({
        source: { address: "172.31.7.113", port: 51442 },
        destination: { address: "172.31.10.31", port: 443 },
        link: "aws:vpce-0fedcba9876543210",
        crc32c: true,
      });
      const cases: [string, number, Buffer, string | undefined, string][] = [
        ["a header on the public listener", s.publicPort, forged, undefined, "TLS_NOT_HANDSHAKE"],
        [
          "a client's own header after the load balancer's",
          s.privatePort,
          Buffer.concat([lb, forged]),
          undefined,
          "TLS_NOT_HANDSHAKE",
        ],
        [
          "a header from outside trustedProxies",
          s.privatePort,
          forged,
          "127.0.0.2",
          "PP_UNTRUSTED_PEER",
        ],
      ];
      for (const [what, port, bytes, localAddress, reason] of cases) {
        const r = await exchange(port, [bytes, get(INITECH, "/", true)], { localAddress });
        assert.equal(r.received, "", what);
        const record = await s.gw.next();
        assert.equal(record.decision, "drop", what);
        assert.equal(record.reason, reason, what);
      }
      assert.equal(s.backend.backend.stats().accepted, 0);
    },
  );

  test(
    "HTTP/2: a request coalesced onto megacorp's connection for initech gets 421",
    TIMEOUT,
    async (t) => {
      const s = await setup(t);
      if (s === null) return;
      const session = await h2Session(t, s.publicPort, null, MEGACORP);
      assert.equal((await h2Get(session, MEGACORP)).status, 200);
      assert.equal((await h2Get(session, INITECH)).status, 421);
      assert.equal((await h2Get(session, MEGACORP)).status, 200);
      session.close();
    },
  );

  test("curl --http2 with another tenant's Host: 421", TIMEOUT, async (t) => {
    if (!requireProgram(t, "curl", "curl")) return;
    const s = await setup(t);
    if (s === null) return;
    const curl = (host: string) =>
      run(
        "curl",
        [
          "--silent",
          "--show-error",
          "--insecure",
          "--http2",
          "--max-time",
          "10",
          "--output",
          "/dev/null",
          "--write-out",
          "%{http_version} %{http_code}",
          "--resolve",
          `${MEGACORP}:${s.publicPort}:127.0.0.1`,
          "--header",
          `Host: ${host}`,
          `https://${MEGACORP}:${s.publicPort}/`,
        ],
        { timeoutMs: 15_000 },
      );
    assert.equal((await curl(MEGACORP)).stdout, "2 200");
    assert.equal((await curl(INITECH)).stdout, "2 421");
  });
});
