/**
 * A fleet of `linkgate serve` processes on one PostgreSQL database, for the fleet tests and
 * `npm run bench:fleet`: a configuration per instance, each instance's REST API and /healthz,
 * and a probe that asks an instance, over a real connection, whether it admits an endpoint for
 * a tenant now.
 *
 * The probe is what a load balancer sends (a PROXY v2 header with the endpoint, then a TLS
 * ClientHello with the tenant's host name) to an origin that answers any bytes with "ok":
 * linkgate either closes the connection (denied, decided by the policy its data plane holds)
 * or connects to the origin and relays its answer (admitted). No TLS is negotiated, so a probe
 * costs a millisecond or two: the policy in force is what is observed, not the API's view of it.
 */
import { writeFileSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import { encodeProxyHeaderV2 } from "../../src/proxy-protocol/index.js";
import { waitFor } from "../helpers/programs.js";
import { type Serve, serveStarted, spawnServe } from "../helpers/serve.js";
import { helloWithSni } from "../tls/hello-builder.js";

export const ADMIN_TOKEN = "admin-token-for-the-fleet-tests-0123456789abcdef";
export const VPCE = "aws:vpce-0123456789abcdef0";
export const OTHER = "aws:vpce-0fedcba9876543210";

/** Whoever stops what is started: a test, or a script's list of cleanups. */
export interface Owner {
  after(fn: () => unknown): void;
}

// biome-ignore lint/suspicious/noExplicitAny: JSON answers are read freely
export type Json = any;

/** An origin that answers "ok" to the first bytes of each connection, then closes it. */
export async function startProbeOrigin(owner: Owner): Promise<{ host: string; port: number }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    socket.once("data", () => socket.end("ok\n"));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  owner.after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { host: "127.0.0.1", port: (server.address() as net.AddressInfo).port };
}

export interface InstanceOptions {
  originPort: number;
  /** The database URL. */
  url: string;
  /** store.snapshotPath, or none. */
  snapshotPath?: string | null;
  /** store.checkInterval, as YAML ("1s"). */
  checkInterval?: string;
}

/** The configuration of one instance: a PROXY-required listener, the API, the postgres store. */
export function instanceConfig(o: InstanceOptions): string {
  const store = [
    "type: postgres",
    `url: "${o.url}"`,
    ...(o.snapshotPath ? [`snapshotPath: "${o.snapshotPath}"`] : []),
    ...(o.checkInterval ? [`checkInterval: ${o.checkInterval}`] : []),
  ];
  return `listeners:
  - { name: privatelink, bind: 127.0.0.1:0, proxyProtocol: required, trustedProxies: [127.0.0.0/8] }
routing:
  hostPatterns: ["{tenant}.api.example.com"]
  upstream: 127.0.0.1:${o.originPort}
store: { ${store.join(", ")} }
api: { bind: 127.0.0.1:0 }
log: { level: info }
shutdown: { drainTimeout: 300ms }
`;
}

export interface Instance {
  readonly name: string;
  readonly serve: Serve;
  readonly configFile: string;
  /** A REST API call with the admin token. */
  api(method: string, path: string, body?: unknown): Promise<ApiAnswer>;
  /** GET /healthz's body. */
  healthz(): Promise<Json>;
  /** GET /readyz's status code. */
  readyz(): Promise<number>;
  /** The value of an unlabelled series in GET /metrics; undefined if absent. */
  metric(name: string): Promise<number | undefined>;
  /** Whether this instance admits `link` for `tenant` now (a real connection). */
  admits(link: string, tenant: string): Promise<boolean>;
}

export interface ApiAnswer {
  status: number;
  headers: Headers;
  json: Json;
}

/** Writes `config` as `<dir>/<name>.yaml`, starts `linkgate serve` on it, waits until it listens. */
export async function startInstance(
  owner: Owner,
  dir: string,
  name: string,
  config: string,
  { timeoutMs = 30_000, workers = 1 }: { timeoutMs?: number; workers?: number } = {},
): Promise<Instance> {
  const configFile = join(dir, `${name}.yaml`);
  writeFileSync(configFile, config);
  const args = [
    "-c",
    configFile,
    "--no-watch",
    ...(workers > 1 ? ["--workers", String(workers)] : []),
  ];
  const serve = spawnServe(owner, args, {
    LINKGATE_ADMIN_TOKEN: ADMIN_TOKEN,
  });
  await Promise.race([
    serveStarted(serve, timeoutMs),
    serve.exited.then((code) => {
      throw new Error(`${name} exited (${code}) while starting: ${serve.stderr()}`);
    }),
  ]);
  return instanceOf(name, serve, configFile);
}

function instanceOf(name: string, serve: Serve, configFile: string): Instance {
  const admin = `http://127.0.0.1:${serve.port("admin")}`;
  const listener = serve.port("privatelink");
  return {
    name,
    serve,
    configFile,
    async api(method, path, body) {
      const res = await fetch(`${admin}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${ADMIN_TOKEN}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return {
        status: res.status,
        headers: res.headers,
        json: text === "" ? null : JSON.parse(text),
      };
    },
    async healthz() {
      return (await fetch(`${admin}/healthz`)).json();
    },
    async readyz() {
      return (await fetch(`${admin}/readyz`)).status;
    },
    async metric(series) {
      const text = await (await fetch(`${admin}/metrics`)).text();
      const line = text.split("\n").find((l) => l.startsWith(`${series} `));
      return line === undefined ? undefined : Number(line.slice(series.length + 1));
    },
    admits: (link, tenant) => admits(listener, link, `${tenant}.api.example.com`),
  };
}

/**
 * One probe through the listener on `port`: true if linkgate relays the origin's answer, false
 * if it closes the connection first. Rejects if neither happens within `timeoutMs`.
 */
export function admits(
  port: number,
  link: string,
  host: string,
  timeoutMs = 5000,
): Promise<boolean> {
  const bytes = Buffer.concat([
    encodeProxyHeaderV2({
      source: { address: "10.1.2.3", port: 40000 },
      destination: { address: "10.0.0.10", port: 443 },
      link,
      crc32c: true,
    }),
    helloWithSni(host),
  ]);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer nor close from linkgate within ${timeoutMs} ms`));
    }, timeoutMs);
    const done = (admitted: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(admitted);
    };
    socket.on("connect", () => socket.write(bytes));
    socket.on("data", () => done(true));
    socket.on("close", () => done(false));
    socket.on("error", () => done(false));
  });
}

/** Waits until `instance` admits (or, with `want` false, denies) `link` for `tenant`. */
export function until(
  instance: Instance,
  link: string,
  tenant: string,
  want: boolean,
  timeoutMs = 10_000,
): Promise<true> {
  return waitFor(async () => (await instance.admits(link, tenant)) === want, {
    timeoutMs,
    intervalMs: 5,
    what: `${instance.name} to ${want ? "admit" : "deny"} ${link} for ${tenant}`,
  });
}
