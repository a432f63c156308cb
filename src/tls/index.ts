/**
 * linkgate/tls: reads the TLS ClientHello a client opens with, to learn the SNI (the tenant a
 * connection targets) before deciding to forward or drop it, without terminating TLS.
 *
 * Pure and synchronous: it works on bytes and never touches a socket.
 */
export { ERROR_CATALOGUE, type ErrorCode, LinkgateError, ParseError } from "../errors/index.js";
export { ClientHello } from "./client-hello.js";
export {
  ClientHelloDecoder,
  DONE,
  decodeClientHello,
  type HelloStatus,
  INVALID,
  NEED_MORE,
} from "./decoder.js";
export { parseHostName } from "./hostname.js";
export {
  type ClientHelloOptions,
  type ResolvedClientHelloOptions,
  resolveClientHelloOptions,
} from "./options.js";
export { requireSni } from "./require-sni.js";
