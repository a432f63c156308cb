/**
 * What the data plane reports about connections: the contract between src/dataplane and
 * src/observability (logs and metrics). One ConnectionRecord is emitted per connection, when it
 * ends; it becomes one JSON log line and updates the counters.
 */
import type { ErrorCode } from "../errors/index.js";

/**
 * - allow: forwarded under the tenant's rules.
 * - would-deny: forwarded because the tenant is in report-only mode, though its rules deny.
 * - deny: the policy refused it (rules, unknown host, no SNI): nothing was sent upstream.
 * - drop: refused before any decision (untrusted peer, malformed PROXY header or ClientHello,
 *   header deadline, capacity): nothing was sent upstream.
 * - health-check: a load balancer's LOCAL connection, answered or closed, never routed.
 */
export type Decision = "allow" | "would-deny" | "deny" | "drop" | "health-check";

/** Read-only: a record may share it with the PROXY header it came from. */
export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

export interface ConnectionRecord {
  /** Listener name. */
  listener: string;
  /** The TCP peer (the load balancer, or the client on a `none` listener). */
  peer: Endpoint;
  /** Source address from the PROXY header, when there was one with addresses. */
  proxySource: Endpoint | null;
  /** Destination address from the PROXY header. */
  proxyDestination: Endpoint | null;
  /** "aws:vpce-…", "azure:…", "gcp:…" or null. */
  link: string | null;
  /** Lower-cased SNI, or null (none, or not reached). */
  sni: string | null;
  /** Tenant id the host name mapped to, or null. */
  tenant: string | null;
  decision: Decision;
  /** Why: an allow reason (POLICY_LINK_ALLOWED, …) or the error/deny code. */
  reason: ErrorCode;
  /** Index of the tenant rule that matched (allow) and its description, if any. */
  rule: { index: number; description: string | null } | null;
  /** Set when an allowed connection failed upstream (UPSTREAM_CONNECT_FAILED, …). */
  upstreamError: ErrorCode | null;
  /**
   * Set when linkgate closed a live, admitted connection: POLICY_REVOKED (a policy change
   * withdrew its permission), CONN_SHUTDOWN (the drain period ended), CONN_CLIENT_ERROR.
   */
  closedBy: ErrorCode | null;
  /** The errno of the socket error behind upstreamError or closedBy ("ECONNREFUSED"), or null. */
  errno: string | null;
  /** "host:port" of the upstream dialled, or null when none was. */
  upstream: string | null;
  /** Bytes received from the client (PROXY header included) and sent to it. */
  bytesFromClient: number;
  bytesToClient: number;
  /** Accept to decision, in milliseconds (null when no decision was reached). */
  handshakeMs: number | null;
  /** Accept to close, in milliseconds. */
  durationMs: number;
}
