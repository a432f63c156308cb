/**
 * The floors `npm run bench` compares linkgate with: the minimal proxies of Node.js and of Bun's
 * own sockets (bench/floor/node.ts, bun-native.ts) and the same work on linkgate's engine on each
 * runtime (bench/floor/engine.ts, from dist/). Each must do for an
 * allowed connection what linkgate does (fresh PROXY v2 header, bytes as received, relay with
 * half-close), or its CPU figure would not be a floor; and drop what it cannot accept.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import net from "node:net";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { READ_AHEAD_BYTES, trustedPeers } from "../../bench/floor/minimal.ts";
import { AWS_PRIVATELINK_HEX, buildPayloads } from "../../bench/lib/payloads.js";
import {
  type Env,
  FLOORS,
  floorCommand,
  floorProgram,
  floorUnavailable,
} from "../../bench/lib/systems.js";
import { CONNECTING_READ_AHEAD_BYTES } from "../../src/dataplane/connection.js";
import { decodeProxyHeader, ParseError } from "../../src/proxy-protocol/index.js";
import { BUN_HEAP_ENV } from "../../src/runtime/bun-heap.js";

const payloads = buildPayloads();
const headerBytes = AWS_PRIVATELINK_HEX.length / 2;

interface Accepted {
  socket: net.Socket;
  /** Everything the backend read, once the proxy ended its write half. */
  received: Promise<Buffer>;
}

/** A backend that keeps each accepted connection half-open until the test answers it. */
class Backend {
  readonly server = net.createServer({ allowHalfOpen: true });
  /** Accepted connections no test has taken yet. */
  readonly accepted: Accepted[] = [];
  /** Connections accepted so far. */
  count = 0;
  #waiting: ((a: Accepted) => void)[] = [];

  constructor() {
    this.server.on("connection", (socket) => {
      this.count++;
      const chunks: Buffer[] = [];
      socket.on("data", (c: Buffer) => chunks.push(c));
      const received = once(socket, "end").then(() => Buffer.concat(chunks));
      const a = { socket, received };
      const waiting = this.#waiting.shift();
      if (waiting === undefined) this.accepted.push(a);
      else waiting(a);
    });
  }

  next(): Promise<Accepted> {
    const a = this.accepted.shift();
    if (a !== undefined) return Promise.resolve(a);
    return new Promise((resolve) => this.#waiting.push(resolve));
  }
}

async function startFloor(
  program: string,
  script: string,
  upstream: string,
  hosts: string,
  trusted?: string,
): Promise<[ChildProcess, number]> {
  const args = [script, "127.0.0.1:0", upstream, hosts, ...(trusted ? ["v2", trusted] : [])];
  const child = spawn(program, args, {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const [line] = (await once(child.stdout as NodeJS.ReadableStream, "data")) as [Buffer];
  const event = JSON.parse(line.toString());
  assert.equal(event.event, "listening");
  return [child, event.port];
}

/**
 * Sends `bytes` (and a FIN if `end`) from `localAddress`, then reads until the proxy ends or
 * resets.
 */
async function exchange(
  port: number,
  bytes: Buffer,
  end = true,
  localAddress = "127.0.0.1",
): Promise<Buffer | "closed"> {
  const socket = net.connect({ host: "127.0.0.1", port, allowHalfOpen: true, localAddress });
  const chunks: Buffer[] = [];
  socket.on("data", (c: Buffer) => chunks.push(c));
  socket.on("error", () => {}); // a reset is a drop too: "closed"
  socket.write(bytes);
  if (end) socket.end();
  await new Promise((resolve) => {
    socket.once("end", resolve);
    socket.once("close", resolve);
  });
  socket.destroy();
  return chunks.length === 0 ? "closed" : Buffer.concat(chunks);
}

for (const runtime of ["node", "node-engine", "bun-native", "bun-engine"] as const) {
  const floorProxy = FLOORS[runtime];
  const script = fileURLToPath(new URL(`../../${floorProxy.script}`, import.meta.url));
  const skip = floorUnavailable(floorProxy) ?? false;
  const program = floorProgram(floorProxy);
  describe(`bench ${floorProxy.label} (${floorProxy.script})`, { skip, timeout: 20_000 }, () => {
    const backend = new Backend();
    let floor: ChildProcess;
    let port: number;

    before(async () => {
      backend.server.listen(0, "127.0.0.1");
      await once(backend.server, "listening");
      const { port: backendPort } = backend.server.address() as net.AddressInfo;
      [floor, port] = await startFloor(
        program,
        script,
        `127.0.0.1:${backendPort}`,
        `other.example.com,${payloads.sni}`,
      );
    });

    after(() => {
      floor.kill("SIGTERM");
      backend.server.close();
    });

    test("allowed: fresh PROXY header, the bytes as received, answer after the client's FIN", async () => {
      const extra = Buffer.alloc(200_000, 7); // more than one read: relayed after the hello
      const reply = exchange(port, Buffer.concat([payloads.allowed, extra]));
      const a = await backend.next();
      const got = await a.received; // the client's FIN reached the backend...
      a.socket.end("answer"); // ...and the other direction still works
      assert.equal(((await reply) as Buffer).toString(), "answer");

      const header = decodeProxyHeader(got);
      assert.ok(!(header instanceof ParseError), String(header));
      assert.equal(header.headerLength, 28);
      assert.deepEqual(header.source, { address: "172.31.7.113", port: 51442 });
      assert.deepEqual(header.destination, { address: "172.31.10.31", port: 80 });
      assert.deepEqual(
        got.subarray(28),
        Buffer.concat([payloads.allowed.subarray(headerBytes), extra]),
      );
    });

    test("the header and the ClientHello may arrive in pieces", async () => {
      const socket = net.connect({ host: "127.0.0.1", port });
      for (const cut of [
        [0, 7],
        [7, 110],
        [110, payloads.allowed.length],
      ]) {
        socket.write(payloads.allowed.subarray(cut[0], cut[1]));
        await new Promise((r) => setTimeout(r, 20));
      }
      const a = await backend.next();
      socket.end();
      const got = await a.received;
      a.socket.end();
      socket.destroy();
      assert.deepEqual(got.subarray(28), payloads.allowed.subarray(headerBytes));
    });

    test("the PROXY header only from a trusted peer: others are dropped before any byte goes on", async (t) => {
      const { port: backendPort } = backend.server.address() as net.AddressInfo;
      const [strict, strictPort] = await startFloor(
        program,
        script,
        `127.0.0.1:${backendPort}`,
        payloads.sni,
        "10.0.0.0/8,127.0.0.2/32",
      );
      t.after(() => strict.kill("SIGTERM"));
      const before = backend.count;
      const untrusted = await Promise.race([
        exchange(strictPort, payloads.allowed, false, "127.0.0.1"),
        new Promise((r) => setTimeout(r, 2000, "still open after 2 s")),
      ]);
      assert.equal(untrusted, "closed");
      assert.equal(backend.count, before, "nothing from 127.0.0.1 reached the backend");
      const reply = exchange(strictPort, payloads.allowed, true, "127.0.0.2");
      const a = await backend.next();
      const got = await a.received;
      a.socket.end("answer");
      assert.equal(((await reply) as Buffer).toString(), "answer");
      assert.deepEqual(got.subarray(28), payloads.allowed.subarray(headerBytes));
    });

    test("a bad command line: the usage on stderr, exit code 2", async () => {
      for (const args of [
        ["127.0.0.1"],
        ["127.0.0.1:0", "127.0.0.1:1", "a.example", "v3"],
        ["127.0.0.1:0", "127.0.0.1:1", "a.example", "v2", "127.0.0.0/33"],
        ["127.0.0.1:0", "127.0.0.1:1", "a.example", "v2", "127.0.0.0/"],
        ["127.0.0.1:0", "127.0.0.1:1", "a.example", "v2", "::1/128"],
      ]) {
        const child = spawn(program, [script, ...args], { stdio: ["ignore", "ignore", "pipe"] });
        let stderr = "";
        child.stderr?.on("data", (d: Buffer) => {
          stderr += d.toString();
        });
        const [code] = (await once(child, "exit")) as [number | null];
        assert.equal(code, 2, args.join(" "));
        assert.match(stderr, /^usage: .*LISTEN:PORT UPSTREAM:PORT HOST\[,HOST\] \[v2\|none\]/);
      }
    });

    test("dropped: a host name not accepted, a bad signature, a v1 header", async () => {
      const before = backend.count;
      const wrongName = Buffer.from(payloads.allowed);
      const at = wrongName.indexOf(payloads.sni);
      wrongName[at] ^= 0x20; // the same length, another name
      const v1 = Buffer.concat([
        Buffer.from("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n"),
        payloads.allowed.subarray(headerBytes),
      ]);
      const badSignature = Buffer.from(payloads.allowed);
      badSignature[3] ^= 0xff;
      for (const bytes of [wrongName, badSignature, v1]) {
        assert.equal(await exchange(port, bytes, false), "closed");
      }
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(backend.count, before, "nothing reached the backend");
    });
  });
}

test("floors on Bun run with the heap settings linkgate serves with on Bun; Node.js floors as they are", () => {
  const env = { root: "/checkout" } as Env;
  const args = ["127.0.0.1:1", "127.0.0.1:2", "a.example.com", "v2"];
  for (const runtime of ["bun", "bun-native", "bun-engine"] as const) {
    const command = floorCommand(env, FLOORS[runtime], args);
    for (const [name, value] of Object.entries(BUN_HEAP_ENV))
      assert.equal(command.env[name], process.env[name] ?? value, `${runtime}: ${name}`);
    assert.deepEqual(command.args, [`/checkout/${FLOORS[runtime].script}`, ...args]);
  }
  for (const runtime of ["node", "node-engine"] as const) {
    assert.equal(floorCommand(env, FLOORS[runtime], args).env, process.env);
  }
});

test("the floors let a client read as far ahead while connecting as linkgate does", () => {
  assert.equal(READ_AHEAD_BYTES, CONNECTING_READ_AHEAD_BYTES);
});

test("the floors' trusted-peer check: IPv4 CIDRs parsed once, peers as the sockets report them", () => {
  const trusted = trustedPeers("10.0.0.0/8,127.0.0.2/32") as (a: string | undefined) => boolean;
  assert.equal(typeof trusted, "function");
  for (const peer of ["10.1.2.3", "10.255.255.255", "127.0.0.2", "::ffff:10.0.0.1"]) {
    assert.equal(trusted(peer), true, peer);
  }
  for (const peer of [
    "127.0.0.1",
    "11.0.0.0",
    "::1",
    "10.0.0",
    "10.0.0.1.5",
    "10.0.0.256",
    "",
    undefined,
  ]) {
    assert.equal(trusted(peer), false, String(peer));
  }
  assert.equal((trustedPeers("0.0.0.0/0") as (a: string) => boolean)("192.0.2.1"), true);
  for (const bad of [
    "",
    "10.0.0.0",
    "10.0.0.0/",
    "10.0.0.0/33",
    "10.0.0.0/x",
    "10.0.0.1/8",
    "::/0",
    "10.0.0.0/8,",
  ]) {
    assert.equal(trustedPeers(bad), null, bad);
  }
});
