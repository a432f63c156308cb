/**
 * Real clients over real loopback sockets: the decoder is fed the chunks exactly as the socket
 * delivers them, as the gateway will. Complements the fixtures with whatever versions of
 * openssl, curl and Node this machine has today.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { type TestContext, test } from "node:test";
import { connect } from "node:tls";
import { ClientHelloDecoder, DONE, INVALID, type ParseError } from "../../src/tls/index.js";
import { listenTcp, requireProgram, withTimeout } from "../helpers/programs.js";

const HOST = "megacorp.api.example.com";

interface Seen {
  hello: { sni: string | null; alpn: string[] } | null;
  error: ParseError | null;
  chunks: number;
}

/** Listens on `address`, decodes the first connection's hello, then closes it. */
async function helloReader(t: TestContext, address: string) {
  let resolveSeen: (seen: Seen) => void = () => {};
  const seen = new Promise<Seen>((resolve) => {
    resolveSeen = resolve;
  });
  const server = await listenTcp(t, address, (socket) => {
    const decoder = new ClientHelloDecoder();
    let chunks = 0;
    socket.on("data", (chunk: Buffer) => {
      chunks++;
      const status = decoder.push(chunk);
      if (status === DONE || status === INVALID) {
        const hello = decoder.hello;
        resolveSeen({
          hello: hello === null ? null : { sni: hello.sni, alpn: hello.alpn },
          error: decoder.error,
          chunks,
        });
        socket.destroy();
      }
    });
  });
  return { port: server.port, seen: withTimeout(seen, 10_000, `a ClientHello on ${address}`) };
}

/** Starts a client program, killed when the test ends. */
function startClient(t: TestContext, program: string, args: string[]): void {
  const child = spawn(program, args, { stdio: ["pipe", "ignore", "ignore"] });
  child.on("error", () => {});
  t.after(() => {
    child.kill("SIGKILL");
  });
}

test("openssl s_client (TLS 1.3, ALPN h2)", async (t) => {
  if (!requireProgram(t, "openssl", "openssl")) return;
  const { port, seen } = await helloReader(t, "127.0.0.61");
  startClient(t, "openssl", [
    "s_client",
    "-connect",
    `127.0.0.61:${port}`,
    "-servername",
    HOST,
    "-alpn",
    "h2,http/1.1",
  ]);
  const { hello, error } = await seen;
  assert.equal(error, null);
  assert.deepEqual(hello, { sni: HOST, alpn: ["h2", "http/1.1"] });
});

test("openssl s_client -noservername: no SNI", async (t) => {
  if (!requireProgram(t, "openssl", "openssl")) return;
  const { port, seen } = await helloReader(t, "127.0.0.62");
  startClient(t, "openssl", ["s_client", "-connect", `127.0.0.62:${port}`, "-noservername"]);
  const { hello } = await seen;
  assert.deepEqual(hello, { sni: null, alpn: [] });
});

test("curl", async (t) => {
  if (!requireProgram(t, "curl", "curl")) return;
  const { port, seen } = await helloReader(t, "127.0.0.63");
  startClient(t, "curl", [
    "--silent",
    "--max-time",
    "10",
    "--resolve",
    `${HOST}:${port}:127.0.0.63`,
    "-k",
    `https://${HOST}:${port}/`,
  ]);
  const { hello } = await seen;
  assert.equal(hello?.sni, HOST);
  assert.ok(hello?.alpn.includes("http/1.1"));
});

test("node:tls with a mixed-case servername and a trailing dot", async (t) => {
  const { port, seen } = await helloReader(t, "127.0.0.64");
  const socket = connect({
    host: "127.0.0.64",
    port,
    servername: "MegaCorp.API.example.com.",
    ALPNProtocols: ["h2"],
    rejectUnauthorized: false,
  });
  socket.on("error", () => {});
  t.after(() => {
    socket.destroy();
  });
  const { hello } = await seen;
  // Node may strip the trailing dot itself; either way the decoder gives the canonical name.
  assert.deepEqual(hello, { sni: HOST, alpn: ["h2"] });
});

test("plain HTTP on the TLS port is refused on its first chunk", async (t) => {
  const { port, seen } = await helloReader(t, "127.0.0.65");
  const { Socket } = await import("node:net");
  const socket = new Socket();
  socket.on("error", () => {});
  t.after(() => {
    socket.destroy();
  });
  socket.connect(port, "127.0.0.65", () => socket.write(`GET / HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`));
  const { error, chunks } = await seen;
  assert.equal(error?.code, "TLS_NOT_HANDSHAKE");
  assert.equal(chunks, 1);
});
