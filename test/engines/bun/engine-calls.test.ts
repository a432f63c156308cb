/**
 * The Bun engine's own economies (src/dataplane/engines/bun/index.ts), seen as the calls it
 * makes on Bun's sockets: Bun's pause() and resume() each cost two poll changes, a TCP_CORK and
 * a wake-up, and a shutdown() after the peer's FIN one more system call and wake-up, so the
 * engine makes them only when they change something. Run by `bun test` (npm test).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { EngineSocket } from "../../../src/dataplane/engine.js";
import { bunEngine } from "../../../src/dataplane/engines/bun/index.js";
import { delay, withTimeout } from "../../helpers/programs.js";
import { enginePair } from "../pair.js";

type Calls = Record<"pause" | "resume" | "shutdown" | "end", number>;

/** Counts the engine's calls of the raw Bun socket's pause, resume, shutdown and end. */
function spyOnRaw(socket: EngineSocket): Calls {
  const raw = (socket as unknown as { raw: Record<string, (...a: unknown[]) => unknown> }).raw;
  const calls: Calls = { pause: 0, resume: 0, shutdown: 0, end: 0 };
  for (const name of Object.keys(calls) as (keyof Calls)[]) {
    const original = raw[name];
    raw[name] = (...args: unknown[]) => {
      calls[name]++;
      return original.apply(raw, args);
    };
  }
  return calls;
}

describe("Bun engine: Bun's socket calls only where they change something", () => {
  test("pause() then resume() with nothing read between: Bun's reading never stops", async (t) => {
    const { socket, owner, peer } = await enginePair(t, bunEngine);
    const calls = spyOnRaw(socket);
    socket.pause(); // as a connection does while its upstream connects
    await delay(50);
    socket.resume();
    peer.write("after the resume");
    await withTimeout(
      (async () => {
        while (owner.receivedBytes < 16) await delay(5);
      })(),
      5000,
      "the bytes",
    );
    assert.equal(Buffer.concat(owner.received).toString(), "after the resume");
    assert.deepEqual(calls, { pause: 0, resume: 0, shutdown: 0, end: 0 });
  });

  test("a read while paused is delivered and stops Bun's reading; resume() restarts it", async (t) => {
    const { socket, owner, peer } = await enginePair(t, bunEngine);
    const calls = spyOnRaw(socket);
    socket.pause();
    const block = Buffer.alloc(1 << 20, 5);
    let offered = 0;
    const pump = () => {
      while (offered < 64 << 20) {
        offered += block.length;
        if (!peer.write(block)) {
          peer.once("drain", pump);
          return;
        }
      }
      peer.end();
    };
    pump();
    await delay(300);
    assert.equal(owner.received.length, 1, "the one read that came while paused");
    assert.equal(calls.pause, 1);
    assert.ok(offered < 64 << 20, `the peer backed up (${offered} bytes offered)`);
    socket.resume();
    await owner.saw("end", 20_000);
    assert.equal(owner.receivedBytes, 64 << 20);
    assert.equal(calls.resume, 1);
  });

  test("shutdown() after the peer's FIN closes the socket: the peer gets our bytes and a FIN, no reset", async (t) => {
    const { socket, owner, peer } = await enginePair(t, bunEngine);
    const calls = spyOnRaw(socket);
    let got = "";
    let reset = false;
    peer.on("data", (d: Buffer) => {
      got += d.toString();
    });
    peer.on("error", () => {
      reset = true;
    });
    const peerEnded = new Promise<void>((r) => peer.once("end", () => r()));
    peer.end("request");
    await owner.saw("end");
    socket.write(Buffer.from("answer"), 6);
    socket.shutdown();
    await withTimeout(peerEnded, 5000, "the peer to see our FIN");
    await owner.saw("close");
    assert.equal(got, "answer");
    assert.equal(reset, false);
    assert.deepEqual(calls, { pause: 0, resume: 0, shutdown: 0, end: 1 });
    assert.deepEqual(owner.events, ["open", "data", "end", "close"]);
  });

  test("shutdown() before the peer's FIN is the half-close", async (t) => {
    const { socket, owner, peer } = await enginePair(t, bunEngine);
    const calls = spyOnRaw(socket);
    const peerEnded = new Promise<void>((r) => peer.once("end", () => r()));
    peer.resume();
    socket.shutdown();
    await withTimeout(peerEnded, 5000, "the peer to see our FIN");
    peer.end("answer after the FIN");
    await owner.saw("close");
    assert.equal(Buffer.concat(owner.received).toString(), "answer after the FIN");
    assert.equal(calls.shutdown, 1);
  });
});
