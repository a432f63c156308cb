/**
 * The first bytes of the data-plane tests' allowed connection: the load balancer's PROXY v2
 * header, then a real ClientHello. Read-only: tests that need other bytes build their own.
 */
import { readFileSync } from "node:fs";
import { encodeProxyHeaderV2 } from "../../src/proxy-protocol/index.js";

/** OpenSSL's TLS 1.3 ClientHello, recorded (test/tls/fixtures), SNI megacorp.api.example.com. */
export const OPENSSL_HELLO = Buffer.from(
  readFileSync(new URL("../tls/fixtures/openssl-tls13.hex", import.meta.url), "utf8").replace(
    /\s/g,
    "",
  ),
  "hex",
);

/** The VPC endpoint the header names. */
export const VPCE = "aws:vpce-0123456789abcdef0";

/**
 * A PROXY v2 header from the load balancer: 10.1.2.3:1234 -> 10.0.0.10:443 through VPCE, with
 * CRC32C.
 */
export const LINK_HEADER = encodeProxyHeaderV2({
  source: { address: "10.1.2.3", port: 1234 },
  destination: { address: "10.0.0.10", port: 443 },
  link: VPCE,
  crc32c: true,
});
