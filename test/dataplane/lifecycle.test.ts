/** Reloads (revocation of live connections, listener changes refused) and drain on stop. */
import assert from "node:assert/strict";
import net from "node:net";
import { describe, type TestContext, test } from "node:test";
import tls from "node:tls";
import type { LinkgateConfig } from "../../src/config/types.js";
import { CompiledPolicy } from "../../src/policy/index.js";
import { encodeProxyHeaderV2 } from "../../src/proxy-protocol/index.js";
import { config, listener, tenant } from "../helpers/config.js";
import { connectThrough, startGateway, startOrigin, testCertificate } from "../helpers/gateway.js";
import { waitFor } from "../helpers/programs.js";

const VPCE = "aws:vpce-0123456789abcdef0";
const GCP = "gcp:18446744072646845442";

function pp2(link: string): Buffer {
  return encodeProxyHeaderV2({
    source: { address: "10.1.2.3", port: 1234 },
    destination: { address: "10.0.0.10", port: 443 },
    link,
    crc32c: true,
  });
}

/** Opens a TLS session through linkgate and keeps it; resolves once the handshake is done. */
async function holdSession(addr: { host: string; port: number }, link: string, servername: string) {
  const raw = net.connect(addr);
  await new Promise((r) => raw.once("connect", r));
  raw.write(pp2(link));
  const s = tls.connect({ socket: raw, servername, rejectUnauthorized: false });
  s.on("error", () => {});
  await new Promise((r) => s.once("secureConnect", r));
  const closed = new Promise<void>((r) => s.once("close", () => r()));
  return { socket: s, closed };
}

async function setup(t: TestContext, tenants: LinkgateConfig["tenants"]) {
  const cert = await testCertificate(t);
  if (cert === null) return null;
  const origin = await startOrigin(t, cert, { proxyProtocol: true });
  const base = config({
    listeners: [listener({ name: "privatelink", trustedProxies: ["127.0.0.1/32"] })],
    tenants,
  });
  const cfg: LinkgateConfig = {
    ...base,
    routing: { ...base.routing, upstream: { host: origin.host, port: origin.port } },
  };
  const gw = await startGateway(t, cfg);
  return { cfg, gw, addr: gw.address("privatelink") };
}

describe("reload", () => {
  test("revoking an endpoint closes its live connections; other tenants' stay open", {
    timeout: 20_000,
  }, async (t) => {
    const tenants = [
      tenant("megacorp", { allow: { rules: [{ link: VPCE }, { link: GCP }] } }),
      tenant("initech", { allow: { rules: [{ link: VPCE }] } }),
    ];
    const e = await setup(t, tenants);
    if (e === null) return;
    const revoked = await holdSession(e.addr, VPCE, "megacorp.api.example.com");
    const kept = await holdSession(e.addr, GCP, "megacorp.api.example.com");
    const other = await holdSession(e.addr, VPCE, "initech.api.example.com");
    assert.equal(e.gw.gateway.registry.size, 3);
    assert.equal(e.gw.gateway.registry.forTenant("megacorp").length, 2);
    assert.equal(e.gw.gateway.registry.forTenant("initech").length, 1);
    const result = e.gw.gateway.reload(
      new CompiledPolicy({
        ...e.cfg,
        tenants: [tenant("megacorp", { allow: { rules: [{ link: GCP }] } }), tenants[1]],
      }),
    );
    assert.deepEqual(result, { applied: true, needsRestart: [] });
    await revoked.closed;
    const rec = await e.gw.next();
    assert.equal(rec.closedBy, "POLICY_REVOKED");
    assert.equal(rec.link, VPCE);
    assert.equal(rec.tenant, "megacorp");
    assert.equal(kept.socket.destroyed, false, "the GCP session of megacorp is still allowed");
    assert.equal(other.socket.destroyed, false, "initech did not change");
    // New connections follow the new policy.
    assert.equal(
      (
        await connectThrough({
          ...e.addr,
          preamble: pp2(VPCE),
          servername: "megacorp.api.example.com",
        })
      ).ok,
      false,
    );
    kept.socket.destroy();
    other.socket.destroy();
  });

  test("report-only keeps live connections open; removing a tenant closes them", {
    timeout: 20_000,
  }, async (t) => {
    const e = await setup(t, [tenant("megacorp", { allow: { rules: [{ link: VPCE }] } })]);
    if (e === null) return;
    const s = await holdSession(e.addr, VPCE, "megacorp.api.example.com");
    e.gw.gateway.reload(
      new CompiledPolicy({
        ...e.cfg,
        tenants: [tenant("megacorp", { enforcement: "report-only", allow: { rules: [] } })],
      }),
    );
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(s.socket.destroyed, false, "would-deny does not close");
    e.gw.gateway.reload(new CompiledPolicy({ ...e.cfg, tenants: [] }));
    await s.closed;
    assert.equal((await e.gw.next()).closedBy, "POLICY_REVOKED");
  });

  test("listener settings follow a reload: trustedProxies applies to the next connection", {
    timeout: 20_000,
  }, async (t) => {
    const e = await setup(t, [tenant("megacorp")]);
    if (e === null) return;
    assert.equal(
      (
        await connectThrough({
          ...e.addr,
          preamble: pp2(VPCE),
          servername: "megacorp.api.example.com",
        })
      ).ok,
      true,
    );
    await e.gw.next();
    const [l] = e.cfg.listeners;
    e.gw.gateway.reload(
      new CompiledPolicy({ ...e.cfg, listeners: [{ ...l, trustedProxies: ["10.0.0.0/8"] }] }),
    );
    assert.equal(
      (
        await connectThrough({
          ...e.addr,
          preamble: pp2(VPCE),
          servername: "megacorp.api.example.com",
        })
      ).ok,
      false,
    );
    assert.equal(
      (await e.gw.next()).reason,
      "PP_UNTRUSTED_PEER",
      "the cached verdict for 127.0.0.1 was dropped",
    );
    e.gw.gateway.reload(new CompiledPolicy(e.cfg));
    assert.equal(
      (
        await connectThrough({
          ...e.addr,
          preamble: pp2(VPCE),
          servername: "megacorp.api.example.com",
        })
      ).ok,
      true,
    );
  });

  test("a reload that changes listener sockets is refused, and says why", async (t) => {
    const e = await setup(t, [tenant("megacorp")]);
    if (e === null) return;
    const moved = {
      ...e.cfg,
      listeners: [listener({ name: "privatelink", bind: { host: "127.0.0.1", port: 1 } })],
    };
    const r = e.gw.gateway.reload(new CompiledPolicy(moved));
    assert.equal(r.applied, false);
    assert.match(r.needsRestart[0], /listener privatelink changed/);
    const added = { ...e.cfg, listeners: [...e.cfg.listeners, listener({ name: "extra" })] };
    assert.deepEqual(e.gw.gateway.reload(new CompiledPolicy(added)).needsRestart, [
      "listener extra added",
    ]);
  });
});

describe("drain", () => {
  test("an HTTP health check (LOCAL) gets 503 once the gateway is stopping", {
    timeout: 20_000,
  }, async (t) => {
    const e = await setup(t, [tenant("megacorp")]);
    if (e === null) return;
    const check = async () => {
      const s = net.connect(e.addr);
      let response = "";
      s.on("data", (d) => {
        response += d.toString();
      });
      s.on("error", () => {});
      await new Promise((r) => s.once("connect", r));
      return { s, response: () => response };
    };
    // A health check connection already open when the drain starts.
    const open = await check();
    open.s.write(encodeProxyHeaderV2({ command: "local" }));
    const stopping = e.gw.gateway.stop(200);
    open.s.write("GET /health HTTP/1.1\r\nHost: lb\r\n\r\n");
    await new Promise((r) => open.s.once("close", r));
    assert.match(open.response(), /^HTTP\/1\.1 503 /);
    await stopping;
  });

  test("stop: not ready, no new connections, live ones get the grace period then close", {
    timeout: 20_000,
  }, async (t) => {
    const e = await setup(t, [tenant("megacorp")]);
    if (e === null) return;
    const s = await holdSession(e.addr, VPCE, "megacorp.api.example.com");
    assert.equal(e.gw.gateway.ready, true);
    const started = Date.now();
    const stopping = e.gw.gateway.stop(300);
    assert.equal(e.gw.gateway.ready, false);
    await new Promise((r) => setTimeout(r, 50));
    const refused = await new Promise<string>((resolve) => {
      const c = net.connect(e.addr);
      c.on("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? "error"));
      c.on("connect", () => resolve("connected"));
    });
    assert.equal(refused, "ECONNREFUSED");
    assert.equal(s.socket.destroyed, false, "still open during the grace period");
    const { closed } = await stopping;
    assert.equal(closed, 1);
    assert.ok(Date.now() - started >= 280);
    await s.closed;
    assert.equal((await e.gw.next()).closedBy, "CONN_SHUTDOWN");
  });

  test("stop returns as soon as live connections end by themselves", {
    timeout: 20_000,
  }, async (t) => {
    const e = await setup(t, [tenant("megacorp")]);
    if (e === null) return;
    const s = await holdSession(e.addr, VPCE, "megacorp.api.example.com");
    const stopping = e.gw.gateway.stop(10_000);
    setTimeout(() => s.socket.end(), 100);
    const started = Date.now();
    assert.deepEqual(await stopping, { closed: 0 });
    assert.ok(Date.now() - started < 5000);
    await waitFor(() => e.gw.records.length === 1);
    assert.equal(e.gw.records[0].closedBy, null);
  });
});
