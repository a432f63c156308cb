/**
 * An engine socket and its peer on 127.0.0.1: the engine accepts (`socket`), a plain node:net
 * socket dials (`peer`); `events` records what the engine reported, in order. Closed when the
 * test ends.
 */
import { createHash } from "node:crypto";
import net from "node:net";
import type { TestContext } from "node:test";
import type { Engine, EngineSocket, SocketOwner } from "../../src/dataplane/engine.js";
import { waitFor, withTimeout } from "../helpers/programs.js";

export interface Recorder extends SocketOwner {
  /** "open", "data", "end", "drain", "error:<errno>", "close", in order ("data" once per run). */
  events: string[];
  received: Buffer[];
  receivedBytes: number;
  /** Waits until `event` was reported. */
  saw(event: string, timeoutMs?: number): Promise<void>;
}

export function recorder(): Recorder {
  const r: Recorder = {
    events: [],
    received: [],
    receivedBytes: 0,
    onOpen: () => r.events.push("open"),
    onData: (_s: EngineSocket, buffer: Buffer, length: number) => {
      r.received.push(Buffer.from(buffer.subarray(0, length)));
      r.receivedBytes += length;
      if (r.events.at(-1) !== "data") r.events.push("data");
    },
    onEnd: () => r.events.push("end"),
    onDrain: () => r.events.push("drain"),
    onError: (_s: EngineSocket, errno: string | null) => r.events.push(`error:${errno}`),
    onClose: () => r.events.push("close"),
    saw: async (event, timeoutMs = 5000) => {
      await waitFor(() => r.events.includes(event), {
        timeoutMs,
        what: `the engine to report ${event} (got ${r.events.join(" ")})`,
      });
    },
  };
  return r;
}

export async function enginePair(
  t: TestContext,
  engine: Engine,
): Promise<{ socket: EngineSocket; owner: Recorder; peer: net.Socket }> {
  const owner = recorder();
  let accepted: EngineSocket | null = null;
  const server = await engine.listen({ host: "127.0.0.1", port: 0 }, (s) => {
    accepted = s;
    return owner;
  });
  const peer = net.connect({ host: "127.0.0.1", port: server.port, allowHalfOpen: true });
  peer.on("error", () => {});
  t.after(() => {
    peer.destroy();
    (accepted as EngineSocket | null)?.destroy();
    server.stopAccepting();
  });
  await waitFor(() => accepted !== null && owner.events.includes("open"), { what: "the accept" });
  return { socket: accepted as unknown as EngineSocket, owner, peer };
}

/** SHA-256 of the chunks, in order, as hex. */
export function sha(chunks: readonly Buffer[]): string {
  const h = createHash("sha256");
  for (const c of chunks) h.update(c);
  return h.digest("hex");
}

/** Resumes the paused `peer` and hashes the `total` bytes it then receives (see `sha`). */
export async function resumeAndHash(peer: net.Socket, total: number): Promise<string> {
  const h = createHash("sha256");
  let count = 0;
  const all = new Promise<void>((resolve) => {
    peer.on("data", (d: Buffer) => {
      h.update(d);
      count += d.length;
      if (count === total) resolve();
    });
  });
  peer.resume();
  await withTimeout(all, 15_000, `every byte (got ${count})`);
  return h.digest("hex");
}

/**
 * The runtime socket's calls that are our half-close and our close, per engine: after the
 * peer's FIN, an engine's `shutdown()` closes (engine.ts), which spares a system call.
 */
export const FIN_CALLS = {
  node: { halfClose: "end", close: "destroy" },
  bun: { halfClose: "shutdown", close: "close" },
} as const;

/** Counts, from now on, the calls of `names` on the engine socket's runtime socket (`raw`). */
export function countRawCalls(
  socket: EngineSocket,
  names: readonly string[],
): Record<string, number> {
  const raw = (socket as unknown as { raw: Record<string, (...a: unknown[]) => unknown> }).raw;
  const calls: Record<string, number> = {};
  for (const name of names) {
    calls[name] = 0;
    const original = raw[name];
    raw[name] = (...args: unknown[]) => {
      calls[name]++;
      return original.apply(raw, args);
    };
  }
  return calls;
}
