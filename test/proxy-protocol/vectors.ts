/**
 * Public PROXY protocol test vectors, with their sources and linkgate's expected outcome.
 *
 * Only bytes and expected outcomes are taken from the projects named in `source` (test vectors
 * are facts); no code is copied. Where a project's own expectation differs from the spec
 * (HAProxy doc/proxy-protocol.txt) or from linkgate's documented policy (the error catalogue in
 * src/errors/catalogue.ts), the expectation here is linkgate's and `note` says why.
 * VECTORS.md lists the sources, the counts and the disagreements.
 *
 * Conventions of the expectations (see vectors.test.ts):
 * - an omitted `source`, `destination`, `link`, `authority`, `alpn` or `uniqueIdHex` means null,
 *   an omitted `crc32c` means "absent", an omitted `tlvTypes` means no TLVs;
 * - PP_INCOMPLETE means the bytes end before the header does: a streaming decoder fed exactly
 *   these bytes must still be waiting (NEED_MORE). A receiver turns that into a rejection on
 *   EOF or on its header timeout; for UDP (one datagram) it is a rejection at once.
 */
import type { ErrorCode, Family, Transport } from "../../src/proxy-protocol/index.js";

export interface ExpectedAddress {
  address: string;
  port: number | null;
}

export interface ExpectedSsl {
  client?: number;
  verify?: number;
  version?: string | null;
  cn?: string | null;
  cipher?: string | null;
  sigAlg?: string | null;
  keyAlg?: string | null;
  group?: string | null;
  sigScheme?: string | null;
  clientCertHex?: string | null;
}

export interface ExpectOk {
  ok: true;
  version: 1 | 2;
  command: "proxy" | "local";
  family: Family;
  transport?: Transport;
  source?: ExpectedAddress | null;
  destination?: ExpectedAddress | null;
  /** "aws:vpce-...", "azure:N", "gcp:N" */
  link?: string | null;
  crc32c?: "valid" | "absent";
  headerLength: number;
  tlvTypes?: number[];
  authority?: string;
  alpn?: string;
  uniqueIdHex?: string;
  ssl?: ExpectedSsl;
}

export interface ExpectError {
  ok: false;
  code: ErrorCode;
}

export interface Vector {
  name: string;
  /** owner/repo@commit path#test, or a URL. */
  source: string;
  /** The bytes, lower-case hex. */
  hex: string;
  /** Hex of the application bytes that followed the header in the original test, if any. */
  trailing?: string;
  expect: ExpectOk | ExpectError;
  note?: string;
}

// ---------------------------------------------------------------------------------------------
// Byte helpers (they only spell bytes; every vector is a fixed byte string).

/** Joins hex parts, dropping spaces. */
function hx(...parts: string[]): string {
  return parts.join("").replace(/\s+/g, "").toLowerCase();
}

/** Hex of a latin1 string (escape CR, LF and NUL in it as usual). */
function ascii(text: string): string {
  return Buffer.from(text, "latin1").toString("hex");
}

function zeros(n: number): string {
  return "00".repeat(n);
}

function u16(n: number): string {
  return n.toString(16).padStart(4, "0");
}

function byte(n: number): string {
  return n.toString(16).padStart(2, "0");
}

const SIG = "0d0a0d0a000d0a515549540a";

/** A v2 header: signature, ver_cmd, fam, the length of `body`, body. */
function v2(verCmd: number, fam: number, ...body: string[]): string {
  const b = hx(...body);
  return hx(SIG, byte(verCmd), byte(fam), u16(b.length / 2), b);
}

/** A TLV: type, 16-bit length, value (hex). */
function tlv(type: number, value: string): string {
  const v = hx(value);
  return hx(byte(type), u16(v.length / 2), v);
}

function zeroTlvs(n: number): number[] {
  return new Array<number>(n).fill(0);
}

function ok(e: Omit<ExpectOk, "ok">): ExpectOk {
  return { ok: true, ...e };
}

function err(code: ErrorCode): ExpectError {
  return { ok: false, code };
}

function addr(address: string, port: number | null): ExpectedAddress {
  return { address, port };
}

// ---------------------------------------------------------------------------------------------
// Sources.

const HAPROXY = "haproxy/haproxy@50872daa6a857e82afc40b1c5161924aef4172d7";
const HAPROXY_DOC = `${HAPROXY} doc/proxy-protocol.txt`;
const GO = "pires/go-proxyproto@c435999ef4e81a3be420c6f1ceac9a33fe4b05e8";
const ATS =
  "apache/trafficserver@04f378d852d3a4fc63ee8de5966f35f4effcd737 src/iocore/net/unit_tests/test_ProxyProtocol.cc";
const TWISTED_V1 =
  "twisted/twisted@5e9b4a31c2655dff2615d635de415ada668d479c src/twisted/protocols/haproxy/test/test_v1parser.py";
const TWISTED_V2 =
  "twisted/twisted@2ba1cbf0065f48f393b95baa9ea89e2cdfff8160 src/twisted/protocols/haproxy/test/test_v2parser.py";
const TWISTED_WRAPPER =
  "twisted/twisted@0fec21bab6435b2854a03e46da3bdfc9406aa0b2 src/twisted/protocols/haproxy/test/test_wrapper.py";
const PROPROT =
  "aws/elastic-load-balancing-tools@c8eee30ab991ab4c57dc37d1c58f09f67bd534aa proprot/tst/com/amazonaws/proprot/Compatibility_AwsNetworkLoadBalancerTest.java";
const LIBPP =
  "kosmas-valianos/libproxyprotocol@648f9062645bc8fbf1aa3c2fa8349a81c9064f95 tests/test.c";
const REFERENCE = "/work/shared/reference/proxy-protocol.md";

// ---------------------------------------------------------------------------------------------
// Common fixtures of the suites (spelled out as bytes).

// go-proxyproto's v4/v6/unix fixtures: 127.0.0.1 / ::1, both ports 65533, unix path "socket".
const GO_V4_BLOCK = hx("7f000001 7f000001 fffd fffd");
const GO_V6_BLOCK = hx(zeros(15), "01", zeros(15), "01", "fffd fffd");
const GO_UNIX_PATH = hx(ascii("socket"), zeros(102));
const GO_UNIX_BLOCK = hx(GO_UNIX_PATH, GO_UNIX_PATH);
const GO_V4 = addr("127.0.0.1", 65533);
const GO_V6 = addr("::1", 65533);
/** go-proxyproto's fixtureWithTLV: PROXY TCP4 with GO_V4_BLOCK, then the TLV bytes. */
function goWithTlvs(...tlvs: string[]): string {
  return v2(0x21, 0x11, GO_V4_BLOCK, ...tlvs);
}
const GO_TLV_NOTE =
  "The original test works on the TLV list alone; the TLVs are put in go-proxyproto's own fixture header (fixtureWithTLV: PROXY TCP4 127.0.0.1:65533 -> 127.0.0.1:65533).";

// Twisted's fixtures: 127.0.0.1 / ::1, ports 8080 -> 8888; unix path /home/tests/mysockets/sock.
const TW_V4_BLOCK = hx("7f000001 7f000001 1f90 22b8");
const TW_V6_BLOCK = hx(zeros(15), "01", zeros(15), "01", "1f90 22b8");
const TW_UNIX_PATH = hx(ascii("/home/tests/mysockets/sock"), zeros(82));
const TW_UNIX_BLOCK = hx(TW_UNIX_PATH, TW_UNIX_PATH);
const TW_SOCK = addr("/home/tests/mysockets/sock", null);

// ATS fixtures: 192.0.2.1:50000 -> 198.51.100.1:443; [2001:db8:0:1::]:50000 -> [2001:db8:0:2::]:443
const ATS_V4_BLOCK = hx("c0000201 c6336401 c350 01bb");
const ATS_V6_BLOCK = hx(
  "20010db8000000010000000000000000",
  "20010db8000000020000000000000000",
  "c350 01bb",
);

// HAProxy reg-tests: 127.0.0.1:42 -> 127.0.0.1:1337
const HA_V4_BLOCK = hx("7f000001 7f000001 002a 0539");
const HA_SRC = addr("127.0.0.1", 42);
const HA_DST = addr("127.0.0.1", 1337);

// libproxyprotocol: 192.168.10.100:42332 -> 192.168.11.90:8080
const LIBPP_V4_BLOCK = hx("c0a80a64 c0a80b5a a55c 1f90");

const TWISTED_V1_NOTE =
  "V1Parser.parse() takes the line without its CRLF (feed() splits on CRLF), so CRLF is appended.";

const vectors: Vector[] = [];

function add(v: Vector): void {
  vectors.push(v);
}

// =============================================================================================
// HAProxy: the spec, doc/proxy-protocol.txt (last changed in 6e9b9196b, 2026/04/27).

add({
  name: "spec: v1 example line before an HTTP request",
  source: `${HAPROXY_DOC}#2.1 example`,
  hex: ascii("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n"),
  trailing: ascii("GET / HTTP/1.1\r\nHost: 192.168.0.11\r\n\r\n"),
  expect: ok({
    version: 1,
    command: "proxy",
    family: "tcp4",
    transport: "stream",
    source: addr("192.168.0.1", 56324),
    destination: addr("192.168.0.11", 443),
    headerLength: 47,
  }),
});
add({
  name: "spec: longest TCP4 line (56 bytes)",
  source: `${HAPROXY_DOC}#2.1 maximum line lengths`,
  hex: ascii("PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n"),
  expect: ok({
    version: 1,
    command: "proxy",
    family: "tcp4",
    source: addr("255.255.255.255", 65535),
    destination: addr("255.255.255.255", 65535),
    headerLength: 56,
  }),
});
add({
  name: "spec: longest TCP6 line (104 bytes)",
  source: `${HAPROXY_DOC}#2.1 maximum line lengths`,
  hex: ascii(
    "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n",
  ),
  expect: ok({
    version: 1,
    command: "proxy",
    family: "tcp6",
    source: addr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535),
    destination: addr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535),
    headerLength: 104,
  }),
  note: "The spec writes the addresses as ffff:f...f:ffff; the full form is used.",
});
add({
  name: "spec: UNKNOWN, short form (15 bytes)",
  source: `${HAPROXY_DOC}#2.1 maximum line lengths`,
  hex: ascii("PROXY UNKNOWN\r\n"),
  expect: ok({
    version: 1,
    command: "proxy",
    family: "unspec",
    transport: "unspec",
    headerLength: 15,
  }),
  note: `Also in ${ATS} "UNKNOWN connection (short form)", ${LIBPP} "UNKNOWN - short" and ${GO} v1_test.go fixtureUnknown (go-proxyproto maps it to LOCAL; linkgate reports PROXY with no addresses, which also means "use the real connection's addresses").`,
});
add({
  name: "spec: UNKNOWN, worst case (107 bytes)",
  source: `${HAPROXY_DOC}#2.1 maximum line lengths`,
  hex: ascii(
    "PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n",
  ),
  expect: ok({ version: 1, command: "proxy", family: "unspec", headerLength: 107 }),
  note: `Also in ${ATS} "UNKNOWN connection (worst case)" and ${LIBPP} "UNKNOWN - full". HAProxy's own receiver (src/connection.c) accepts only the short form "UNKNOWN\\r\\n" (reference §3 #20); the spec says the receiver must ignore anything before the CRLF, so linkgate accepts the long form.`,
});
add({
  name: "spec: the 13-byte v2 detection sequence, completed into a LOCAL UNSPEC header",
  source: `${HAPROXY_DOC}#2.2 identifying the protocol version`,
  hex: hx(SIG, "20", "00", "0000"),
  expect: ok({
    version: 2,
    command: "local",
    family: "unspec",
    transport: "unspec",
    headerLength: 16,
  }),
  note: `The spec's detection example is the signature followed by \\x20; fam 00 and len 0000 complete it into the smallest valid v2 header. Also ${GO} v2_test.go validParseAndWriteV2Tests "local unspec", fuzz_test.go TestParseV2LocalAddressBlock "UNSPEC, empty" and the FuzzRead seed v2Header(LOCAL, UNSPEC, nil) (same bytes).`,
});
add({
  name: "spec: the pre-2023 detection example ending in \\x02 (version nibble 0)",
  source: "haproxy/haproxy@e00840297 doc/proxy-protocol.txt (the fix of the detection example)",
  hex: hx(SIG, "02", "00", "0000"),
  expect: err("PP2_BAD_VERSION"),
  note: "Before commit e00840297 the spec's example wrongly ended in \\x02; a receiver must reject it, since the version nibble must be 2.",
});

// =============================================================================================
// HAProxy reg-tests.

const TLV_VALIDATION = `${HAPROXY} reg-tests/connection/proxy_protocol_tlv_validation.vtc`;
add({
  name: "haproxy tlv_validation c1: valid header with AUTHORITY 12345",
  source: `${TLV_VALIDATION}#c1`,
  hex: v2(0x21, 0x11, HA_V4_BLOCK, tlv(0x02, ascii("12345"))),
  expect: ok({
    version: 2,
    command: "proxy",
    family: "tcp4",
    transport: "stream",
    source: HA_SRC,
    destination: HA_DST,
    headerLength: 36,
    tlvTypes: [0x02],
    authority: "12345",
  }),
});
add({
  name: "haproxy tlv_validation c2: a TLV after the end of the header is payload",
  source: `${TLV_VALIDATION}#c2`,
  hex: v2(0x21, 0x11, HA_V4_BLOCK, tlv(0x02, ascii("12345"))),
  trailing: hx("02 0005 3534333231"),
  expect: ok({
    version: 2,
    command: "proxy",
    family: "tcp4",
    source: HA_SRC,
    destination: HA_DST,
    headerLength: 36,
    tlvTypes: [0x02],
    authority: "12345",
  }),
  note: "HAProxy then answers 400 because the 8 bytes reach its HTTP parser: they are application bytes, never a TLV (BUG/MAJOR 488ee7fb6).",
});
add({
  name: "haproxy tlv_validation c3: TLV length overruns the header",
  source: `${TLV_VALIDATION}#c3`,
  hex: hx(SIG, "21 11 0014", HA_V4_BLOCK, "02 000a 31323334353132333435"),
  expect: err("PP2_TLV_OVERRUN"),
});
add({
  name: "haproxy tlv_validation c4: the header does not end on a TLV boundary",
  source: `${TLV_VALIDATION}#c4`,
  hex: hx(SIG, "21 11 0014", HA_V4_BLOCK, "02 0004 31323334", ascii("GET / HTTP/1.1\r\n")),
  expect: err("PP2_TLV_LEFTOVER"),
  note: "The header declares 36 bytes but the sender wrote 35; the 36th is the 'G' of the request that txreq sends next, so one byte is left after the 7-byte TLV. Without the request bytes the input is PP_INCOMPLETE.",
});
add({
  name: "haproxy unique-id-from-proxy: UNIQUE_ID 12345",
  source: `${HAPROXY} reg-tests/stream/unique-id-from-proxy.vtc#c1`,
  hex: v2(0x21, 0x11, HA_V4_BLOCK, tlv(0x05, ascii("12345"))),
  expect: ok({
    version: 2,
    command: "proxy",
    family: "tcp4",
    source: HA_SRC,
    destination: HA_DST,
    headerLength: 36,
    tlvTypes: [0x05],
    uniqueIdHex: "3132333435",
  }),
});
add({
  name: "haproxy sample_fetches/tlvs: AWS TLV 'aws-vpc-id', Azure TLV 'LINKID', custom TLVs",
  source: `${HAPROXY} reg-tests/sample_fetches/tlvs.vtc#c1`,
  hex: v2(
    0x21,
    0x11,
    HA_V4_BLOCK,
    tlv(0xea, hx("01", ascii("aws-vpc-id"))),
    tlv(0xee, hx("01", ascii("LINKID"))),
    tlv(0xeb, ascii("custom")),
    tlv(
      0xec,
      "3AD9329B11A7298114B233F0C20D7A53D19728744B788AD310C4B188429C638E8B8AA0B4B0E79D20270F1E534D33F75AD0913FB8C9E916C461C51302" +
        "92649DD4225C8E4E0B2D2D7D9F5D979B25C4127D2175C815926B64F25FC0A90F9A7D0A6D6879F456186F23452A9B36343A47433229186F23452A9B" +
        "36343A474332293229",
    ),
  ),
  expect: err("PP2_BAD_AWS_VPCE_ID"),
  note: 'HAProxy accepts the header and returns the raw TLV values (fc_pp_tlv). linkgate requires an AWS subtype-0x01 value to be "vpce-" and lower-case letters or digits, so "aws-vpc-id" fails closed. (The Azure TLV after it, subtype 0x01 with 6 bytes instead of 4, would fail too: PP2_BAD_AZURE_LINKID.)',
});

const EMBEDDED_NUL =
  "haproxy/haproxy@b4591f045a1a5ba26d772c085508c663390bfd11 reg-tests/connection/proxy_protocol_tlv_embedded_nul.vtc";
add({
  name: "haproxy tlv_embedded_nul c1: values 'public' and an SSL TLV of zeros",
  source: `${EMBEDDED_NUL}#c1`,
  hex: hx(
    SIG,
    "2111 002f",
    HA_V4_BLOCK,
    "020006 7075626c6963 050006 7075626c6963 e10006 7075626c6963 200005 0000000000",
  ),
  expect: ok({
    version: 2,
    command: "proxy",
    family: "tcp4",
    source: HA_SRC,
    destination: HA_DST,
    headerLength: 63,
    tlvTypes: [0x02, 0x05, 0xe1, 0x20],
    authority: "public",
    uniqueIdHex: "7075626c6963",
    ssl: { client: 0, verify: 0, version: null, cn: null },
  }),
  note: "The index stores this file at a commit that is not in the history of the fetched haproxy snapshot (50872da); bytes as stored.",
});
add({
  name: "haproxy tlv_embedded_nul c2: AUTHORITY 'public\\0x' holds a NUL",
  source: `${EMBEDDED_NUL}#c2`,
  hex: hx(
    SIG,
    "2111 002d",
    HA_V4_BLOCK,
    "020008 7075626c69630078 050008 7075626c69630078 e10008 7075626c69630078",
  ),
  expect: err("PP2_BAD_AUTHORITY"),
  note: "HAProxy accepts the header and makes fc_pp_authority return nothing. linkgate's policy (catalogue PP2_BAD_AUTHORITY) is that AUTHORITY must be a host name: a NUL byte rejects the header.",
});
const EXPECT_PROXY =
  "haproxy/haproxy@d20bc62c0c83d7f461e8d098cace7a5819f532c6 reg-tests/connection/expect_proxy.vtc";
add({
  name: "haproxy expect_proxy c1: v1 TCP4 line",
  source: `${EXPECT_PROXY}#c1`,
  hex: ascii("PROXY TCP4 192.168.0.1 10.0.0.2 1234 81\r\n"),
  expect: ok({
    version: 1,
    command: "proxy",
    family: "tcp4",
    source: addr("192.168.0.1", 1234),
    destination: addr("10.0.0.2", 81),
    headerLength: 41,
  }),
  note: "The index stores this file at a commit that is not in the history of the fetched haproxy snapshot (50872da); bytes as stored.",
});
add({
  name: "haproxy expect_proxy c3: malformed v1 line",
  source: `${EXPECT_PROXY}#c3`,
  hex: ascii("PROXY TCP4 not an address at all\r\n"),
  expect: err("PP1_BAD_FIELD_COUNT"),
  note: "Five fields after TCP4 instead of four; HAProxy closes the connection too.",
});

// =============================================================================================
// Real AWS NLB headers.

add({
  name: "aws proprot test_PrivateLink: NLB header through a VPC endpoint",
  source: `${PROPROT}#test_PrivateLink`,
  hex: hx(
    SIG,
    "21 11 0054",
    "ac1f0771 ac1f0a1f c8f2 0050",
    "030004 e8d6892d",
    "ea0017 01",
    ascii("vpce-08d2bf15fac5001c9"),
    "040024",
    zeros(36),
  ),
  expect: ok({
    version: 2,
    command: "proxy",
    family: "tcp4",
    transport: "stream",
    source: addr("172.31.7.113", 51442),
    destination: addr("172.31.10.31", 80),
    link: "aws:vpce-08d2bf15fac5001c9",
    crc32c: "valid",
    headerLength: 100,
    tlvTypes: [0x03, 0xea, 0x04],
  }),
  note: `Also in ${GO} tlvparse/aws_test.go "VPCE example" (same bytes). The CRC32C is the standard CRC-32C stored big-endian.`,
});
add({
  name: "go-proxyproto tlvparse VPCE capture: NLB header through a VPC endpoint",
  source: `${GO} tlvparse/aws_test.go#VPCE capture`,
  hex: hx(
    SIG,
    "21 11 0054",
    "c0a82c0a c0a82c07 cc3e 241b",
    "030004 b9286fa6",
    "ea0017 01",
    ascii("vpce-00eafc458ec97b833"),
    "040024",
    zeros(36),
  ),
  expect: ok({
    version: 2,
    command: "proxy",
    family: "tcp4",
    source: addr("192.168.44.10", 52286),
    destination: addr("192.168.44.7", 9243),
    link: "aws:vpce-00eafc458ec97b833",
    crc32c: "valid",
    headerLength: 100,
    tlvTypes: [0x03, 0xea, 0x04],
  }),
});
add({
  name: "kubernetes#57250: AWS NLB health check (LOCAL, fam 0x11, no address block)",
  source: "https://github.com/kubernetes/kubernetes/issues/57250 (tcpdump by tsuna, 2019-03-21)",
  hex: hx(SIG, "20 11 0054", "030004 bce5951f", "04004a", zeros(74)),
  expect: ok({
    version: 2,
    command: "local",
    family: "tcp4",
    transport: "stream",
    crc32c: "valid",
    headerLength: 100,
    tlvTypes: [0x03, 0x04],
  }),
  note: "LOCAL: skip len bytes and use the real endpoints. The TLVs start at byte 16 (no address block), and the CRC32C over all 100 bytes checks out.",
});

// =============================================================================================
// libproxyprotocol tests/test.c

add({
  name: "libproxyprotocol pp2_hdr_vpce: CRC32C stored byte-swapped",
  source: `${LIBPP}#"v2 PROXY protocol header: PROXY, TCP over IPv4. TLVs: PP2_TYPE_CRC32C, PP2_TYPE_AWS(PP2_SUBTYPE_AWS_VPCE_ID)"`,
  hex: hx(
    SIG,
    "21 11 0040",
    LIBPP_V4_BLOCK,
    "030004 e51886f8",
    "ea0017 01",
    ascii("vpce-23d8ezjk38bchilm4"),
    "040010",
    zeros(16),
  ),
  expect: err("PP2_BAD_CRC32C"),
  note: "libproxyprotocol expects this header to parse with a valid CRC: it compares the CRC in host (little-endian) order. The CRC-32C of the header is 0xf88618e5, which the spec (and AWS, HAProxy, nginx) store big-endian as f8 86 18 e5; e5 18 86 f8 is the byte-swapped value, so the header must be rejected.",
});
add({
  name: "libproxyprotocol pp2_hdr_ssl: SSL TLV with version, CN, cipher, sig and key algorithms",
  source: `${LIBPP}#"v2 PROXY protocol header: PROXY, TCP over IPv4. TLVs: PP2_TYPE_SSL, ..."`,
  hex: hx(
    SIG,
    "21 11 0064",
    LIBPP_V4_BLOCK,
    "20004e 07 00000000",
    "210007",
    ascii("TLSv1.2"),
    "22000b",
    ascii("example.com"),
    "23001b",
    ascii("ECDHE-RSA-AES128-GCM-SHA256"),
    "240006",
    ascii("SHA256"),
    "250007",
    ascii("RSA2048"),
    "040004 00000000",
  ),
  expect: ok({
    version: 2,
    command: "proxy",
    family: "tcp4",
    source: addr("192.168.10.100", 42332),
    destination: addr("192.168.11.90", 8080),
    headerLength: 116,
    tlvTypes: [0x20, 0x04],
    ssl: {
      client: 7,
      verify: 0,
      version: "TLSv1.2",
      cn: "example.com",
      cipher: "ECDHE-RSA-AES128-GCM-SHA256",
      sigAlg: "SHA256",
      keyAlg: "RSA2048",
      group: null,
      sigScheme: null,
      clientCertHex: null,
    },
  }),
});
add({
  name: "libproxyprotocol pp2_hdr_tlv_overflow: ALPN TLV declares 0xfffd bytes",
  source: `${LIBPP}#"v2 PROXY protocol header: -ERR_PP2_TLV_LENGTH (TLV length overflow)"`,
  hex: hx(SIG, "21 11 0010", LIBPP_V4_BLOCK, "01 fffd 00"),
  expect: err("PP2_TLV_OVERRUN"),
});
add({
  name: "libproxyprotocol pp2_hdr_ssl_too_short: SSL TLV of 2 bytes",
  source: `${LIBPP}#"v2 PROXY protocol header: -ERR_PP2_TYPE_SSL (SSL TLV too short)"`,
  hex: hx(SIG, "21 11 0011", LIBPP_V4_BLOCK, "20 0002 0000"),
  expect: err("PP2_BAD_SSL_TLV"),
});
add({
  name: "libproxyprotocol pp2_hdr_ssl_trailing_bytes: SSL sub-TLVs do not tile the value",
  source: `${LIBPP}#"v2 PROXY protocol header: -ERR_PP2_TYPE_SSL (SSL sub-TLV trailing bytes)"`,
  hex: hx(SIG, "21 11 001c", LIBPP_V4_BLOCK, "20 000d 01 00000000 21 0003 312e32 ffff"),
  expect: err("PP2_BAD_SSL_TLV"),
});
add({
  name: "libproxyprotocol: v1 invalid family XXXXXXX",
  source: `${LIBPP}#"v1 PROXY protocol header: -ERR_PP1_TRANSPORT_FAMILY (invalid family, 15-byte header)"`,
  hex: ascii("PROXY XXXXXXX\r\n"),
  expect: err("PP1_BAD_PROTOCOL"),
});
add({
  name: "libproxyprotocol: v1 108 bytes without CRLF",
  source: `${LIBPP}#"v1 PROXY protocol header: -ERR_PP1_CRLF (buffer >= 108 bytes, no CRLF)"`,
  hex: ascii(`PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535 ${"A".repeat(53)}`),
  expect: err("PP1_NO_CRLF"),
});
add({
  name: "libproxyprotocol: v1 destination port with trailing garbage",
  source: `${LIBPP}#"v1 PROXY protocol header: -ERR_PP1_DST_PORT (trailing garbage)"`,
  hex: ascii("PROXY TCP4 1.2.3.4 5.6.7.8 80 443a\r\n"),
  expect: err("PP1_BAD_PORT"),
});

// =============================================================================================
// Apache Traffic Server

const ATS_V1 = `${ATS}#"PROXY Protocol v1 Parser"`;
const ATS_V2 = `${ATS}#"PROXY Protocol v2 Parser"`;
add({
  name: "ats v1: TCP over IPv4",
  source: `${ATS_V1} TCP over IPv4`,
  hex: ascii("PROXY TCP4 192.0.2.1 198.51.100.1 50000 443\r\n"),
  expect: ok({
    version: 1,
    command: "proxy",
    family: "tcp4",
    source: addr("192.0.2.1", 50000),
    destination: addr("198.51.100.1", 443),
    headerLength: 45,
  }),
  note: 'Also the expected output of ATS\'s "ProxyProtocol v1 Builder" TCP over IPv4.',
});
add({
  name: "ats v1: TCP over IPv6 (upper case, uncompressed)",
  source: `${ATS_V1} TCP over IPv6`,
  hex: ascii("PROXY TCP6 2001:0DB8:0:0:0:0:0:1 2001:0DB8:0:0:0:0:0:2 50000 443\r\n"),
  expect: ok({
    version: 1,
    command: "proxy",
    family: "tcp6",
    source: addr("2001:db8::1", 50000),
    destination: addr("2001:db8::2", 443),
    headerLength: 66,
  }),
});
add({
  name: "ats v1 builder: TCP over IPv6",
  source: `${ATS}#"ProxyProtocol v1 Builder" TCP over IPv6`,
  hex: ascii("PROXY TCP6 2001:db8:0:1:: 2001:db8:0:2:: 50000 443\r\n"),
  expect: ok({
    version: 1,
    command: "proxy",
    family: "tcp6",
    source: addr("2001:db8:0:1::", 50000),
    destination: addr("2001:db8:0:2::", 443),
    headerLength: 52,
  }),
});
const ATS_INCOMPLETE_NOTE =
  "ATS parses a complete buffer and rejects at once; linkgate's streaming decoder waits for the CRLF (up to 107 bytes), and the receiver rejects on EOF or timeout. Both refuse the connection.";
const atsV1Malformed: [string, string, ErrorCode, string?][] = [
  ["lack of fields: PROXY TCP4", "PROXY TCP4", "PP_INCOMPLETE", ATS_INCOMPLETE_NOTE],
  ["lack of fields: one address", "PROXY TCP4 192.0.2.1", "PP_INCOMPLETE", ATS_INCOMPLETE_NOTE],
  [
    "lack of fields: no ports",
    "PROXY TCP4 192.0.2.1 198.51.100.1\r\n",
    "PP1_BAD_FIELD_COUNT",
    "ATS lists this line twice.",
  ],
  [
    "lack of fields: empty destination port",
    "PROXY TCP4 192.0.2.1 198.51.100.1 50000 \r\n",
    "PP1_BAD_SEPARATOR",
  ],
  ["invalid preface PROX", "PROX TCP4 192.0.2.1 198.51.100.1 50000 443\r\n", "PP1_BAD_SIGNATURE"],
  ["invalid preface PROXZ", "PROXZ TCP4 192.0.2.1 198.51.100.1 50000 443\r\n", "PP1_BAD_SIGNATURE"],
  ["invalid protocol TCP1", "PROXY TCP1 192.0.2.1 198.51.100.1 50000 443\r\n", "PP1_BAD_PROTOCOL"],
  ["invalid protocol UDP4", "PROXY UDP4 192.0.2.1 198.51.100.1 50000 443\r\n", "PP1_BAD_PROTOCOL"],
  [
    "extra space after PROXY",
    "PROXY  TCP4 192.0.2.1 198.51.100.1 50000 443\r\n",
    "PP1_BAD_SEPARATOR",
  ],
  [
    "extra space after TCP4",
    "PROXY TCP4  192.0.2.1 198.51.100.1 50000 443\r\n",
    "PP1_BAD_SEPARATOR",
  ],
  [
    "extra space after source",
    "PROXY TCP4 192.0.2.1  198.51.100.1 50000 443\r\n",
    "PP1_BAD_SEPARATOR",
  ],
  [
    "extra space after destination",
    "PROXY TCP4 192.0.2.1 198.51.100.1  50000 443\r\n",
    "PP1_BAD_SEPARATOR",
  ],
  [
    "extra space after source port",
    "PROXY TCP4 192.0.2.1 198.51.100.1 50000  443\r\n",
    "PP1_BAD_SEPARATOR",
  ],
  [
    "trailing space before CRLF",
    "PROXY TCP4 192.0.2.1 198.51.100.1 50000 443 \r\n",
    "PP1_BAD_SEPARATOR",
  ],
  ["no CRLF", "PROXY TCP4 192.0.2.1 198.51.100.1 50000 443", "PP_INCOMPLETE", ATS_INCOMPLETE_NOTE],
  ["LF only", "PROXY TCP4 192.0.2.1 198.51.100.1 50000 443\n", "PP1_BAD_LINE_ENDING"],
  [
    "CR only",
    "PROXY TCP4 192.0.2.1 198.51.100.1 50000 443\r",
    "PP_INCOMPLETE",
    "A CR at the very end of the input may still be followed by LF, so it is not yet invalid; ATS rejects its complete buffer at once. A CR followed by anything else is PP1_BAD_LINE_ENDING.",
  ],
];
for (const [what, line, code, note] of atsV1Malformed) {
  add({
    name: `ats v1 malformed: ${what}`,
    source: `${ATS_V1} Malformed Headers`,
    hex: ascii(line),
    expect: err(code),
    ...(note === undefined ? {} : { note }),
  });
}

add({
  name: "ats v2: TCP over IPv4 without TLVs",
  source: `${ATS_V2} TCP over IPv4 without TLVs`,
  hex: v2(0x21, 0x11, ATS_V4_BLOCK),
  expect: ok({
    version: 2,
    command: "proxy",
    family: "tcp4",
    transport: "stream",
    source: addr("192.0.2.1", 50000),
    destination: addr("198.51.100.1", 443),
    headerLength: 28,
  }),
  note: 'Also the expected output of ATS\'s "ProxyProtocol v2 Builder" TCP over IPv4.',
});
add({
  name: "ats v2: TCP over IPv6 without TLVs",
  source: `${ATS_V2} TCP over IPv6 without TLVs`,
  hex: v2(0x21, 0x21, ATS_V6_BLOCK),
  expect: ok({
    version: 2,
    command: "proxy",
    family: "tcp6",
    transport: "stream",
    source: addr("2001:db8:0:1::", 50000),
    destination: addr("2001:db8:0:2::", 443),
    headerLength: 52,
  }),
  note: 'Also the expected output of ATS\'s "ProxyProtocol v2 Builder" TCP over IPv6.',
});
add({
  name: "ats v2: LOCAL with fam UNSPEC and a 36-byte address block",
  source: `${ATS_V2} LOCAL command - health check`,
  hex: v2(0x20, 0x00, ATS_V6_BLOCK),
  expect: ok({ version: 2, command: "local", family: "unspec", headerLength: 52 }),
  note: "LOCAL: skip len bytes whatever they hold. Parsing these 36 bytes as TLVs would fail; linkgate keeps them opaque (no TLVs).",
});
add({
  name: "ats v2: PROXY with fam UNSPEC and a 36-byte address block",
  source: `${ATS_V2} UNSPEC - unknown/unspecified/unsupported transport protocol & address family`,
  hex: v2(0x21, 0x00, ATS_V6_BLOCK),
  expect: err("PP2_TLV_OVERRUN"),
  note: 'ATS rejects every PROXY+UNSPEC header. The spec lets the receiver accept (using the real addresses) or reject, and linkgate accepts PROXY+UNSPEC (see "go-proxyproto fuzz_test sweep: PROXY fam 0x00" and the reference\'s detection vector). This one is still rejected, for another reason: UNSPEC has no address block, so the 36 bytes after the fixed part are the TLV area, and they are not TLVs (20 010d declares 269 bytes).',
});
add({
  name: "ats v2: TCP4 with an ALPN TLV h2",
  source: `${ATS_V2} TLVs`,
  hex: v2(0x21, 0x11, ATS_V4_BLOCK, tlv(0x01, ascii("h2"))),
  expect: ok({
    version: 2,
    command: "proxy",
    family: "tcp4",
    source: addr("192.0.2.1", 50000),
    destination: addr("198.51.100.1", 443),
    headerLength: 33,
    tlvTypes: [0x01],
    alpn: "h2",
  }),
});
add({
  name: "ats v2 malformed: invalid preface",
  source: `${ATS_V2} Malformed Headers / invalid preface`,
  hex: hx("deadbeefdeadbeefdeadbeef", "21 21 0024", ATS_V6_BLOCK),
  expect: err("PP_MISSING_HEADER"),
});
add({
  name: "ats v2 malformed: version & command 0xff",
  source: `${ATS_V2} Malformed Headers / unsupported version & command`,
  hex: hx(SIG, "ff 21 0024", ATS_V6_BLOCK),
  expect: err("PP2_BAD_VERSION"),
});
add({
  name: "ats v2 malformed: family 0xff",
  source: `${ATS_V2} Malformed Headers / unsupported protocol & family`,
  hex: hx(SIG, "21 ff 0024", ATS_V6_BLOCK),
  expect: err("PP2_BAD_FAMILY"),
});
const ATS_V2_INCOMPLETE_NOTE =
  "ATS treats its buffer as all there is and rejects; linkgate's streaming decoder waits for the bytes the length promises (and the receiver rejects on EOF or timeout).";
add({
  name: "ats v2 malformed: len 0x25 with 36 bytes present",
  source: `${ATS_V2} Malformed Headers / invalid len value - too long`,
  hex: hx(SIG, "21 21 0025", ATS_V6_BLOCK),
  expect: err("PP_INCOMPLETE"),
  note: `${ATS_V2_INCOMPLETE_NOTE} If one more byte arrives, the 1-byte TLV area is PP2_TLV_LEFTOVER.`,
});
add({
  name: "ats v2 malformed: buffer one byte shorter than len",
  source: `${ATS_V2} Malformed Headers / invalid len - actual buffer is shorter than the value`,
  hex: hx(SIG, "21 21 0024", ATS_V6_BLOCK.slice(0, -2)),
  expect: err("PP_INCOMPLETE"),
  note: ATS_V2_INCOMPLETE_NOTE,
});
add({
  name: "ats v2 malformed: 8 address bytes for INET",
  source: `${ATS_V2} Malformed Headers / invalid len - too short for INET`,
  hex: hx(SIG, "21 11 000c", "c000 c633 c350 01bb"),
  expect: err("PP_INCOMPLETE"),
  note: ATS_V2_INCOMPLETE_NOTE,
});
add({
  name: "ats v2 malformed: 20 address bytes for INET6",
  source: `${ATS_V2} Malformed Headers / invalid len - too short for INET6`,
  hex: hx(SIG, "21 21 0024", "20010db800000001 20010db800000002 c350 01bb"),
  expect: err("PP_INCOMPLETE"),
  note: ATS_V2_INCOMPLETE_NOTE,
});

// =============================================================================================
// Twisted

add({
  name: "twisted v1: missing PROXY",
  source: `${TWISTED_V1}#test_missingPROXYHeaderValue`,
  hex: ascii("NOTPROXY \r\n"),
  expect: err("PP_MISSING_HEADER"),
  note: TWISTED_V1_NOTE,
});
add({
  name: "twisted v1: invalid network protocol",
  source: `${TWISTED_V1}#test_invalidNetworkProtocol`,
  hex: ascii("PROXY WUTPROTO \r\n"),
  expect: err("PP1_BAD_PROTOCOL"),
  note: TWISTED_V1_NOTE,
});
add({
  name: "twisted v1: missing source data",
  source: `${TWISTED_V1}#test_missingSourceData`,
  hex: ascii("PROXY TCP4 \r\n"),
  expect: err("PP1_BAD_SEPARATOR"),
  note: `${TWISTED_V1_NOTE} Twisted says MissingAddressData; linkgate sees an empty field after the last space.`,
});
add({
  name: "twisted v1: missing destination data",
  source: `${TWISTED_V1}#test_missingDestData`,
  hex: ascii("PROXY TCP4 127.0.0.1 8080 8888\r\n"),
  expect: err("PP1_BAD_FIELD_COUNT"),
  note: TWISTED_V1_NOTE,
});
add({
  name: "twisted v1: full parsing, TCP4",
  source: `${TWISTED_V1}#test_fullParsingSuccess`,
  hex: ascii("PROXY TCP4 127.0.0.1 127.0.0.1 8080 8888\r\n"),
  expect: ok({
    version: 1,
    command: "proxy",
    family: "tcp4",
    source: addr("127.0.0.1", 8080),
    destination: addr("127.0.0.1", 8888),
    headerLength: 42,
  }),
  note: `${TWISTED_V1_NOTE} Also test_feedParsing, which feeds the same line in three chunks.`,
});
add({
  name: "twisted v1: full parsing, TCP6",
  source: `${TWISTED_V1}#test_fullParsingSuccess_IPv6`,
  hex: ascii("PROXY TCP6 ::1 ::1 8080 8888\r\n"),
  expect: ok({
    version: 1,
    command: "proxy",
    family: "tcp6",
    source: addr("::1", 8080),
    destination: addr("::1", 8888),
    headerLength: 30,
  }),
  note: TWISTED_V1_NOTE,
});
add({
  name: "twisted v1: full parsing, UNKNOWN with anything after it",
  source: `${TWISTED_V1}#test_fullParsingSuccess_UNKNOWN`,
  hex: ascii("PROXY UNKNOWN anything could go here\r\n"),
  expect: ok({ version: 1, command: "proxy", family: "unspec", headerLength: 38 }),
  note: TWISTED_V1_NOTE,
});
add({
  name: "twisted v1: no CRLF within 108 bytes",
  source: `${TWISTED_V1}#test_feedParsingTooLong`,
  hex: ascii(`PROXY TCP4 127.0.0.1 127.0.0.1 8080 8888${" ".repeat(100)}`),
  expect: err("PP1_NO_CRLF"),
});
add({
  name: "twisted v1: bytes after the line are left over",
  source: `${TWISTED_V1}#test_feedParsingOverflow`,
  hex: ascii("PROXY TCP4 127.0.0.1 127.0.0.1 8080 8888\r\n"),
  trailing: ascii("HTTP/1.1 GET /\r\n"),
  expect: ok({
    version: 1,
    command: "proxy",
    family: "tcp4",
    source: addr("127.0.0.1", 8080),
    destination: addr("127.0.0.1", 8888),
    headerLength: 42,
  }),
});

const twV2Ok = (verCmd: number, fam: number, block: string, e: Omit<ExpectOk, "ok">) => ({
  hex: v2(verCmd, fam, block),
  expect: ok(e),
});
add({
  name: "twisted v2: happy path IPv4",
  source: `${TWISTED_V2}#test_happyPathIPv4`,
  ...twV2Ok(0x21, 0x11, TW_V4_BLOCK, {
    version: 2,
    command: "proxy",
    family: "tcp4",
    transport: "stream",
    source: addr("127.0.0.1", 8080),
    destination: addr("127.0.0.1", 8888),
    headerLength: 28,
  }),
  note: "Also test_proxyCommandIpv4 and test_wrapper.py IPV4HEADER (same bytes).",
});
add({
  name: "twisted v2: happy path IPv6",
  source: `${TWISTED_V2}#test_happyPathIPv6`,
  ...twV2Ok(0x21, 0x21, TW_V6_BLOCK, {
    version: 2,
    command: "proxy",
    family: "tcp6",
    source: addr("::1", 8080),
    destination: addr("::1", 8888),
    headerLength: 52,
  }),
  note: "Also test_proxyCommandIpv6 and test_wrapper.py IPV6HEADER (same bytes).",
});
add({
  name: "twisted v2: happy path UNIX",
  source: `${TWISTED_V2}#test_happyPathUnix`,
  ...twV2Ok(0x21, 0x31, TW_UNIX_BLOCK, {
    version: 2,
    command: "proxy",
    family: "unix",
    transport: "stream",
    source: TW_SOCK,
    destination: TW_SOCK,
    headerLength: 232,
  }),
  note: "Also test_proxyCommandUnix and test_wrapper.py UNIXHEADER (same bytes).",
});
add({
  name: "twisted v2: invalid signature (12 zero bytes)",
  source: `${TWISTED_V2}#test_invalidSignature`,
  hex: hx(zeros(12), "21 11 000c", TW_V4_BLOCK),
  expect: err("PP_MISSING_HEADER"),
});
add({
  name: "twisted v2: invalid version 0x11",
  source: `${TWISTED_V2}#test_invalidVersion`,
  hex: v2(0x11, 0x11, TW_V4_BLOCK),
  expect: err("PP2_BAD_VERSION"),
});
add({
  name: "twisted v2: invalid command 0x23",
  source: `${TWISTED_V2}#test_invalidCommand`,
  hex: v2(0x23, 0x11, TW_V4_BLOCK),
  expect: err("PP2_BAD_COMMAND"),
});
add({
  name: "twisted v2: invalid family 0x40",
  source: `${TWISTED_V2}#test_invalidFamily`,
  hex: v2(0x21, 0x40, TW_V4_BLOCK),
  expect: err("PP2_BAD_FAMILY"),
});
add({
  name: "twisted v2: invalid protocol 0x24",
  source: `${TWISTED_V2}#test_invalidProto`,
  hex: v2(0x21, 0x24, TW_V4_BLOCK),
  expect: err("PP2_BAD_FAMILY"),
});
add({
  name: "twisted v2: LOCAL IPv4",
  source: `${TWISTED_V2}#test_localCommandIpv4`,
  ...twV2Ok(0x20, 0x11, TW_V4_BLOCK, {
    version: 2,
    command: "local",
    family: "tcp4",
    headerLength: 28,
  }),
});
add({
  name: "twisted v2: LOCAL IPv6",
  source: `${TWISTED_V2}#test_localCommandIpv6`,
  ...twV2Ok(0x20, 0x21, TW_V6_BLOCK, {
    version: 2,
    command: "local",
    family: "tcp6",
    headerLength: 52,
  }),
});
add({
  name: "twisted v2: LOCAL UNIX",
  source: `${TWISTED_V2}#test_localCommandUnix`,
  ...twV2Ok(0x20, 0x31, TW_UNIX_BLOCK, {
    version: 2,
    command: "local",
    family: "unix",
    headerLength: 232,
  }),
});
const TW_UNSPEC_NOTE =
  'Twisted accepts it as UNSPEC (no addresses). The spec allows only 0x00, 0x11, 0x12, 0x21, 0x22, 0x31 and 0x32: "Other values are unspecified and must not be emitted in version 2 of this protocol and must be rejected as invalid by receivers."';
const twUnspec: [string, number, string][] = [
  ["test_unspecFamilyIpv4", 0x01, TW_V4_BLOCK],
  ["test_unspecFamilyIpv6", 0x01, TW_V6_BLOCK],
  ["test_unspecFamilyUnix", 0x01, TW_UNIX_BLOCK],
  ["test_unspecProtoIpv4", 0x10, TW_V4_BLOCK],
  ["test_unspecProtoIpv6", 0x20, TW_V6_BLOCK],
  ["test_unspecProtoUnix", 0x30, TW_UNIX_BLOCK],
];
for (const [testName, fam, block] of twUnspec) {
  add({
    name: `twisted v2: ${testName} (fam 0x${byte(fam)})`,
    source: `${TWISTED_V2}#${testName}`,
    hex: v2(0x21, fam, block),
    expect: err("PP2_BAD_FAMILY"),
    note: TW_UNSPEC_NOTE,
  });
}
const TW_OVERFLOW = ascii("TEST DATA\r\n\r\nTEST DATA");
add({
  name: "twisted v2: overflow bytes after an IPv4 header",
  source: `${TWISTED_V2}#test_overflowIpv4`,
  trailing: TW_OVERFLOW,
  ...twV2Ok(0x21, 0x11, TW_V4_BLOCK, {
    version: 2,
    command: "proxy",
    family: "tcp4",
    source: addr("127.0.0.1", 8080),
    destination: addr("127.0.0.1", 8888),
    headerLength: 28,
  }),
});
add({
  name: "twisted v2: overflow bytes after an IPv6 header",
  source: `${TWISTED_V2}#test_overflowIpv6`,
  trailing: TW_OVERFLOW,
  ...twV2Ok(0x21, 0x21, TW_V6_BLOCK, {
    version: 2,
    command: "proxy",
    family: "tcp6",
    source: addr("::1", 8080),
    destination: addr("::1", 8888),
    headerLength: 52,
  }),
});
add({
  name: "twisted v2: overflow bytes after a UNIX header",
  source: `${TWISTED_V2}#test_overflowUnix`,
  trailing: TW_OVERFLOW,
  ...twV2Ok(0x21, 0x31, TW_UNIX_BLOCK, {
    version: 2,
    command: "proxy",
    family: "unix",
    source: TW_SOCK,
    destination: TW_SOCK,
    headerLength: 232,
  }),
});
add({
  name: "twisted v2: segment too small (NEEDMOREDATA)",
  source: `${TWISTED_V2}#test_segmentTooSmall`,
  hex: ascii("NEEDMOREDATA"),
  expect: err("PP_MISSING_HEADER"),
});

add({
  name: "twisted wrapper v1: NOTPROXY line",
  source: `${TWISTED_WRAPPER}#HAProxyWrappingFactoryV1Tests.test_invalidHeaderDisconnects`,
  hex: ascii("NOTPROXY anything can go here\r\n"),
  expect: err("PP_MISSING_HEADER"),
});
add({
  name: "twisted wrapper v1: partial line then the rest",
  source: `${TWISTED_WRAPPER}#HAProxyWrappingFactoryV1Tests.test_invalidPartialHeaderDisconnects`,
  hex: ascii("PROXY TCP4 1.1.1.1\r\n"),
  trailing: ascii("2.2.2.2 8080\r\n"),
  expect: err("PP1_BAD_FIELD_COUNT"),
});
add({
  name: "twisted wrapper v1: TCP4 1.1.1.1 -> 2.2.2.2",
  source: `${TWISTED_WRAPPER}#HAProxyWrappingFactoryV1Tests.test_validIPv4HeaderResolves_getPeerHost`,
  hex: ascii("PROXY TCP4 1.1.1.1 2.2.2.2 8080 8888\r\n"),
  expect: ok({
    version: 1,
    command: "proxy",
    family: "tcp4",
    source: addr("1.1.1.1", 8080),
    destination: addr("2.2.2.2", 8888),
    headerLength: 38,
  }),
});
const TW_V6_LINE = ascii("PROXY TCP6 ::1 ::2 8080 8888\r\n");
const TW_V6_LINE_EXPECT = ok({
  version: 1,
  command: "proxy",
  family: "tcp6",
  source: addr("::1", 8080),
  destination: addr("::2", 8888),
  headerLength: 30,
});
add({
  name: "twisted wrapper v1: TCP6 ::1 -> ::2",
  source: `${TWISTED_WRAPPER}#HAProxyWrappingFactoryV1Tests.test_validIPv6HeaderResolves_getPeerHost`,
  hex: TW_V6_LINE,
  expect: TW_V6_LINE_EXPECT,
});
add({
  name: "twisted wrapper v1: overflow bytes go to the wrapped protocol",
  source: `${TWISTED_WRAPPER}#HAProxyWrappingFactoryV1Tests.test_overflowBytesSentToWrappedProtocol`,
  hex: TW_V6_LINE,
  trailing: ascii("HTTP/1.1 / GET"),
  expect: TW_V6_LINE_EXPECT,
  note: "Also test_overflowBytesSentToWrappedProtocolChunks (same bytes, split after 'PROXY TCP6 ::1 ::2 ').",
});
add({
  name: "twisted wrapper v1: all later data goes to the wrapped protocol",
  source: `${TWISTED_WRAPPER}#HAProxyWrappingFactoryV1Tests.test_overflowBytesSentToWrappedProtocolAfter`,
  hex: TW_V6_LINE,
  trailing: ascii("HTTP/1.1 / GET\r\n\r\n"),
  expect: TW_V6_LINE_EXPECT,
});
add({
  name: "twisted wrapper v2: first signature byte replaced by 0x00",
  source: `${TWISTED_WRAPPER}#HAProxyWrappingFactoryV2Tests.test_invalidHeaderDisconnects`,
  hex: hx("00", v2(0x21, 0x11, TW_V4_BLOCK).slice(2)),
  expect: err("PP_MISSING_HEADER"),
});
add({
  name: "twisted wrapper v2: overflow bytes after an IPv6 header",
  source: `${TWISTED_WRAPPER}#HAProxyWrappingFactoryV2Tests.test_overflowBytesSentToWrappedProtocol`,
  trailing: ascii("HTTP/1.1 / GET"),
  ...twV2Ok(0x21, 0x21, TW_V6_BLOCK, {
    version: 2,
    command: "proxy",
    family: "tcp6",
    source: addr("::1", 8080),
    destination: addr("::1", 8888),
    headerLength: 52,
  }),
  note: "Also test_overflowBytesSentToWrappedProtocolChunks (same bytes, split after byte 18).",
});

// =============================================================================================
// go-proxyproto v1_test.go

const GO_V1 = `${GO} v1_test.go`;
const GO_V1_INVALID = `${GO_V1}#invalidParseV1Tests`;
const goV1Invalid: [string, string, ErrorCode, string?][] = [
  ["no signature", "There is no spoon", "PP_MISSING_HEADER"],
  [
    "prox",
    "PROX",
    "PP_INCOMPLETE",
    'go-proxyproto says ErrNoProxyProtocol because its reader hits EOF; "PROX" is a prefix of "PROXY ", so linkgate waits for more bytes.',
  ],
  ["proxy lf", "PROXY \n", "PP1_BAD_LINE_ENDING"],
  [
    "proxy crlf",
    "PROXY \r\n",
    "PP1_BAD_PROTOCOL",
    "Nothing after the space that follows PROXY: no protocol.",
  ],
  ["proxy no space crlf", "PROXY\r\n", "PP1_BAD_SIGNATURE"],
  ["proxy something crlf", "PROXY SOMETHING\r\n", "PP1_BAD_PROTOCOL"],
  [
    "incomplete signature TCP4",
    "PROXY TCP4 127.0.0.1 127.0.0.1 65533 65533",
    "PP_INCOMPLETE",
    "No CRLF yet and fewer than 107 bytes: linkgate waits; go-proxyproto fails on EOF.",
  ],
  ["invalid IP address", "PROXY TCP4 invalid invalid 65533 65533\r\n", "PP1_BAD_ADDRESS"],
  ["TCP4 with IPv6 addresses", "PROXY TCP4 ::1 ::1 65533 65533\r\n", "PP1_BAD_ADDRESS"],
  [
    "TCP4 with IPv4 mapped addresses",
    "PROXY TCP4 ::ffff:127.0.0.1 ::ffff:127.0.0.1 65533 65533\r\n",
    "PP1_BAD_ADDRESS",
  ],
  ["TCP6 with invalid address", "PROXY TCP6 not-an-ip ::1 1234 5678\r\n", "PP1_BAD_ADDRESS"],
  ["TCP4 with invalid port", "PROXY TCP4 127.0.0.1 127.0.0.1 99999 99999\r\n", "PP1_BAD_PORT"],
  [
    "header too long",
    "PROXY UNKNOWN 1234:5678:9abc:def0:cafe:babe:dead:2bad 1234:5678:9abc:def0:cafe:babe:dead:2bad 65533 65533 \r\n",
    "PP1_NO_CRLF",
    "108 bytes: the CRLF ends past byte 107.",
  ],
  ["TCP4 with signed port", "PROXY TCP4 1.2.3.4 5.6.7.8 +80 443\r\n", "PP1_BAD_PORT"],
  ["TCP4 with leading-zero port", "PROXY TCP4 1.2.3.4 5.6.7.8 080 443\r\n", "PP1_BAD_PORT"],
  [
    "TCP4 with empty port token",
    "PROXY TCP4 1.2.3.4 5.6.7.8  443\r\n",
    "PP1_BAD_SEPARATOR",
    "go-proxyproto says ErrInvalidPortNumber; linkgate sees two spaces in a row.",
  ],
  [
    "TCP4 with trailing token",
    "PROXY TCP4 1.2.3.4 5.6.7.8 80 443 extra\r\n",
    "PP1_BAD_FIELD_COUNT",
  ],
  [
    "signature with trailing garbage",
    "PROXYjunk TCP4 1.2.3.4 5.6.7.8 80 443\r\n",
    "PP1_BAD_SIGNATURE",
  ],
  ["signature glued to protocol", "PROXYTCP4 1.2.3.4 5.6.7.8 80 443\r\n", "PP1_BAD_SIGNATURE"],
  [
    "TCP6 with zoned source address",
    "PROXY TCP6 fe80::1%eth0 fe80::2 80 443\r\n",
    "PP1_BAD_ADDRESS",
  ],
  [
    "TCP6 with zoned destination address",
    "PROXY TCP6 fe80::1 fe80::2%eth0 80 443\r\n",
    "PP1_BAD_ADDRESS",
  ],
  ["TCP4 with leading-zero octet", "PROXY TCP4 01.2.3.4 5.6.7.8 80 443\r\n", "PP1_BAD_ADDRESS"],
  [
    "TCP6 with plain IPv4 addresses",
    "PROXY TCP6 192.0.2.1 192.0.2.2 1234 5678\r\n",
    "PP1_BAD_ADDRESS",
    "go-proxyproto accepts it only with its opt-in V1AcceptIPv4InTCP6 (nginx OSS compatibility, TestParseV1IPv4InTCP6Compat); linkgate has no such mode.",
  ],
  [
    "TCP6 with plain IPv4 destination",
    "PROXY TCP6 2001:db8::1 192.0.2.1 51512 22\r\n",
    "PP1_BAD_ADDRESS",
    "go-proxyproto accepts it only with its opt-in V1AcceptIPv4InTCP6; linkgate has no such mode.",
  ],
];
for (const [desc, line, code, note] of goV1Invalid) {
  add({
    name: `go-proxyproto v1 invalid: ${desc}`,
    source: `${GO_V1_INVALID} ${desc}`,
    hex: ascii(line),
    expect: err(code),
    ...(note === undefined ? {} : { note }),
  });
}
add({
  name: "go-proxyproto v1: TCP6 with IPv4 source, IPv6 destination",
  source: `${GO_V1}#TestParseV1IPv4InTCP6Compat TCP6 IPv4 src IPv6 dst`,
  hex: ascii("PROXY TCP6 192.0.2.1 2001:db8::1 51512 22\r\n"),
  expect: err("PP1_BAD_ADDRESS"),
  note: 'go-proxyproto accepts it in its opt-in V1AcceptIPv4InTCP6 mode (the test) and rejects it by default. The spec: "the advertised protocol family dictates what format to use".',
});
const GO_V1_VALID = `${GO_V1}#validParseAndWriteV1Tests`;
add({
  name: "go-proxyproto v1 valid: TCP4",
  source: `${GO_V1_VALID} TCP4`,
  hex: ascii("PROXY TCP4 127.0.0.1 127.0.0.1 65533 65533\r\n"),
  trailing: ascii("GET /"),
  expect: ok({
    version: 1,
    command: "proxy",
    family: "tcp4",
    source: GO_V4,
    destination: GO_V4,
    headerLength: 44,
  }),
});
add({
  name: "go-proxyproto v1 valid: TCP6",
  source: `${GO_V1_VALID} TCP6`,
  hex: ascii("PROXY TCP6 ::1 ::1 65533 65533\r\n"),
  trailing: ascii("GET /"),
  expect: ok({
    version: 1,
    command: "proxy",
    family: "tcp6",
    source: GO_V6,
    destination: GO_V6,
    headerLength: 32,
  }),
});
add({
  name: "go-proxyproto v1 valid: TCP6 with IPv4-mapped addresses",
  source: `${GO_V1_VALID} TCP4IN6`,
  hex: ascii("PROXY TCP6 ::ffff:127.0.0.1 ::ffff:127.0.0.1 65533 65533\r\n"),
  trailing: ascii("GET /"),
  expect: ok({
    version: 1,
    command: "proxy",
    family: "tcp6",
    source: addr("::ffff:127.0.0.1", 65533),
    destination: addr("::ffff:127.0.0.1", 65533),
    headerLength: 58,
  }),
});
add({
  name: "go-proxyproto v1 valid: UNKNOWN with addresses and invalid ports",
  source: `${GO_V1_VALID} unknown with addresses and ports`,
  hex: ascii("PROXY UNKNOWN 127.0.0.1 127.0.0.1 99999 99999\r\n"),
  expect: ok({ version: 1, command: "proxy", family: "unspec", headerLength: 47 }),
  note: 'The spec: for UNKNOWN "the receiver must ignore anything presented before the CRLF", even ports out of range.',
});
const GO_V1_BOUNDS = `${GO_V1}#TestParseV1Boundaries`;
add({
  name: "go-proxyproto v1 boundaries: port 65535 accepted",
  source: `${GO_V1_BOUNDS} port 65535 accepted`,
  hex: ascii("PROXY TCP4 1.2.3.4 5.6.7.8 65535 65535\r\n"),
  expect: ok({
    version: 1,
    command: "proxy",
    family: "tcp4",
    source: addr("1.2.3.4", 65535),
    destination: addr("5.6.7.8", 65535),
    headerLength: 40,
  }),
});
add({
  name: "go-proxyproto v1 boundaries: port 65536 rejected",
  source: `${GO_V1_BOUNDS} port 65536 rejected`,
  hex: ascii("PROXY TCP4 1.2.3.4 5.6.7.8 65536 443\r\n"),
  expect: err("PP1_BAD_PORT"),
});
add({
  name: "go-proxyproto v1 boundaries: 107-byte UNKNOWN line accepted",
  source: `${GO_V1_BOUNDS} 107-byte line accepted`,
  hex: ascii(`PROXY UNKNOWN ${"x".repeat(91)}\r\n`),
  expect: ok({ version: 1, command: "proxy", family: "unspec", headerLength: 107 }),
});
add({
  name: "go-proxyproto v1 boundaries: 108-byte UNKNOWN line rejected",
  source: `${GO_V1_BOUNDS} 108-byte line rejected`,
  hex: ascii(`PROXY UNKNOWN ${"x".repeat(92)}\r\n`),
  expect: err("PP1_NO_CRLF"),
});
const GO_TCP6_LONG = ascii(
  "PROXY TCP6 1234:5678:9abc:def0:cafe:babe:dead:2bad 1234:5678:9abc:def0:cafe:babe:dead:2bad 65533 65533",
);
add({
  name: "go-proxyproto v1: 10 KiB line (overflow, issue #69)",
  source: `${GO_V1}#TestVersion1Overflow`,
  hex: hx(GO_TCP6_LONG, "20".repeat(10238), "0d0a"),
  expect: err("PP1_NO_CRLF"),
  note: "CVE-2021-23351: a receiver must give up after 107 bytes without CRLF instead of buffering the line.",
});
add({
  name: "go-proxyproto v1: slowloris, line without CRLF",
  source: `${GO_V1}#TestVersion1SlowLoris`,
  hex: GO_TCP6_LONG,
  expect: err("PP_INCOMPLETE"),
  note: "102 bytes and no CRLF yet: linkgate waits (the receiver's header timeout ends it); go-proxyproto rejects an incomplete line after one read.",
});
add({
  name: "go-proxyproto v1: slowloris with 10 KiB of spaces and no CRLF",
  source: `${GO_V1}#TestVersion1SlowLorisOverflow`,
  hex: hx(GO_TCP6_LONG, "20".repeat(10240)),
  expect: err("PP1_NO_CRLF"),
});

// go-proxyproto header_test.go, protocol_test.go, udp_test.go: v1 lines around real connections.
add({
  name: "go-proxyproto: v1 header followed by payload (ReadHeaderTimeout)",
  source: `${GO} header_test.go#TestReadHeaderTimeoutParsesHeaderAndPreservesPayload`,
  hex: ascii("PROXY TCP4 127.0.0.1 127.0.0.2 12345 443\r\n"),
  trailing: ascii("hello"),
  expect: ok({
    version: 1,
    command: "proxy",
    family: "tcp4",
    source: addr("127.0.0.1", 12345),
    destination: addr("127.0.0.2", 443),
    headerLength: 42,
  }),
});
add({
  name: "go-proxyproto: v1 header 10.1.1.1 -> 20.2.2.2 followed by ping",
  source: `${GO} protocol_test.go (line 348)`,
  hex: ascii("PROXY TCP4 10.1.1.1 20.2.2.2 1000 2000\r\n"),
  trailing: ascii("ping"),
  expect: ok({
    version: 1,
    command: "proxy",
    family: "tcp4",
    source: addr("10.1.1.1", 1000),
    destination: addr("20.2.2.2", 2000),
    headerLength: 40,
  }),
  note: "The same line without payload is in header_test.go (TestReadHeaderTimeout*).",
});
add({
  name: "go-proxyproto: v1 header with a non-numeric port",
  source: `${GO} header_test.go#TestReadHeaderTimeoutPropagatesParseError`,
  hex: ascii("PROXY TCP4 10.1.1.1 20.2.2.2 notaport 2000\r\n"),
  expect: err("PP1_BAD_PORT"),
});
add({
  name: "go-proxyproto: v1 header 192.168.1.1 -> 192.168.1.2",
  source: `${GO} protocol_test.go (line 2252)`,
  hex: ascii("PROXY TCP4 192.168.1.1 192.168.1.2 12345 443\r\n"),
  expect: ok({
    version: 1,
    command: "proxy",
    family: "tcp4",
    source: addr("192.168.1.1", 12345),
    destination: addr("192.168.1.2", 443),
    headerLength: 46,
  }),
});
const GO_1234_LINE = ascii("PROXY TCP4 1.2.3.4 5.6.7.8 80 443\r\n");
const GO_1234_EXPECT = ok({
  version: 1,
  command: "proxy",
  family: "tcp4",
  source: addr("1.2.3.4", 80),
  destination: addr("5.6.7.8", 443),
  headerLength: 35,
});
add({
  name: "go-proxyproto fuzz seed: v1 TCP4 1.2.3.4 -> 5.6.7.8",
  source: `${GO} fuzz_test.go#FuzzRead seed`,
  hex: GO_1234_LINE,
  expect: GO_1234_EXPECT,
});
add({
  name: "go-proxyproto: v1 TCP4 1.2.3.4 -> 5.6.7.8 followed by PAYLOAD",
  source: `${GO} protocol_test.go (line 2722)`,
  hex: GO_1234_LINE,
  trailing: ascii("PAYLOAD"),
  expect: GO_1234_EXPECT,
  note: 'The same line is followed by "AB" and "ping" in two more tests of protocol_test.go.',
});
const GO_UDP_PAYLOAD = ascii("proxied application datagram");
add({
  name: "go-proxyproto udp: v1 header with a datagram payload",
  source: `${GO} udp_test.go#TestParseUDPDatagram v1 header with payload`,
  hex: GO_1234_LINE,
  trailing: GO_UDP_PAYLOAD,
  expect: GO_1234_EXPECT,
});
add({
  name: "go-proxyproto: a prefix of PROXY",
  source: `${GO} header_test.go#TestReadPropagatesPeekErrors v1 signature prefix`,
  hex: ascii("PR"),
  expect: err("PP_INCOMPLETE"),
});
add({
  name: "go-proxyproto: a prefix of the v2 signature",
  source: `${GO} header_test.go#TestReadPropagatesPeekErrors v2 signature prefix`,
  hex: SIG.slice(0, 12),
  expect: err("PP_INCOMPLETE"),
});

// =============================================================================================
// go-proxyproto v2_test.go

const GO_V2 = `${GO} v2_test.go`;
const GO_V2_INVALID = `${GO_V2}#invalidParseV2Tests`;
const GO_EARLY_NOTE =
  "Fewer than 16 bytes: like go-proxyproto, linkgate rejects a bad version, command or family byte as soon as it arrives; a prefix that is still valid is incomplete.";
const goV2Invalid: [string, string, ErrorCode, string?][] = [
  ["truncated v2 signature", SIG.slice(4), "PP2_BAD_SIGNATURE"],
  ["v2 signature and nothing else", SIG, "PP_INCOMPLETE"],
  ["v2 signature with invalid command", hx(SIG, "99"), "PP2_BAD_VERSION", GO_EARLY_NOTE],
  ["v2 signature with command but nothing else", hx(SIG, "21"), "PP_INCOMPLETE"],
  [
    "command proxy but inet family unspec",
    hx(SIG, "21 00"),
    "PP_INCOMPLETE",
    `${GO_EARLY_NOTE} go-proxyproto rejects PROXY with fam UNSPEC outright; the spec lets a receiver accept it, and linkgate does once the header is complete.`,
  ],
  [
    "v2 signature with command and invalid inet family",
    hx(SIG, "21 99"),
    "PP2_BAD_FAMILY",
    GO_EARLY_NOTE,
  ],
  ["TCPv4 but no length", hx(SIG, "21 11"), "PP_INCOMPLETE"],
  ["TCPv4 but invalid length", hx(SIG, "21 11 99"), "PP_INCOMPLETE"],
  ["unspec but no length", hx(SIG, "20 00"), "PP_INCOMPLETE"],
  ["TCPv4 with mismatching length", hx(SIG, "21 11 000c"), "PP_INCOMPLETE"],
  ["TCPv6 with mismatching length", hx(SIG, "21 21 0024"), "PP_INCOMPLETE"],
  [
    "TCPv4 length zero but with address and ports",
    hx(SIG, "21 11 0000", GO_V6_BLOCK),
    "PP2_ADDRESS_TRUNCATED",
  ],
  [
    "TCPv6 with IPv6 length but IPv4 address and ports",
    hx(SIG, "21 21 0024", GO_V4_BLOCK),
    "PP_INCOMPLETE",
  ],
  [
    "unspec length greater than zero but no TLVs",
    hx(SIG, "20 00 0064"),
    "PP_INCOMPLETE",
    "The length field is the first two bytes of fixtureUnspecTLV (100 bytes of TLVs), none of which follow.",
  ],
  [
    "TCPv4 with too large TLV",
    hx(SIG, "21 11", u16(12 + 10240), GO_V4_BLOCK, zeros(10240)),
    "PP2_HEADER_TOO_LARGE",
  ],
  ["IPv4 family with undefined transport 0x13", hx(SIG, "21 13 000c"), "PP2_BAD_FAMILY"],
  [
    "version nibble 0x1 with valid PROXY command nibble",
    hx(SIG, "11"),
    "PP2_BAD_VERSION",
    GO_EARLY_NOTE,
  ],
  ["LOCAL TCPv4 with mismatching length", hx(SIG, "20 11 000c"), "PP_INCOMPLETE"],
  ["unix stream with mismatching length", hx(SIG, "21 31 00d8"), "PP_INCOMPLETE"],
  ["TCPv4 with truncated TLV bytes", hx(SIG, "21 11 0014", GO_V4_BLOCK, zeros(3)), "PP_INCOMPLETE"],
  ["LOCAL TCPv4 short block truncated on the wire", hx(SIG, "20 11 0005 aabb"), "PP_INCOMPLETE"],
];
for (const [desc, hex, code, note] of goV2Invalid) {
  add({
    name: `go-proxyproto v2 invalid: ${desc}`,
    source: `${GO_V2_INVALID} ${desc}`,
    hex,
    expect: err(code),
    ...(note === undefined ? {} : { note }),
  });
}
add({
  name: "go-proxyproto v2: length == MaxV2HeaderSize (4096)",
  source: `${GO_V2}#TestParseV2MaxHeaderSizeBoundary`,
  hex: v2(0x21, 0x11, zeros(4096)),
  expect: err("PP2_HEADER_TOO_LARGE"),
  note: "go-proxyproto caps the length field at 4096 and accepts this 4112-byte header; linkgate's default cap (maxHeaderSize 4096) is on the whole header, 16 + len, like nginx's NGX_PROXY_PROTOCOL_MAX_HEADER.",
});
add({
  name: "go-proxyproto v2: length == MaxV2HeaderSize + 1",
  source: `${GO_V2}#TestParseV2MaxHeaderSizeBoundary`,
  hex: v2(0x21, 0x11, zeros(4097)),
  expect: err("PP2_HEADER_TOO_LARGE"),
});

const GO_V2_VALID = `${GO_V2}#validParseAndWriteV2Tests`;
add({
  name: "go-proxyproto v2 valid: LOCAL TCPv4 with its address block",
  source: `${GO_V2_VALID} local`,
  hex: v2(0x20, 0x11, GO_V4_BLOCK),
  expect: ok({ version: 2, command: "local", family: "tcp4", headerLength: 28 }),
  note: "go-proxyproto decodes the informational addresses of a LOCAL header; linkgate reports none (LOCAL means use the real endpoints).",
});
const goV2Valid: [string, number, string, Family, ExpectedAddress, number][] = [
  ["proxy TCPv4", 0x11, GO_V4_BLOCK, "tcp4", GO_V4, 28],
  ["proxy TCPv6", 0x21, GO_V6_BLOCK, "tcp6", GO_V6, 52],
  ["proxy UDPv4", 0x12, GO_V4_BLOCK, "udp4", GO_V4, 28],
  ["proxy UDPv6", 0x22, GO_V6_BLOCK, "udp6", GO_V6, 52],
  ["proxy unix stream", 0x31, GO_UNIX_BLOCK, "unix", addr("socket", null), 232],
  ["proxy unix datagram", 0x32, GO_UNIX_BLOCK, "unix", addr("socket", null), 232],
];
for (const [desc, fam, block, family, a, headerLength] of goV2Valid) {
  add({
    name: `go-proxyproto v2 valid: ${desc}`,
    source: `${GO_V2_VALID} ${desc}`,
    hex: v2(0x21, fam, block),
    expect: ok({
      version: 2,
      command: "proxy",
      family,
      transport: (fam & 0x0f) === 1 ? "stream" : "dgram",
      source: a,
      destination: a,
      headerLength,
    }),
  });
}
const GO_PADDED = `${GO_V2}#validParseV2PaddedTests`;
const GO_TAIL = "999798";
const GO_PADDED_NOTE =
  "The zero padding declared in the length reads as 3-byte TLVs of type 0x00 with no value, which tile it exactly.";
const goPadded: [string, number, string, number, Family, ExpectedAddress][] = [
  ["proxy TCPv4", 0x11, GO_V4_BLOCK, 72, "tcp4", GO_V4],
  ["proxy TCPv6", 0x21, GO_V6_BLOCK, 48, "tcp6", GO_V6],
  ["proxy UDPv4", 0x12, GO_V4_BLOCK, 72, "udp4", GO_V4],
  ["proxy UDPv6", 0x22, GO_V6_BLOCK, 48, "udp6", GO_V6],
];
for (const [desc, fam, block, pad, family, a] of goPadded) {
  add({
    name: `go-proxyproto v2 padded: ${desc}`,
    source: `${GO_PADDED} ${desc}`,
    hex: v2(0x21, fam, block, zeros(pad)),
    trailing: GO_TAIL,
    expect: ok({
      version: 2,
      command: "proxy",
      family,
      source: a,
      destination: a,
      headerLength: 100,
      tlvTypes: zeroTlvs(pad / 3),
    }),
    note: GO_PADDED_NOTE,
  });
}
add({
  name: "go-proxyproto v2 padded: proxy unix stream with 4 bytes of padding",
  source: `${GO_PADDED} proxy unix stream`,
  hex: v2(0x21, 0x31, GO_UNIX_BLOCK, zeros(4)),
  trailing: GO_TAIL,
  expect: err("PP2_TLV_LEFTOVER"),
  note: "go-proxyproto accepts the header and keeps the 4 bytes as raw TLV data without splitting them. They are one empty type-0x00 TLV and one byte too few for another TLV header; linkgate requires the TLVs to tile the rest of the header exactly (the spec: the header ends together with its last TLV; HAProxy fix 488ee7fb6).",
});
add({
  name: "go-proxyproto v2 valid: proxy TCPv4 with 2048 zero bytes of TLV area",
  source: `${GO_V2_VALID} proxy TCPv4 with medium TLV`,
  hex: v2(0x21, 0x11, GO_V4_BLOCK, zeros(2048)),
  expect: err("PP2_TLV_LEFTOVER"),
  note: "go-proxyproto accepts it (it does not split TLVs when reading). 2048 zero bytes are 682 empty type-0x00 TLVs and 2 leftover bytes, so linkgate rejects it.",
});

// go-proxyproto fuzz_test.go
const GO_FUZZ = `${GO} fuzz_test.go`;
const LOCAL_TLV = "01 0001 aa";
const GO_LOCAL_BLOCK = `${GO_FUZZ}#TestParseV2LocalAddressBlock`;
const GO_LOCAL_NOTE =
  "The spec says to skip a LOCAL block. linkgate still reads it as TLVs when it can, to verify a CRC32C: a reading whose CRC32C verifies wins (from byte 16 first), one that tiles with a bad CRC32C rejects, otherwise the reading after the family's address block, then the one from byte 16; when none tiles, the block stays opaque. LOCAL TLVs never carry an identity.";
add({
  name: "go-proxyproto LOCAL: UNSPEC with a TLV",
  source: `${GO_LOCAL_BLOCK} UNSPEC, TLV payload preserved`,
  hex: v2(0x20, 0x00, LOCAL_TLV),
  expect: ok({ version: 2, command: "local", family: "unspec", headerLength: 20, tlvTypes: [1] }),
  note: GO_LOCAL_NOTE,
});
add({
  name: "go-proxyproto LOCAL: TCPv4 with 12 zero address bytes",
  source: `${GO_LOCAL_BLOCK} TCPv4 with a full address block decoded`,
  hex: v2(0x20, 0x11, zeros(12)),
  expect: ok({
    version: 2,
    command: "local",
    family: "tcp4",
    headerLength: 28,
  }),
  note: `${GO_LOCAL_NOTE} Here both readings tile (12 zero bytes are also four empty TLVs); the one after the address block, which is empty, is used. Also the FuzzRead seed v2Header(LOCAL, TCPv4, 12 zeros).`,
});
add({
  name: "go-proxyproto LOCAL: UDPv4 with 12 zero address bytes",
  source: `${GO_LOCAL_BLOCK} UDPv4 with a full address block decoded`,
  hex: v2(0x20, 0x12, zeros(12)),
  expect: ok({
    version: 2,
    command: "local",
    family: "udp4",
    transport: "dgram",
    headerLength: 28,
  }),
  note: GO_LOCAL_NOTE,
});
add({
  name: "go-proxyproto LOCAL: TCPv4 with an address block and a TLV",
  source: `${GO_LOCAL_BLOCK} TCPv4 with address block and TLVs preserved`,
  hex: v2(0x20, 0x11, zeros(12), LOCAL_TLV),
  expect: ok({
    version: 2,
    command: "local",
    family: "tcp4",
    headerLength: 32,
    tlvTypes: [1],
  }),
  note: `${GO_LOCAL_NOTE} The block also tiles from byte 16 (four empty TLVs, then the real one); the reading after the address block is used.`,
});
add({
  name: "go-proxyproto LOCAL: TCPv4 with len 0",
  source: `${GO_LOCAL_BLOCK} TCPv4 with len 0 normalized to UNSPEC`,
  hex: v2(0x20, 0x11),
  expect: ok({ version: 2, command: "local", family: "tcp4", headerLength: 16 }),
  note: "go-proxyproto normalizes the family to UNSPEC; linkgate reports the family byte as sent. Also the FuzzRead seed v2Header(LOCAL, TCPv4, nil).",
});
add({
  name: "go-proxyproto LOCAL: TCPv4 with an 11-byte block",
  source: `${GO_LOCAL_BLOCK} TCPv4 with short block skipped and normalized`,
  hex: v2(0x20, 0x11, LOCAL_TLV, zeros(7)),
  expect: ok({ version: 2, command: "local", family: "tcp4", headerLength: 27 }),
  note: `${GO_LOCAL_NOTE} These 11 bytes do not tile (one byte is left over) and are shorter than a TCPv4 address block, so they stay opaque.`,
});
const GO_ROUNDTRIP = `${GO_FUZZ}#TestParseV2RoundTrip`;
const GO_RT_V4 = hx("01020304 05060708 0050 01bb");
const GO_RT_UNIX = hx(
  ascii("/tmp/src.sock"),
  zeros(108 - 13),
  ascii("/tmp/dst.sock"),
  zeros(108 - 13),
);
add({
  name: "go-proxyproto round trip: LOCAL TCPv4 with a TLV",
  source: `${GO_ROUNDTRIP} LOCAL TCPv4 with TLV`,
  hex: v2(0x20, 0x11, GO_RT_V4, LOCAL_TLV),
  expect: ok({ version: 2, command: "local", family: "tcp4", headerLength: 32, tlvTypes: [1] }),
  note: GO_LOCAL_NOTE,
});
add({
  name: "go-proxyproto round trip: LOCAL UnixStream with a TLV",
  source: `${GO_ROUNDTRIP} LOCAL UnixStream with TLV`,
  hex: v2(0x20, 0x31, GO_RT_UNIX, LOCAL_TLV),
  expect: ok({ version: 2, command: "local", family: "unix", headerLength: 236, tlvTypes: [1] }),
  note: GO_LOCAL_NOTE,
});
add({
  name: "go-proxyproto round trip: PROXY UnixStream with a TLV",
  source: `${GO_ROUNDTRIP} PROXY UnixStream with TLV`,
  hex: v2(0x21, 0x31, GO_RT_UNIX, LOCAL_TLV),
  expect: ok({
    version: 2,
    command: "proxy",
    family: "unix",
    source: addr("/tmp/src.sock", null),
    destination: addr("/tmp/dst.sock", null),
    headerLength: 236,
    tlvTypes: [1],
    alpn: "\u00aa",
  }),
});
add({
  name: "go-proxyproto fuzz seed: PROXY TCPv4 with a zero address block",
  source: `${GO_FUZZ}#FuzzRead seed v2Header(PROXY, TCPv4, 12 zeros)`,
  hex: v2(0x21, 0x11, zeros(12)),
  expect: ok({
    version: 2,
    command: "proxy",
    family: "tcp4",
    source: addr("0.0.0.0", 0),
    destination: addr("0.0.0.0", 0),
    headerLength: 28,
  }),
});
add({
  name: "go-proxyproto fuzz seed: PROXY TCPv6 with a zero address block",
  source: `${GO_FUZZ}#FuzzRead seed v2Header(PROXY, TCPv6, 36 zeros)`,
  hex: v2(0x21, 0x21, zeros(36)),
  expect: ok({
    version: 2,
    command: "proxy",
    family: "tcp6",
    source: addr("::", 0),
    destination: addr("::", 0),
    headerLength: 52,
  }),
});
add({
  name: "go-proxyproto fuzz seed: PROXY with fam 0x13 and 12 bytes",
  source: `${GO_FUZZ}#FuzzRead seed v2Header(PROXY, 0x13, 12 zeros)`,
  hex: v2(0x21, 0x13, zeros(12)),
  expect: err("PP2_BAD_FAMILY"),
  note: "Also TestRemoteAddrNoPanicOnCraftedTransport (same bytes): 0x13 has a valid family and an undefined transport (go-proxyproto 5914db8).",
});

// The sweep of all 256 family bytes (TestV2UndefinedTransportRejected for the undefined ones,
// TestParsedHeaderNeverHasNilProxyAddr for all), with a 216-byte zero payload, PROXY and LOCAL.
const VALID_FAMILY_BLOCK: Record<number, number> = {
  0: 0,
  17: 12,
  18: 12,
  33: 36,
  34: 36,
  49: 216,
  50: 216,
};
const FAMILY_OF: Record<number, Family> = {
  0: "unspec",
  17: "tcp4",
  18: "udp4",
  33: "tcp6",
  34: "udp6",
  49: "unix",
  50: "unix",
};
for (const [cmdName, verCmd] of [
  ["PROXY", 0x21],
  ["LOCAL", 0x20],
] as const) {
  for (let fam = 0; fam < 256; fam++) {
    const block = VALID_FAMILY_BLOCK[fam];
    const hex = v2(verCmd, fam, zeros(216));
    const name = `go-proxyproto fuzz_test sweep: ${cmdName} fam 0x${byte(fam)}`;
    if (block === undefined) {
      add({
        name,
        source: `${GO_FUZZ}#TestV2UndefinedTransportRejected`,
        hex,
        expect: err("PP2_BAD_FAMILY"),
      });
      continue;
    }
    const family = FAMILY_OF[fam];
    const transport: Transport = fam === 0 ? "unspec" : (fam & 0x0f) === 1 ? "stream" : "dgram";
    if (verCmd === 0x20) {
      add({
        name,
        source: `${GO_FUZZ}#TestParsedHeaderNeverHasNilProxyAddr`,
        hex,
        expect: ok({
          version: 2,
          command: "local",
          family,
          transport,
          headerLength: 232,
          tlvTypes: zeroTlvs((216 - block) / 3),
        }),
        note: "LOCAL: the zero bytes tile both from byte 16 and after the family's address block; the latter reading is used (empty type-0x00 TLVs).",
      });
      continue;
    }
    const unix = fam >> 4 === 3;
    const a =
      fam === 0
        ? null
        : unix
          ? addr("", null)
          : fam >> 4 === 1
            ? addr("0.0.0.0", 0)
            : addr("::", 0);
    add({
      name,
      source: `${GO_FUZZ}#TestParsedHeaderNeverHasNilProxyAddr`,
      hex,
      expect: ok({
        version: 2,
        command: "proxy",
        family,
        transport,
        source: a,
        destination: a,
        headerLength: 232,
        tlvTypes: zeroTlvs((216 - block) / 3),
      }),
      ...(fam === 0
        ? {
            note: "PROXY with fam UNSPEC: the spec lets the receiver accept it and use the real addresses; linkgate accepts (go-proxyproto rejects it, see its invalidParseV2Tests).",
          }
        : {}),
    });
  }
}

// go-proxyproto tlv_test.go
const GO_TLV = `${GO} tlv_test.go`;
const goTlvInvalid: [string, string, ErrorCode][] = [
  ["One byte TLV", "e1", "PP2_TLV_LEFTOVER"],
  ["Two byte TLV", "e2 00", "PP2_TLV_LEFTOVER"],
  ["Empty Len TLV", "e3 0001", "PP2_TLV_OVERRUN"],
  ["Partial Len TLV", "e3 0002 00", "PP2_TLV_OVERRUN"],
];
for (const [desc, tlvBytes, code] of goTlvInvalid) {
  add({
    name: `go-proxyproto tlv: ${desc}`,
    source: `${GO_TLV}#invalidTLVTests ${desc}`,
    hex: goWithTlvs(tlvBytes),
    expect: err(code),
    note: "go-proxyproto accepts the header and fails later, when the TLVs are split (ErrTruncatedTLV); linkgate validates the TLVs while decoding.",
  });
}
add({
  name: "go-proxyproto tlv: a zero-length TLV of type 0xE0",
  source: `${GO_TLV}#TestValid0Length`,
  hex: goWithTlvs("e0 0000"),
  expect: err("PP2_BAD_GCP_PSC_ID"),
  note: "go-proxyproto accepts any zero-length TLV (and its GCP parser ignores a 0xE0 TLV that is not 8 bytes). linkgate reads 0xE0 as the GCP pscConnectionId, which must be exactly 8 bytes (catalogue PP2_BAD_GCP_PSC_ID): a malformed identity TLV fails closed.",
});

// go-proxyproto udp_test.go
const GO_UDP = `${GO} udp_test.go#TestParseUDPDatagram`;
add({
  name: "go-proxyproto udp: v2 PROXY UDPv4 with a datagram payload",
  source: `${GO_UDP} v2 PROXY UDPv4 with payload`,
  hex: v2(0x21, 0x12, "0a010101 14020202 03e8 07d0"),
  trailing: GO_UDP_PAYLOAD,
  expect: ok({
    version: 2,
    command: "proxy",
    family: "udp4",
    transport: "dgram",
    source: addr("10.1.1.1", 1000),
    destination: addr("20.2.2.2", 2000),
    headerLength: 28,
  }),
  note: "Bytes as go-proxyproto's FormatUDPDatagram writes the test's header.",
});
add({
  name: "go-proxyproto udp: v2 LOCAL UNSPEC with a datagram payload",
  source: `${GO_UDP} v2 LOCAL UNSPEC with payload`,
  hex: v2(0x20, 0x00),
  trailing: GO_UDP_PAYLOAD,
  expect: ok({ version: 2, command: "local", family: "unspec", headerLength: 16 }),
});
add({
  name: "go-proxyproto udp: header only, empty payload",
  source: `${GO_UDP} header only, empty payload`,
  hex: v2(0x21, 0x12, zeros(12)),
  expect: ok({
    version: 2,
    command: "proxy",
    family: "udp4",
    source: addr("0.0.0.0", 0),
    destination: addr("0.0.0.0", 0),
    headerLength: 28,
  }),
});
add({
  name: "go-proxyproto udp: no header",
  source: `${GO_UDP} no header is not guessed as payload`,
  hex: ascii("just application data"),
  expect: err("PP_MISSING_HEADER"),
});
add({
  name: "go-proxyproto udp: empty datagram",
  source: `${GO_UDP} empty datagram`,
  hex: "",
  expect: err("PP_INCOMPLETE"),
  note: "go-proxyproto says ErrNoProxyProtocol; linkgate's one-call decoder reports empty input as incomplete (a datagram receiver must treat that as a rejection).",
});
add({
  name: "go-proxyproto udp: truncated v2 header",
  source: `${GO_UDP} truncated v2 header`,
  hex: hx(SIG, "21 12 000c"),
  expect: err("PP_INCOMPLETE"),
  note: "For a datagram no more bytes can come, so the receiver must reject PP_INCOMPLETE at once.",
});

// go-proxyproto tlvparse/*_test.go: TLV lists, put in go-proxyproto's own v4 fixture header.
const GO_TLVPARSE = `${GO} tlvparse`;
const goTlvExpect = (
  tlvTypes: number[],
  tlvBytes: string,
  extra: Partial<ExpectOk> = {},
): ExpectOk =>
  ok({
    version: 2,
    command: "proxy",
    family: "tcp4",
    source: GO_V4,
    destination: GO_V4,
    headerLength: 28 + tlvBytes.length / 2,
    tlvTypes,
    ...extra,
  });
const AWS_ABC123 = tlv(0xea, hx("01", ascii("vpce-abc123")));
const AZURE_BAD_SUBTYPE = tlv(0xee, "02 01010101");
const AZURE_BAD_LENGTH = tlv(0xee, "02 0101");
const AZURE_LINKID = tlv(0xee, "01 c1450021");
const GCP_ID = tlv(0xe0, "ffffffff c0a86402");
add({
  name: "go-proxyproto tlvparse: bad characters in the VPC endpoint ID",
  source: `${GO_TLVPARSE}/aws_test.go#TestV2TLVAWSVPCEBadChars`,
  hex: goWithTlvs(tlv(0xea, hx("01", ascii("vcpe-!?***&&&&&&&")))),
  expect: err("PP2_BAD_AWS_VPCE_ID"),
  note: `${GO_TLV_NOTE} go-proxyproto returns ErrMalformedTLV for the TLV but accepts the header; linkgate rejects the header (a malformed identity fails closed).`,
});
add({
  name: "go-proxyproto tlvparse: empty VPC endpoint ID",
  source: `${GO_TLVPARSE}/aws_test.go#TestV2TLVAWSVPCEBadChars (empty vpce)`,
  hex: goWithTlvs(tlv(0xea, "01")),
  expect: err("PP2_BAD_AWS_VPCE_ID"),
  note: `${GO_TLV_NOTE} go-proxyproto's AWSVPCEndpointID returns "" with no error for an empty ID. linkgate rejects an empty VPCE ID (catalogue PP2_BAD_AWS_VPCE_ID; reference §6.5 "Reject duplicates and an empty VPCE").`,
});
add({
  name: "go-proxyproto tlvparse: VPC endpoint ID vpce-abc1234",
  source: `${GO_TLVPARSE}/aws_test.go#TestV2TLVAWSUnknownSubtype`,
  hex: goWithTlvs(tlv(0xea, hx("01", ascii("vpce-abc1234")))),
  expect: goTlvExpect([0xea], tlv(0xea, hx("01", ascii("vpce-abc1234"))), {
    link: "aws:vpce-abc1234",
  }),
  note: GO_TLV_NOTE,
});
add({
  name: "go-proxyproto tlvparse: AWS TLV with subtype 0x02 is not an identity",
  source: `${GO_TLVPARSE}/aws_test.go#TestV2TLVAWSUnknownSubtype (subtype changed to 0x02)`,
  hex: goWithTlvs(tlv(0xea, hx("02", ascii("vpce-abc1234")))),
  expect: goTlvExpect([0xea], tlv(0xea, hx("02", ascii("vpce-abc1234")))),
  note: `${GO_TLV_NOTE} Only subtype 0x01 (PP2_SUBTYPE_AWS_VPCE_ID) is documented; a TLV 0xEA with another subtype is kept as a raw TLV and gives no identity (go-proxyproto: ErrIncompatibleTLV, not found).`,
});
add({
  name: "go-proxyproto tlvparse: AWS VPC endpoint TLV alone",
  source: `${GO_TLVPARSE}/azure_test.go#TestFindAzurePrivateEndpointLinkID AWS VPC endpoint ID`,
  hex: goWithTlvs(AWS_ABC123),
  expect: goTlvExpect([0xea], AWS_ABC123, { link: "aws:vpce-abc123" }),
  note: `${GO_TLV_NOTE} Also gcp_test.go TestExtractPSCConnectionID "AWS VPC endpoint ID" (same TLV). Those tests check that no Azure/GCP ID is found; linkgate finds the AWS identity.`,
});
add({
  name: "go-proxyproto tlvparse: Azure TLV with subtype 0x02",
  source: `${GO_TLVPARSE}/azure_test.go#TestFindAzurePrivateEndpointLinkID Azure but wrong subtype`,
  hex: goWithTlvs(AZURE_BAD_SUBTYPE),
  expect: goTlvExpect([0xee], AZURE_BAD_SUBTYPE),
  note: `${GO_TLV_NOTE} Not an identity: only subtype 0x01 (LINKID) is documented; the TLV is kept raw.`,
});
add({
  name: "go-proxyproto tlvparse: Azure TLV with subtype 0x02 and 3 bytes",
  source: `${GO_TLVPARSE}/azure_test.go#TestFindAzurePrivateEndpointLinkID Azure but wrong length`,
  hex: goWithTlvs(AZURE_BAD_LENGTH),
  expect: goTlvExpect([0xee], AZURE_BAD_LENGTH),
  note: `${GO_TLV_NOTE} Its subtype is 0x02, so it is not a LINKID TLV at all and its length does not matter; kept raw.`,
});
add({
  name: "go-proxyproto tlvparse: Azure LINKID 553665985",
  source: `${GO_TLVPARSE}/azure_test.go#TestFindAzurePrivateEndpointLinkID Azure link ID`,
  hex: goWithTlvs(AZURE_LINKID),
  expect: goTlvExpect([0xee], AZURE_LINKID, { link: "azure:553665985" }),
  note: `${GO_TLV_NOTE} The LINKID is little-endian: c1 45 00 21 = 0x210045c1.`,
});
add({
  name: "go-proxyproto tlvparse: AWS, Azure and a second Azure LINKID in one header",
  source: `${GO_TLVPARSE}/azure_test.go#TestFindAzurePrivateEndpointLinkID Multiple TLVs`,
  hex: goWithTlvs(
    AWS_ABC123,
    AZURE_BAD_SUBTYPE,
    AZURE_BAD_LENGTH,
    AZURE_LINKID,
    tlv(0xee, "01 c1450022"),
  ),
  expect: err("PP2_DUPLICATE_IDENTITY"),
  note: `${GO_TLV_NOTE} go-proxyproto's Find returns the first valid Azure LINKID (0x210045c1) and ignores the AWS ID and the second LINKID. linkgate allows one Private Link identity per header: the Azure LINKID after the AWS VPCE ID is ambiguous, so the header is rejected.`,
});
add({
  name: "go-proxyproto tlvparse: GCP pscConnectionId 18446744072646845442",
  source: `${GO_TLVPARSE}/gcp_test.go#TestExtractPSCConnectionID GCP link ID`,
  hex: goWithTlvs(GCP_ID),
  expect: goTlvExpect([0xe0], GCP_ID, { link: "gcp:18446744072646845442" }),
  note: `${GO_TLV_NOTE} A big-endian uint64 above 2^53.`,
});
add({
  name: "go-proxyproto tlvparse: AWS, Azure, a 3-byte GCP TLV and a GCP ID",
  source: `${GO_TLVPARSE}/gcp_test.go#TestExtractPSCConnectionID Multiple TLVs`,
  hex: goWithTlvs(AWS_ABC123, AZURE_BAD_SUBTYPE, tlv(0xe0, "ffffff"), GCP_ID),
  expect: err("PP2_DUPLICATE_IDENTITY"),
  note: `${GO_TLV_NOTE} go-proxyproto skips the 3-byte 0xE0 TLV and returns the 8-byte one. linkgate already holds the AWS identity when it meets the first 0xE0 TLV: a second identity is ambiguous (and a 3-byte 0xE0 alone would be PP2_BAD_GCP_PSC_ID).`,
});

const GO_SSL = `${GO_TLVPARSE}/ssl_test.go`;
add({
  name: "go-proxyproto tlvparse: SSL haproxy cn",
  source: `${GO_SSL}#TestParseV2TLV SSL haproxy cn`,
  hex: hx(
    SIG,
    "21 11 0040",
    "7f000001 7f000001 cc8a 232e",
    "200031 07 00000000",
    "210007",
    ascii("TLSv1.3"),
    "22001f",
    ascii("Example Common Name Client Cert"),
  ),
  expect: ok({
    version: 2,
    command: "proxy",
    family: "tcp4",
    source: addr("127.0.0.1", 52362),
    destination: addr("127.0.0.1", 9006),
    headerLength: 80,
    tlvTypes: [0x20],
    ssl: {
      client: 7,
      verify: 0,
      version: "TLSv1.3",
      cn: "Example Common Name Client Cert",
      cipher: null,
    },
  }),
  note: "Sent by HAProxy (send-proxy-v2-ssl-cn).",
});
add({
  name: "go-proxyproto tlvparse: SSL haproxy cipher (TCP6, IPv4-mapped)",
  source: `${GO_SSL}#TestParseV2TLV SSL haproxy cipher`,
  hex: hx(
    SIG,
    "21 21 004f",
    "00000000000000000000ffff0a015b0e",
    "00000000000000000000ffff0a01019f",
    "f47c 01bb",
    "200028 01 00000000",
    "210007",
    ascii("TLSv1.3"),
    "230016",
    ascii("TLS_AES_256_GCM_SHA384"),
  ),
  expect: ok({
    version: 2,
    command: "proxy",
    family: "tcp6",
    source: addr("::ffff:10.1.91.14", 62588),
    destination: addr("::ffff:10.1.1.159", 443),
    headerLength: 95,
    tlvTypes: [0x20],
    ssl: {
      client: 1,
      verify: 0,
      version: "TLSv1.3",
      cn: null,
      cipher: "TLS_AES_256_GCM_SHA384",
    },
  }),
  note: "HAProxy promotes a v4 client to TCP6 with ::ffff:a.b.c.d (reference §3 #22).",
});
const SSL_MARSHAL = hx("01 00000000", "210007", ascii("TLSv1.3"), "22000b", ascii("example.org"));
add({
  name: "go-proxyproto tlvparse: SSL TLV as PP2SSL.Marshal writes it",
  source: `${GO_SSL}#TestPP2SSLMarshal`,
  hex: goWithTlvs(tlv(0x20, SSL_MARSHAL)),
  expect: goTlvExpect([0x20], tlv(0x20, SSL_MARSHAL), {
    ssl: { client: 1, verify: 0, version: "TLSv1.3", cn: "example.org" },
  }),
  note: GO_TLV_NOTE,
});
const SSL_CERT = hx("01 00000000", "210007", ascii("TLSv1.3"), "280003 300301");
const ALPN_H2 = tlv(0x01, ascii("h2"));
add({
  name: "go-proxyproto tlvparse: ALPN h2 and an SSL TLV with a client certificate",
  source: `${GO_SSL}#TestPP2SSLClientCertAndFindSSL`,
  hex: goWithTlvs(ALPN_H2, tlv(0x20, SSL_CERT)),
  expect: goTlvExpect([0x01, 0x20], hx(ALPN_H2, tlv(0x20, SSL_CERT)), {
    alpn: "h2",
    ssl: { client: 1, verify: 0, version: "TLSv1.3", clientCertHex: "300301" },
  }),
  note: `${GO_TLV_NOTE} The SSL TLV is spelled as PP2SSL.Marshal writes the test's struct.`,
});
const SSL_NO_TLS = hx("00 00000001");
add({
  name: "go-proxyproto tlvparse: SSL TLV of a non-TLS client",
  source: `${GO_SSL}#TestPP2SSLClientCertAndFindSSL (noTLS)`,
  hex: goWithTlvs(tlv(0x20, SSL_NO_TLS)),
  expect: goTlvExpect([0x20], tlv(0x20, SSL_NO_TLS), {
    ssl: { client: 0, verify: 1, version: null, clientCertHex: null },
  }),
  note: GO_TLV_NOTE,
});
const SSL_ACCESSORS = hx(
  "01 00000000",
  "210007",
  ascii("TLSv1.3"),
  "24000a",
  ascii("RSA-SHA256"),
  "250007",
  ascii("RSA2048"),
  "260009",
  ascii("secp256r1"),
  "270013",
  ascii("rsa_pss_rsae_sha256"),
);
add({
  name: "go-proxyproto tlvparse: SSL sub-TLVs SIG_ALG, KEY_ALG, GROUP, SIG_SCHEME",
  source: `${GO_SSL}#TestPP2SSLStringSubTLVAccessors`,
  hex: goWithTlvs(tlv(0x20, SSL_ACCESSORS)),
  expect: goTlvExpect([0x20], tlv(0x20, SSL_ACCESSORS), {
    ssl: {
      client: 1,
      verify: 0,
      version: "TLSv1.3",
      sigAlg: "RSA-SHA256",
      keyAlg: "RSA2048",
      group: "secp256r1",
      sigScheme: "rsa_pss_rsae_sha256",
    },
  }),
  note: `${GO_TLV_NOTE} The SSL TLV is spelled as PP2SSL.Marshal writes the test's struct.`,
});
const GO_SSL_MALFORMED = `${GO_SSL}#TestSSLRejectsMalformedTLVs`;
const GO_SSL_LENIENT_NOTE = `${GO_TLV_NOTE} go-proxyproto's SSL() helper rejects this SSL value (ErrMalformedTLV) but its Read accepts the header. linkgate's policy (catalogue PP2_BAD_SSL_TLV) checks only the SSL TLV's structure, the 5-byte prefix and sub-TLVs that tile it; sub-TLV contents are informational and never used for authorization.`;
const sslTlv = (client: number, sub: string) => tlv(0x20, hx(byte(client), "00000000", sub));
const V13 = hx("210007", ascii("TLSv1.3"));
add({
  name: "go-proxyproto tlvparse: ALPN TLV of 5 zero bytes (incompatible type for SSL())",
  source: `${GO_SSL_MALFORMED} incompatible type`,
  hex: goWithTlvs(tlv(0x01, zeros(5))),
  expect: goTlvExpect([0x01], tlv(0x01, zeros(5)), { alpn: "\0\0\0\0\0" }),
  note: `${GO_TLV_NOTE} An ALPN value is an opaque byte sequence; only go-proxyproto's SSL() helper refuses a non-SSL TLV.`,
});
add({
  name: "go-proxyproto tlvparse: SSL TLV of 4 bytes",
  source: `${GO_SSL_MALFORMED} short SSL value`,
  hex: goWithTlvs(tlv(0x20, zeros(4))),
  expect: err("PP2_BAD_SSL_TLV"),
  note: GO_TLV_NOTE,
});
add({
  name: "go-proxyproto tlvparse: SSL TLV with a truncated sub-TLV",
  source: `${GO_SSL_MALFORMED} truncated sub TLV`,
  hex: goWithTlvs(sslTlv(1, "21 0002 54")),
  expect: err("PP2_BAD_SSL_TLV"),
  note: GO_TLV_NOTE,
});
const goSslLenient: [string, string][] = [
  ["missing required version", ""],
  ["empty version", "21 0000"],
  ["non ASCII version", "21 0001 ff"],
  ["empty common name", hx(V13, "22 0000")],
  ["invalid UTF-8 common name", hx(V13, "22 0001 ff")],
  ["empty cipher", hx(V13, "23 0000")],
  ["non ASCII cipher", hx(V13, "23 0001 ff")],
];
for (const [desc, sub] of goSslLenient) {
  add({
    name: `go-proxyproto tlvparse: SSL TLV, ${desc}`,
    source: `${GO_SSL_MALFORMED} ${desc}`,
    hex: goWithTlvs(sslTlv(1, sub)),
    expect: goTlvExpect([0x20], sslTlv(1, sub), { ssl: { client: 1, verify: 0 } }),
    note: GO_SSL_LENIENT_NOTE,
  });
}

// =============================================================================================
// Other public captures and values (reference file §4 B-G; original sources named).

add({
  name: "GCP PSC capture: PROXY TCP4 10.0.60.2 -> 10.0.60.100 with pscConnectionId",
  source:
    "https://codelabs.developers.google.com/cloudnet-psc-ilb (tcpdump on the producer VM), as transcribed in the reference §4 D",
  hex: hx(SIG, "21 11 0017", "0a003c02 0a003c64 8138 0050", "e00008 009b34d70a003c64"),
  expect: ok({
    version: 2,
    command: "proxy",
    family: "tcp4",
    source: addr("10.0.60.2", 33080),
    destination: addr("10.0.60.100", 80),
    link: "gcp:43686719580552292",
    headerLength: 39,
    tlvTypes: [0xe0],
  }),
});
add({
  name: "CVE-2019-14243: PROXY UDP4 with len 0",
  source:
    "https://nvd.nist.gov/vuln/detail/CVE-2019-14243 (mastercactapus/proxyprotocol crasher), reference §4 F1",
  hex: hx(SIG, "21 12 0000"),
  expect: err("PP2_ADDRESS_TRUNCATED"),
  note: "The length must cover the 12-byte address block of the family; the library panicked reading past it.",
});
add({
  name: "synthetic: Azure LINKID 553665985",
  source: `${REFERENCE}#4 G1 (constructed; the LINKID value is go-proxyproto's tlvparse/azure_test.go)`,
  hex: hx(SIG, "21 11 0014", "0a000004 0a000005 c350 01bb", "ee0005 01 c1450021"),
  expect: ok({
    version: 2,
    command: "proxy",
    family: "tcp4",
    source: addr("10.0.0.4", 50000),
    destination: addr("10.0.0.5", 443),
    link: "azure:553665985",
    headerLength: 36,
    tlvTypes: [0xee],
  }),
});
const G2 = hx(
  SIG,
  "21 11 0024",
  "0a003c02 0a003c64 8138 0050",
  "030004 980d3651",
  "e00008 00226bcf0a000002",
  "040003 000000",
);
add({
  name: "synthetic: GCP pscConnectionId 9688686178336770 with CRC32C and NOOP",
  source: `${REFERENCE}#4 G2 (constructed; the ID is from https://github.com/envoyproxy/envoy/issues/32718)`,
  hex: G2,
  expect: ok({
    version: 2,
    command: "proxy",
    family: "tcp4",
    source: addr("10.0.60.2", 33080),
    destination: addr("10.0.60.100", 80),
    link: "gcp:9688686178336770",
    crc32c: "valid",
    headerLength: 52,
    tlvTypes: [0x03, 0xe0, 0x04],
  }),
});
add({
  name: "synthetic: G2 with one ID byte flipped (CRC32C mismatch)",
  source: `${REFERENCE}#4 G3 (constructed)`,
  hex: G2.replace("00226bcf0a000002", "00226acf0a000002"),
  expect: err("PP2_BAD_CRC32C"),
});
add({
  name: "synthetic: two AWS VPC endpoint TLVs",
  source: `${REFERENCE}#4 G4 (constructed)`,
  hex: hx(
    SIG,
    "21 11 002c",
    "0a000001 0a000002 1234 01bb",
    "ea000d 01",
    ascii("vpce-aaaaaaa"),
    "ea000d 01",
    ascii("vpce-bbbbbbb"),
  ),
  expect: err("PP2_DUPLICATE_IDENTITY"),
  note: "go-proxyproto's FindAWSVPCEndpointID lets the first one win and HAProxy's fc_pp_tlv iterates over both; linkgate rejects a header with two identity TLVs (catalogue PP2_DUPLICATE_IDENTITY), since which endpoint the connection came through is then ambiguous.",
});

export const VECTORS: readonly Vector[] = vectors;
