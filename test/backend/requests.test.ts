/**
 * The request check on HTTPS and HTTP/2 backends behind behindLinkgate: a request is served only
 * if its host, and its TLS session's server name, belong to the tenant linkgate vouched for;
 * otherwise it is answered 421 Misdirected Request and the application never sees it.
 */
import assert from "node:assert/strict";
import http2 from "node:http2";
import https from "node:https";
import type { Duplex } from "node:stream";
import { describe, type TestContext, test } from "node:test";
import { checkRequest, linkgateInfo, TenantHosts } from "../../src/backend/index.js";
import { testCertificate } from "../helpers/gateway.js";
import {
  describeInfo,
  get,
  HOST_PATTERNS,
  h2Get,
  h2Session,
  linkgateHeader,
  startBackend,
  statusesOf,
  statusOf,
  tlsExchange,
} from "./helpers.js";

const HOSTS = { hostPatterns: HOST_PATTERNS, hostnames: { megacorp: ["api.megacorp.com"] } };
const MEGACORP = "megacorp.api.example.com";
const INITECH = "initech.api.example.com";

interface Seen {
  url: string;
  tenant: string | null;
  serverName: string | null;
}

async function httpsBackend(t: TestContext) {
  const cert = await testCertificate(t);
  if (cert === null) return null;
  const seen: Seen[] = [];
  const server = https.createServer(
    { cert: cert.cert, key: cert.key },
    describeInfo((req) => {
      const info = linkgateInfo(req);
      const socket = req.socket as { servername?: string };
      seen.push({
        url: req.url ?? "",
        tenant: info?.tenant ?? null,
        serverName: socket.servername ?? null,
      });
      return {
        tenant: info?.tenant ?? null,
        identity: info?.identity ?? null,
        source: info?.source ?? null,
      };
    }),
  );
  const b = await startBackend(t, server, { hosts: HOSTS });
  return { ...b, seen };
}

describe("behindLinkgate: requests on HTTPS", () => {
  test("the tenant's hosts are served, with the info on the request", async (t) => {
    const b = await httpsBackend(t);
    if (b === null) return;
    const out = await tlsExchange(b.port, linkgateHeader({ link: "azure:553665985" }), MEGACORP, [
      get(MEGACORP),
      get("megacorp.privatelink.example.com"),
      get("api.megacorp.com:443", "/", true),
    ]);
    assert.deepEqual(statusesOf(out), [200, 200, 200], out);
    assert.match(
      out,
      /"tenant":"megacorp","identity":"azure:553665985","source":\{"address":"10\.1\.2\.3","port":51442\}/,
    );
    assert.deepEqual(
      b.seen.map((s) => [s.tenant, s.serverName]),
      [
        ["megacorp", MEGACORP],
        ["megacorp", MEGACORP],
        ["megacorp", MEGACORP],
      ],
    );
    assert.equal(b.misdirected.length, 0);
  });

  test("another tenant's host gets 421 and never reaches the application", async (t) => {
    const b = await httpsBackend(t);
    if (b === null) return;
    // Keep-alive: the connection stays usable for the tenant it was admitted for.
    const out = await tlsExchange(b.port, linkgateHeader(), MEGACORP, [
      get(MEGACORP, "/before"),
      get(INITECH, "/stolen"),
      get(MEGACORP, "/after", true),
    ]);
    assert.deepEqual(statusesOf(out), [200, 421, 200], out);
    assert.match(out, /421 Misdirected Request/);
    assert.deepEqual(
      b.seen.map((s) => s.url),
      ["/before", "/after"],
    );
    assert.equal(b.misdirected.length, 1);
    assert.deepEqual(
      { ...b.misdirected[0], message: undefined },
      {
        code: "BACKEND_HOST_MISMATCH",
        message: undefined,
        tenant: "megacorp",
        host: INITECH,
        serverName: MEGACORP,
      },
    );
    assert.deepEqual(b.backend.stats().misdirected, { BACKEND_HOST_MISMATCH: 1 });
  });

  test("every way of naming another host is caught", async (t) => {
    const b = await httpsBackend(t);
    if (b === null) return;
    const requests = [
      // An absolute request target overrides the Host header (RFC 9112, 3.2.2).
      `GET https://${INITECH}/ HTTP/1.1\r\nHost: ${MEGACORP}\r\nConnection: close\r\n\r\n`,
      // A second Host header (Node keeps only the first in req.headers).
      `GET / HTTP/1.1\r\nHost: ${MEGACORP}\r\nHost: ${INITECH}\r\nConnection: close\r\n\r\n`,
      // No Host at all (HTTP/1.0).
      "GET / HTTP/1.0\r\n\r\n",
      // A name no pattern maps, and an IP literal.
      get("example.com", "/", true),
      get("127.0.0.1", "/", true),
    ];
    for (const request of requests) {
      const out = await tlsExchange(b.port, linkgateHeader(), MEGACORP, [request]);
      assert.equal(statusOf(out), 421, `${request}\n${out}`);
    }
    assert.equal(b.seen.length, 0);
    assert.deepEqual(
      b.misdirected.map((m) => m.code),
      requests.map(() => "BACKEND_HOST_MISMATCH"),
    );
  });

  test("the TLS server name must be the one linkgate routed on, and the tenant's", async (t) => {
    const b = await httpsBackend(t);
    if (b === null) return;
    // The header says megacorp.api.example.com, the ClientHello said initech's name: this
    // connection did not come the way linkgate routes.
    const cases: [string | null, string][] = [
      [INITECH, "BACKEND_SNI_MISMATCH"],
      [null, "BACKEND_SNI_MISMATCH"],
    ];
    for (const [servername, code] of cases) {
      const out = await tlsExchange(b.port, linkgateHeader(), servername, [
        get(MEGACORP, "/", true),
      ]);
      assert.equal(statusOf(out), 421, out);
      assert.equal(b.misdirected.at(-1)?.code, code);
    }
    // A header whose AUTHORITY and tenant disagree (never sent by linkgate) is refused too.
    const crossed = linkgateHeader({ tenant: "megacorp", authority: INITECH });
    const out = await tlsExchange(b.port, crossed, INITECH, [get(MEGACORP, "/", true)]);
    assert.equal(statusOf(out), 421, out);
    assert.equal(b.misdirected.at(-1)?.code, "BACKEND_SNI_MISMATCH");
    assert.equal(b.seen.length, 0);
  });

  test("a connection linkgate sent to its fallback upstream (no tenant) is served nothing", async (t) => {
    const b = await httpsBackend(t);
    if (b === null) return;
    const out = await tlsExchange(
      b.port,
      linkgateHeader({ tenant: null, authority: "unknown.example.com" }),
      "unknown.example.com",
      [get("unknown.example.com", "/", true)],
    );
    assert.equal(statusOf(out), 421, out);
    assert.equal(b.misdirected[0].code, "BACKEND_NO_TENANT");
  });

  test("the header sent one byte at a time, then TLS", async (t) => {
    const b = await httpsBackend(t);
    if (b === null) return;
    const { tlsConnect } = await import("./helpers.js");
    const secure = await tlsConnect(b.port, linkgateHeader(), MEGACORP, { trickle: true });
    let out = "";
    secure.on("data", (d: Buffer) => {
      out += d.toString();
    });
    const closed = new Promise((r) => secure.on("close", r));
    secure.write(get(MEGACORP, "/", true));
    await closed;
    assert.equal(statusOf(out), 200, out);
  });
});

describe("behindLinkgate: requests that do not arrive as 'request'", () => {
  test("an Upgrade (WebSocket) or Expect: 100-continue for another tenant gets 421", async (t) => {
    const cert = await testCertificate(t);
    if (cert === null) return;
    const upgraded: string[] = [];
    const continued: string[] = [];
    const server = https.createServer({ cert: cert.cert, key: cert.key });
    server.on("upgrade", (req, socket: Duplex) => {
      upgraded.push(String(req.headers.host));
      socket.end(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
      );
    });
    server.on("checkContinue", (req, res) => {
      continued.push(String(req.headers.host));
      res.writeContinue();
      res.end("continued\n");
    });
    const b = await startBackend(t, server, { hosts: HOSTS });
    const upgrade = (host: string) =>
      `GET /socket HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n`;
    const expect = (host: string) =>
      `POST / HTTP/1.1\r\nHost: ${host}\r\nExpect: 100-continue\r\nContent-Length: 1\r\nConnection: close\r\n\r\n`;
    assert.equal(
      statusOf(await tlsExchange(b.port, linkgateHeader(), MEGACORP, [upgrade(INITECH)])),
      421,
    );
    assert.equal(
      statusOf(await tlsExchange(b.port, linkgateHeader(), MEGACORP, [upgrade(MEGACORP)])),
      101,
    );
    assert.equal(
      statusOf(await tlsExchange(b.port, linkgateHeader(), MEGACORP, [expect(INITECH)])),
      421,
    );
    assert.equal(
      statusOf(await tlsExchange(b.port, linkgateHeader(), MEGACORP, [expect(MEGACORP)])),
      100,
    );
    assert.deepEqual(upgraded, [MEGACORP]);
    assert.deepEqual(continued, [MEGACORP]);
  });
});

describe("behindLinkgate: requests on HTTP/2", () => {
  async function h2Backend(t: TestContext, api: "compat" | "core") {
    const cert = await testCertificate(t);
    if (cert === null) return null;
    const served: string[] = [];
    const server = http2.createSecureServer({ cert: cert.cert, key: cert.key });
    if (api === "compat") {
      server.on("request", (req, res) => {
        served.push(String(req.headers[":authority"]));
        res.end(`tenant ${linkgateInfo(req)?.tenant}`);
      });
    } else {
      server.on("stream", (stream, headers) => {
        served.push(String(headers[":authority"]));
        stream.respond({ ":status": 200 });
        stream.end(`tenant ${linkgateInfo(stream)?.tenant}`);
      });
    }
    const b = await startBackend(t, server, { hosts: HOSTS });
    return { ...b, served };
  }

  for (const api of ["compat", "core"] as const) {
    test(`a request coalesced onto another tenant's connection gets 421 (${api} API)`, async (t) => {
      const b = await h2Backend(t, api);
      if (b === null) return;
      const session = await h2Session(t, b.port, linkgateHeader(), MEGACORP);
      assert.deepEqual(await h2Get(session, MEGACORP), { status: 200, body: "tenant megacorp" });
      const stolen = await h2Get(session, INITECH);
      assert.equal(stolen.status, 421);
      assert.match(stolen.body, /Misdirected Request/);
      // The session goes on for its own tenant.
      assert.deepEqual(await h2Get(session, "api.megacorp.com"), {
        status: 200,
        body: "tenant megacorp",
      });
      assert.deepEqual(b.served, [MEGACORP, "api.megacorp.com"]);
      assert.equal(b.misdirected[0].code, "BACKEND_HOST_MISMATCH");
      assert.equal(b.misdirected[0].host, INITECH);
      session.close();
    });
  }
});

describe("checkRequest, without the wrapper's guard", () => {
  test("the application can run the check itself", async (t) => {
    const cert = await testCertificate(t);
    if (cert === null) return;
    const hosts = new TenantHosts(HOSTS);
    const server = https.createServer({ cert: cert.cert, key: cert.key }, (req, res) => {
      const m = checkRequest(req, hosts);
      res.statusCode = m === null ? 200 : 421;
      res.end(`${m?.code ?? "ok"}\n`);
    });
    // No `hosts` option: no guard, the handler decides.
    const b = await startBackend(t, server);
    const out = await tlsExchange(b.port, linkgateHeader(), MEGACORP, [
      get(MEGACORP),
      get(INITECH, "/", true),
    ]);
    assert.deepEqual(statusesOf(out), [200, 421], out);
    assert.match(out, /BACKEND_HOST_MISMATCH/);
  });
});
