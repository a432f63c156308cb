/**
 * End to end with real programs: curl (the client) -> HAProxy 2.6 (as the cloud load balancer,
 * send-proxy-v2 with CRC32C) -> linkgate -> an HTTPS origin that reads linkgate's fresh PROXY v2
 * header. HAProxy 2.6 cannot add cloud TLVs, so these connections carry no link identity and
 * take the public path of the decision table: the client address from the PROXY header is
 * checked against the tenant's CIDRs. (Identity paths are covered with crafted headers in
 * test/dataplane.)
 */
import assert from "node:assert/strict";
import net from "node:net";
import { describe, type TestContext, test } from "node:test";
import tls from "node:tls";
import {
  DONE,
  INVALID,
  type ProxyHeader,
  ProxyHeaderDecoder,
} from "../../src/proxy-protocol/index.js";
import { config, listener, tenant } from "../helpers/config.js";
import { startGateway, testCertificate } from "../helpers/gateway.js";
import {
  freePort,
  HAPROXY_TEST_PREAMBLE,
  requireProgram,
  run,
  startHaproxy,
} from "../helpers/programs.js";

interface HttpsOrigin {
  port: number;
  headers: ProxyHeader[];
}

/**
 * An HTTPS origin behind a PROXY v2 reader: it answers any HTTP/1.1 request with what linkgate's
 * header told it (client address, tenant, AUTHORITY) and the request's Host.
 */
async function startHttpsOrigin(
  t: TestContext,
  cert: { cert: string; key: string },
): Promise<HttpsOrigin> {
  const headers: ProxyHeader[] = [];
  const context = tls.createSecureContext({ cert: cert.cert, key: cert.key });
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    const d = new ProxyHeaderDecoder();
    const onData = (chunk: Buffer) => {
      const st = d.push(chunk);
      if (st === INVALID) return socket.destroy();
      if (st !== DONE) return;
      socket.off("data", onData);
      socket.pause(); // or the unshifted bytes would flow out with no listener
      const h = d.header as ProxyHeader;
      headers.push(h);
      const rest = chunk.subarray(d.tailOffset);
      if (rest.length > 0) socket.unshift(rest);
      const secure = new tls.TLSSocket(socket, {
        isServer: true,
        secureContext: context,
        ALPNProtocols: ["http/1.1"],
      });
      secure.on("error", () => {});
      let request = "";
      secure.on("data", (data: Buffer) => {
        request += data.toString("latin1");
        if (!request.includes("\r\n\r\n")) return;
        const host = /\r\nhost: *([^\r]*)/i.exec(request)?.[1] ?? null;
        const body = JSON.stringify({
          host,
          client: h.source?.address ?? null,
          tenant: h.tlvs.find((x) => x.type === 0xe4)?.value.toString() ?? null,
          authority: h.authority,
        });
        secure.end(
          `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`,
        );
      });
    };
    socket.on("data", onData);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  t.after(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((r) => server.close(() => r()));
  });
  return { port: (server.address() as net.AddressInfo).port, headers };
}

describe("end to end: curl -> HAProxy -> linkgate -> HTTPS origin", () => {
  test("allowed and denied, with the PROXY header from HAProxy and a fresh one to the origin", {
    timeout: 60_000,
  }, async (t) => {
    if (!requireProgram(t, "haproxy", "haproxy")) return;
    if (!requireProgram(t, "curl", "curl")) return;
    const cert = await testCertificate(t);
    if (cert === null) return;
    const origin = await startHttpsOrigin(t, cert);
    const base = config({
      // HAProxy connects to linkgate from 127.0.0.1: the only trusted proxy.
      listeners: [
        listener({ name: "privatelink", trustedProxies: ["127.0.0.1/32"], requireCrc32c: true }),
      ],
      tenants: [
        // curl connects to HAProxy from 127.0.0.7 (see --interface below).
        tenant("megacorp", { allow: { rules: [{ cidr: "127.0.0.7/32", description: "curl" }] } }),
        tenant("initech", { allow: { rules: [{ link: "aws:vpce-0123456789abcdef0" }] } }),
      ],
    });
    const gw = await startGateway(t, {
      ...base,
      routing: { ...base.routing, upstream: { host: "127.0.0.1", port: origin.port } },
    });
    const linkgate = gw.address("privatelink");
    const lbPort = await freePort("127.0.0.6");
    await startHaproxy(
      t,
      `${HAPROXY_TEST_PREAMBLE}
frontend lb
  bind 127.0.0.6:${lbPort}
  default_backend linkgate

backend linkgate
  server lg 127.0.0.1:${linkgate.port} send-proxy-v2 proxy-v2-options crc32c
`,
    );
    const curl = (tenantId: string) =>
      run(
        "curl",
        [
          "--silent",
          "--show-error",
          "--insecure",
          "--max-time",
          "10",
          "--interface",
          "127.0.0.7",
          "--resolve",
          `${tenantId}.api.example.com:${lbPort}:127.0.0.6`,
          `https://${tenantId}.api.example.com:${lbPort}/`,
        ],
        { timeoutMs: 15_000 },
      );

    const ok = await curl("megacorp");
    const body = JSON.parse(ok.stdout);
    assert.deepEqual(body, {
      host: `megacorp.api.example.com:${lbPort}`,
      client: "127.0.0.7",
      tenant: "megacorp",
      authority: "megacorp.api.example.com",
    });
    let rec = await gw.next();
    assert.equal(rec.decision, "allow");
    assert.equal(rec.reason, "POLICY_CIDR_ALLOWED");
    assert.equal(
      rec.proxySource?.address,
      "127.0.0.7",
      "HAProxy's PROXY header gave the client address",
    );
    assert.equal(rec.peer.address, "127.0.0.1");

    await assert.rejects(curl("initech"), /curl .* failed/);
    rec = await gw.next();
    assert.equal(rec.decision, "deny");
    assert.equal(rec.reason, "POLICY_PUBLIC_NOT_ALLOWED");
    assert.equal(origin.headers.length, 1, "the denied connection never reached the origin");

    await assert.rejects(curl("unknown"), /curl .* failed/);
    rec = await gw.next();
    assert.equal(rec.reason, "POLICY_UNKNOWN_HOST");
    assert.equal(origin.headers.length, 1);
  });
});
