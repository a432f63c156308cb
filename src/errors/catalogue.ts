/**
 * The error catalogue: every condition linkgate reports has one stable code here.
 *
 * A code is a contract. It is the `code` of thrown errors and of parser results, the `reason`
 * in connection logs, and the `reason` label in Prometheus metrics. Codes are never renamed or
 * reused; new conditions get new codes. The text is a one-line summary for documentation and
 * default messages; error instances carry a specific message as well.
 */
export const ERROR_CATALOGUE = {
  // PROXY protocol: either version
  PP_MISSING_HEADER: "the connection does not start with a PROXY protocol header",
  PP_VERSION_NOT_ALLOWED: "the PROXY protocol version is not accepted here",
  PP_INCOMPLETE: "the input ended before the PROXY protocol header was complete",
  PP_BAD_OPTION: "a PROXY protocol decoder option is out of range",

  // PROXY protocol v1 (text)
  PP1_BAD_SIGNATURE: 'a v1 header must start with "PROXY "',
  PP1_NO_CRLF: "no CRLF within the first 107 bytes of a PROXY v1 line",
  PP1_BAD_LINE_ENDING: "a v1 line must end with CRLF; a bare CR or LF is invalid",
  PP1_BAD_PROTOCOL: "the v1 protocol must be TCP4, TCP6 or UNKNOWN",
  PP1_BAD_SEPARATOR: "v1 fields must be separated by exactly one space",
  PP1_BAD_FIELD_COUNT: "a v1 TCP4/TCP6 line has exactly four fields after the protocol",
  PP1_BAD_ADDRESS: "a v1 address is not a valid address of the line's protocol",
  PP1_BAD_PORT: "a v1 port must be a decimal number from 0 to 65535 without leading zeros",

  // PROXY protocol v2 (binary)
  PP2_BAD_SIGNATURE: "the 12-byte PROXY v2 signature does not match",
  PP2_BAD_VERSION: "the PROXY v2 version nibble must be 2",
  PP2_BAD_COMMAND: "the PROXY v2 command must be LOCAL (0) or PROXY (1)",
  PP2_BAD_FAMILY: "the PROXY v2 family byte is not one of the seven defined values",
  PP2_HEADER_TOO_LARGE: "the PROXY v2 header is larger than the configured cap",
  PP2_ADDRESS_TRUNCATED: "the PROXY v2 length is smaller than the address block of its family",
  PP2_TLV_LEFTOVER: "bytes are left after the last TLV that cannot hold a TLV header",
  PP2_TLV_OVERRUN: "a TLV declares more bytes than the header has left",
  PP2_TLV_TOO_LARGE: "a TLV value is larger than its cap",
  PP2_DUPLICATE_TLV: "a TLV that may appear once appears more than once",
  PP2_BAD_CRC32C: "the CRC32C TLV does not match the header",
  PP2_BAD_CRC32C_LENGTH: "the CRC32C TLV value must be exactly 4 bytes",
  PP2_MISSING_CRC32C: "the listener requires a CRC32C TLV and the PROXY header has none",
  PP2_BAD_AUTHORITY: "the AUTHORITY TLV must be a non-empty UTF-8 host name",
  PP2_BAD_NETNS: "the NETNS TLV must be non-empty US-ASCII",
  PP2_BAD_SSL_TLV: "the SSL TLV is shorter than 5 bytes or its sub-TLVs do not tile it",
  PP2_DUPLICATE_IDENTITY: "more than one cloud Private Link identity TLV in one header",
  PP2_BAD_AWS_VPCE_ID: "the AWS VPC endpoint TLV does not hold a vpce- identifier",
  PP2_BAD_AZURE_LINKID: "the Azure LINKID TLV must be subtype 0x01 and a 4-byte LINKID",
  PP2_BAD_GCP_PSC_ID: "the GCP PSC connection ID TLV must be exactly 8 bytes",

  // TLS ClientHello
  TLS_NOT_HANDSHAKE: "the connection does not start with a TLS handshake record",
  TLS_BAD_RECORD: "a TLS record carrying the ClientHello is malformed or not a handshake record",
  TLS_TOO_MANY_RECORDS: "the ClientHello is spread over more TLS records than the cap",
  TLS_NOT_CLIENT_HELLO: "the first TLS handshake message is not a ClientHello",
  TLS_BAD_HELLO: "a ClientHello length field or structure is inconsistent",
  TLS_DUPLICATE_EXTENSION: "a ClientHello carries the same extension type more than once",
  TLS_NO_SNI: "the ClientHello has no server_name extension",
  TLS_BAD_SNI: "the server_name extension does not hold exactly one valid DNS host name",
  TLS_HELLO_TOO_LARGE: "the ClientHello is larger than the configured cap",
  TLS_INCOMPLETE: "the input ended before the ClientHello was complete",
  TLS_BAD_OPTION: "a ClientHello decoder option is out of range",

  // Configuration
  CONFIG_UNREADABLE: "the configuration file cannot be read",
  CONFIG_SYNTAX: "the configuration file is not valid YAML (or JSON)",
  CONFIG_SCHEMA: "a configuration value has the wrong type, is missing or is out of range",
  CONFIG_UNKNOWN_KEY: "the configuration has a key that does not exist (a typo?)",
  CONFIG_DUPLICATE: "a name, id, host name, address or key appears more than once",
  CONFIG_BAD_ADDRESS:
    'an address must be "host:port" (IPv6 in brackets); a bind host must be an IP',
  CONFIG_BAD_CIDR: "a CIDR must be an IPv4 or IPv6 network with a valid prefix and zero host bits",
  CONFIG_BAD_IDENTITY: 'an identity must be "aws:vpce-…", "azure:<uint32>" or "gcp:<uint64>"',
  CONFIG_BAD_HOSTNAME: "a tenant host name must be a lower-case DNS name",
  CONFIG_BAD_PATTERN: "a host pattern must have one {tenant} label and a valid DNS suffix/prefix",
  CONFIG_BAD_DURATION: 'a duration must be "250ms", "5s", "1m" or milliseconds, within bounds',
  CONFIG_EMPTY_RULE: "an allow rule needs a link, a cidr, or both",
  CONFIG_PROXY_TRUST: "trustedProxies must be set with proxyProtocol: required, and only then",
  CONFIG_NO_UPSTREAM: "a tenant has no upstream and routing.upstream is not set",
  CONFIG_BAD_TENANT_ID: "a tenant id cannot start or end with a hyphen: it is a DNS label",
  CONFIG_NEEDS_RESTART:
    "the new configuration changes listener sockets, which only a restart applies",
  CONFIG_TRUST_MAPPED_IPV4:
    "warning: an IPv6 range in trustedProxies covers IPv4-mapped addresses, but IPv4 peers are matched as IPv4 (refused)",
  CONFIG_ADMIN_TOKEN:
    "an admin token (LINKGATE_ADMIN_TOKEN, LINKGATE_ADMIN_TOKEN_FILE) is unreadable or too short",

  // Building headers (encoder, CLI)
  PP_ENCODE_BAD_ADDRESS: "an address to encode is not valid for the chosen family",
  PP_ENCODE_BAD_PORT: "a port to encode must be an integer from 0 to 65535",
  PP_ENCODE_BAD_TLV: "a TLV to encode is invalid",
  PP_ENCODE_TOO_LARGE: "the encoded header would exceed 65551 bytes",
  PP_ENCODE_BAD_IDENTITY: "a Private Link identity to encode is invalid",

  // Identities as written in configuration and on the command line
  LINK_BAD_IDENTITY: 'an identity must be written "aws:vpce-…", "azure:<uint32>" or "gcp:<uint64>"',

  // Policy decisions. Allow reasons are codes too: they label logs and metrics like the others.
  POLICY_NO_RESTRICTION: "allowed: the tenant has no allow list configured",
  POLICY_LINK_ALLOWED: "allowed: a rule lists the connection's Private Link identity",
  POLICY_LINK_CIDR_ALLOWED: "allowed: a rule lists the identity and a CIDR holding the source",
  POLICY_CIDR_ALLOWED: "allowed: a CIDR rule holds the source of a connection without identity",
  POLICY_PUBLIC_ALLOWED: "allowed: the tenant admits the public internet",
  POLICY_FALLBACK: "routed to the fallback upstream: no tenant for the host name, or no SNI",
  POLICY_LINK_NOT_ALLOWED: "denied: no rule lists the connection's Private Link identity",
  POLICY_LINK_SOURCE_NOT_ALLOWED:
    "denied: the identity is listed only with CIDRs, and none holds the source address",
  POLICY_PUBLIC_NOT_ALLOWED:
    "denied: a connection without identity whose source no CIDR rule holds, public internet off",
  POLICY_UNKNOWN_HOST: "denied: the host name maps to no tenant",
  POLICY_REVOKED: "closed: a policy change revoked the permission of a live connection",

  // Data plane
  PP_UNTRUSTED_PEER: "dropped: the peer is not in the listener's trustedProxies",
  CONN_HEADER_TIMEOUT:
    "dropped: the PROXY header and ClientHello did not arrive within headerTimeout",
  CONN_AT_CAPACITY: "dropped: the listener is at maxConnections",
  CONN_AT_FD_LIMIT:
    "dropped: the process holds as many connections as its descriptor limit (RLIMIT_NOFILE) allows",
  CONN_CLIENT_ERROR: "the client connection failed (reset or socket error)",
  CONN_SHUTDOWN: "closed: the drain period after SIGTERM ended",
  HEALTH_CHECK_HTTP: "a load balancer health check (LOCAL) answered with HTTP 200",
  HEALTH_CHECK_TCP: "a load balancer health check (LOCAL) closed without a request",
  UPSTREAM_CONNECT_FAILED: "the upstream refused or failed the connection",
  UPSTREAM_CONNECT_TIMEOUT: "the upstream did not accept the connection within connectTimeout",
  UPSTREAM_ERROR: "the upstream connection failed after it was established",
  CONN_IDLE_TIMEOUT: "closed: no byte in either direction for the listener's idleTimeout",
  CONN_FIN_TIMEOUT:
    "closed: half-closed (one side sent FIN) and idle for the listener's finTimeout",
  CONN_MAX_LIFETIME: "closed: the connection reached the listener's maxConnectionLifetime",
  CONN_INTERNAL_ERROR:
    "closed: linkgate found its own connection state inconsistent (a defect: please report it)",

  // Command line
  CLI_BAD_INPUT: "the command-line input could not be read",
  CLI_USAGE: "the command line is not valid",

  // linkgate doctor: checks of a cloud setup (docs/clouds/aws.md, docs/clouds/dns.md)
  DOCTOR_BAD_INPUT:
    "a doctor input file is unreadable, not JSON, or not the output of the AWS command it should be",
  DOCTOR_AZ_REGION_MISMATCH:
    "the provider's and the consumer's zones are in different regions: AZ IDs cannot overlap",
  DOCTOR_AZ_NO_COMMON_ZONE:
    "the provider and the consumer share no Availability Zone (by AZ ID): PrivateLink cannot connect",
  DOCTOR_DNS_PUBLIC_ADDRESS:
    "a private-link host name resolves to a public address: its private DNS record is missing",
  DOCTOR_DNS_NOT_PRIVATE:
    "a private-link host name resolves to a loopback, link-local or other non-endpoint address",
  DOCTOR_DNS_NXDOMAIN: "the host name does not exist in DNS (NXDOMAIN)",
  DOCTOR_DNS_NO_ADDRESS: "the host name exists but has no A or AAAA record",
  DOCTOR_DNS_TIMEOUT: "the DNS resolver did not answer within the timeout",
  DOCTOR_DNS_FAILED: "the DNS resolver failed the query (SERVFAIL, REFUSED, unreachable)",
  DOCTOR_DNS_NO_TENANT: "the configuration maps the host name to no tenant: linkgate denies it",

  // linkgate/backend: the helper for backends behind linkgate
  BACKEND_BAD_OPTION: "a linkgate/backend option is missing or invalid",
  BACKEND_HEADER_TIMEOUT: "dropped: linkgate's PROXY header did not arrive within headerTimeoutMs",
  BACKEND_BAD_TENANT_TLV:
    "the tenant TLV (0xE4) appears more than once or does not hold a tenant id",
  BACKEND_NO_TENANT:
    "421: no tenant was vouched for on this connection (no linkgate header, LOCAL, or fallback)",
  BACKEND_HOST_MISMATCH:
    "421: the request's host does not belong to the tenant linkgate vouched for",
  BACKEND_SNI_MISMATCH:
    "421: the TLS server name is not the one linkgate routed on, or not the tenant's",

  // Control-plane REST API (docs/api.md); each code's HTTP status is in src/control/errors.ts
  NOT_FOUND: "no such route: the method and path match no endpoint",
  AUTH_REQUIRED: "the request has no bearer token (Authorization: Bearer <token>)",
  AUTH_INVALID: "the bearer token is not a valid admin or tenant token, or it was revoked",
  AUTH_FORBIDDEN: "a tenant token may not do this: it needs an admin token",
  AUTH_RATE_LIMITED: "too many failed authentications from this address: retry after Retry-After",
  BODY_TOO_LARGE: "the request body is larger than limits.maxApiBodyBytes",
  BODY_INVALID: "the request body is not valid JSON, or is empty with a JSON content type",
  UNSUPPORTED_MEDIA_TYPE: "a request body must be JSON (Content-Type: application/json)",
  VALIDATION_FAILED: "a value in the request has the wrong type, is missing or is out of range",
  UNKNOWN_FIELD: "the request has a field that does not exist (a typo?)",
  CURSOR_INVALID: "the pagination cursor is not one this list returned",
  TENANT_NOT_FOUND: "no such tenant, or not one this token may see",
  TENANT_EXISTS: "a tenant with this id exists already, in the store or the configuration file",
  TENANT_MANAGED_BY_CONFIG:
    "the tenant is defined in the configuration file: the API cannot change it",
  HOSTNAME_INVALID: "a tenant host name must be a lower-case DNS name",
  HOSTNAME_TAKEN: "the host name belongs to another tenant, exactly or through a host pattern",
  UPSTREAM_INVALID:
    'an upstream must be "host:port" (IPv6 in brackets), the host an IP or DNS name',
  UPSTREAM_REQUIRED: "the tenant needs its own upstream: routing.upstream is not set",
  RULE_NOT_FOUND: "no such rule in this tenant",
  RULE_EMPTY: "a rule needs a link, a cidr, or both",
  RULE_INVALID_LINK:
    'a link must be "aws:vpce-" and 17 (or 8) lower-case hex digits, "azure:<uint32>" or "gcp:<uint64>"',
  RULE_INVALID_CIDR: "a cidr must be an IPv4 or IPv6 network with zero host bits",
  RULE_INVALID_EXPIRY: "expiresAt must be an RFC 3339 time with a time zone, in the future",
  RULE_DUPLICATE: "the tenant has a rule with this link and cidr already",
  RULES_LIMIT: "the change would give the tenant more rules than limits.maxRulesPerTenant",
  PRECONDITION_FAILED:
    "If-Match does not match the current ETag: the tenant changed since it was read",
  LOCKOUT_GUARD:
    "refused: the change would deny all the traffic the tenant admitted in the last 24 hours",
  TOKEN_NOT_FOUND: "no such token for this tenant",
  OBSERVED_NOT_FOUND: "this identity has not been observed reaching this tenant",
  STORE_READ_ONLY: "the API is read-only: no store is configured (store: in the configuration)",
  STORE_NOT_CONFIGURED:
    "tokens, observed identities and the audit log are kept in the store, and none is configured",
  STORE_UNAVAILABLE: "the store failed to answer; nothing was changed",
  STORE_UNSUPPORTED: "this store type is not available in this version of linkgate",
  SNAPSHOT_UNREADABLE:
    "the policy snapshot (store.snapshotPath) is missing, or not a snapshot linkgate wrote",
  INTERNAL_ERROR: "an unexpected error in linkgate (it is logged); not caused by the request",
} as const;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export function isErrorCode(value: string): value is ErrorCode {
  return Object.hasOwn(ERROR_CATALOGUE, value);
}
