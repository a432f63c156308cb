/**
 * What linkgate's PROXY v2 header vouches for, as a backend sees it, and where it is kept: on
 * the socket that carried the header (and on the TLS socket built on it), so that any later
 * object of the connection (a request, an HTTP/2 stream) leads back to it.
 */
import type http from "node:http";
import type http2 from "node:http2";
import net from "node:net";
import { labelProblem } from "../config/dns.js";
import { TENANT_TLV } from "../dataplane/upstream-header.js";
import { ParseError } from "../errors/index.js";
import type { ProxyHeader, SocketAddress } from "../proxy-protocol/index.js";

export interface LinkgateInfo {
  /**
   * The tenant linkgate admitted the connection for (TLV 0xE4); null when it vouched for none
   * (a connection routed to `routing.fallbackUpstream`, or a LOCAL header).
   */
  readonly tenant: string | null;
  /** The Private Link identity, "aws:vpce-…", "azure:<LINKID>", "gcp:<id>"; null for public traffic. */
  readonly identity: string | null;
  /** The AUTHORITY TLV: the TLS server name (SNI) linkgate routed on, lower case; or null. */
  readonly authority: string | null;
  /** The client's address, from the header; null for a LOCAL or address-less header. */
  readonly source: SocketAddress | null;
  /** The address the client connected to (the load balancer's front end), or null. */
  readonly destination: SocketAddress | null;
  /** The TCP peer that sent the header: a linkgate instance. */
  readonly peer: { readonly address: string; readonly port: number };
  /** The whole decoded header (every TLV, the CRC32C status). */
  readonly header: ProxyHeader;
}

export const kLinkgateInfo = Symbol("linkgate.backend.info");

/** A socket that carried linkgate's header, or a TLS socket built on one. */
export type InfoSocket = net.Socket & { [kLinkgateInfo]?: LinkgateInfo };

/** Reads the facts out of a decoded header; the header must be a compact copy (it is kept). */
export function infoFromHeader(
  header: ProxyHeader,
  peer: { address: string; port: number },
): LinkgateInfo | ParseError {
  let tenant: string | null = null;
  if (header.command === "proxy") {
    for (const tlv of header.tlvs) {
      if (tlv.type !== TENANT_TLV) continue;
      if (tenant !== null) return new ParseError("BACKEND_BAD_TENANT_TLV", "two tenant TLVs", 0);
      const id = tlv.value.toString("latin1");
      if (labelProblem(id) !== null) {
        return new ParseError(
          "BACKEND_BAD_TENANT_TLV",
          `tenant TLV ${JSON.stringify(id)} is not a tenant id`,
          0,
        );
      }
      tenant = id;
    }
  }
  return {
    tenant,
    identity: header.link?.id ?? null,
    authority: header.command === "proxy" ? (header.authority?.toLowerCase() ?? null) : null,
    source: header.source,
    destination: header.destination,
    peer,
    header,
  };
}

/** Anything of a connection that leads back to its socket. */
export type ConnectionPart =
  | net.Socket
  | http.IncomingMessage
  | http2.Http2ServerRequest
  | http2.ServerHttp2Stream
  | http2.Http2Session;

/** The socket of a request, stream or session (for HTTP/2, a proxy of the session's socket). */
export function socketOf(part: ConnectionPart): net.Socket | null {
  if (part instanceof net.Socket) return part;
  if ("stream" in part && "socket" in part) return part.socket as net.Socket; // Http2ServerRequest
  if ("session" in part) return part.session?.socket ?? null; // ServerHttp2Stream
  return (part.socket as net.Socket | undefined) ?? null; // IncomingMessage, Http2Session
}

/**
 * What linkgate vouched for on the connection of `part` (a socket, a request, an HTTP/2 stream
 * or session), or null when the connection did not come through `behindLinkgate`.
 */
export function linkgateInfo(part: ConnectionPart): LinkgateInfo | null {
  const socket = socketOf(part) as InfoSocket | null;
  return socket?.[kLinkgateInfo] ?? null;
}
