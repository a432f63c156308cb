/**
 * A running linkgate with the control plane, in this process, for tests over real sockets: a
 * SQLite store in a temporary directory, the REST API on the admin endpoint (port 0), one
 * `privatelink` listener (PROXY header required from 127.0.0.0/8) in front of a real TLS origin,
 * the host pattern {tenant}.api.example.com, and a file tenant `filecorp`.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { encodeProxyHeaderV2 } from "../../src/proxy-protocol/index.js";
import { LinkgateRuntime } from "../../src/runtime/linkgate.js";
import { type Origin, startOrigin, testCertificate } from "./gateway.js";

// biome-ignore lint/suspicious/noExplicitAny: JSON answers are read freely
export type Json = any;

export const ADMIN = "admin-token-for-the-control-plane-tests-0123456789";

/** A PROXY v2 header from the "load balancer", with `link` (or none: public). */
export function pp2(link: string | null, source = "10.1.2.3"): Buffer {
  return encodeProxyHeaderV2({
    source: { address: source, port: 40000 },
    destination: { address: "10.0.0.10", port: 443 },
    ...(link === null ? {} : { link }),
    crc32c: true,
  });
}

export interface Env {
  dir: string;
  origin: Origin;
  file: string;
}

/** The configuration file, the store's directory and the origin; null without openssl. */
export async function env(t: TestContext): Promise<Env | null> {
  const cert = await testCertificate(t);
  if (cert === null) return null;
  const origin = await startOrigin(t, cert, { proxyProtocol: true });
  const dir = mkdtempSync(join(tmpdir(), "linkgate-control-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, "linkgate.yaml");
  writeFileSync(
    file,
    `listeners:
  - { name: privatelink, bind: 127.0.0.1:0, proxyProtocol: required, trustedProxies: [127.0.0.0/8] }
routing:
  hostPatterns: ["{tenant}.api.example.com"]
  upstream: ${origin.host}:${origin.port}
store: { type: sqlite, path: ./linkgate.db }
api: { bind: 127.0.0.1:0 }
log: { level: silent }
tenants:
  - id: filecorp
`,
  );
  return { dir, origin, file };
}

export interface Running {
  rt: LinkgateRuntime;
  /** The admin endpoint: http://host:port. */
  base: string;
  /** Stops it now (a restart), instead of when the test ends. */
  stop(): Promise<void>;
  listener: { host: string; port: number };
  api(
    method: string,
    path: string,
    body?: unknown,
    token?: string,
  ): Promise<{ status: number; json: Json; headers: Headers }>;
}

/** Starts linkgate on `e` with the admin token ADMIN; stopped when the test ends. */
export async function start(t: TestContext, e: Env): Promise<Running> {
  const previous = process.env.LINKGATE_ADMIN_TOKEN;
  process.env.LINKGATE_ADMIN_TOKEN = ADMIN;
  let rt: LinkgateRuntime;
  try {
    rt = await LinkgateRuntime.start({ configFile: e.file, version: "test", watchFile: false });
  } finally {
    if (previous === undefined) delete process.env.LINKGATE_ADMIN_TOKEN;
    else process.env.LINKGATE_ADMIN_TOKEN = previous;
  }
  let stopped = false;
  t.after(() => (stopped ? undefined : rt.stop()));
  const admin = rt.admin?.address;
  assert.ok(admin);
  const base = `http://${admin.host}:${admin.port}`;
  return {
    rt,
    base,
    listener: { host: rt.listeners[0].host, port: rt.listeners[0].port },
    async api(method, path, body, token = ADMIN) {
      // An undefined token would quietly be the admin's: a test must say whose it uses.
      assert.ok(typeof token === "string" && token !== "", `no token for ${method} ${path}`);
      const res = await fetch(`${base}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return {
        status: res.status,
        json: text === "" ? null : JSON.parse(text),
        headers: res.headers,
      };
    },
    async stop() {
      stopped = true;
      await rt.stop();
    },
  };
}
