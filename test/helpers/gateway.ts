/**
 * Harness for data-plane tests over real loopback sockets:
 * - startOrigin: the upstream. It reads linkgate's PROXY v2 header (when expected), then
 *   terminates TLS and answers each line with "hello <tenant>"; it records every connection.
 * - startGateway: linkgate's data plane with a collecting observer.
 * - connectThrough: a client that sends a PROXY header (optional), then does a real TLS
 *   handshake with an SNI, and reports whether it got through.
 */
import assert from "node:assert/strict";
import net from "node:net";
import type { TestContext } from "node:test";
import tls from "node:tls";
import type { LinkgateConfig } from "../../src/config/types.js";
import type { Engine } from "../../src/dataplane/engine.js";
import { Gateway } from "../../src/dataplane/index.js";
import type { ConnectionRecord } from "../../src/observability/types.js";
import { CompiledPolicy } from "../../src/policy/index.js";
import {
  DONE,
  INVALID,
  type ProxyHeader,
  ProxyHeaderDecoder,
} from "../../src/proxy-protocol/index.js";
import { config, listener, tenant } from "./config.js";
import { type Certificate, requireProgram, selfSignedCert, waitFor } from "./programs.js";

export interface OriginConnection {
  header: ProxyHeader | null;
  /** In raw mode, every byte after the PROXY header. */
  payload: Buffer;
  /** Raw bytes received before TLS (the PROXY header), for byte-exact checks. */
  firstBytes: Buffer;
  sni: string | null;
  lines: string[];
}

export interface Origin {
  host: string;
  port: number;
  connections: OriginConnection[];
  cert: Certificate;
}

/** Certificates are made once per test file (openssl is slow-ish); requires openssl. */
let certPromise: Promise<Certificate> | null = null;
export async function testCertificate(t: TestContext): Promise<Certificate | null> {
  if (!requireProgram(t, "openssl", "openssl")) return null;
  if (certPromise === null) {
    // A directory that outlives the test: the certificate is shared by the whole file.
    const { mkdtempSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const dir = mkdtempSync(join(tmpdir(), "linkgate-cert-"));
    certPromise = selfSignedCert(t, "*.api.example.com", {
      dir,
      commonName: "linkgate test origin",
    });
  }
  return certPromise;
}

export async function startOrigin(
  t: TestContext,
  cert: Certificate,
  options: { proxyProtocol: boolean; host?: string; raw?: boolean },
): Promise<Origin> {
  const host = options.host ?? "127.0.0.1";
  const connections: OriginConnection[] = [];
  const secure = tls.createSecureContext({ cert: cert.cert, key: cert.key });
  const server = net.createServer((socket) => {
    const record: OriginConnection = {
      header: null,
      payload: Buffer.alloc(0),
      firstBytes: Buffer.alloc(0),
      sni: null,
      lines: [],
    };
    connections.push(record);
    socket.on("error", () => {});
    const startTls = (rest: Buffer | null) => {
      if (options.raw) {
        if (rest !== null) record.payload = Buffer.from(rest);
        socket.on("data", (d: Buffer) => {
          record.payload = Buffer.concat([record.payload, d]);
        });
        socket.resume();
        return;
      }
      if (rest !== null && rest.length > 0) socket.unshift(rest);
      const secured = new tls.TLSSocket(socket, {
        isServer: true,
        secureContext: secure,
        SNICallback: (name, cb) => {
          record.sni = name;
          cb(null, secure);
        },
      });
      secured.on("error", () => {});
      let buffered = "";
      secured.on("data", (d: Buffer) => {
        buffered += d.toString();
        let nl = buffered.indexOf("\n");
        while (nl >= 0) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          record.lines.push(line);
          secured.write(
            `hello ${record.header?.tlvs.find((x) => x.type === 0xe4)?.value.toString() ?? "?"} ${line}\n`,
          );
          nl = buffered.indexOf("\n");
        }
      });
      secured.on("end", () => secured.end());
    };
    if (!options.proxyProtocol) return startTls(null);
    const decoder = new ProxyHeaderDecoder();
    const onData = (chunk: Buffer) => {
      record.firstBytes = Buffer.concat([record.firstBytes, chunk]);
      const st = decoder.push(chunk);
      if (st === INVALID) return socket.destroy();
      if (st !== DONE) return;
      socket.off("data", onData);
      socket.pause();
      record.header = decoder.header;
      record.firstBytes = record.firstBytes.subarray(0, decoder.header?.headerLength);
      startTls(chunk.subarray(decoder.tailOffset));
    };
    socket.on("data", onData);
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  t.after(() => {
    for (const s of sockets) s.destroy();
  });
  const sockets = new Set<net.Socket>();
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  const a = server.address() as net.AddressInfo;
  return { host, port: a.port, connections, cert };
}

export interface RunningGateway {
  gateway: Gateway;
  records: ConnectionRecord[];
  opened: number;
  address(listener: string): { host: string; port: number };
  /** Waits until `count` connections have been reported; returns all records. */
  waitForRecords(count: number, timeoutMs?: number): Promise<ConnectionRecord[]>;
  /** Waits for the record at `index` (0-based, in the order connections ended). */
  record(index: number, timeoutMs?: number): Promise<ConnectionRecord>;
  /** The next record not yet returned by next(), waiting for it if needed. */
  next(timeoutMs?: number): Promise<ConnectionRecord>;
}

/**
 * The data plane (not started) with one `privatelink` listener on 127.0.0.1 that takes a PROXY
 * header from 127.0.0.1, and the tenant megacorp, routed to 127.0.0.1:`originPort`; `closed`
 * runs as each connection is reported. For fixtures that run as processes of their own, with
 * no TestContext to stop it (startGateway is for tests).
 */
export function gatewayToOrigin(originPort: number, closed: () => void): Gateway {
  const base = config({
    listeners: [listener({ name: "privatelink", trustedProxies: ["127.0.0.1/32"] })],
    tenants: [tenant("megacorp")],
  });
  return new Gateway({
    policy: new CompiledPolicy({
      ...base,
      routing: { ...base.routing, upstream: { host: "127.0.0.1", port: originPort } },
    }),
    observer: { opened() {}, closed },
  });
}

export async function startGateway(
  t: TestContext,
  config: LinkgateConfig,
  options: { descriptorBudget?: number | null; engine?: Engine } = {},
): Promise<RunningGateway> {
  const records: ConnectionRecord[] = [];
  const state = { opened: 0, cursor: 0 };
  const gateway = new Gateway({
    ...options,
    policy: new CompiledPolicy(config),
    observer: {
      opened: () => {
        state.opened++;
      },
      closed: (r) => {
        records.push(r);
      },
    },
  });
  const bound = await gateway.start();
  t.after(() => gateway.stop(0));
  const running: RunningGateway = {
    gateway,
    records,
    get opened() {
      return state.opened;
    },
    address(name) {
      const b = bound.find((x) => x.name === name);
      assert.ok(b, `listener ${name}`);
      return { host: b.host, port: b.port };
    },
    async waitForRecords(count, timeoutMs = 5000) {
      await waitFor(() => records.length >= count, {
        timeoutMs,
        what: `${count} connection records (have ${records.length})`,
      });
      return records;
    },
    async record(index, timeoutMs = 5000) {
      await waitFor(() => records.length > index, {
        timeoutMs,
        what: `connection record #${index} (have ${records.length})`,
      });
      return records[index];
    },
    next(timeoutMs) {
      return running.record(state.cursor++, timeoutMs);
    },
  };
  return running;
}

export interface ClientResult {
  /** The TLS handshake completed and the origin answered. */
  ok: boolean;
  reply: string | null;
  error: string | null;
  /** The origin's certificate was presented (the connection reached the origin). */
  handshake: boolean;
}

export interface ClientOptions {
  host: string;
  port: number;
  /** Bytes sent before TLS (a PROXY header), or null. */
  preamble?: Buffer | null;
  /** SNI; null for none. */
  servername: string | null;
  localAddress?: string;
  /** Send the preamble one byte at a time (with the ClientHello in its own segments). */
  trickle?: boolean;
  timeoutMs?: number;
  line?: string;
}

/** Connects through linkgate like a load balancer would, then speaks TLS. */
export function connectThrough(o: ClientOptions): Promise<ClientResult> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (r: ClientResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      raw.destroy();
      resolve(r);
    };
    const raw = net.connect({ host: o.host, port: o.port, localAddress: o.localAddress });
    raw.setNoDelay(true);
    const timer = setTimeout(
      () => done({ ok: false, reply: null, error: "client timeout", handshake: false }),
      o.timeoutMs ?? 5000,
    );
    raw.on("error", (e) => done({ ok: false, reply: null, error: e.message, handshake: false }));
    raw.once("connect", async () => {
      if (o.preamble) {
        if (o.trickle) {
          for (const byte of o.preamble) {
            raw.write(Buffer.from([byte]));
            await new Promise((r) => setImmediate(r));
          }
        } else raw.write(o.preamble);
      }
      const secured = tls.connect({
        socket: raw,
        servername: o.servername ?? undefined,
        rejectUnauthorized: false,
      });
      let handshake = false;
      secured.on("secureConnect", () => {
        handshake = true;
        secured.write(`${o.line ?? "ping"}\n`);
      });
      let reply = "";
      secured.on("data", (d: Buffer) => {
        reply += d.toString();
        if (reply.includes("\n")) done({ ok: true, reply: reply.trim(), error: null, handshake });
      });
      secured.on("error", (e) => done({ ok: false, reply: null, error: e.message, handshake }));
      secured.on("close", () => done({ ok: false, reply: null, error: "closed", handshake }));
    });
  });
}
