/**
 * HAProxy 2.6 as a real PROXY protocol v2 sender, over real loopback sockets, decoded by
 * linkgate's streaming decoder exactly as the gateway will: every chunk the socket emits is
 * pushed until DONE, and the application's bytes start at `tailOffset`.
 *
 * What HAProxy 2.6.12 (Debian 12) sends, as these tests pin down:
 * - TLVs in this order: CRC32C, ALPN, AUTHORITY, UNIQUE_ID, SSL (each only when configured and
 *   available). The CRC32C TLV comes first and is valid.
 * - ALPN: 2.6 sends the protocol negotiated with the client whenever there is one (no option
 *   needed; there is no "alpn" proxy-v2-option) and nothing when none was negotiated.
 * - AUTHORITY: the client's SNI (TLS only).
 * - SSL: with the "ssl" option the TLV is sent on every connection, with client 0 and no
 *   sub-TLVs when the client did not use TLS. Over TLS its sub-TLVs come in the order VERSION,
 *   CN (client certificate only), KEY_ALG, SIG_ALG, CIPHER. KEY_ALG ("EC256") and SIG_ALG
 *   ("ecdsa-with-SHA256") describe HAProxy's own certificate, not the client's. `verify` is 0
 *   also when the client presented no certificate.
 * - Health checks (since 2.2): LOCAL with family UNSPEC and no address block, still carrying
 *   the CRC32C and an empty SSL TLV; with `pp2-never-send-local`, PROXY with the addresses of
 *   the check connection itself.
 * - The header arrives in one segment: one socket chunk.
 * Recorded headers (TLS, health check, health check with pp2-never-send-local) are in
 * fixtures/haproxy-2.6.json, with their decoded JSON; they are checked here without HAProxy.
 *
 * The split-read test needs no HAProxy: a header from encodeProxyHeaderV2 crosses a real socket
 * one byte per TCP segment.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import net from "node:net";
import { describe, type TestContext, test } from "node:test";
import tls from "node:tls";
import {
  DONE,
  decodeProxyHeader,
  encodeProxyHeaderV2,
  headerToJSON,
  INVALID,
  NEED_MORE,
  ParseError,
  type ProxyHeader,
  ProxyHeaderDecoder,
} from "../../src/proxy-protocol/index.js";
import {
  freePort,
  HAPROXY_TEST_PREAMBLE,
  hasIPv6Loopback,
  listenTcp,
  requireProgram,
  selfSignedCert,
  skipLoudly,
  startHaproxy,
  waitFor,
  withTimeout,
} from "../helpers/programs.js";

const TEST_TIMEOUT = { timeout: 10_000 };
const SNI = "megacorp.api.example.com";
const APP = Buffer.from("GET / HTTP/1.1\r\nHost: megacorp.api.example.com\r\n\r\n");
/** HAProxy formats the unique ID from the frontend's unique-id-format: client, frontend, counter. */
const UNIQUE_ID_FORMAT = "lg-%ci-%cp-%fi-%fp-%rt";
/** Every proxy-v2-option HAProxy 2.6 has (configuration.txt, "proxy-v2-options"). */
const ALL_26_OPTIONS = "ssl,cert-cn,ssl-cipher,cert-sig,cert-key,authority,crc32c,unique-id";

/** One connection to a PROXY-v2-expecting backend, decoded chunk by chunk. */
interface Capture {
  decoder: ProxyHeaderDecoder;
  /** Chunks pushed until the decoder said DONE or INVALID. */
  headerChunks: number;
  /** Bytes received in all. */
  received: number;
  /** The application's bytes: the tail of the chunk that completed the header, then the rest. */
  app: Buffer[];
}

/** A node TCP server that decodes a PROXY header at the start of every connection. */
async function ppBackend(t: TestContext, host: string) {
  const captures: Capture[] = [];
  const server = await listenTcp(t, host, (socket) => {
    const c: Capture = {
      decoder: new ProxyHeaderDecoder(),
      headerChunks: 0,
      received: 0,
      app: [],
    };
    captures.push(c);
    socket.on("data", (chunk: Buffer) => {
      c.received += chunk.length;
      if (c.decoder.status === NEED_MORE) {
        c.headerChunks++;
        if (c.decoder.push(chunk) === DONE) c.app.push(chunk.subarray(c.decoder.tailOffset));
      } else if (c.decoder.status === DONE) {
        c.app.push(chunk);
      }
    });
  });
  return {
    port: server.port,
    captures,
    /**
     * The `index`th connection, once its header is decoded (or rejected). On a timeout the
     * error carries the sender's logs when given.
     */
    async decided(index: number, sender?: { logs(): string }): Promise<Capture> {
      try {
        return await waitFor(
          () => {
            const c = captures[index];
            return c !== undefined && c.decoder.status !== NEED_MORE && c;
          },
          { what: `a decided PROXY header on backend connection #${index}` },
        );
      } catch (error) {
        if (sender === undefined) throw error;
        throw new Error(`${(error as Error).message}\nHAProxy output:\n${sender.logs()}`);
      }
    },
  };
}

/** The header of a capture; fails with the decoder's error if it was rejected. */
function headerOf(c: Capture): ProxyHeader {
  if (c.decoder.status === INVALID) {
    assert.fail(
      `decoder rejected the header: ${c.decoder.error?.code} ${c.decoder.error?.message}`,
    );
  }
  assert.ok(c.decoder.header !== null);
  return c.decoder.header;
}

async function appBytes(c: Capture, length: number): Promise<Buffer> {
  await waitFor(() => c.app.reduce((n, b) => n + b.length, 0) >= length, {
    what: `${length} application bytes after the header`,
  });
  return Buffer.concat(c.app);
}

function names(h: ProxyHeader): string[] {
  return h.tlvs.map((tlv) => tlv.name);
}

function connectTcp(t: TestContext, options: net.TcpNetConnectOpts): Promise<net.Socket> {
  const socket = net.connect(options);
  t.after(() => {
    socket.destroy();
  });
  return withTimeout(
    new Promise<net.Socket>((resolve, reject) => {
      socket.once("connect", () => resolve(socket));
      socket.on("error", reject); // also keeps later errors (resets at teardown) from throwing
    }),
    5000,
    `connecting to ${options.host}:${options.port}`,
  );
}

/** tls.connect passes `localAddress` on to net.connect; @types/node 20 does not declare it. */
type TlsConnectOptions = tls.ConnectionOptions & { localAddress?: string };

function connectTls(t: TestContext, options: TlsConnectOptions): Promise<tls.TLSSocket> {
  const socket = tls.connect(options);
  t.after(() => {
    socket.destroy();
  });
  return withTimeout(
    new Promise<tls.TLSSocket>((resolve, reject) => {
      socket.once("secureConnect", () => resolve(socket));
      socket.on("error", reject); // also keeps later errors (resets at teardown) from throwing
    }),
    5000,
    `TLS handshake with ${options.host}:${options.port}`,
  );
}

describe("HAProxy 2.6 as a PROXY v2 sender", () => {
  test(
    "TCP over IPv4: addresses, CRC32C, UNIQUE_ID, application bytes",
    TEST_TIMEOUT,
    async (t) => {
      if (!requireProgram(t, "haproxy", "haproxy")) return;
      const [fe, be, client] = ["127.0.0.21", "127.0.0.22", "127.0.0.23"];
      const backend = await ppBackend(t, be);
      const fePort = await freePort(fe);
      const haproxy = await startHaproxy(
        t,
        `${HAPROXY_TEST_PREAMBLE}
frontend fe_tcp
  bind ${fe}:${fePort}
  unique-id-format ${UNIQUE_ID_FORMAT}
  default_backend be_pp2

backend be_pp2
  server s1 ${be}:${backend.port} send-proxy-v2 proxy-v2-options crc32c,unique-id
`,
      );

      const socket = await connectTcp(t, { host: fe, port: fePort, localAddress: client });
      const clientPort = socket.localPort;
      socket.write(APP);

      const c = await backend.decided(0, haproxy);
      const h = headerOf(c);
      t.diagnostic(`header: ${h.bytes.toString("hex")}`);
      assert.equal(h.version, 2);
      assert.equal(h.command, "proxy");
      assert.equal(h.family, "tcp4");
      assert.equal(h.transport, "stream");
      assert.deepEqual(h.source, { address: client, port: clientPort });
      assert.deepEqual(h.destination, { address: fe, port: fePort });
      assert.equal(h.crc32c, "valid");
      assert.equal(h.link, null);
      assert.deepEqual(names(h), ["CRC32C", "UNIQUE_ID"]);
      const uniqueId = h.uniqueId?.toString("latin1") ?? "";
      assert.match(
        uniqueId,
        new RegExp(`^lg-127\\.0\\.0\\.23-${clientPort}-127\\.0\\.0\\.21-${fePort}-\\d+$`),
      );
      assert.equal(h.authority, null);
      assert.equal(h.alpn, null);
      assert.equal(h.ssl, null);
      // HAProxy writes the header in one segment: the first chunk completes it.
      assert.equal(c.headerChunks, 1);
      assert.deepEqual(await appBytes(c, APP.length), APP);
    },
  );

  test("TCP over IPv6 loopback: family tcp6, source ::1", TEST_TIMEOUT, async (t) => {
    if (!requireProgram(t, "haproxy", "haproxy")) return;
    if (!(await hasIPv6Loopback())) {
      skipLoudly(t, "this host cannot listen on the IPv6 loopback ::1");
      return;
    }
    const be = "127.0.0.25";
    const backend = await ppBackend(t, be);
    const fePort = await freePort("::1");
    const haproxy = await startHaproxy(
      t,
      `${HAPROXY_TEST_PREAMBLE}
frontend fe_tcp6
  bind [::1]:${fePort}
  unique-id-format ${UNIQUE_ID_FORMAT}
  default_backend be_pp2

backend be_pp2
  server s1 ${be}:${backend.port} send-proxy-v2 proxy-v2-options crc32c,unique-id
`,
    );

    const socket = await connectTcp(t, { host: "::1", port: fePort, localAddress: "::1" });
    const clientPort = socket.localPort;
    socket.write(APP);

    const c = await backend.decided(0, haproxy);
    const h = headerOf(c);
    t.diagnostic(`header: ${h.bytes.toString("hex")}`);
    assert.equal(h.command, "proxy");
    assert.equal(h.family, "tcp6");
    assert.deepEqual(h.source, { address: "::1", port: clientPort });
    assert.deepEqual(h.destination, { address: "::1", port: fePort });
    assert.equal(h.crc32c, "valid");
    assert.equal(h.link, null);
    assert.deepEqual(names(h), ["CRC32C", "UNIQUE_ID"]);
    assert.match(
      h.uniqueId?.toString("latin1") ?? "",
      new RegExp(`^lg-::1-${clientPort}-::1-${fePort}-\\d+$`),
    );
    assert.equal(h.headerLength, 16 + 36 + 7 + 3 + (h.uniqueId?.length ?? 0));
    assert.deepEqual(await appBytes(c, APP.length), APP);
  });

  test("TLS terminated by HAProxy: SSL, AUTHORITY (SNI), ALPN h2", TEST_TIMEOUT, async (t) => {
    if (!requireProgram(t, "haproxy", "haproxy")) return;
    if (!requireProgram(t, "openssl", "openssl")) return;
    const [fe, be, client] = ["127.0.0.31", "127.0.0.32", "127.0.0.33"];
    const cert = await selfSignedCert(t, SNI);
    const backend = await ppBackend(t, be);
    const fePort = await freePort(fe);
    const haproxy = await startHaproxy(
      t,
      `${HAPROXY_TEST_PREAMBLE}
frontend fe_tls
  bind ${fe}:${fePort} ssl crt ${cert.pemPath} alpn h2,http/1.1
  unique-id-format ${UNIQUE_ID_FORMAT}
  default_backend be_pp2

backend be_pp2
  server s1 ${be}:${backend.port} send-proxy-v2 proxy-v2-options ${ALL_26_OPTIONS}
`,
    );

    const socket = await connectTls(t, {
      host: fe,
      port: fePort,
      localAddress: client,
      servername: SNI,
      ALPNProtocols: ["h2"],
      rejectUnauthorized: false,
    });
    assert.equal(socket.alpnProtocol, "h2");
    const clientPort = socket.localPort;
    socket.write(APP);

    const c = await backend.decided(0, haproxy);
    const h = headerOf(c);
    t.diagnostic(`header: ${h.bytes.toString("hex")}`);
    assert.equal(h.command, "proxy");
    assert.equal(h.family, "tcp4");
    assert.deepEqual(h.source, { address: client, port: clientPort });
    assert.deepEqual(h.destination, { address: fe, port: fePort });
    assert.equal(h.crc32c, "valid");
    assert.equal(h.link, null);
    // 2.6 sends the negotiated ALPN on its own (send-proxy-v2 always adds it when present).
    assert.deepEqual(names(h), ["CRC32C", "ALPN", "AUTHORITY", "UNIQUE_ID", "SSL"]);
    assert.equal(h.alpn, "h2");
    assert.equal(h.authority, SNI);
    assert.match(h.uniqueId?.toString("latin1") ?? "", /^lg-127\.0\.0\.33-\d+-127\.0\.0\.31-/);

    const ssl = h.ssl;
    assert.ok(ssl !== null);
    assert.equal(ssl.client, 0x01);
    assert.equal(ssl.clientSsl, true);
    assert.equal(ssl.certInConnection, false);
    assert.equal(ssl.certInSession, false);
    assert.equal(ssl.verify, 0); // HAProxy sends 0 even without a client certificate
    assert.equal(ssl.version, socket.getProtocol());
    assert.match(ssl.version ?? "", /^TLSv1\.[23]$/);
    assert.ok((ssl.cipher ?? "").length > 0);
    assert.equal(ssl.cipher, socket.getCipher().name);
    assert.equal(ssl.cn, null);
    // cert-key and cert-sig describe HAProxy's own certificate (ECDSA P-256, SHA-256).
    assert.equal(ssl.keyAlg, "EC256");
    assert.equal(ssl.sigAlg, "ecdsa-with-SHA256");
    assert.deepEqual(
      ssl.subTlvs.map((s) => s.name),
      ["VERSION", "KEY_ALG", "SIG_ALG", "CIPHER"],
    );
    assert.deepEqual(await appBytes(c, APP.length), APP);
  });

  test(
    "TLS with a client certificate and no ALPN: CN, client bits, no ALPN TLV",
    TEST_TIMEOUT,
    async (t) => {
      if (!requireProgram(t, "haproxy", "haproxy")) return;
      if (!requireProgram(t, "openssl", "openssl")) return;
      const [fe, be, client] = ["127.0.0.34", "127.0.0.35", "127.0.0.36"];
      const serverCert = await selfSignedCert(t, SNI);
      // P-384 signed with SHA-384, unlike the server's P-256/SHA-256, to tell whose algorithms
      // cert-key and cert-sig report.
      const clientCert = await selfSignedCert(t, "client.megacorp.example", { curve: "P-384" });
      const backend = await ppBackend(t, be);
      const fePort = await freePort(fe);
      const haproxy = await startHaproxy(
        t,
        `${HAPROXY_TEST_PREAMBLE}
frontend fe_mtls
  bind ${fe}:${fePort} ssl crt ${serverCert.pemPath} alpn h2,http/1.1 verify optional ca-file ${clientCert.certPath}
  unique-id-format ${UNIQUE_ID_FORMAT}
  default_backend be_pp2

backend be_pp2
  server s1 ${be}:${backend.port} send-proxy-v2 proxy-v2-options ${ALL_26_OPTIONS}
`,
      );

      const socket = await connectTls(t, {
        host: fe,
        port: fePort,
        localAddress: client,
        servername: SNI,
        cert: clientCert.cert,
        key: clientCert.key,
        rejectUnauthorized: false,
      });
      assert.equal(socket.alpnProtocol, false);
      socket.write(APP);

      const h = headerOf(await backend.decided(0, haproxy));
      t.diagnostic(`header: ${h.bytes.toString("hex")}`);
      assert.equal(h.crc32c, "valid");
      assert.deepEqual(names(h), ["CRC32C", "AUTHORITY", "UNIQUE_ID", "SSL"]);
      assert.equal(h.alpn, null);
      assert.equal(h.authority, SNI);
      const ssl = h.ssl;
      assert.ok(ssl !== null);
      assert.equal(ssl.client, 0x07);
      assert.equal(ssl.clientSsl, true);
      assert.equal(ssl.certInConnection, true);
      assert.equal(ssl.certInSession, true);
      assert.equal(ssl.verify, 0);
      assert.equal(ssl.cn, "client.megacorp.example");
      assert.equal(ssl.keyAlg, "EC256");
      assert.equal(ssl.sigAlg, "ecdsa-with-SHA256");
      assert.deepEqual(
        ssl.subTlvs.map((s) => s.name),
        ["VERSION", "CN", "KEY_ALG", "SIG_ALG", "CIPHER"],
      );
    },
  );

  test("health checks: LOCAL, no addresses, CRC32C valid", TEST_TIMEOUT, async (t) => {
    if (!requireProgram(t, "haproxy", "haproxy")) return;
    const [fe, be] = ["127.0.0.41", "127.0.0.42"];
    const backend = await ppBackend(t, be);
    const fePort = await freePort(fe);
    // HAProxy will not start without a listener: the frontend is there only for that.
    const haproxy = await startHaproxy(
      t,
      `${HAPROXY_TEST_PREAMBLE}
frontend fe_unused
  bind ${fe}:${fePort}
  default_backend be_checked

backend be_checked
  server s1 ${be}:${backend.port} send-proxy-v2 proxy-v2-options ${ALL_26_OPTIONS} check inter 100ms
`,
    );

    const h = headerOf(await backend.decided(0, haproxy));
    t.diagnostic(`header: ${h.bytes.toString("hex")}`);
    assert.equal(h.version, 2);
    assert.equal(h.command, "local");
    assert.equal(h.family, "unspec");
    assert.equal(h.hasAddresses, false);
    assert.equal(h.source, null);
    assert.equal(h.destination, null);
    assert.equal(h.link, null);
    // The TLVs follow the 16-byte fixed part directly (no address block for UNSPEC).
    assert.deepEqual(names(h), ["CRC32C", "SSL"]);
    assert.equal(h.crc32c, "valid");
    assert.equal(h.headerLength, 16 + 7 + 8);
    // An SSL TLV with client 0, verify 0 and no sub-TLVs: the check connection is not TLS.
    // (The decoder lists a LOCAL header's TLVs but does not interpret them: `ssl` stays null.)
    assert.equal(h.tlvs[1].value.toString("hex"), "0000000000");
  });

  test(
    "health checks with pp2-never-send-local: PROXY with the check's own addresses",
    TEST_TIMEOUT,
    async (t) => {
      if (!requireProgram(t, "haproxy", "haproxy")) return;
      const [fe, be, checkSource] = ["127.0.0.43", "127.0.0.44", "127.0.0.45"];
      const backend = await ppBackend(t, be);
      const fePort = await freePort(fe);
      const haproxy = await startHaproxy(
        t,
        `${HAPROXY_TEST_PREAMBLE}
global
  pp2-never-send-local

frontend fe_unused
  bind ${fe}:${fePort}
  default_backend be_checked

backend be_checked
  server s1 ${be}:${backend.port} send-proxy-v2 proxy-v2-options crc32c check inter 100ms source ${checkSource}
`,
      );

      const c = await backend.decided(0, haproxy);
      const h = headerOf(c);
      t.diagnostic(`header: ${h.bytes.toString("hex")}`);
      assert.equal(h.command, "proxy");
      assert.equal(h.family, "tcp4");
      // The check connection closes at once (often before the backend can ask for its peer's
      // address), so only the address HAProxy was told to use is known.
      assert.equal(h.source?.address, checkSource);
      assert.ok(Number.isInteger(h.source?.port) && (h.source?.port ?? 0) > 0);
      assert.deepEqual(h.destination, { address: be, port: backend.port });
      assert.deepEqual(names(h), ["CRC32C"]);
      assert.equal(h.crc32c, "valid");
    },
  );
});

describe("split reads over a real socket", () => {
  test(
    "a header written one byte per segment decodes across as many chunks",
    TEST_TIMEOUT,
    async (t) => {
      const host = "127.0.0.51";
      const backend = await ppBackend(t, host);
      const header = encodeProxyHeaderV2({
        source: { address: "192.0.2.10", port: 50_000 },
        destination: { address: "198.51.100.20", port: 443 },
        link: "aws:vpce-0123456789abcdef0",
        authority: SNI,
        alpn: "h2",
        crc32c: true,
      });
      const socket = await connectTcp(t, { host, port: backend.port });
      socket.setNoDelay(true);
      // Lockstep: each byte is written only once the server has read the previous one, so every
      // socket chunk holds exactly one byte; the last header byte shares its write with the
      // application's first bytes.
      for (let i = 0; i < header.length - 1; i++) {
        socket.write(header.subarray(i, i + 1));
        await waitFor(() => backend.captures[0]?.received === i + 1, {
          intervalMs: 1,
          what: `the server to read byte ${i}`,
        });
      }
      socket.write(Buffer.concat([header.subarray(header.length - 1), APP]));

      const c = await backend.decided(0);
      const h = headerOf(c);
      assert.equal(c.headerChunks, header.length);
      assert.equal(c.decoder.tailOffset, 1);
      assert.deepEqual(h.bytes, header);
      assert.equal(h.headerLength, header.length);
      assert.deepEqual(h.source, { address: "192.0.2.10", port: 50_000 });
      assert.deepEqual(h.destination, { address: "198.51.100.20", port: 443 });
      assert.equal(h.link?.id, "aws:vpce-0123456789abcdef0");
      assert.equal(h.authority, SNI);
      assert.equal(h.alpn, "h2");
      assert.equal(h.crc32c, "valid");
      assert.deepEqual(await appBytes(c, APP.length), APP);
    },
  );
});

function decodeOrFail(bytes: Buffer): ProxyHeader {
  const result = decodeProxyHeader(bytes);
  if (result instanceof ParseError) assert.fail(`${result.code}: ${result.message}`);
  return result;
}

interface Fixture {
  name: string;
  sender: string;
  how: string;
  hex: string;
  decoded: unknown;
}

describe("recorded HAProxy 2.6 headers (fixtures/haproxy-2.6.json)", () => {
  const fixtures = JSON.parse(
    readFileSync(new URL("fixtures/haproxy-2.6.json", import.meta.url), "utf8"),
  ) as Fixture[];
  for (const f of fixtures) {
    test(`${f.name}: decodes as recorded, whole and byte by byte`, () => {
      const bytes = Buffer.from(f.hex, "hex");
      const whole = decodeOrFail(bytes);
      assert.deepEqual(JSON.parse(JSON.stringify(headerToJSON(whole))), f.decoded);
      const decoder = new ProxyHeaderDecoder();
      let status: number = NEED_MORE;
      for (let i = 0; i < bytes.length && status === NEED_MORE; i++) {
        status = decoder.push(bytes.subarray(i, i + 1));
      }
      assert.equal(status, DONE);
      assert.deepEqual(headerToJSON(decoder.header as ProxyHeader), headerToJSON(whole));
    });
  }
});
