/**
 * behindLinkgate: a `net`, `tls`, `http`, `https` or `http2` server that accepts connections
 * only from linkgate, reads linkgate's PROXY v2 header from each, and hands the server the rest
 * of the bytes untouched (the TLS handshake for `https`, HTTP for `http`).
 *
 * It intercepts the server's own `emit`: every "connection" (from `listen`, or injected by
 * the application) first has its header read, and only then reaches the server's listeners,
 * whenever they were added. With `hosts`, "request" (and the other request events) and HTTP/2
 * "stream" events whose host is not the tenant's are answered 421 before any listener runs.
 */
import type http from "node:http";
import type http2 from "node:http2";
import type net from "node:net";
import tls from "node:tls";
import { plainAddress } from "../dataplane/upstream-header.js";
import { type ErrorCode, LinkgateError, ParseError } from "../errors/index.js";
import { parseIpInto } from "../ip/address.js";
import { parseCidr } from "../ip/cidr.js";
import { cidrSetOf } from "../policy/cidr.js";
import {
  DONE,
  INVALID,
  type ProxyHeader,
  ProxyHeaderDecoder,
  resolveOptions,
} from "../proxy-protocol/index.js";
import { TenantHosts, type TenantHostsOptions } from "./hosts.js";
import { type InfoSocket, infoFromHeader, kLinkgateInfo, type LinkgateInfo } from "./info.js";
import { checkRequest, checkStream, MISDIRECTED_BODY, type Misdirected } from "./requests.js";

export interface BehindLinkgateOptions {
  /**
   * CIDRs of the linkgate instances, the only peers whose connections are accepted; every
   * other connection is destroyed before a byte is read. Required and non-empty.
   */
  trustedProxies: readonly string[];
  /** Deadline for the whole header, from the accept, in ms; default 5000. */
  headerTimeoutMs?: number;
  /** Cap on the header, in bytes; default 4096 (linkgate's headers are under 500). */
  maxHeaderBytes?: number;
  /**
   * linkgate's host patterns and tenant host names (or a TenantHosts built from them). Given,
   * every HTTP request and HTTP/2 stream whose host, or whose connection's TLS server name, is
   * not the vouched-for tenant's is answered 421 before the application sees it.
   */
  hosts?: TenantHosts | TenantHostsOptions;
  /** Called for each connection destroyed before the server saw it. */
  onDrop?: (drop: LinkgateDrop) => void;
  /** Called for each request answered 421. */
  onMisdirected?: (misdirected: Misdirected) => void;
}

/** A connection destroyed before the server saw it. */
export interface LinkgateDrop {
  /** PP_UNTRUSTED_PEER, BACKEND_HEADER_TIMEOUT, a PROXY protocol code, CONN_CLIENT_ERROR, ... */
  readonly code: ErrorCode;
  readonly message: string;
  /** The TCP peer. */
  readonly peer: { readonly address: string; readonly port: number };
}

export interface LinkgateBackendStats {
  /** Connections handed to the server after a valid header. */
  accepted: number;
  /** Connections destroyed before the server saw them, by code. */
  dropped: Partial<Record<ErrorCode, number>>;
  /** Requests answered 421, by code. */
  misdirected: Partial<Record<ErrorCode, number>>;
}

export interface LinkgateBackend {
  /** Counters since the wrap (a copy). */
  stats(): LinkgateBackendStats;
}

const kWrapped = Symbol("linkgate.backend.wrapped");

type Emit = (event: string | symbol, ...args: unknown[]) => boolean;

function badOption(message: string): never {
  throw new LinkgateError("BACKEND_BAD_OPTION", message);
}

/** The 4-tuple of a connection: a TLS socket reports the same one as the socket it wraps. */
function connectionKey(s: net.Socket): string {
  return `${s.remoteAddress} ${s.remotePort} ${s.localAddress} ${s.localPort}`;
}

/**
 * Makes `server` accept connections from linkgate only, reading its PROXY v2 header first;
 * `linkgateInfo(socket or request)` then tells what it vouched for. Call it before `listen`.
 * Throws a LinkgateError (BACKEND_BAD_OPTION) on invalid options.
 */
export function behindLinkgate(
  server: net.Server,
  options: BehindLinkgateOptions,
): LinkgateBackend {
  const emit = server.emit as Emit;
  if ((server as { [kWrapped]?: true })[kWrapped]) badOption("the server is already wrapped");
  if (!Array.isArray(options.trustedProxies) || options.trustedProxies.length === 0) {
    badOption("trustedProxies must list the linkgate instances' addresses (CIDRs)");
  }
  for (const text of options.trustedProxies) {
    const parsed = parseCidr(text);
    if (!parsed.ok) badOption(`trustedProxies: ${parsed.message}`);
  }
  const trusted = cidrSetOf(options.trustedProxies);
  const headerTimeoutMs = options.headerTimeoutMs ?? 5000;
  if (!Number.isInteger(headerTimeoutMs) || headerTimeoutMs < 1 || headerTimeoutMs > 300_000) {
    badOption(`headerTimeoutMs must be an integer from 1 to 300000, not ${headerTimeoutMs}`);
  }
  // linkgate always sends v2 with a CRC32C: anything else did not come from it.
  const decoderOptions = resolveOptions({
    versions: [2],
    requireCrc32c: true,
    maxHeaderSize: options.maxHeaderBytes ?? 4096,
  });
  const hosts =
    options.hosts === undefined
      ? null
      : options.hosts instanceof TenantHosts
        ? options.hosts
        : new TenantHosts(options.hosts);
  // TLS servers wrap the socket in a TLSSocket of their own; it finds its info through this.
  const terminatesTls = server instanceof tls.Server;
  const awaitingTls = new Map<string, LinkgateInfo>();
  const stats: LinkgateBackendStats = { accepted: 0, dropped: {}, misdirected: {} };
  const peerScratch = new Uint8Array(16);

  const isTrusted = (address: string): boolean => {
    const family = parseIpInto(address, peerScratch);
    return family !== 0 && trusted.match(family, peerScratch) >= 0;
  };

  const drop = (
    socket: net.Socket,
    peer: LinkgateDrop["peer"],
    code: ErrorCode,
    message: string,
  ) => {
    socket.destroy();
    stats.dropped[code] = (stats.dropped[code] ?? 0) + 1;
    options.onDrop?.({ code, message, peer });
  };

  const reject = (m: Misdirected): void => {
    stats.misdirected[m.code] = (stats.misdirected[m.code] ?? 0) + 1;
    options.onMisdirected?.(m);
  };

  const handOver = (socket: InfoSocket): void => {
    if (socket.destroyed) return;
    stats.accepted++;
    emit.call(server, "connection", socket);
  };

  const readHeader = (socket: InfoSocket): void => {
    const peer = {
      address: plainAddress(socket.remoteAddress ?? ""),
      port: socket.remotePort ?? 0,
    };
    if (!isTrusted(peer.address)) {
      drop(socket, peer, "PP_UNTRUSTED_PEER", `${peer.address} is not in trustedProxies`);
      return;
    }
    const decoder = new ProxyHeaderDecoder(decoderOptions);
    const stop = () => {
      clearTimeout(timer);
      socket.removeListener("readable", onReadable);
      socket.removeListener("end", onEnd);
      socket.removeListener("error", onError);
    };
    const fail = (code: ErrorCode, message: string) => {
      stop();
      drop(socket, peer, code, message);
    };
    const onTimeout = () =>
      fail("BACKEND_HEADER_TIMEOUT", `no complete header within ${headerTimeoutMs} ms`);
    const onEnd = () =>
      decoder.bytesSeen === 0
        ? fail("PP_MISSING_HEADER", "the connection ended before a header")
        : fail("PP_INCOMPLETE", "the connection ended inside the header");
    const onError = (error: Error) => fail("CONN_CLIENT_ERROR", error.message);
    // Paused-mode reading ("readable" and read()) rather than "data": once the listener is
    // removed the socket returns to its initial state (not flowing, not paused), so whatever
    // the server does next (attach "data", wrap the handle in TLS, read later) it finds the
    // bytes after the header waiting, as on a fresh socket.
    const onReadable = () => {
      for (let chunk = socket.read() as Buffer | null; chunk !== null; chunk = socket.read()) {
        const status = decoder.push(chunk);
        if (status === INVALID) {
          const error = decoder.error as ParseError;
          fail(error.code, error.message);
          return;
        }
        if (status !== DONE) continue;
        stop();
        const info = infoFromHeader((decoder.header as ProxyHeader).compact(), peer);
        if (info instanceof ParseError) {
          drop(socket, peer, info.code, info.message);
          return;
        }
        if (decoder.tailOffset < chunk.length) socket.unshift(chunk.subarray(decoder.tailOffset));
        socket[kLinkgateInfo] = info;
        if (terminatesTls) {
          const key = connectionKey(socket);
          awaitingTls.set(key, info);
          socket.once("close", () => awaitingTls.delete(key));
        }
        // Removing the "readable" listener resets the stream's mode on the next tick.
        process.nextTick(handOver, socket);
        return;
      }
    };
    const timer = setTimeout(onTimeout, headerTimeoutMs);
    socket.on("readable", onReadable);
    socket.on("end", onEnd);
    socket.on("error", onError);
  };

  // The request guard: a misdirected request is answered here and never emitted.
  const guardRequest = (
    h: TenantHosts,
    request: http.IncomingMessage | http2.Http2ServerRequest,
    response: http.ServerResponse | http2.Http2ServerResponse,
  ): boolean => {
    const m = checkRequest(request, h);
    if (m === null) return false;
    reject(m);
    response.statusCode = 421;
    response.setHeader("content-type", "text/plain; charset=utf-8");
    response.setHeader("content-length", Buffer.byteLength(MISDIRECTED_BODY));
    response.end(MISDIRECTED_BODY);
    return true;
  };

  const guardSocketRequest = (
    h: TenantHosts,
    request: http.IncomingMessage,
    socket: net.Socket,
  ): boolean => {
    const m = checkRequest(request, h);
    if (m === null) return false;
    reject(m);
    socket.end(
      `HTTP/1.1 421 Misdirected Request\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(MISDIRECTED_BODY)}\r\nconnection: close\r\n\r\n${MISDIRECTED_BODY}`,
    );
    return true;
  };

  const guardStream = (
    h: TenantHosts,
    stream: http2.ServerHttp2Stream,
    headers: http2.IncomingHttpHeaders,
  ): boolean => {
    const m = checkStream(stream, headers, h);
    if (m === null) return false;
    reject(m);
    stream.respond({ ":status": 421, "content-type": "text/plain; charset=utf-8" });
    stream.end(MISDIRECTED_BODY);
    return true;
  };

  (server as { [kWrapped]?: true })[kWrapped] = true;
  server.emit = function emitBehindLinkgate(
    this: net.Server,
    event: string | symbol,
    ...args: unknown[]
  ): boolean {
    switch (event) {
      case "connection":
        readHeader(args[0] as InfoSocket);
        return true;
      case "secureConnection": {
        const secure = args[0] as InfoSocket;
        const key = connectionKey(secure);
        const info = awaitingTls.get(key);
        awaitingTls.delete(key);
        if (info !== undefined) secure[kLinkgateInfo] = info;
        break;
      }
      case "request":
      case "checkContinue":
      case "checkExpectation":
        if (
          hosts !== null &&
          guardRequest(hosts, args[0] as http.IncomingMessage, args[1] as http.ServerResponse)
        )
          return true;
        break;
      case "upgrade":
      case "connect":
        if (
          hosts !== null &&
          guardSocketRequest(hosts, args[0] as http.IncomingMessage, args[1] as net.Socket)
        )
          return true;
        break;
      case "stream":
        if (
          hosts !== null &&
          guardStream(
            hosts,
            args[0] as http2.ServerHttp2Stream,
            args[1] as http2.IncomingHttpHeaders,
          )
        )
          return true;
        break;
    }
    return emit.call(this, event, ...args);
  } as typeof server.emit;

  return {
    stats: () => ({
      accepted: stats.accepted,
      dropped: { ...stats.dropped },
      misdirected: { ...stats.misdirected },
    }),
  };
}
