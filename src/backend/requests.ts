/**
 * The request check that closes the gap linkgate leaves at L4: linkgate vouches for the tenant
 * of the TLS server name, but the HTTP requests inside TLS are the client's to write. A client
 * admitted for tenant A can ask for tenant B in its Host header, or a browser can coalesce B's
 * requests onto A's HTTP/2 connection. Every request must therefore name a host of the tenant
 * linkgate vouched for, on a TLS session whose server name is the one linkgate routed on.
 *
 * The answer to a request that fails is 421 Misdirected Request (RFC 9110, 15.5.20): "this
 * connection cannot serve that authority". A browser that coalesced retries on a new
 * connection, whose SNI linkgate then checks for the right tenant.
 */
import type http from "node:http";
import type http2 from "node:http2";
import type net from "node:net";
import type { ErrorCode } from "../errors/index.js";
import { hostName, type TenantHosts } from "./hosts.js";
import { type InfoSocket, kLinkgateInfo, socketOf } from "./info.js";

export type MisdirectedCode = Extract<
  ErrorCode,
  "BACKEND_NO_TENANT" | "BACKEND_HOST_MISMATCH" | "BACKEND_SNI_MISMATCH"
>;

/** Why a request may not be served on its connection. */
export interface Misdirected {
  readonly code: MisdirectedCode;
  readonly message: string;
  /** The tenant linkgate vouched for, or null. */
  readonly tenant: string | null;
  /** The host the request asked for (the offending one when several were given), or null. */
  readonly host: string | null;
  /** The TLS server name of the connection; null without TLS or without SNI. */
  readonly serverName: string | null;
}

function misdirected(
  code: MisdirectedCode,
  message: string,
  tenant: string | null,
  host: string | null,
  serverName: string | null,
): Misdirected {
  return { code, message, tenant, host, serverName };
}

/**
 * Checks the authorities a request names (Host headers, :authority, an absolute request target)
 * against the tenant on `socket`, and, on a TLS socket, its server name too.
 */
function check(
  socket: net.Socket | null,
  authorities: readonly string[],
  hosts: TenantHosts,
): Misdirected | null {
  const info = (socket as InfoSocket | null)?.[kLinkgateInfo] ?? null;
  const tls = socket !== null && (socket as { encrypted?: boolean }).encrypted === true;
  const sni = tls ? (socket as { servername?: unknown }).servername : undefined;
  const serverName = typeof sni === "string" && sni !== "" ? sni : null;
  const tenant = info?.tenant ?? null;
  if (tenant === null) {
    return misdirected(
      "BACKEND_NO_TENANT",
      info === null
        ? "the connection carried no linkgate header"
        : "linkgate vouched for no tenant on this connection",
      null,
      authorities[0] ?? null,
      serverName,
    );
  }
  if (tls) {
    const name = serverName === null ? null : hostName(serverName);
    if (name === null || (info?.authority != null && name !== info.authority)) {
      return misdirected(
        "BACKEND_SNI_MISMATCH",
        `the TLS server name ${JSON.stringify(serverName)} is not ${JSON.stringify(info?.authority)}, the one linkgate routed on`,
        tenant,
        authorities[0] ?? null,
        serverName,
      );
    }
    if (!hosts.hostBelongsToTenant(name, tenant)) {
      return misdirected(
        "BACKEND_SNI_MISMATCH",
        `the TLS server name ${name} does not belong to tenant ${tenant}`,
        tenant,
        authorities[0] ?? null,
        serverName,
      );
    }
  }
  if (authorities.length === 0) {
    return misdirected(
      "BACKEND_HOST_MISMATCH",
      "the request names no host",
      tenant,
      null,
      serverName,
    );
  }
  for (const authority of authorities) {
    if (!hosts.hostBelongsToTenant(authority, tenant)) {
      return misdirected(
        "BACKEND_HOST_MISMATCH",
        `host ${JSON.stringify(authority)} does not belong to tenant ${tenant}`,
        tenant,
        authority,
        serverName,
      );
    }
  }
  return null;
}

/** The authority of an HTTP/1 request target in absolute or authority form, or undefined. */
function targetAuthority(method: string | undefined, url: string | undefined): string | undefined {
  if (url === undefined || url.startsWith("/") || url === "*") return undefined;
  if (method === "CONNECT") return url; // authority form: "host:port"
  try {
    return new URL(url).host;
  } catch {
    return url; // not a URL: checked as a host name, which fails
  }
}

function http1Authorities(request: http.IncomingMessage): string[] {
  const out: string[] = [];
  // Every Host header, not just the first one Node keeps in `headers`.
  const raw = request.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i].length === 4 && raw[i].toLowerCase() === "host") out.push(raw[i + 1]);
  }
  const target = targetAuthority(request.method, request.url);
  if (target !== undefined) out.push(target);
  return out;
}

function http2Authorities(headers: http2.IncomingHttpHeaders): string[] {
  const out: string[] = [];
  const authority = headers[":authority"];
  if (typeof authority === "string") out.push(authority);
  const host = headers.host;
  if (typeof host === "string") out.push(host);
  return out;
}

/**
 * Whether a request may be served on its connection: null when it may, otherwise why not (answer
 * 421 Misdirected Request). Works for `http`, `https` and HTTP/2 compatibility-API requests on a
 * server wrapped by `behindLinkgate`; on any other connection it reports BACKEND_NO_TENANT.
 */
export function checkRequest(
  request: http.IncomingMessage | http2.Http2ServerRequest,
  hosts: TenantHosts,
): Misdirected | null {
  const socket = socketOf(request);
  if ("stream" in request) return check(socket, http2Authorities(request.headers), hosts);
  return check(socket, http1Authorities(request), hosts);
}

/** The same check for an HTTP/2 stream of the core API (`server.on("stream", ...)`). */
export function checkStream(
  stream: http2.ServerHttp2Stream,
  headers: http2.IncomingHttpHeaders,
  hosts: TenantHosts,
): Misdirected | null {
  return check(socketOf(stream), http2Authorities(headers), hosts);
}

export const MISDIRECTED_BODY =
  "421 Misdirected Request: this connection does not serve that host; retry on a new connection\n";
