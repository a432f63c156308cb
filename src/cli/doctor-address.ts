/**
 * What kind of address a DNS answer is: `linkgate doctor dns` warns when a name that should lead
 * to a private endpoint leads somewhere else. The ranges are the IANA special-purpose registries'
 * (IPv4: RFC 6890 and the RFCs named below; IPv6: RFC 4291, RFC 4193, RFC 3849).
 */
import { parseIp } from "../ip/address.js";

export type AddressKind =
  | "private"
  | "shared"
  | "unique-local"
  | "loopback"
  | "link-local"
  | "unspecified"
  | "documentation"
  | "multicast"
  | "reserved"
  | "public";

export interface AddressClass {
  kind: AddressKind;
  /** The range it fell in, with its RFC ("10.0.0.0/8, RFC 1918"); null for public addresses. */
  range: string | null;
}

interface Range {
  bytes: number[];
  prefix: number;
  kind: AddressKind;
  text: string;
}

const V4: Range[] = [
  { bytes: [0, 0, 0, 0], prefix: 8, kind: "unspecified", text: "0.0.0.0/8, RFC 1122" },
  { bytes: [10, 0, 0, 0], prefix: 8, kind: "private", text: "10.0.0.0/8, RFC 1918" },
  { bytes: [100, 64, 0, 0], prefix: 10, kind: "shared", text: "100.64.0.0/10, RFC 6598" },
  { bytes: [127, 0, 0, 0], prefix: 8, kind: "loopback", text: "127.0.0.0/8, RFC 1122" },
  { bytes: [169, 254, 0, 0], prefix: 16, kind: "link-local", text: "169.254.0.0/16, RFC 3927" },
  { bytes: [172, 16, 0, 0], prefix: 12, kind: "private", text: "172.16.0.0/12, RFC 1918" },
  { bytes: [192, 0, 2, 0], prefix: 24, kind: "documentation", text: "192.0.2.0/24, RFC 5737" },
  { bytes: [192, 168, 0, 0], prefix: 16, kind: "private", text: "192.168.0.0/16, RFC 1918" },
  {
    bytes: [198, 51, 100, 0],
    prefix: 24,
    kind: "documentation",
    text: "198.51.100.0/24, RFC 5737",
  },
  {
    bytes: [203, 0, 113, 0],
    prefix: 24,
    kind: "documentation",
    text: "203.0.113.0/24, RFC 5737",
  },
  { bytes: [224, 0, 0, 0], prefix: 4, kind: "multicast", text: "224.0.0.0/4, RFC 5771" },
  { bytes: [240, 0, 0, 0], prefix: 4, kind: "reserved", text: "240.0.0.0/4, RFC 1112" },
];

const V6: Range[] = [
  { bytes: [0xfc], prefix: 7, kind: "unique-local", text: "fc00::/7, RFC 4193" },
  { bytes: [0xfe, 0x80], prefix: 10, kind: "link-local", text: "fe80::/10, RFC 4291" },
  { bytes: [0xff], prefix: 8, kind: "multicast", text: "ff00::/8, RFC 4291" },
  {
    bytes: [0x20, 0x01, 0x0d, 0xb8],
    prefix: 32,
    kind: "documentation",
    text: "2001:db8::/32, RFC 3849",
  },
];

function inRange(bytes: Uint8Array, range: Range): boolean {
  for (let bit = 0; bit < range.prefix; bit += 8) {
    const take = Math.min(8, range.prefix - bit);
    const mask = (0xff << (8 - take)) & 0xff;
    if ((bytes[bit / 8] & mask) !== ((range.bytes[bit / 8] ?? 0) & mask)) return false;
  }
  return true;
}

function classifyBytes(bytes: Uint8Array): AddressClass {
  if (bytes.length === 4) {
    for (const r of V4) if (inRange(bytes, r)) return { kind: r.kind, range: r.text };
    return { kind: "public", range: null };
  }
  const zeroTo = (n: number) => bytes.subarray(0, n).every((b) => b === 0);
  if (zeroTo(16)) return { kind: "unspecified", range: "::/128, RFC 4291" };
  if (zeroTo(15) && bytes[15] === 1) return { kind: "loopback", range: "::1/128, RFC 4291" };
  // IPv4-mapped (::ffff:a.b.c.d): what matters is the IPv4 address inside.
  if (zeroTo(10) && bytes[10] === 0xff && bytes[11] === 0xff)
    return classifyBytes(bytes.subarray(12));
  for (const r of V6) if (inRange(bytes, r)) return { kind: r.kind, range: r.text };
  return { kind: "public", range: null };
}

/** Classifies an IPv4 or IPv6 address in text; null if it is not one. */
export function classifyAddress(text: string): AddressClass | null {
  const ip = parseIp(text);
  return ip === null ? null : classifyBytes(ip.bytes);
}

/** Kinds a private endpoint's address can have: the addresses of a VPC or VNet. */
export function isPrivateEndpointKind(kind: AddressKind): boolean {
  return kind === "private" || kind === "shared" || kind === "unique-local";
}
