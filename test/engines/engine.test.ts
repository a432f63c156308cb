/**
 * The socket layer's contract (src/dataplane/engine.ts), checked on the engine of the runtime
 * the tests run on: node:net under `node --test`, Bun's own sockets under `bun test` (npm test
 * runs both). The relay, half-close and backpressure of the data plane rest on these.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import net from "node:net";
import { describe, test } from "node:test";
import { type EngineSocket, sharedWriteBuffer } from "../../src/dataplane/engine.js";
import { runtimeEngine as engine } from "../../src/dataplane/engines/index.js";
import { delay, freePort, waitFor, withTimeout } from "../helpers/programs.js";
import { countRawCalls, enginePair, FIN_CALLS, recorder, resumeAndHash, sha } from "./pair.js";

const fin = FIN_CALLS[engine.name];

describe(`engine ${engine.name}: the socket contract`, () => {
  test("write(): what the kernel does not take is queued, in order, then drained", async (t) => {
    const { socket, owner, peer } = await enginePair(t, engine);
    peer.pause(); // the kernel buffers fill up
    const chunks = Array.from({ length: 256 }, () => randomBytes(64 * 1024)); // 16 MiB
    let queued = 0;
    for (const chunk of chunks) if (!socket.write(chunk, chunk.length)) queued++;
    assert.ok(queued > 0, "the peer backed up: write() reported it");
    assert.equal(await resumeAndHash(peer, 16 << 20), sha(chunks));
    await owner.saw("drain");
  });

  test("a dialled socket: what the kernel does not take is queued, written, then the FIN", async (t) => {
    // The Bun engine gives a dialled socket its drain handler only when bytes are first queued.
    let peer: net.Socket | null = null;
    const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (s) => {
      peer = s;
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    t.after(() => {
      peer?.destroy();
      server.close();
    });
    const owner = recorder();
    const socket = engine.connect("127.0.0.1", (server.address() as net.AddressInfo).port, owner);
    t.after(() => socket.destroy());
    await owner.saw("open");
    await waitFor(() => peer !== null, { what: "the accept" });
    const chunks = Array.from({ length: 256 }, () => randomBytes(64 * 1024)); // 16 MiB
    let queued = 0;
    for (const chunk of chunks) if (!socket.write(chunk, chunk.length)) queued++;
    assert.ok(queued > 0, "the peer backed up: write() reported it");
    socket.shutdown(); // after the last queued byte
    const p = peer as unknown as net.Socket;
    const ended = new Promise<void>((r) => p.once("end", () => r()));
    // Every byte arrives, then the FIN: on Bun only if the queue was written on drain.
    assert.equal(await resumeAndHash(p, 16 << 20), sha(chunks));
    await withTimeout(ended, 5000, "the FIN after the queued bytes");
  });

  test("write() from sharedWriteBuffer: what is queued is a copy, the buffer is free at once", async (t) => {
    const { socket, owner, peer } = await enginePair(t, engine);
    peer.pause(); // the kernel buffers fill up
    const sent: Buffer[] = [];
    let queued = 0;
    // Each write fills the shared buffer with new bytes and then reuses it, as a connection's
    // first upstream write does; an engine that queued a view of it would send the last fill.
    for (let i = 0; i < 96; i++) {
      const bytes = randomBytes(sharedWriteBuffer.length);
      sharedWriteBuffer.set(bytes);
      sent.push(bytes);
      if (!socket.write(sharedWriteBuffer, sharedWriteBuffer.length)) queued++;
      sharedWriteBuffer.fill(0xee);
    }
    assert.ok(queued > 0, "the peer backed up: some of the shared buffer had to be queued");
    const total = 96 * sharedWriteBuffer.length;
    assert.equal(await resumeAndHash(peer, total), sha(sent), "the bytes of each fill, in order");
    await owner.saw("drain");
  });

  test("shutdown() is a half-close: the peer gets a FIN and its answer still arrives", async (t) => {
    const { socket, owner, peer } = await enginePair(t, engine);
    const calls = countRawCalls(socket, [fin.halfClose, fin.close]);
    const peerEnded = new Promise<void>((r) => peer.once("end", () => r()));
    peer.resume();
    socket.write(Buffer.from("request"), 7);
    socket.shutdown();
    await withTimeout(peerEnded, 5000, "the peer to see the FIN");
    assert.deepEqual(calls, { [fin.halfClose]: 1, [fin.close]: 0 }, "a half-close");
    peer.end("answer after the FIN");
    await owner.saw("close");
    assert.equal(Buffer.concat(owner.received).toString(), "answer after the FIN");
    // The peer's FIN came after ours: still reported as an end, before the close, no error.
    assert.deepEqual(owner.events, ["open", "data", "end", "close"]);
  });

  test("the peer's FIN first: end is reported, writes still go through, then our FIN as a close, no reset", async (t) => {
    const { socket, owner, peer } = await enginePair(t, engine);
    const calls = countRawCalls(socket, [fin.halfClose, fin.close]);
    let got = "";
    let reset = false;
    peer.on("data", (d: Buffer) => {
      got += d.toString();
    });
    peer.on("error", () => {
      reset = true;
    });
    const peerEnded = new Promise<void>((r) => peer.once("end", () => r()));
    peer.end("bye");
    await owner.saw("end");
    socket.write(Buffer.from("still here"), 10);
    socket.shutdown();
    await withTimeout(peerEnded, 5000, "the peer to see our FIN");
    assert.equal(got, "still here");
    await owner.saw("close");
    assert.equal(reset, false, "a FIN, not a reset");
    assert.deepEqual(owner.events, ["open", "data", "end", "close"]);
    // Both directions done: a close sends the same FIN as a half-close, one system call less.
    assert.equal(calls[fin.halfClose], 0, "no half-close");
    assert.ok(calls[fin.close] >= 1, "closed");
  });

  test("shutdown() while bytes are queued: the FIN follows the last byte", async (t) => {
    const { socket, peer } = await enginePair(t, engine);
    peer.pause();
    const chunks = Array.from({ length: 128 }, () => randomBytes(64 * 1024));
    for (const chunk of chunks) socket.write(chunk, chunk.length);
    socket.shutdown();
    const received: Buffer[] = [];
    const ended = new Promise<void>((r) => peer.once("end", () => r()));
    peer.on("data", (d: Buffer) => received.push(d));
    peer.resume();
    await withTimeout(ended, 15_000, "the FIN");
    assert.equal(sha(received), sha(chunks));
  });

  test("pause() stops reading until resume(): the peer backs up", async (t) => {
    const { socket, owner, peer } = await enginePair(t, engine);
    socket.pause();
    const block = Buffer.alloc(1 << 20, 7);
    let offered = 0;
    const pump = () => {
      while (offered < 96 << 20 && peer.write(block)) offered += block.length;
      if (offered < 96 << 20) peer.once("drain", pump);
      else peer.end();
    };
    pump();
    await delay(300);
    assert.equal(owner.receivedBytes, 0, "nothing read while paused");
    assert.ok(offered < 96 << 20, `the peer backed up (${offered} bytes offered)`);
    socket.resume();
    await owner.saw("end", 20_000);
    assert.ok(owner.receivedBytes >= 96 << 20);
  });

  test("destroy(): closed at once; the peer sees the connection end", async (t) => {
    const { socket, owner, peer } = await enginePair(t, engine);
    const peerEnded = new Promise<void>((r) => peer.once("end", () => r()));
    peer.resume();
    socket.destroy();
    socket.destroy(); // idempotent
    await owner.saw("close");
    await withTimeout(peerEnded, 5000, "the peer to see the connection end");
    assert.equal(owner.events.filter((e) => e === "close").length, 1);
  });

  test("a reset by the peer: the errno, then the close", async (t) => {
    const { owner, peer } = await enginePair(t, engine);
    peer.resetAndDestroy();
    await owner.saw("close");
    assert.ok(owner.events.includes("error:ECONNRESET"), owner.events.join(" "));
    assert.equal(owner.events.at(-1), "close");
  });

  test("connect(): open, relay both ways; a refused port reports ECONNREFUSED, then the close", async (t) => {
    const server = net.createServer({ allowHalfOpen: true }, (s) => {
      s.on("data", (d: Buffer) => s.write(d));
      s.on("end", () => s.end());
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    t.after(() => server.close());
    const owner = recorder();
    const socket = engine.connect("127.0.0.1", (server.address() as net.AddressInfo).port, owner);
    await owner.saw("open");
    socket.write(Buffer.from("echo me"), 7);
    socket.shutdown();
    await owner.saw("close");
    assert.equal(Buffer.concat(owner.received).toString(), "echo me");
    assert.deepEqual(owner.events, ["open", "data", "end", "close"]);

    const closedPort = await freePort("127.0.0.1");
    const refused = recorder();
    engine.connect("127.0.0.1", closedPort, refused);
    await refused.saw("close");
    assert.deepEqual(refused.events, ["error:ECONNREFUSED", "close"]);
  });

  test("an accepted socket's remoteAddress and remotePort are the peer's", async (t) => {
    const accepted: EngineSocket[] = [];
    const server = await engine.listen({ host: "127.0.0.1", port: 0 }, (s) => {
      accepted.push(s);
      return recorder();
    });
    const client = net.connect({ host: "127.0.0.1", port: server.port, localAddress: "127.0.0.3" });
    t.after(() => {
      client.destroy();
      for (const s of accepted) s.destroy();
      server.stopAccepting();
    });
    await withTimeout(
      new Promise((resolve, reject) => client.once("connect", resolve).once("error", reject)),
      5000,
      "the connect",
    );
    await waitFor(() => accepted.length === 1, { what: "the accept" });
    assert.equal(accepted[0].remoteAddress, "127.0.0.3");
    assert.equal(accepted[0].remotePort, client.localPort);
  });

  test("listen(): a port in use is refused with the errno", async (t) => {
    const first = await engine.listen({ host: "127.0.0.1", port: 0 }, () => recorder());
    t.after(() => first.stopAccepting());
    await assert.rejects(
      engine.listen({ host: "127.0.0.1", port: first.port }, () => recorder()),
      /EADDRINUSE/,
    );
  });
});
