/**
 * The Node.js engine's relay reads and writes (src/dataplane/engines/node): the Node.js details
 * they rely on (and the peer read from the handle) are in use on the Node.js linkgate ships with (a change in Node.js must
 * fail here, not silently fall back), and the invariant behind the shared read buffer holds:
 * once write() returns, nothing refers to the bytes of the shared buffer it was given.
 */
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import net from "node:net";
import { describe, test } from "node:test";
import { nodeEngine } from "../../../src/dataplane/engines/node/index.js";
import {
  acceptedSocketsReadIntoRelayBuffer,
  descriptorOf,
  handleHasPeer,
  peerOf,
  RELAY_READ_SIZE,
  readIntoRelayBuffer,
  relayBuffer,
} from "../../../src/dataplane/engines/node/relay-io.js";
import { withTimeout } from "../../helpers/programs.js";
import { enginePair, resumeAndHash } from "../pair.js";

describe("Node.js engine: relay reads and writes", () => {
  test("accepted sockets can read into the shared buffer, and sockets expose a descriptor", async (t) => {
    assert.equal(
      acceptedSocketsReadIntoRelayBuffer,
      true,
      `Node.js ${process.version} no longer has the onread fields relay-io.ts sets`,
    );
    const server = net.createServer({ allowHalfOpen: true });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const acceptedP = new Promise<net.Socket>((r) => server.once("connection", r));
    const dialled = net.connect((server.address() as net.AddressInfo).port, "127.0.0.1");
    const accepted = await acceptedP;
    t.after(() => {
      accepted.destroy();
      dialled.destroy();
      server.close();
    });
    await new Promise((r) => (dialled.connecting ? dialled.once("connect", r) : r(null)));
    assert.ok(descriptorOf(accepted) >= 0);
    assert.ok(descriptorOf(dialled) >= 0);
    // The peer, from the handle: what the getters say, and the dialling end's own address.
    assert.equal(
      handleHasPeer(accepted),
      true,
      `Node.js ${process.version} no longer has _handle.getpeername: peerOf fell back to the getters`,
    );
    const { address, port } = peerOf(accepted);
    const peer = { address, port };
    assert.deepEqual(peer, { address: "127.0.0.1", port: dialled.localPort });
    assert.deepEqual(peer, { address: accepted.remoteAddress, port: accepted.remotePort });

    accepted.pause();
    const reads: { n: number; same: boolean; text: string }[] = [];
    const got = new Promise<void>((resolve) => {
      assert.equal(
        readIntoRelayBuffer(accepted, function (this: net.Socket, n: number, buf: Buffer) {
          reads.push({ n, same: buf === relayBuffer, text: buf.toString("latin1", 0, n) });
          if (reads.map((r) => r.text).join("") === "hello relay") resolve();
          return true;
        }),
        true,
      );
    });
    accepted.resume();
    dialled.end("hello relay");
    await withTimeout(got, 5000, "the read");
    assert.ok(
      reads.every((r) => r.same),
      "every read lands in the shared buffer",
    );
    await withTimeout(
      new Promise((r) => (accepted.readableEnded ? r(null) : accepted.once("end", r))),
      5000,
      "the end",
    );
  });

  test("the peer of a socket reset before it was read is empty, not an error", async (t) => {
    const server = net.createServer({ pauseOnConnect: true });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const acceptedP = new Promise<net.Socket>((r) => server.once("connection", r));
    const dialled = net.connect((server.address() as net.AddressInfo).port, "127.0.0.1");
    dialled.on("error", () => {});
    const accepted = await acceptedP;
    accepted.on("error", () => {});
    t.after(() => {
      accepted.destroy();
      server.close();
    });
    await new Promise((r) => (dialled.connecting ? dialled.once("connect", r) : r(null)));
    dialled.resetAndDestroy();
    // Not read yet (paused): the handle is still open, but the kernel has dropped the peer.
    const read = () => {
      const { address, port } = peerOf(accepted);
      return { address, port };
    };
    let peer = read();
    for (let i = 0; i < 100 && peer.address !== ""; i++) {
      await new Promise((r) => setTimeout(r, 20));
      peer = read();
    }
    assert.equal(handleHasPeer(accepted), true, "the handle was read, not the getters");
    assert.deepEqual(peer, { address: "", port: 0 });
  });

  test("write() of the shared buffer: once it returns, overwriting the buffer changes nothing the peer receives", async (t) => {
    const { socket, peer } = await enginePair(t, nodeEngine);
    peer.pause(); // fill the kernel buffers, so write() must copy and queue
    const sent = createHash("sha256");
    let total = 0;
    let backedUp = 0;
    for (let i = 0; i < 400; i++) {
      const chunk = randomBytes(RELAY_READ_SIZE);
      chunk.copy(relayBuffer);
      sent.update(chunk);
      total += chunk.length;
      if (!socket.write(relayBuffer, chunk.length)) backedUp++;
      relayBuffer.fill(0xee); // what the next read of any socket would do
    }
    assert.ok(backedUp > 0, "the receiver backed up (the copying path was exercised)");
    assert.equal(await resumeAndHash(peer, total), sent.digest("hex"));
  });
});
