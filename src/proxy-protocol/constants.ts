/** Constants of the PROXY protocol (HAProxy doc/proxy-protocol.txt) and the cloud TLVs. */

/** The 12-byte v2 signature: "\r\n\r\n\0\r\nQUIT\n". */
export const V2_SIGNATURE: readonly number[] = [
  0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
];
/** The v2 fixed part: signature, ver_cmd, fam, len. */
export const V2_FIXED_LENGTH = 16;
/** Largest possible v2 header: 16 + a 16-bit length. */
export const V2_MAX_LENGTH = 16 + 0xffff;
/** Longest v1 line including CRLF (spec section 2.1). */
export const V1_MAX_LENGTH = 107;
/** "PROXY " */
export const V1_PREFIX: readonly number[] = [0x50, 0x52, 0x4f, 0x58, 0x59, 0x20];

export const CMD_LOCAL = 0x0;
export const CMD_PROXY = 0x1;

export type Command = "local" | "proxy";
export type Family = "unspec" | "tcp4" | "udp4" | "tcp6" | "udp6" | "unix";
export type Transport = "unspec" | "stream" | "dgram";

/** The seven valid family bytes and their address-block sizes; -1 marks invalid bytes. */
export const ADDRESS_BLOCK_LENGTH = new Int16Array(256).fill(-1);
ADDRESS_BLOCK_LENGTH[0x00] = 0;
ADDRESS_BLOCK_LENGTH[0x11] = 12;
ADDRESS_BLOCK_LENGTH[0x12] = 12;
ADDRESS_BLOCK_LENGTH[0x21] = 36;
ADDRESS_BLOCK_LENGTH[0x22] = 36;
ADDRESS_BLOCK_LENGTH[0x31] = 216;
ADDRESS_BLOCK_LENGTH[0x32] = 216;

export const FAMILY_BYTE: Readonly<Record<string, number>> = {
  "unspec/unspec": 0x00,
  "tcp4/stream": 0x11,
  "udp4/dgram": 0x12,
  "tcp6/stream": 0x21,
  "udp6/dgram": 0x22,
  "unix/stream": 0x31,
  "unix/dgram": 0x32,
};

export function familyOf(famByte: number): Family {
  switch (famByte) {
    case 0x11:
      return "tcp4";
    case 0x12:
      return "udp4";
    case 0x21:
      return "tcp6";
    case 0x22:
      return "udp6";
    case 0x31:
    case 0x32:
      return "unix";
    default:
      return "unspec";
  }
}

export function transportOf(famByte: number): Transport {
  const t = famByte & 0x0f;
  return t === 1 ? "stream" : t === 2 ? "dgram" : "unspec";
}

/** Registered TLV types (spec section 2.2) and the cloud types in the 0xE0-0xEF range. */
export const TLV = {
  ALPN: 0x01,
  AUTHORITY: 0x02,
  CRC32C: 0x03,
  NOOP: 0x04,
  UNIQUE_ID: 0x05,
  SSL: 0x20,
  NETNS: 0x30,
  /** GCP Private Service Connect: 8-byte big-endian pscConnectionId, no subtype. */
  GCP: 0xe0,
  /** AWS: subtype 0x01 then the ASCII VPC endpoint ID. */
  AWS: 0xea,
  /** Azure: subtype 0x01 then a little-endian uint32 LINKID. */
  AZURE: 0xee,
} as const;

export const AWS_SUBTYPE_VPCE_ID = 0x01;
export const AZURE_SUBTYPE_LINKID = 0x01;

/** SSL sub-TLV types (spec section 2.2.5). */
export const SSL_SUB = {
  VERSION: 0x21,
  CN: 0x22,
  CIPHER: 0x23,
  SIG_ALG: 0x24,
  KEY_ALG: 0x25,
  GROUP: 0x26,
  SIG_SCHEME: 0x27,
  CLIENT_CERT: 0x28,
} as const;

export const SSL_CLIENT = { SSL: 0x01, CERT_CONN: 0x02, CERT_SESS: 0x04 } as const;

const TLV_NAMES: Record<number, string> = {
  1: "ALPN",
  2: "AUTHORITY",
  3: "CRC32C",
  4: "NOOP",
  5: "UNIQUE_ID",
  32: "SSL",
  48: "NETNS",
  224: "GCP_PSC_CONNECTION_ID",
  234: "AWS",
  238: "AZURE",
};

const SSL_SUB_NAMES: Record<number, string> = {
  33: "VERSION",
  34: "CN",
  35: "CIPHER",
  36: "SIG_ALG",
  37: "KEY_ALG",
  38: "GROUP",
  39: "SIG_SCHEME",
  40: "CLIENT_CERT",
};

function hexByte(n: number): string {
  return `0x${n.toString(16).padStart(2, "0")}`;
}

export function tlvName(type: number): string {
  return TLV_NAMES[type] ?? hexByte(type);
}

export function sslSubTlvName(type: number): string {
  return SSL_SUB_NAMES[type] ?? hexByte(type);
}
