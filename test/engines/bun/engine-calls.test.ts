/**
 * The Bun engine's economies (src/dataplane/engines/bun/index.ts), seen as the calls it makes
 * on Bun's sockets: after the peer's FIN, our FIN is a close, which spares the shutdown(2) and
 * the poll change and wake-up Bun spends on a socket whose write side is shut. Run by `bun
 * test` (npm test).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { EngineSocket } from "../../../src/dataplane/engine.js";
import { bunEngine } from "../../../src/dataplane/engines/bun/index.js";
import { withTimeout } from "../../helpers/programs.js";
import { enginePair } from "../pair.js";

type Calls = Record<"shutdown" | "end", number>;

/** Counts the engine's calls of the raw Bun socket's shutdown and end. */
function spyOnRaw(socket: EngineSocket): Calls {
  const raw = (socket as unknown as { raw: Record<string, (...a: unknown[]) => unknown> }).raw;
  const calls: Calls = { shutdown: 0, end: 0 };
  for (const name of Object.keys(calls) as (keyof Calls)[]) {
    const original = raw[name];
    raw[name] = (...args: unknown[]) => {
      calls[name]++;
      return original.apply(raw, args);
    };
  }
  return calls;
}

describe("Bun engine: our FIN after the peer's is a close", () => {
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
    assert.deepEqual(calls, { shutdown: 0, end: 1 });
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
    assert.deepEqual(calls, { shutdown: 1, end: 0 });
  });
});
