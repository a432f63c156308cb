import assert from "node:assert/strict";
import { createServer } from "node:net";
import { after, before, describe, it } from "node:test";
import { type AdminServer, startAdminServer } from "../../src/control/admin-server.js";
import { Health } from "../../src/observability/health.js";
import { createLogger } from "../../src/observability/logger.js";
import { Metrics } from "../../src/observability/metrics.js";
import { parseExposition, record, seriesKey } from "./fixtures.js";

function url(server: AdminServer, path: string): string {
  return `http://127.0.0.1:${server.address.port}${path}`;
}

/** Resolves true when `port` on 127.0.0.1 can be bound again. */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once("error", () => resolve(false));
    probe.listen({ host: "127.0.0.1", port, exclusive: true }, () =>
      probe.close(() => resolve(true)),
    );
  });
}

describe("admin server", () => {
  const metrics = new Metrics({ defaultMetrics: false });
  const health = new Health();
  const lines: string[] = [];
  const logger = createLogger({ level: "info" }, { write: (l: string) => void lines.push(l) });
  let server: AdminServer;

  before(async () => {
    server = await startAdminServer({
      bind: { host: "127.0.0.1", port: 0 },
      metrics,
      health,
      logger,
      routes: (app) => {
        app.get("/v1/ping", async () => ({ pong: true }));
      },
    });
  });

  after(() => server.close());

  it("binds the requested host and a real port, and logs it", () => {
    assert.equal(server.address.host, "127.0.0.1");
    assert.ok(server.address.port > 0);
    const listening = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === "listening");
    assert.equal(listening.length, 1);
    assert.equal(listening[0].listener, "admin");
    assert.equal(listening[0].port, server.address.port);
  });

  it("GET /metrics serves the Prometheus text of its Metrics", async () => {
    metrics.connectionOpened("privatelink");
    metrics.recordConnection(record());
    const response = await fetch(url(server, "/metrics"));
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
    const e = parseExposition(await response.text());
    assert.equal(
      e.samples.get(
        seriesKey("linkgate_connections_total", {
          listener: "privatelink",
          tenant: "megacorp",
          decision: "allow",
          reason: "POLICY_LINK_ALLOWED",
        }),
      ),
      1,
    );
    assert.equal(
      e.samples.get(seriesKey("linkgate_active_connections", { listener: "privatelink" })),
      0,
    );
  });

  it("GET /healthz answers 200 ok", async () => {
    const response = await fetch(url(server, "/healthz"));
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /^application\/json/);
    assert.deepEqual(await response.json(), { status: "ok" });
  });

  it("GET /readyz follows Health: starting, ready, draining (for good)", async () => {
    let response = await fetch(url(server, "/readyz"));
    assert.equal(response.status, 503);
    assert.deepEqual(await response.json(), { status: "not ready", reason: "starting" });

    health.setReady(true);
    response = await fetch(url(server, "/readyz"));
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { status: "ready" });

    health.setReady(false, "no policy loaded");
    response = await fetch(url(server, "/readyz"));
    assert.equal(response.status, 503);
    assert.deepEqual(await response.json(), { status: "not ready", reason: "no policy loaded" });

    health.setReady(true);
    health.draining();
    response = await fetch(url(server, "/readyz"));
    assert.equal(response.status, 503);
    assert.deepEqual(await response.json(), { status: "not ready", reason: "draining" });

    health.setReady(true);
    response = await fetch(url(server, "/readyz"));
    assert.equal(response.status, 503, "draining is final");
    assert.equal(health.isDraining, true);
    // Liveness is unaffected by the drain.
    assert.equal((await fetch(url(server, "/healthz"))).status, 200);
  });

  it("answers unknown routes with a JSON 404", async () => {
    const response = await fetch(url(server, "/nope?x=1"));
    assert.equal(response.status, 404);
    assert.match(response.headers.get("content-type") ?? "", /^application\/json/);
    assert.deepEqual(await response.json(), {
      error: { code: "NOT_FOUND", message: "no route GET /nope?x=1" },
    });
    const post = await fetch(url(server, "/metrics"), { method: "POST" });
    assert.equal(post.status, 404);
  });

  it("serves routes added through `routes`", async () => {
    const response = await fetch(url(server, "/v1/ping"));
    assert.deepEqual(await response.json(), { pong: true });
  });

  it("does not log requests at info", () => {
    const requestLines = lines.map((l) => JSON.parse(l)).filter((l) => l.msg !== "listening");
    assert.deepEqual(requestLines, []);
  });
});

describe("admin server close()", () => {
  it("frees the port, with a keep-alive client connected, and is idempotent", async () => {
    const server = await startAdminServer({
      bind: { host: "127.0.0.1", port: 0 },
      metrics: new Metrics({ defaultMetrics: false }),
      health: new Health(),
    });
    const { port } = server.address;
    assert.equal(await portFree(port), false);
    const response = await fetch(url(server, "/healthz"));
    assert.equal(response.status, 200);
    await response.json();
    await server.close();
    await server.close();
    assert.equal(await portFree(port), true);
  });

  it("works without a logger and with port 0 on each start", async () => {
    const a = await startAdminServer({
      bind: { host: "127.0.0.1", port: 0 },
      metrics: new Metrics({ defaultMetrics: false }),
      health: new Health(),
    });
    const b = await startAdminServer({
      bind: { host: "127.0.0.1", port: 0 },
      metrics: new Metrics({ defaultMetrics: false }),
      health: new Health(),
    });
    try {
      assert.notEqual(a.address.port, b.address.port);
      assert.equal((await fetch(url(b, "/healthz"))).status, 200);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});

describe("admin server request logging", () => {
  it("writes per-request lines at debug, as component admin", async () => {
    const lines: string[] = [];
    const server = await startAdminServer({
      bind: { host: "127.0.0.1", port: 0 },
      metrics: new Metrics({ defaultMetrics: false }),
      health: new Health(),
      logger: createLogger({ level: "debug" }, { write: (l: string) => void lines.push(l) }),
    });
    try {
      await (await fetch(url(server, "/healthz"))).json();
    } finally {
      await server.close();
    }
    const completed = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === "request completed");
    assert.equal(completed.length, 1);
    assert.equal(completed[0].level, "debug");
    assert.equal(completed[0].component, "admin");
    assert.equal(completed[0].url, "/healthz");
    assert.equal(completed[0].statusCode, 200);
  });
});
