/**
 * The Node.js engine's economy (src/dataplane/engines/node/index.ts), seen as the calls it makes
 * on its net.Socket: after the peer's FIN, with nothing queued, our FIN is a close (destroy),
 * which spares the shutdown(2) and Node's shutdown request; before it, the half-close (end).
 * Run by `node --test` (npm test).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { EngineSocket } from "../../../src/dataplane/engine.js";
import { nodeEngine } from "../../../src/dataplane/engines/node/index.js";
import { withTimeout } from "../../helpers/programs.js";
import { enginePair } from "../pair.js";

type Calls = Record<"end" | "destroy", number>;

/** Counts the engine's calls of its net.Socket's end and destroy. */
function spyOnRaw(socket: EngineSocket): Calls {
  const raw = (socket as unknown as { raw: Record<string, (...a: unknown[]) => unknown> }).raw;
  const calls: Calls = { end: 0, destroy: 0 };
  for (const name of Object.keys(calls) as (keyof Calls)[]) {
    const original = raw[name];
    raw[name] = (...args: unknown[]) => {
      calls[name]++;
      return original.apply(raw, args);
    };
  }
  return calls;
}

describe("Node.js engine: our FIN after the peer's is a close", () => {
  test("shutdown() after the peer's FIN closes the socket: the peer gets our bytes and a FIN, no reset", async (t) => {
    const { socket, owner, peer } = await enginePair(t, nodeEngine);
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
    assert.equal(calls.end, 0, "no half-close");
    assert.ok(calls.destroy >= 1, "closed");
    assert.deepEqual(owner.events, ["open", "data", "end", "close"]);
  });

  test("shutdown() before the peer's FIN is the half-close", async (t) => {
    const { socket, owner, peer } = await enginePair(t, nodeEngine);
    const calls = spyOnRaw(socket);
    const peerEnded = new Promise<void>((r) => peer.once("end", () => r()));
    peer.resume();
    socket.shutdown();
    await withTimeout(peerEnded, 5000, "the peer to see our FIN");
    assert.deepEqual(calls, { end: 1, destroy: 0 });
    peer.end("answer after the FIN");
    await owner.saw("close");
    assert.equal(Buffer.concat(owner.received).toString(), "answer after the FIN");
  });
});
