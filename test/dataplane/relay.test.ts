/**
 * The relay after the decision: bytes arrive exactly and in order both ways, a FIN travels one
 * direction at a time (half-close), and a slow reader pauses the other side (backpressure).
 * The client sends a real captured ClientHello, then opaque bytes: linkgate never looks past
 * the hello, so an echoing origin is enough.
 */
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import net from "node:net";
import { describe, type TestContext, test } from "node:test";
import type { ListenerConfig } from "../../src/config/types.js";
import { CONNECTING_READ_AHEAD_BYTES } from "../../src/dataplane/connection.js";
import type { Engine } from "../../src/dataplane/engine.js";
import { runtimeEngine } from "../../src/dataplane/engines/index.js";
import { DONE, ProxyHeaderDecoder } from "../../src/proxy-protocol/index.js";
import { config, listener, tenant } from "../helpers/config.js";
import { OPENSSL_HELLO as HELLO, LINK_HEADER as PP } from "../helpers/first-bytes.js";
import { startGateway } from "../helpers/gateway.js";
import { delay, waitFor, withTimeout } from "../helpers/programs.js";
import { clientHello, extension, serverNameData, toRecords } from "../tls/hello-builder.js";

interface EchoOrigin {
  port: number;
  sockets: net.Socket[];
  /** Set by a test to stop the origin reading (to build backpressure towards the client). */
  mode: "echo" | "sink" | "flood";
}

/** Reads linkgate's PROXY header, then echoes (or sinks, or floods) the rest. */
async function startEchoOrigin(t: TestContext): Promise<EchoOrigin> {
  const origin: EchoOrigin = { port: 0, sockets: [], mode: "echo" };
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    origin.sockets.push(s);
    s.on("error", () => {});
    const d = new ProxyHeaderDecoder();
    let inHeader = true;
    s.on("data", (chunk: Buffer) => {
      let data = chunk;
      if (inHeader) {
        if (d.push(chunk) !== DONE) return;
        inHeader = false;
        data = chunk.subarray(d.tailOffset);
        if (origin.mode === "flood") {
          const block = Buffer.alloc(1 << 20, 7);
          const pump = () => {
            while (s.write(block)) {
              if (s.bytesWritten > 256 << 20) return;
            }
            s.once("drain", pump);
          };
          pump();
        }
      }
      if (origin.mode === "echo" && data.length > 0) s.write(data);
    });
    s.on("end", () => {
      if (origin.mode === "echo") s.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  origin.port = (server.address() as net.AddressInfo).port;
  t.after(() => {
    for (const s of origin.sockets) s.destroy();
    return new Promise<void>((r) => server.close(() => r()));
  });
  return origin;
}

/**
 * linkgate with one listener, `privatelink` (trusting 127.0.0.1), and tenant megacorp, relaying
 * to 127.0.0.1:`upstreamPort`; `listener` adds listener settings, `engine` replaces the socket layer.
 */
async function gatewayTo(
  t: TestContext,
  upstreamPort: number,
  options: { listener?: Partial<ListenerConfig>; engine?: Engine } = {},
) {
  const base = config({
    listeners: [
      listener({ name: "privatelink", trustedProxies: ["127.0.0.1/32"], ...options.listener }),
    ],
    tenants: [tenant("megacorp")],
  });
  return startGateway(
    t,
    { ...base, routing: { ...base.routing, upstream: { host: "127.0.0.1", port: upstreamPort } } },
    { engine: options.engine },
  );
}

async function setup(t: TestContext) {
  const origin = await startEchoOrigin(t);
  const gw = await gatewayTo(t, origin.port);
  return { origin, gw, addr: gw.address("privatelink") };
}

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

/** A byte stream unique to `seed`: each 1 KiB block is the SHA-512 of (seed, block index) x16. */
function streamBlock(seed: number, index: number): Buffer {
  const h = createHash("sha512").update(`${seed}:${index}`).digest();
  return Buffer.concat(Array.from({ length: 16 }, () => h));
}

/**
 * An origin that, after linkgate's PROXY header and the client's hello, reads a 4-byte seed and
 * sends `blocks` KiB of the seed's stream as fast as the connection takes it, then ends.
 */
async function startStreamOrigin(t: TestContext, blocks: number): Promise<number> {
  const sockets: net.Socket[] = [];
  const server = net.createServer((s) => {
    sockets.push(s);
    s.on("error", () => {});
    const d = new ProxyHeaderDecoder();
    let buffered = Buffer.alloc(0);
    let inHeader = true;
    const onData = (chunk: Buffer) => {
      let data = chunk;
      if (inHeader) {
        if (d.push(chunk) !== DONE) return;
        inHeader = false;
        data = chunk.subarray(d.tailOffset);
      }
      buffered = Buffer.concat([buffered, data]);
      if (buffered.length < HELLO.length + 4) return;
      s.off("data", onData);
      const seed = buffered.readUInt32BE(HELLO.length);
      let i = 0;
      const pump = () => {
        while (i < blocks) if (!s.write(streamBlock(seed, i++))) return void s.once("drain", pump);
        s.end();
      };
      pump();
    };
    s.on("data", onData);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  t.after(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((r) => server.close(() => r()));
  });
  return (server.address() as net.AddressInfo).port;
}

/** Counts the pause() and resume() calls on accepted sockets; dials with `connectDelayMs`. */
function countingEngine(connectDelayMs: number): {
  engine: Engine;
  calls: { pause: number; resume: number };
} {
  const calls = { pause: 0, resume: 0 };
  const engine: Engine = {
    name: runtimeEngine.name,
    listen: (options, accept) =>
      runtimeEngine.listen(options, (socket) => {
        const pause = socket.pause.bind(socket);
        const resume = socket.resume.bind(socket);
        socket.pause = () => {
          calls.pause++;
          pause();
        };
        socket.resume = () => {
          calls.resume++;
          resume();
        };
        return accept(socket);
      }),
    // The connection hears of the open `connectDelayMs` late: a slow upstream connect.
    connect: (host, port, owner) =>
      runtimeEngine.connect(host, port, {
        onOpen: (s) => setTimeout(() => owner.onOpen(s), connectDelayMs),
        onData: (s, b, n) => owner.onData(s, b, n),
        onEnd: (s) => owner.onEnd(s),
        onDrain: (s) => owner.onDrain(s),
        onError: (s, errno) => owner.onError(s, errno),
        onClose: (s) => owner.onClose(s),
      }),
  };
  return { engine, calls };
}

describe("relay", () => {
  test("8 MiB each way arrive intact and in order; a half-close is forwarded", {
    timeout: 30_000,
  }, async (t) => {
    const { gw, addr } = await setup(t);
    const payload = randomBytes(8 << 20);
    const socket = net.connect({ ...addr, allowHalfOpen: true });
    const received: Buffer[] = [];
    socket.on("data", (d) => received.push(d));
    const ended = new Promise((r) => socket.once("end", r));
    await new Promise((r) => socket.once("connect", r));
    socket.write(PP);
    socket.write(HELLO);
    socket.end(payload); // half-close: the origin echoes everything, then ends its side
    await withTimeout(ended, 20_000, "the echo and the origin's FIN");
    const back = Buffer.concat(received);
    assert.equal(back.length, HELLO.length + payload.length);
    assert.equal(sha(back), sha(Buffer.concat([HELLO, payload])));
    socket.destroy();
    const rec = await gw.next();
    assert.equal(rec.decision, "allow");
    assert.equal(rec.bytesFromClient, PP.length + HELLO.length + payload.length);
    assert.equal(rec.bytesToClient, HELLO.length + payload.length);
  });

  test("the client is not paused while its upstream connects, unless it sends more than the read-ahead", {
    timeout: 30_000,
  }, async (t) => {
    const origin = await startEchoOrigin(t);
    // Each case: bytes the client sends after its hello while the upstream connects (200 ms).
    for (const [extra, paused] of [
      [0, false],
      [16 * 1024, false],
      [CONNECTING_READ_AHEAD_BYTES + 1024 * 1024, true],
    ] as const) {
      const { engine, calls } = countingEngine(200);
      const gw = await gatewayTo(t, origin.port, { engine });
      const socket = net.connect({ ...gw.address("privatelink"), allowHalfOpen: true });
      socket.on("error", () => {});
      const received: Buffer[] = [];
      socket.on("data", (d: Buffer) => received.push(d));
      const ended = new Promise((r) => socket.once("end", r));
      await new Promise((r) => socket.once("connect", r));
      const payload = randomBytes(extra);
      socket.write(Buffer.concat([PP, HELLO]));
      await delay(50); // decided, still connecting: the rest arrives in the Connecting state
      socket.end(payload);
      await withTimeout(ended, 20_000, `the echo of ${extra} bytes and the FIN`);
      const back = Buffer.concat(received);
      assert.equal(sha(back), sha(Buffer.concat([HELLO, payload])), `${extra} bytes, in order`);
      socket.destroy();
      const rec = await gw.next();
      assert.equal(rec.decision, "allow");
      if (paused) {
        assert.ok(calls.pause >= 1, `paused past the read-ahead (${JSON.stringify(calls)})`);
        assert.ok(calls.resume >= 1, `and resumed (${JSON.stringify(calls)})`);
      } else assert.deepEqual(calls, { pause: 0, resume: 0 }, `${extra} bytes: never paused`);
    }
  });

  test("the upstream half-closes first, then the client uploads more than it takes at once: every byte, then the FIN", {
    timeout: 30_000,
  }, async (t) => {
    // The origin answers and sends its FIN at once, then reads slowly: the client's upload
    // backs up in linkgate, and the client's FIN reaches linkgate behind it.
    // linkgate must write all of it, then the FIN, before the connection ends.
    const got = createHash("sha256");
    let gotBytes = 0;
    let originEnded: () => void = () => {};
    const originDone = new Promise<void>((r) => {
      originEnded = r;
    });
    const server = net.createServer({ allowHalfOpen: true }, (s) => {
      s.on("error", () => {});
      const d = new ProxyHeaderDecoder();
      let phase: "header" | "hello" | "upload" = "header";
      let hello = 0;
      s.on("data", (chunk: Buffer) => {
        let data = chunk;
        if (phase === "header") {
          if (d.push(chunk) !== DONE) return;
          phase = "hello";
          data = chunk.subarray(d.tailOffset);
        }
        if (phase === "hello") {
          const take = Math.min(HELLO.length - hello, data.length);
          hello += take;
          data = data.subarray(take);
          if (hello < HELLO.length) return;
          phase = "upload";
          s.end("ready"); // our FIN first
        }
        got.update(data);
        gotBytes += data.length;
        // A slow reader: linkgate's writes to it are often partial, the last one included.
        s.pause();
        setTimeout(() => s.resume(), 2);
      });
      s.on("end", () => originEnded());
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    t.after(() => server.close());
    const gw = await gatewayTo(t, (server.address() as net.AddressInfo).port);
    const socket = net.connect({ ...gw.address("privatelink"), allowHalfOpen: true });
    socket.on("error", () => {});
    let answer = "";
    socket.on("data", (d: Buffer) => {
      answer += d.toString();
    });
    const upstreamEnded = new Promise((r) => socket.once("end", r));
    await new Promise((r) => socket.once("connect", r));
    socket.write(Buffer.concat([PP, HELLO]));
    await withTimeout(upstreamEnded, 5000, "the origin's answer and FIN");
    assert.equal(answer, "ready");
    const upload = randomBytes(32 << 20);
    socket.end(upload);
    await withTimeout(originDone, 20_000, `the client's FIN at the origin (${gotBytes} bytes in)`);
    assert.equal(gotBytes, upload.length);
    assert.equal(got.digest("hex"), sha(upload));
    const rec = await gw.next();
    assert.equal(rec.decision, "allow");
    assert.equal(rec.closedBy, null);
    assert.equal(rec.bytesFromClient, PP.length + HELLO.length + upload.length);
  });

  test("a first upstream write larger than the shared write buffer arrives whole", {
    timeout: 30_000,
  }, async (t) => {
    // A 120 KiB ClientHello (30,000 cipher suites and a 60,000-byte padding extension) in eight
    // records: the fresh header and the hello do not fit the engine's 64 KiB shared buffer, so
    // the first write takes a buffer of its own.
    const records = toRecords(
      clientHello(
        [
          extension(0, serverNameData("megacorp.api.example.com")),
          extension(21, Buffer.alloc(60_000)), // padding
        ],
        { cipherSuites: new Array<number>(30_000).fill(0x1301) },
      ),
    );
    assert.ok(records.length > 64 * 1024 + 1024, "larger than the shared buffer");
    const origin = await startEchoOrigin(t);
    const gw = await gatewayTo(t, origin.port, { listener: { maxClientHelloBytes: 262_144 } });
    const socket = net.connect({ ...gw.address("privatelink"), allowHalfOpen: true });
    const received: Buffer[] = [];
    socket.on("data", (d) => received.push(d));
    const ended = new Promise((r) => socket.once("end", r));
    await new Promise((r) => socket.once("connect", r));
    socket.end(Buffer.concat([PP, records]));
    await withTimeout(ended, 20_000, "the echo and the origin's FIN");
    assert.equal(sha(Buffer.concat(received)), sha(records), "the hello, echoed whole");
    socket.destroy();
    const rec = await gw.next();
    assert.equal(rec.decision, "allow");
    assert.equal(rec.sni, "megacorp.api.example.com");
  });

  test("a client that stops reading pauses the upstream: buffered bytes stay bounded", {
    timeout: 30_000,
  }, async (t) => {
    const { origin, gw, addr } = await setup(t);
    origin.mode = "flood";
    const socket = net.connect(addr);
    await new Promise((r) => socket.once("connect", r));
    socket.pause(); // never read
    socket.write(Buffer.concat([PP, HELLO]));
    await waitFor(() => [...gw.gateway.listeners[0].live][0]?.upstream ?? undefined, {
      what: "the upstream socket",
    });
    // Give the origin time to flood; linkgate must stop reading from it.
    await new Promise((r) => setTimeout(r, 500));
    const sent = origin.sockets[0].bytesWritten;
    assert.ok(
      sent < 64 << 20,
      `the origin could not push more than kernel buffers allow (${sent} bytes)`,
    );
    // Paused, not just slow: nothing more leaves the origin while the client does not read.
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(origin.sockets[0].bytesWritten, sent, "the upstream stays paused");
    socket.destroy();
    await gw.next();
  });
  test("concurrent downloads to stop-and-go readers: every client gets its own bytes, intact", {
    timeout: 60_000,
  }, async (t) => {
    // Reads of several upstream sockets land in memory the relay may share; a client write the
    // kernel only partly takes keeps pointing into it. No other connection's read may overwrite
    // those bytes: a client must never see a byte of another connection's stream.
    const blocks = 8192; // 8 MiB per connection
    const port = await startStreamOrigin(t, blocks);
    const gw = await gatewayTo(t, port);
    const addr = gw.address("privatelink");
    const download = async (seed: number) => {
      const socket = net.connect(addr);
      const hash = createHash("sha256");
      let received = 0;
      // The origin does not echo the hello: everything received is the seed's stream.
      socket.on("data", (data: Buffer) => {
        received += data.length;
        hash.update(data);
        // Stop and go: pause often, so the gateway's writes to this client are often partial.
        socket.pause();
        setTimeout(() => socket.resume(), (seed + received) % 3);
      });
      const ended = new Promise((r) => socket.once("end", r));
      await new Promise((r) => socket.once("connect", r));
      const seedBytes = Buffer.alloc(4);
      seedBytes.writeUInt32BE(seed);
      socket.write(Buffer.concat([PP, HELLO, seedBytes]));
      await withTimeout(ended, 50_000, `download ${seed}`);
      socket.destroy();
      const expected = createHash("sha256");
      for (let i = 0; i < blocks; i++) expected.update(streamBlock(seed, i));
      return { seed, received, ok: hash.digest("hex") === expected.digest("hex") };
    };
    const results = await Promise.all([1, 2, 3, 4, 5, 6].map(download));
    for (const r of results) {
      assert.equal(r.received, blocks * 1024, `connection ${r.seed}: byte count`);
      assert.ok(r.ok, `connection ${r.seed}: its bytes were corrupted by another connection's`);
    }
  });
  test("concurrent uploads to a stop-and-go origin: every stream arrives intact", {
    timeout: 60_000,
  }, async (t) => {
    // The other direction of the shared read buffer: the origin reads slowly, so the gateway's
    // writes to it are often partial while other connections' client reads keep landing.
    const blocks = 8192; // 8 MiB per connection
    const sockets: net.Socket[] = [];
    const server = net.createServer({ allowHalfOpen: true }, (s) => {
      sockets.push(s);
      s.on("error", () => {});
      const d = new ProxyHeaderDecoder();
      const hash = createHash("sha256");
      let inHeader = true;
      let skip = HELLO.length; // the hello is not part of the stream
      s.on("data", (chunk: Buffer) => {
        let data = chunk;
        if (inHeader) {
          if (d.push(chunk) !== DONE) return;
          inHeader = false;
          data = chunk.subarray(d.tailOffset);
        }
        const drop = Math.min(skip, data.length);
        skip -= drop;
        hash.update(data.subarray(drop));
        s.pause();
        setTimeout(() => s.resume(), sockets.length % 3);
      });
      s.on("end", () => s.end(hash.digest("hex")));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    t.after(() => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((r) => server.close(() => r()));
    });
    const gw = await gatewayTo(t, (server.address() as net.AddressInfo).port);
    const upload = async (seed: number) => {
      const socket = net.connect({ ...gw.address("privatelink"), allowHalfOpen: true });
      let answer = "";
      socket.on("data", (d: Buffer) => {
        answer += d.toString("latin1");
      });
      const ended = new Promise((r) => socket.once("end", r));
      await new Promise((r) => socket.once("connect", r));
      socket.write(Buffer.concat([PP, HELLO]));
      const expected = createHash("sha256");
      for (let i = 0; i < blocks; i++) {
        const block = streamBlock(seed, i);
        expected.update(block);
        if (!socket.write(block)) await new Promise((r) => socket.once("drain", r));
      }
      socket.end();
      await withTimeout(ended, 50_000, `upload ${seed}`);
      socket.destroy();
      return { seed, ok: answer === expected.digest("hex") };
    };
    const results = await Promise.all([1, 2, 3, 4, 5, 6].map(upload));
    for (const r of results) assert.ok(r.ok, `connection ${r.seed}: the origin got other bytes`);
  });
});
