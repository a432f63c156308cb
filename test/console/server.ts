/**
 * The admin server with the control plane and the console, listening on loopback for a real
 * browser: a SQLite store in a temporary directory, the tests' PolicyPort (real decisions for
 * the lockout guard), the real clock. Also used by `npm run docs:screenshots`.
 */
import { mkdtempSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildAdminApp } from "../../src/control/admin-server.js";
import { registerControlPlane } from "../../src/control/control-plane.js";
import { Health } from "../../src/observability/health.js";
import { Metrics } from "../../src/observability/metrics.js";
import { SqliteStore } from "../../src/store/sqlite/store.js";
import type { ObservedProvider } from "../../src/store/types.js";
import { ADMIN_TOKEN, fileConfig, TestPort } from "../control/harness.js";

export { ADMIN_TOKEN };

export interface ConsoleServer {
  /** "http://127.0.0.1:<port>" */
  origin: string;
  store: SqliteStore;
  /** Calls the API as `token` (default the admin's); resolves to the status and JSON body. */
  api(
    method: string,
    path: string,
    body?: unknown,
    token?: string,
    // biome-ignore lint/suspicious/noExplicitAny: the API's JSON, read field by field by tests
  ): Promise<{ status: number; body: any }>;
  /** Creates a tenant over the API (report-only unless said) and mints a token for it. */
  tenant(id: string, over?: Record<string, unknown>): Promise<string>;
  /** Records connections as the data plane's activity flush does. */
  observe(tenantId: string, identity: string, seen: Partial<Seen>): Promise<void>;
  close(): Promise<void>;
}

export interface Seen {
  allowed: number;
  denied: number;
  lastReason: string;
  lastSource: string;
  listener: string;
  /** When, in ms; default now. */
  at: number;
}

/** Starts the server on 127.0.0.1 (`host` to use another loopback address). */
export async function startConsoleServer(host = "127.0.0.1"): Promise<ConsoleServer> {
  const dir = mkdtempSync(join(tmpdir(), "linkgate-console-"));
  const store = SqliteStore.open({ path: join(dir, "linkgate.db") });
  const app = buildAdminApp({
    metrics: new Metrics({ defaultMetrics: false }),
    health: new Health(),
  });
  registerControlPlane(app, {
    store,
    port: new TestPort(fileConfig()),
    adminTokens: [ADMIN_TOKEN],
    limits: { maxRulesPerTenant: 1000, maxApiBodyBytes: 1_048_576 },
    version: "0.0.0-test",
  });
  await app.listen({ host, port: 0 });
  const { port } = app.server.address() as AddressInfo;
  const origin = `http://${host}:${port}`;

  const api: ConsoleServer["api"] = async (method, path, body, token = ADMIN_TOKEN) => {
    const response = await fetch(origin + path, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text === "" ? null : JSON.parse(text) };
  };

  return {
    origin,
    store,
    api,
    async tenant(id, over = {}) {
      const created = await api("POST", "/v1/tenants", {
        id,
        enforcement: "report-only",
        ...over,
      });
      if (created.status !== 201)
        throw new Error(`creating ${id}: ${JSON.stringify(created.body)}`);
      const minted = await api("POST", `/v1/tenants/${id}/tokens`, { label: "console test" });
      if (minted.status !== 201)
        throw new Error(`minting for ${id}: ${JSON.stringify(minted.body)}`);
      return minted.body.token as string;
    },
    async observe(tenantId, identity, seen) {
      const at = seen.at ?? Date.now();
      await store.recordActivity({
        ruleHits: [],
        observed: [
          {
            tenantId,
            identity,
            provider: identity.slice(0, identity.indexOf(":")) as ObservedProvider,
            listener: seen.listener ?? "privatelink",
            lastSource: seen.lastSource ?? "10.1.2.3",
            firstSeenAt: at,
            lastSeenAt: at,
            allowed: seen.allowed ?? 0,
            denied: seen.denied ?? 0,
            lastReason: seen.lastReason ?? "POLICY_LINK_NOT_ALLOWED",
          },
        ],
      });
    },
    async close() {
      await app.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
