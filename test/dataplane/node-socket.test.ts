/**
 * The relay's socket primitives (src/dataplane/node-socket.ts): both Node.js details they rely
 * on are in use on the Node.js linkgate ships with (a change in Node.js must fail here, not
 * silently fall back), and the invariant behind the shared read buffer holds: once forward()
 * returns, nothing refers to the bytes it was given.
 */
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import net from "node:net";
import { describe, type TestContext, test } from "node:test";
import {
  acceptedSocketsReadIntoRelayBuffer,
  descriptorOf,
  ForwardError,
  forward,
  RELAY_READ_SIZE,
  readIntoRelayBuffer,
  relayBuffer,
  writeOwned,
} from "../../src/dataplane/node-socket.js";
import { withTimeout } from "../helpers/programs.js";

/** A connected pair on 127.0.0.1: `accepted` is the server side. */
async function pair(
  t: TestContext,
  pauseOnConnect = false,
): Promise<{ accepted: net.Socket; dialled: net.Socket }> {
  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const acceptedP = new Promise<net.Socket>((r) => server.once("connection", r));
  const dialled = net.connect((server.address() as net.AddressInfo).port, "127.0.0.1");
  const accepted = await acceptedP;
  await new Promise((r) => (dialled.connecting ? dialled.once("connect", r) : r(null)));
  t.after(() => {
    accepted.destroy();
    dialled.destroy();
    server.close();
  });
  return { accepted, dialled };
}

describe("relay socket primitives on this Node.js", () => {
  test("accepted sockets can read into the shared buffer, and sockets expose a descriptor", async (t) => {
    assert.equal(
      acceptedSocketsReadIntoRelayBuffer,
      true,
      `Node.js ${process.version} no longer has the onread fields node-socket.ts sets`,
    );
    const { accepted, dialled } = await pair(t);
    assert.ok(descriptorOf(accepted) >= 0);
    assert.ok(descriptorOf(dialled) >= 0);

    accepted.pause();
    const reads: { n: number; same: boolean; text: string }[] = [];
    const got = new Promise<void>((resolve) => {
      assert.equal(
        readIntoRelayBuffer(accepted, function (this: net.Socket, n, buf) {
          reads.push({ n, same: buf === relayBuffer, text: buf.toString("latin1", 0, n) });
          if (reads.map((r) => r.text).join("") === "hello relay") resolve();
          return true;
        }),
        true,
      );
    });
    let ended = false;
    accepted.on("end", () => {
      ended = true;
    });
    accepted.resume();
    dialled.end("hello relay");
    await withTimeout(got, 5000, "the read");
    assert.ok(
      reads.every((r) => r.same),
      "every read lands in the shared buffer",
    );
    await withTimeout(
      new Promise((r) => (ended ? r(null) : accepted.once("end", r))),
      5000,
      "the end",
    );
  });

  test("forward(): once it returns, overwriting the buffer changes nothing the peer receives", async (t) => {
    const { accepted, dialled } = await pair(t);
    dialled.pause(); // fill the kernel buffers, so forward() must copy and queue
    const fd = descriptorOf(accepted);
    const sent = createHash("sha256");
    let total = 0;
    let backedUp = 0;
    for (let i = 0; i < 400; i++) {
      const chunk = randomBytes(RELAY_READ_SIZE);
      chunk.copy(relayBuffer);
      sent.update(chunk);
      total += chunk.length;
      if (!forward(accepted, fd, relayBuffer, chunk.length)) backedUp++;
      relayBuffer.fill(0xee); // what the next read of any socket would do
    }
    assert.ok(backedUp > 0, "the receiver backed up (the copying path was exercised)");
    assert.ok(accepted.writableLength > 0);
    const received = createHash("sha256");
    let count = 0;
    const done = new Promise<void>((resolve) => {
      dialled.on("data", (d: Buffer) => {
        received.update(d);
        count += d.length;
        if (count === total) resolve();
      });
    });
    dialled.resume();
    await withTimeout(done, 10_000, "every byte");
    assert.equal(received.digest("hex"), sent.digest("hex"));
  });

  test("writeOwned(): in order behind a backed-up queue, every byte delivered", async (t) => {
    const { accepted, dialled } = await pair(t);
    dialled.pause();
    const fd = descriptorOf(accepted);
    const chunks = Array.from({ length: 200 }, () => randomBytes(32 * 1024));
    let queued = 0;
    for (const chunk of chunks) if (!writeOwned(accepted, fd, chunk)) queued++;
    assert.ok(queued > 0, "the receiver backed up");
    const sent = createHash("sha256");
    for (const chunk of chunks) sent.update(chunk);
    const received = createHash("sha256");
    let count = 0;
    const done = new Promise<void>((resolve) => {
      dialled.on("data", (d: Buffer) => {
        received.update(d);
        count += d.length;
        if (count === 200 * 32 * 1024) resolve();
      });
    });
    dialled.resume();
    await withTimeout(done, 10_000, "every byte");
    assert.equal(received.digest("hex"), sent.digest("hex"));
  });

  test("forward() to a socket whose peer is gone throws ForwardError with the errno", async (t) => {
    // The accepted side never reads, so only forward() can meet the reset.
    const { accepted, dialled } = await pair(t, true);
    accepted.on("error", () => {});
    dialled.resetAndDestroy();
    await new Promise((r) => setTimeout(r, 50));
    const fd = descriptorOf(accepted);
    let thrown: unknown = null;
    for (let i = 0; i < 3 && thrown === null; i++) {
      try {
        forward(accepted, fd, relayBuffer, 1024);
      } catch (error) {
        thrown = error;
      }
    }
    assert.ok(thrown instanceof ForwardError, `got ${String(thrown)}`);
    assert.match((thrown as ForwardError).code, /^(EPIPE|ECONNRESET)$/);
  });
});
