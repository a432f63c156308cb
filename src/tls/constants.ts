/** Wire constants of TLS records and the ClientHello (RFC 8446, RFC 5246, RFC 6066, RFC 7301). */

/** ContentType handshake. */
export const RECORD_HANDSHAKE = 22;
/** Record header: type (1), legacy_record_version (2), length (2). */
export const RECORD_HEADER_LENGTH = 5;
/** A TLSPlaintext fragment must not exceed 2^14 bytes (RFC 8446 5.1). */
export const MAX_RECORD_PAYLOAD = 16384;
/** legacy_record_version: 0x0301 (TLS 1.0) to 0x0303 (TLS 1.2) accepted; first byte is 3. */
export const RECORD_VERSION_MAJOR = 3;
export const RECORD_VERSION_MINOR_MIN = 1;
export const RECORD_VERSION_MINOR_MAX = 3;

/** HandshakeType client_hello. */
export const HANDSHAKE_CLIENT_HELLO = 1;
/** Handshake header: msg_type (1), length (3). */
export const HANDSHAKE_HEADER_LENGTH = 4;
/** legacy_session_id is opaque<0..32>. */
export const MAX_SESSION_ID_LENGTH = 32;

export const EXT_SERVER_NAME = 0;
export const EXT_ALPN = 16;
export const EXT_SUPPORTED_VERSIONS = 43;
/** ServerName.name_type host_name. */
export const NAME_TYPE_HOST_NAME = 0;
