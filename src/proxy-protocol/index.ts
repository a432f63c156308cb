/**
 * linkgate/proxy-protocol: a complete PROXY protocol v1/v2 library with the cloud Private Link
 * identities (AWS PrivateLink, Azure Private Link, GCP Private Service Connect).
 *
 * Pure and synchronous: it works on bytes and never touches a socket.
 */
export { ERROR_CATALOGUE, type ErrorCode, LinkgateError, ParseError } from "../errors/index.js";
export {
  type Command,
  type Family,
  SSL_CLIENT,
  SSL_SUB,
  TLV,
  type Transport,
  tlvName,
  V1_MAX_LENGTH,
  V2_SIGNATURE,
} from "./constants.js";
export { crc32c, crc32cNativeAvailable, crc32cPure, crc32cWithHole } from "./crc32c.js";
export {
  type DecodeStatus,
  DONE,
  decodeProxyHeader,
  INVALID,
  NEED_MORE,
  ProxyHeaderDecoder,
} from "./decoder.js";
export {
  type EncodeAddress,
  type EncodeSsl,
  type EncodeTlv,
  type EncodeV1Options,
  type EncodeV2Options,
  encodeProxyHeaderV1,
  encodeProxyHeaderV2,
} from "./encoder.js";
export {
  ProxyHeader,
  type SocketAddress,
  type SslInfo,
  type SslSubTlv,
  type Tlv,
} from "./header.js";
export { identityTlv, type LinkIdentity, type Provider, parseLinkIdentity } from "./identity.js";
export { headerToJSON, type ProxyHeaderJSON } from "./json.js";
export { type DecoderOptions, resolveOptions } from "./options.js";
