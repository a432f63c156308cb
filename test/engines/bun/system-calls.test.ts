/**
 * The system calls a connection costs on the Bun engine, counted with strace(1) on a process
 * that holds linkgate's data plane and nothing else (fixtures/gateway-process.ts); the origin
 * and the clients are this process's. Bun's `end()` sets TCP_CORK off before it closes, and a
 * `drain` handler costs the same setsockopt(2) when the peer's FIN arrives first on a half-open
 * socket: the engine closes with `close()` and gives dialled sockets a `drain` handler only
 * once a write leaves bytes queued (src/dataplane/engines/bun/index.ts). Run by `bun test`.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import { describe, type TestContext, test } from "node:test";
import { fileURLToPath } from "node:url";
import { LINK_HEADER, OPENSSL_HELLO } from "../../helpers/first-bytes.js";
import { requireProgram, tempDir, waitFor, withTimeout } from "../../helpers/programs.js";

const fixture = fileURLToPath(new URL("./fixtures/gateway-process.ts", import.meta.url));
const CONNECTIONS = 20;
const REPLY = Buffer.alloc(64, "r");
const FIRST_BYTES = Buffer.concat([LINK_HEADER, OPENSSL_HELLO]);
/** Not a PROXY header: the gateway drops the connection (PP_MISSING_HEADER), closing it. */
const NOT_A_HEADER = Buffer.from("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n");

/** Who sends the first FIN; `refused`: the client sends no PROXY header and is dropped. */
type Flow = "origin" | "client" | "refused";

/**
 * An origin that answers the first bytes with REPLY. `origin` first: it ends its side after
 * the answer (as the benchmark's origin does), and closes when the client's FIN follows.
 * `client` first: it ends its side when the client's FIN arrives.
 */
async function startOrigin(t: TestContext, flow: Flow): Promise<number> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => {});
    s.once("data", () => {
      if (flow === "origin") s.end(REPLY);
      else s.write(REPLY);
    });
    s.on("end", () => s.end());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  return (server.address() as net.AddressInfo).port;
}

/** One client connection; resolves with the bytes it received once the socket closes. */
function connection(port: number, flow: Flow): Promise<number> {
  return new Promise((resolve, reject) => {
    let received = 0;
    const socket = net.connect({ host: "127.0.0.1", port, allowHalfOpen: true }, () => {
      socket.write(flow === "refused" ? NOT_A_HEADER : FIRST_BYTES);
      if (flow === "client") socket.end();
    });
    socket.on("data", (d: Buffer) => {
      received += d.length;
    });
    // The origin's FIN first: the client answers it with its own.
    socket.on("end", () => socket.end());
    socket.on("error", reject);
    socket.on("close", () => resolve(received));
  });
}

/** Runs CONNECTIONS connections through the traced gateway; the setsockopt(2) lines it made. */
async function tracedConnections(t: TestContext, flow: Flow): Promise<string[]> {
  const originPort = await startOrigin(t, flow);
  const dir = await tempDir(t, "linkgate-syscalls-");
  const trace = join(dir, "strace.txt");
  const child = spawn(
    "strace",
    [
      "-f",
      "-qq",
      "-e",
      "trace=setsockopt",
      "-o",
      trace,
      process.execPath,
      fixture,
      `${originPort}`,
    ],
    { stdio: ["pipe", "pipe", "pipe"] },
  );
  t.after(() => child.kill("SIGKILL"));
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  let exitCode: number | null = null;
  const exited = new Promise<number | null>((resolve) =>
    child.on("exit", (code) => {
      exitCode = code;
      resolve(code);
    }),
  );
  // Its first line says where it listens.
  await waitFor(() => stdout.includes("\n") || exitCode !== null, {
    timeoutMs: 20_000,
    what: "the traced gateway to listen",
  });
  assert.ok(stdout.includes("\n"), `the gateway exited (${exitCode}) before listening: ${stderr}`);
  const listening = JSON.parse(stdout.split("\n")[0]) as { port: number };
  // One at a time: each connection's calls are its own.
  for (let i = 0; i < CONNECTIONS; i++) {
    const received = await withTimeout(
      connection(listening.port, flow),
      5000,
      `connection ${i + 1} to close`,
    );
    const expected = flow === "refused" ? 0 : REPLY.length;
    assert.equal(received, expected, `connection ${i + 1}: the origin's answer`);
  }
  child.stdin.end();
  assert.equal(await withTimeout(exited, 20_000, "the traced gateway to exit"), 0, stderr);
  const lines = stdout.trim().split("\n");
  assert.deepEqual(JSON.parse(lines.at(-1) as string), { closed: CONNECTIONS });
  return readFileSync(trace, "utf8")
    .split("\n")
    .filter((l) => l.includes("setsockopt("));
}

const cork = (lines: string[]) => lines.filter((l) => l.includes("TCP_CORK")).length;
const noDelay = (lines: string[]) => lines.filter((l) => l.includes("TCP_NODELAY")).length;

describe("system calls per connection on the Bun engine (strace)", () => {
  test("the origin's FIN first: no TCP_CORK at all", async (t) => {
    if (!requireProgram(t, "strace", "strace")) return;
    const lines = await tracedConnections(t, "origin");
    assert.equal(cork(lines), 0, lines.filter((l) => l.includes("TCP_CORK")).join("\n"));
    // Bun's own: one TCP_NODELAY on the accepted socket, two on the dialled one. Counted so
    // that a trace that saw nothing cannot pass.
    assert.equal(noDelay(lines), 3 * CONNECTIONS);
  });

  test("the client's FIN first: one TCP_CORK, from the listener's shared drain handler", async (t) => {
    if (!requireProgram(t, "strace", "strace")) return;
    const lines = await tracedConnections(t, "client");
    assert.equal(cork(lines), CONNECTIONS);
    assert.equal(noDelay(lines), 3 * CONNECTIONS);
  });

  test("a connection dropped at its header: closed without TCP_CORK", async (t) => {
    if (!requireProgram(t, "strace", "strace")) return;
    const lines = await tracedConnections(t, "refused");
    assert.equal(cork(lines), 0, lines.filter((l) => l.includes("TCP_CORK")).join("\n"));
    // The accepted socket's only: no upstream was dialled.
    assert.equal(noDelay(lines), CONNECTIONS);
  });
});
