/**
 * linkgate/backend: for the backend behind linkgate. At L4 linkgate vouches for the tenant of
 * the TLS server name and passes the TLS bytes through untouched, so only the backend can make
 * sure that every request inside TLS is for that tenant. This module reads linkgate's PROXY v2
 * header on a Node.js server, exposes what it vouched for, and answers requests for any other
 * tenant with 421 Misdirected Request. See docs/backend.md and docs/security.md.
 */
export { TENANT_TLV } from "../dataplane/upstream-header.js";
export { ERROR_CATALOGUE, type ErrorCode, LinkgateError } from "../errors/index.js";
export type { SocketAddress } from "../proxy-protocol/index.js";
export { TenantHosts, type TenantHostsOptions } from "./hosts.js";
export { type ConnectionPart, type LinkgateInfo, linkgateInfo } from "./info.js";
export {
  checkRequest,
  checkStream,
  type Misdirected,
  type MisdirectedCode,
} from "./requests.js";
export {
  type BehindLinkgateOptions,
  behindLinkgate,
  type LinkgateBackend,
  type LinkgateBackendStats,
  type LinkgateDrop,
} from "./server.js";
