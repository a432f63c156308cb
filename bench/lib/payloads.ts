/**
 * What the load generator sends: a PROXY v2 header as AWS PrivateLink sends it, then a real
 * Chromium ClientHello; and the two denied variants (another VPC endpoint, a bad CRC32C).
 * Each payload is checked with linkgate's own decoders before it is used.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import {
  decodeProxyHeader,
  encodeProxyHeaderV2,
  ParseError,
  type ProxyHeader,
} from "../../src/proxy-protocol/index.js";
import { decodeClientHello, ParseError as TlsParseError } from "../../src/tls/index.js";

/**
 * A real AWS NLB header through a VPC endpoint (the PROPROT test_PrivateLink capture, also in
 * go-proxyproto's tlvparse tests; test/proxy-protocol/vectors.ts has its provenance): TCP4
 * 172.31.7.113:51442 -> 172.31.10.31:80, CRC32C, VPC endpoint vpce-08d2bf15fac5001c9, NOOP
 * padding to 100 bytes.
 */
export const AWS_PRIVATELINK_HEX =
  "0d0a0d0a000d0a515549540a21110054ac1f0771ac1f0a1fc8f20050030004e8d6892dea001701767063652d3038643262663135666163353030316339040024000000000000000000000000000000000000000000000000000000000000000000000000";
export const AWS_LINK = "aws:vpce-08d2bf15fac5001c9";
/** An endpoint no tenant allows. */
export const OTHER_LINK = "aws:vpce-0fedcba9876543210";

/** The Chromium capture (test/tls/fixtures/README.md): 1996 bytes, one TLS record. */
export const CHROMIUM_FIXTURE = fileURLToPath(
  new URL("../../test/tls/fixtures/chromium.hex", import.meta.url),
);

export interface Payloads {
  /** The SNI of the ClientHello. */
  sni: string;
  helloBytes: number;
  /** PROXY header (allowed endpoint) + ClientHello. */
  allowed: Buffer;
  /** Same shape, another VPC endpoint (valid CRC32C): denied by policy after the ClientHello. */
  wrongLink: Buffer;
  /** The captured header with one CRC32C byte changed: dropped at the PROXY header. */
  badCrc: Buffer;
  headerBytes: number;
}

function header(bytes: Buffer, what: string): ProxyHeader {
  const h = decodeProxyHeader(bytes);
  if (h instanceof ParseError) throw new Error(`${what}: ${h.code} ${h.message}`);
  return h;
}

export function buildPayloads(): Payloads {
  const hello = Buffer.from(readFileSync(CHROMIUM_FIXTURE, "utf8").replace(/\s+/g, ""), "hex");
  const parsed = decodeClientHello(hello);
  if (parsed instanceof TlsParseError) throw new Error(`chromium.hex: ${parsed.message}`);
  const sni = parsed.sni;
  if (sni === null) throw new Error("chromium.hex carries no SNI");

  const aws = Buffer.from(AWS_PRIVATELINK_HEX, "hex");
  const h = header(aws, "AWS header");
  if (h.link?.id !== AWS_LINK || h.crc32c !== "valid") {
    throw new Error(`AWS header: expected ${AWS_LINK} with a valid CRC32C`);
  }
  const other = Buffer.from(
    encodeProxyHeaderV2({
      source: { address: "172.31.7.113", port: 51442 },
      destination: { address: "172.31.10.31", port: 80 },
      link: OTHER_LINK,
      crc32c: true,
      padTo: aws.length,
    }),
  );
  const o = header(other, "wrong-link header");
  if (o.link?.id !== OTHER_LINK || o.crc32c !== "valid" || other.length !== aws.length) {
    throw new Error("wrong-link header: unexpected shape");
  }
  const bad = Buffer.from(aws);
  // The CRC32C TLV is the first one: type at 28, length at 29-30, value at 31-34.
  if (bad[28] !== 0x03) throw new Error("AWS header: CRC32C TLV not where expected");
  bad[31] ^= 0xff;
  const b = decodeProxyHeader(bad);
  if (!(b instanceof ParseError)) throw new Error("bad-CRC header decodes");
  return {
    sni,
    helloBytes: hello.length,
    allowed: Buffer.concat([aws, hello]),
    wrongLink: Buffer.concat([other, hello]),
    badCrc: Buffer.concat([bad, hello]),
    headerBytes: aws.length,
  };
}
