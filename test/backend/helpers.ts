/**
 * Helpers for the linkgate/backend tests, over real loopback sockets:
 * - linkgateHeader: the PROXY v2 header linkgate sends upstream, built with the project's
 *   encoder and the tenant TLV as src/dataplane/upstream-header.ts writes it (the dataplane's
 *   upstream-header test proves the two agree byte for byte).
 * - startBackend: a server wrapped by behindLinkgate, listening on 127.0.0.1, with every drop
 *   and 421 recorded; closed with its connections when the test ends.
 * - exchange, tlsExchange, h2Session: clients that send a header, then plain or TLS bytes.
 */
import { once } from "node:events";
import type http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import type { TestContext } from "node:test";
import tls from "node:tls";
import {
  type BehindLinkgateOptions,
  behindLinkgate,
  type LinkgateBackend,
  type LinkgateDrop,
  type Misdirected,
  TENANT_TLV,
} from "../../src/backend/index.js";
import { encodeProxyHeaderV2 } from "../../src/proxy-protocol/index.js";
import { waitFor, withTimeout } from "../helpers/programs.js";

export const HOST_PATTERNS = ["{tenant}.api.example.com", "{tenant}.privatelink.example.com"];

export interface HeaderFacts {
  tenant?: string | null;
  authority?: string | null;
  link?: string;
  source?: string;
  sourcePort?: number;
}

/** linkgate's upstream header for a client of `tenant` at `authority`. */
export function linkgateHeader(f: HeaderFacts = {}): Buffer {
  const tenant = f.tenant === undefined ? "megacorp" : f.tenant;
  const authority = f.authority === undefined ? `${tenant}.api.example.com` : f.authority;
  return encodeProxyHeaderV2({
    source: { address: f.source ?? "10.1.2.3", port: f.sourcePort ?? 51442 },
    destination: { address: "10.0.9.1", port: 443 },
    ...(f.link === undefined ? {} : { link: f.link }),
    ...(authority === null ? {} : { authority }),
    tlvs: tenant === null ? [] : [{ type: TENANT_TLV, value: tenant }],
    crc32c: true,
  });
}

export interface RunningBackend {
  port: number;
  backend: LinkgateBackend;
  drops: LinkgateDrop[];
  misdirected: Misdirected[];
}

/** Wraps `server`, listens on 127.0.0.1:0; everything is closed when the test ends. */
export async function startBackend(
  t: TestContext,
  server: net.Server,
  options: Partial<BehindLinkgateOptions> = {},
): Promise<RunningBackend> {
  const drops: LinkgateDrop[] = [];
  const misdirected: Misdirected[] = [];
  const backend = behindLinkgate(server, {
    trustedProxies: ["127.0.0.0/8"],
    onDrop: (d) => drops.push(d),
    onMisdirected: (m) => misdirected.push(m),
    ...options,
  });
  // Raw sockets as accepted (before the header): destroying them ends TLS and HTTP/2 too.
  const sockets = new Set<net.Socket>();
  const track = (s: net.Socket) => {
    sockets.add(s);
    s.once("close", () => sockets.delete(s));
  };
  server.prependListener("connection", track);
  server.on("error", () => {});
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { port: (server.address() as net.AddressInfo).port, backend, drops, misdirected };
}

export interface Exchange {
  /** Everything the server sent. */
  received: string;
  /** How the connection ended: "end" (FIN), "close" (reset or destroy) or "timeout". */
  ended: "end" | "close" | "timeout";
}

/**
 * Connects to 127.0.0.1:port (from `localAddress` if given), writes `chunks` one after the other
 * (a macrotask apart, so they arrive as separate reads), and collects the answer until the
 * server ends the connection.
 */
export function exchange(
  port: number,
  chunks: readonly (Buffer | string)[],
  options: { localAddress?: string; timeoutMs?: number; endAfterWrite?: boolean } = {},
): Promise<Exchange> {
  return new Promise((resolve) => {
    let received = "";
    const socket = net.connect({ host: "127.0.0.1", port, localAddress: options.localAddress });
    socket.setNoDelay(true);
    const timer = setTimeout(() => finish("timeout"), options.timeoutMs ?? 5000);
    const finish = (ended: Exchange["ended"]) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ received, ended });
    };
    socket.on("data", (d: Buffer) => {
      received += d.toString("latin1");
    });
    socket.on("end", () => finish("end"));
    socket.on("close", () => finish("close"));
    socket.on("error", () => {});
    socket.once("connect", async () => {
      for (const chunk of chunks) {
        if (socket.destroyed) return;
        socket.write(chunk);
        await new Promise((r) => setTimeout(r, 1));
      }
      if (options.endAfterWrite) socket.end();
    });
  });
}

/** The status code of the first HTTP/1 response in `text`, or null. */
export function statusOf(text: string): number | null {
  const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
  return m === null ? null : Number(m[1]);
}

/** Every HTTP/1 status code in `text`, in order (pipelined or keep-alive responses). */
export function statusesOf(text: string): number[] {
  return [...text.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1]));
}

/** A TLS connection to `port`, after `preamble` (linkgate's header, or a load balancer's). */
export async function tlsConnect(
  port: number,
  preamble: Buffer | null,
  servername: string | null,
  options: { alpn?: string[]; trickle?: boolean; host?: string } = {},
): Promise<tls.TLSSocket> {
  const raw = net.connect({ host: options.host ?? "127.0.0.1", port });
  raw.setNoDelay(true);
  await withTimeout(once(raw, "connect"), 5000, "connecting");
  // No preamble: a client of a public listener, TLS straight away.
  if (preamble !== null && options.trickle) {
    for (const byte of preamble) {
      raw.write(Buffer.from([byte]));
      await new Promise((r) => setTimeout(r, 1));
    }
  } else if (preamble !== null) raw.write(preamble);
  const secure = tls.connect({
    socket: raw,
    servername: servername ?? undefined,
    rejectUnauthorized: false,
    ALPNProtocols: options.alpn ?? ["http/1.1"],
  });
  await withTimeout(once(secure, "secureConnect"), 5000, "the TLS handshake");
  return secure;
}

/**
 * Sends HTTP/1.1 requests (raw text, the last one with "Connection: close") over a TLS
 * connection and collects everything the server sends until it closes.
 */
export async function tlsExchange(
  port: number,
  preamble: Buffer | null,
  servername: string | null,
  requests: readonly string[],
  host = "127.0.0.1",
): Promise<string> {
  const secure = await tlsConnect(port, preamble, servername, { host });
  let received = "";
  secure.on("data", (d: Buffer) => {
    received += d.toString("latin1");
  });
  secure.on("error", () => {});
  const closed = once(secure, "close");
  for (const r of requests) secure.write(r);
  await withTimeout(closed, 5000, "the server to answer and close");
  return received;
}

/** An HTTP/1.1 request for `host`, keep-alive unless `close`. */
export function get(host: string, path = "/", close = false): string {
  return `GET ${path} HTTP/1.1\r\nHost: ${host}\r\n${close ? "Connection: close\r\n" : ""}\r\n`;
}

/** An HTTP/2 session over TLS to the backend, after linkgate's header. */
export async function h2Session(
  t: TestContext,
  port: number,
  preamble: Buffer | null,
  servername: string,
): Promise<http2.ClientHttp2Session> {
  const secure = await tlsConnect(port, preamble, servername, { alpn: ["h2"] });
  const session = http2.connect(`https://${servername}:${port}`, {
    createConnection: () => secure,
  });
  session.on("error", () => {});
  t.after(() => session.destroy());
  return session;
}

/** One HTTP/2 request: the status and the body. */
export async function h2Get(
  session: http2.ClientHttp2Session,
  authority: string,
  path = "/",
): Promise<{ status: number; body: string }> {
  const request = session.request({ ":path": path, ":authority": authority });
  let body = "";
  request.setEncoding("utf8");
  request.on("data", (d: string) => {
    body += d;
  });
  const [headers] = (await withTimeout(once(request, "response"), 5000, "an HTTP/2 response")) as [
    http2.IncomingHttpHeaders,
  ];
  await withTimeout(once(request, "end"), 5000, "the end of an HTTP/2 response");
  return { status: Number(headers[":status"]), body };
}

/** Waits until `backend` reports `count` drops. */
export function waitForDrops(b: RunningBackend, count: number): Promise<LinkgateDrop[]> {
  return waitFor(() => b.drops.length >= count && b.drops, {
    timeoutMs: 5000,
    what: `${count} drops (have ${b.drops.length})`,
  });
}

/** A request handler that answers with what linkgate vouched for, as JSON. */
export function describeInfo(
  info: (req: http.IncomingMessage | http2.Http2ServerRequest) => unknown,
): (
  req: http.IncomingMessage | http2.Http2ServerRequest,
  res: http.ServerResponse | http2.Http2ServerResponse,
) => void {
  return (req, res) => {
    const body = `${JSON.stringify(info(req))}\n`;
    res.setHeader("content-type", "application/json");
    res.setHeader("content-length", Buffer.byteLength(body));
    res.end(body);
  };
}
