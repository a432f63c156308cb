/**
 * The connection state machine's exits that had no test, each a defect a review found (issue 9):
 * relay timeouts (idle, half-closed, lifetime) and keepalive (5); revocation of a connection
 * still connecting upstream (3); a health check whose prober keeps its side open (4); reloads
 * that change host patterns, trustedProxies or the fallback (8); the errno in the record (11).
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import net from "node:net";
import { describe, type TestContext, test } from "node:test";
import type { LinkgateConfig, ListenerConfig } from "../../src/config/types.js";
import { State } from "../../src/dataplane/connection.js";
import { CompiledPolicy } from "../../src/policy/index.js";
import { DONE, encodeProxyHeaderV2, ProxyHeaderDecoder } from "../../src/proxy-protocol/index.js";
import { config, listener, tenant } from "../helpers/config.js";
import { OPENSSL_HELLO as HELLO, LINK_HEADER as PP, VPCE } from "../helpers/first-bytes.js";
import { type RunningGateway, startGateway } from "../helpers/gateway.js";
import { waitFor, withTimeout } from "../helpers/programs.js";

/** An origin that reads linkgate's header, then echoes; it never closes first. */
async function startEcho(t: TestContext): Promise<number> {
  const sockets: net.Socket[] = [];
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    sockets.push(s);
    s.on("error", () => {});
    const d = new ProxyHeaderDecoder();
    let inHeader = true;
    s.on("data", (chunk: Buffer) => {
      if (!inHeader) return void s.write(chunk);
      if (d.push(chunk) !== DONE) return;
      inHeader = false;
      if (d.tailOffset < chunk.length) s.write(chunk.subarray(d.tailOffset));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  t.after(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((r) => server.close(() => r()));
  });
  return (server.address() as net.AddressInfo).port;
}

async function gateway(
  t: TestContext,
  upstreamPort: number,
  over: Partial<ListenerConfig> = {},
  cfg: Partial<LinkgateConfig> = {},
): Promise<{ gw: RunningGateway; cfg: LinkgateConfig }> {
  const base = config({
    listeners: [listener({ name: "privatelink", trustedProxies: ["127.0.0.1/32"], ...over })],
    tenants: [tenant("megacorp", { allow: { rules: [{ link: VPCE }] } })],
    ...cfg,
  });
  const full: LinkgateConfig = {
    ...base,
    routing: { ...base.routing, upstream: { host: "127.0.0.1", port: upstreamPort } },
  };
  return { gw: await startGateway(t, full), cfg: full };
}

/** A client through the gateway, past the ClientHello; resolves once the echo came back. */
async function relayed(gw: RunningGateway, allowHalfOpen = false, header = PP) {
  const socket = net.connect({ ...gw.address("privatelink"), allowHalfOpen });
  socket.on("error", () => {});
  const closed = new Promise<void>((r) => socket.once("close", () => r()));
  let echoed = 0;
  const echo = new Promise<void>((resolve) => {
    socket.on("data", (d: Buffer) => {
      echoed += d.length;
      if (echoed >= HELLO.length) resolve();
    });
  });
  await new Promise((r) => socket.once("connect", r));
  socket.write(Buffer.concat([header, HELLO]));
  await withTimeout(echo, 5000, "the echo of the hello");
  return { socket, closed };
}

describe("relay timeouts and keepalive", () => {
  test("idleTimeout: no byte either way closes the connection (CONN_IDLE_TIMEOUT)", {
    timeout: 15_000,
  }, async (t) => {
    const { gw } = await gateway(t, await startEcho(t), { idleTimeoutMs: 1000 });
    const started = Date.now();
    const { closed } = await relayed(gw);
    await withTimeout(closed, 5000, "the idle close");
    const waited = Date.now() - started;
    assert.ok(waited >= 950 && waited < 3000, `closed after ${waited} ms`);
    const rec = await gw.next();
    assert.equal(rec.decision, "allow");
    assert.equal(rec.closedBy, "CONN_IDLE_TIMEOUT");
  });

  test("idleTimeout counts from the last byte: a chatty connection stays open", {
    timeout: 15_000,
  }, async (t) => {
    const { gw } = await gateway(t, await startEcho(t), { idleTimeoutMs: 1000 });
    const { socket, closed } = await relayed(gw);
    let open = true;
    void closed.then(() => {
      open = false;
    });
    for (let i = 0; i < 8; i++) {
      await new Promise((r) => setTimeout(r, 300));
      socket.write("ping");
    }
    assert.ok(open, "open after 2.4 s of traffic every 300 ms");
    await withTimeout(closed, 5000, "the idle close once quiet");
    assert.equal((await gw.next()).closedBy, "CONN_IDLE_TIMEOUT");
  });

  test("finTimeout: half-closed and then idle closes the connection (CONN_FIN_TIMEOUT)", {
    timeout: 15_000,
  }, async (t) => {
    const { gw } = await gateway(t, await startEcho(t), { finTimeoutMs: 300 });
    const { socket, closed } = await relayed(gw, true);
    socket.end(); // the origin never ends its side
    await withTimeout(closed, 3000, "the half-closed timeout");
    assert.equal((await gw.next()).closedBy, "CONN_FIN_TIMEOUT");
  });

  test("a half-closed connection's deadline is in a list of its own, not the relaying ones'", {
    timeout: 15_000,
  }, async (t) => {
    // One list for both made every FIN walk back past every relaying connection (the lists are
    // kept sorted and a FIN's deadline is usually the earlier): O(live connections) per FIN.
    const { gw } = await gateway(t, await startEcho(t), { finTimeoutMs: 5000 });
    const runtime = gw.gateway.listeners[0];
    const first = await relayed(gw, true);
    const second = await relayed(gw, true);
    await waitFor(() => runtime.relayDeadlines.size === 2, { what: "both relaying" });
    assert.equal(runtime.halfClosedDeadlines.size, 0);
    first.socket.end(); // the origin never ends its side: half-closed until finTimeout
    await waitFor(() => runtime.halfClosedDeadlines.size === 1, { what: "the FIN's deadline" });
    assert.equal(runtime.relayDeadlines.size, 1, "the half-closed one left the relay list");
    second.socket.end();
    await waitFor(() => runtime.halfClosedDeadlines.size === 2, { what: "the second FIN's" });
    assert.equal(runtime.relayDeadlines.size, 0);
  });

  test("maxConnectionLifetime: closes a busy connection (CONN_MAX_LIFETIME)", {
    timeout: 15_000,
  }, async (t) => {
    const { gw } = await gateway(t, await startEcho(t), { maxConnectionLifetimeMs: 1000 });
    const { socket, closed } = await relayed(gw);
    const timer = setInterval(() => socket.write("busy"), 50);
    t.after(() => clearInterval(timer));
    await withTimeout(closed, 5000, "the lifetime close");
    assert.equal((await gw.next()).closedBy, "CONN_MAX_LIFETIME");
  });

  test("tcpKeepAlive: turned on once a connection has lived that long, not before; 0s never", {
    timeout: 15_000,
  }, async (t) => {
    const port = await startEcho(t);
    const on = await gateway(t, port, { tcpKeepAliveMs: 500 });
    const off = await gateway(t, port, { tcpKeepAliveMs: 0 });
    await relayed(on.gw);
    await relayed(off.gw);
    const live = (g: RunningGateway) => [...g.gateway.listeners[0].live][0];
    assert.equal(live(on.gw).keepAliveSet, false, "not on a young connection");
    await waitFor(() => live(on.gw).keepAliveSet, { timeoutMs: 3000, what: "keepalive on" });
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(live(off.gw).keepAliveSet, false);
  });
});

describe("revocation and routing changes", () => {
  test("a connection still connecting upstream is revoked by a reload (POLICY_REVOKED)", {
    timeout: 20_000,
  }, async (t) => {
    // An upstream that never completes a handshake: a listener with a full accept queue, stopped,
    // so the kernel drops further SYNs. Node.js, also under `bun test` (Bun's node:net ignores
    // the backlog; `node` is on the PATH of npm scripts).
    const child = spawn(
      process.versions.bun === undefined ? process.execPath : "node",
      [
        "-e",
        `const s=require("net").createServer();s.listen({port:0,host:"127.0.0.1",backlog:1},()=>console.log(s.address().port));`,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    t.after(() => child.kill("SIGKILL"));
    const port = Number(
      await new Promise<string>((r) => child.stdout.once("data", (d: Buffer) => r(String(d)))),
    );
    child.kill("SIGSTOP");
    const fillers: net.Socket[] = [];
    t.after(() => {
      for (const f of fillers) f.destroy();
    });
    for (let i = 0; i < 8; i++) {
      const f = net.connect(port, "127.0.0.1");
      f.on("error", () => {});
      fillers.push(f);
    }
    await new Promise((r) => setTimeout(r, 300));

    const { gw, cfg } = await gateway(t, port);
    const socket = net.connect(gw.address("privatelink"));
    socket.on("error", () => {});
    const closed = new Promise<void>((r) => socket.once("close", () => r()));
    socket.write(Buffer.concat([PP, HELLO]));
    const conn = await waitFor(
      () => [...gw.gateway.listeners[0].live].find((c) => c.state === State.Connecting),
      { what: "a connection connecting upstream" },
    );
    assert.equal(
      gw.gateway.registry.forTenant("megacorp").length,
      1,
      "registered while connecting",
    );
    gw.gateway.reload(
      new CompiledPolicy({ ...cfg, tenants: [tenant("megacorp", { allow: { rules: [] } })] }),
    );
    await withTimeout(closed, 2000, "the revocation (the connect would hang for seconds)");
    const rec = await gw.next();
    assert.equal(rec.closedBy, "POLICY_REVOKED");
    assert.equal(conn.state, State.Closed);
    assert.equal(gw.gateway.registry.size, 0);
  });

  test("host patterns, trustedProxies and the fallback upstream: reloads re-check live connections", {
    timeout: 20_000,
  }, async (t) => {
    const port = await startEcho(t);
    const { gw, cfg } = await gateway(t, port, {}, {});
    const reload = (next: LinkgateConfig) => gw.gateway.reload(new CompiledPolicy(next));

    // 1. The host pattern that maps the SNI to the tenant goes away.
    let c = await relayed(gw);
    reload({
      ...cfg,
      routing: { ...cfg.routing, hostPatterns: ["{tenant}.privatelink.example.com"] },
    });
    await withTimeout(c.closed, 2000, "the close after the pattern change");
    assert.equal((await gw.next()).closedBy, "POLICY_REVOKED");

    // 2. The load balancer's address is no longer trusted.
    reload(cfg);
    c = await relayed(gw);
    const untrusted = cfg.listeners.map((l) => ({ ...l, trustedProxies: ["10.0.0.0/8"] }));
    reload({ ...cfg, listeners: untrusted });
    await withTimeout(c.closed, 2000, "the close after trustedProxies changed");
    assert.equal((await gw.next()).closedBy, "POLICY_REVOKED");

    // 3. A connection admitted through the fallback upstream, which is then removed.
    const noTenants = {
      ...cfg,
      tenants: [],
      routing: { ...cfg.routing, fallbackUpstream: { host: "127.0.0.1", port } },
    };
    reload(noTenants);
    c = await relayed(gw);
    assert.equal(gw.gateway.registry.size, 1, "fallback connections are registered too");
    reload({ ...noTenants, routing: { ...noTenants.routing, fallbackUpstream: null } });
    await withTimeout(c.closed, 2000, "the close after the fallback was removed");
    const rec = await gw.next();
    assert.equal(rec.reason, "POLICY_FALLBACK");
    assert.equal(rec.closedBy, "POLICY_REVOKED");
  });

  test("a relayed connection keeps no header, and reloads re-check it on the source it gave", {
    timeout: 20_000,
  }, async (t) => {
    const port = await startEcho(t);
    const byCidr = (cidr: string) => [
      tenant("megacorp", { allow: { rules: [{ link: VPCE, cidr, description: null }] } }),
    ];
    const { gw, cfg } = await gateway(t, port, {}, { tenants: byCidr("10.1.2.0/24") });
    const reload = (tenants: LinkgateConfig["tenants"]) =>
      gw.gateway.reload(new CompiledPolicy({ ...cfg, tenants }));
    const v6 = encodeProxyHeaderV2({
      source: { address: "2001:db8::7", port: 4321 },
      destination: { address: "2001:db8::1", port: 443 },
      link: VPCE,
    });
    const cases = [
      {
        header: PP,
        source: "10.1.2.3",
        admits: ["10.1.0.0/16", "10.1.2.0/24"],
        excludes: "10.9.0.0/16",
      },
      {
        header: v6,
        source: "2001:db8::7",
        admits: ["2001:db8::/32", "2001:db8::/48"],
        excludes: "2001:db9::/32",
      },
    ];
    for (const { header, source, admits, excludes } of cases) {
      reload(byCidr(admits[0]));
      const c = await relayed(gw, false, header);
      const [live] = gw.gateway.registry.forTenant("megacorp");
      // The header is a view of the client's first chunk (with the ClientHello): let go.
      assert.equal(live.header, null, "no header kept while relaying");
      assert.equal(live.proxySource?.address, source);
      assert.equal(live.link?.id, VPCE);
      let open = true;
      void c.closed.then(() => {
        open = false;
      });
      // A reload that changes the rule but still admits the source keeps the connection.
      reload(byCidr(admits[1]));
      await new Promise((r) => setTimeout(r, 200));
      assert.ok(open, `${source}: still admitted, still open`);
      // One that no longer admits its source closes it.
      reload(byCidr(excludes));
      await withTimeout(c.closed, 2000, `${source}: the close after its source was excluded`);
      const rec = await gw.next();
      assert.equal(rec.closedBy, "POLICY_REVOKED");
      assert.equal(rec.proxySource?.address, source, "the record has the header's source");
      assert.equal(rec.link, VPCE);
    }
  });

  test("a reload that changes nothing for a connection leaves it open", {
    timeout: 15_000,
  }, async (t) => {
    const { gw, cfg } = await gateway(t, await startEcho(t));
    const c = await relayed(gw);
    let open = true;
    void c.closed.then(() => {
      open = false;
    });
    gw.gateway.reload(
      new CompiledPolicy({
        ...cfg,
        routing: { ...cfg.routing, hostPatterns: [...cfg.routing.hostPatterns, "{tenant}.x.test"] },
        tenants: [...cfg.tenants, tenant("initech")],
      }),
    );
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(open);
    c.socket.destroy();
  });
});

describe("health checks and errors", () => {
  test("an answered HTTP health check whose prober keeps its side open is closed at the deadline; stop does not wait on it", {
    timeout: 15_000,
  }, async (t) => {
    const { gw } = await gateway(t, await startEcho(t), { headerTimeoutMs: 400 });
    const socket = net.connect({ ...gw.address("privatelink"), allowHalfOpen: true });
    socket.on("error", () => {});
    let answer = "";
    socket.on("data", (d: Buffer) => {
      answer += d;
    });
    const ended = new Promise<void>((r) => socket.once("end", () => r()));
    await new Promise((r) => socket.once("connect", r));
    socket.write(
      Buffer.concat([
        encodeProxyHeaderV2({ command: "local" }),
        Buffer.from("GET /health HTTP/1.1\r\nHost: lb\r\n\r\n"),
      ]),
    );
    // The prober gets the answer and linkgate's FIN, and never closes its side: linkgate closes
    // the connection at the deadline all the same (its record is written when it has).
    await withTimeout(ended, 3000, "the answer and its FIN");
    assert.match(answer, /^HTTP\/1\.1 200 OK/);
    const rec = await gw.next(3000);
    assert.equal(rec.decision, "health-check");
    assert.equal(rec.reason, "HEALTH_CHECK_HTTP");
    assert.equal(gw.gateway.activeConnections, 0);
    const started = Date.now();
    await gw.gateway.stop(5000);
    assert.ok(Date.now() - started < 500, "nothing left to drain");
  });

  test("the errno of an upstream failure is in the record", { timeout: 15_000 }, async (t) => {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r())); // nothing listens there now
    const { gw } = await gateway(t, port);
    const socket = net.connect(gw.address("privatelink"));
    socket.on("error", () => {});
    socket.write(Buffer.concat([PP, HELLO]));
    const rec = await gw.next();
    assert.equal(rec.upstreamError, "UPSTREAM_CONNECT_FAILED");
    assert.equal(rec.errno, "ECONNREFUSED");
    socket.destroy();
  });
});
