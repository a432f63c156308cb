/** The JSON form of a header, as `linkgate pp2 decode` prints it. */
import { TLV } from "./constants.js";
import { decodeSsl, type ProxyHeader, type SocketAddress, type Tlv } from "./header.js";
import type { LinkIdentity } from "./identity.js";

export interface TlvJSON {
  type: number;
  name: string;
  length: number;
  /** Raw value, lower-case hex. */
  value: string;
  [decoded: string]: unknown;
}

export interface ProxyHeaderJSON {
  version: 1 | 2;
  command: "proxy" | "local";
  family: string;
  transport: string;
  source: SocketAddress | null;
  destination: SocketAddress | null;
  tlvs: TlvJSON[];
  link: LinkIdentity | null;
  crc32c: "valid" | "absent";
  headerLength: number;
}

function decoded(t: Tlv): Record<string, unknown> {
  const v = t.value;
  switch (t.type) {
    case TLV.ALPN:
    case TLV.AUTHORITY:
    case TLV.NETNS:
      return { text: v.toString("utf8") };
    case TLV.CRC32C:
      return v.length === 4 ? { crc32c: v.toString("hex") } : {};
    case TLV.SSL: {
      // The TLVs of a LOCAL header are listed without being validated (v2.ts): decode only a
      // value whose sub-TLVs tile it, as a PROXY header's must.
      if (!isSslValue(v)) return {};
      const { subTlvs, clientCert, ...ssl } = decodeSsl(v);
      return {
        ssl: {
          ...ssl,
          clientCert: clientCert?.toString("base64") ?? null,
          subTlvs: subTlvs.map((s) => ({
            type: s.type,
            name: s.name,
            value: s.value.toString("hex"),
          })),
        },
      };
    }
    case TLV.AWS:
      return v.length > 0 && v[0] === 0x01
        ? { subtype: 1, vpceId: v.toString("latin1", 1) }
        : { subtype: v.length > 0 ? v[0] : null };
    case TLV.AZURE:
      return v.length === 5 && v[0] === 0x01
        ? { subtype: 1, linkId: v.readUInt32LE(1) }
        : { subtype: v.length > 0 ? v[0] : null };
    case TLV.GCP:
      return v.length === 8 ? { pscConnectionId: v.readBigUInt64BE(0).toString() } : {};
    default:
      return {};
  }
}

/** An SSL TLV value: client(1) verify(4), then sub-TLVs that tile the rest exactly. */
function isSslValue(v: Buffer): boolean {
  if (v.length < 5) return false;
  let p = 5;
  while (v.length - p >= 3) p += 3 + v.readUInt16BE(p + 1);
  return p === v.length;
}

export function headerToJSON(h: ProxyHeader): ProxyHeaderJSON {
  return {
    version: h.version,
    command: h.command,
    family: h.family,
    transport: h.transport,
    source: h.source,
    destination: h.destination,
    tlvs: h.tlvs.map((t) => ({
      type: t.type,
      name: t.name,
      length: t.value.length,
      value: t.value.toString("hex"),
      ...decoded(t),
    })),
    link: h.link === null ? null : { provider: h.link.provider, id: h.link.id },
    crc32c: h.crc32c,
    headerLength: h.headerLength,
  };
}
