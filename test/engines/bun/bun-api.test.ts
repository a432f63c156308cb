/**
 * What Bun 1.4.5 does, as the Bun engine (src/dataplane/engines/bun) relies on it, observed
 * from the other end of real sockets; where Bun's documentation says otherwise, this is what
 * holds. Run by `bun test` (npm test): a Bun that changes any of it must fail here.
 */
import assert from "node:assert/strict";
import net from "node:net";
import { describe, type TestContext, test } from "node:test";
import {
  type BunSocket,
  type BunSocketHandlers,
  bunApi,
} from "../../../src/dataplane/engines/bun/bun-api.js";
import { bunEngine } from "../../../src/dataplane/engines/bun/index.js";
import { runtimeEngine } from "../../../src/dataplane/engines/index.js";
import { config, listener, tenant } from "../../helpers/config.js";
import { startGateway } from "../../helpers/gateway.js";
import { delay, waitFor, withTimeout } from "../../helpers/programs.js";

/** A node:net server on 127.0.0.1 (half-open allowed) whose sockets go to `onSocket`. */
async function peerServer(t: TestContext, onSocket: (s: net.Socket) => void): Promise<number> {
  const sockets: net.Socket[] = [];
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    sockets.push(s);
    s.on("error", () => {});
    onSocket(s);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  t.after(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  return (server.address() as net.AddressInfo).port;
}

interface Seen {
  events: string[];
  data: string;
}

/** Bun.connect with handlers that record every event. */
async function bunClient(port: number): Promise<{ socket: BunSocket<null>; seen: Seen }> {
  const seen: Seen = { events: [], data: "" };
  const handlers: BunSocketHandlers<null> = {
    data(_s, d) {
      seen.data += d.toString();
      if (seen.events.at(-1) !== "data") seen.events.push("data");
    },
    end: () => seen.events.push("end"),
    close: (_s, e) => seen.events.push(e === undefined ? "close" : `close:${e.code}`),
  };
  const socket = await bunApi().connect({
    hostname: "127.0.0.1",
    port,
    allowHalfOpen: true,
    data: null,
    socket: handlers,
  });
  return { socket, seen };
}

describe(`Bun ${process.versions.bun}: the native TCP API as the Bun engine uses it`, () => {
  test("the engine under `bun test` is the Bun engine, and so is the gateway's", async (t) => {
    assert.equal(runtimeEngine, bunEngine);
    const gw = await startGateway(
      t,
      config({ listeners: [listener({ name: "privatelink" })], tenants: [tenant("megacorp")] }),
    );
    assert.equal(gw.gateway.listeners[0].engine, bunEngine);
  });

  test("node:net's onread callback is called with `this` undefined (why linkgate's Node.js relay cannot run on Bun)", async (t) => {
    const port = await peerServer(t, (s) => s.end("x"));
    let self: unknown = "not called";
    const called = new Promise<void>((resolve) => {
      const socket = net.connect({
        host: "127.0.0.1",
        port,
        onread: {
          buffer: Buffer.alloc(1024),
          callback(this: unknown) {
            self = this;
            resolve();
            return true;
          },
        },
      });
      socket.on("error", () => {});
      t.after(() => socket.destroy());
    });
    await withTimeout(called, 5000, "the onread callback");
    assert.equal(self, undefined);
  });

  test("end() closes the socket outright, even with allowHalfOpen: the peer's answer is lost", async (t) => {
    let peerWriteFailed = "";
    const port = await peerServer(t, (s) => {
      s.resume();
      s.on("end", () =>
        s.write("answer", (e) => {
          peerWriteFailed = e === undefined || e === null ? "no" : "yes";
        }),
      );
      s.on("error", () => {
        peerWriteFailed = "yes";
      });
    });
    const { socket, seen } = await bunClient(port);
    socket.end();
    assert.deepEqual(seen.events, ["close"], "closed at once, inside end()");
    await delay(200);
    assert.equal(seen.data, "", "nothing read after end()");
    assert.notEqual(peerWriteFailed, "", "the peer saw the FIN and answered");
  });

  test("shutdown() with no argument is the write-side half-close: FIN sent, the answer arrives", async (t) => {
    const port = await peerServer(t, (s) => {
      s.resume();
      s.on("end", () => s.end("answer"));
    });
    const { socket, seen } = await bunClient(port);
    socket.shutdown();
    await waitFor(() => seen.events.includes("close"), { what: "the close" });
    assert.equal(seen.data, "answer");
    // The peer's FIN after ours closes the socket with no `end` event (the engine reports it).
    assert.deepEqual(seen.events, ["data", "close"]);
  });

  test("shutdown(true) shuts the read side, not the write side (Bun's docs say otherwise)", async (t) => {
    let peerSawFin = false;
    let peerGot = "";
    const port = await peerServer(t, (s) => {
      s.on("data", (d: Buffer) => {
        peerGot += d.toString();
      });
      s.on("end", () => {
        peerSawFin = true;
      });
    });
    const { socket, seen } = await bunClient(port);
    socket.shutdown(true);
    await waitFor(() => seen.events.includes("end"), { what: "the local end of reading" });
    assert.equal(socket.write(Buffer.from("still writing")), 13, "the write side is open");
    await waitFor(() => peerGot === "still writing", { what: "the peer to get the write" });
    await delay(200);
    assert.equal(peerSawFin, false, "no FIN was sent");
    socket.end();
  });

  test("write() takes what the kernel takes and queues nothing: the engine must", async (t) => {
    let peerSocket: net.Socket | null = null;
    let received = 0;
    const port = await peerServer(t, (s) => {
      peerSocket = s;
      s.pause();
      s.on("data", (d: Buffer) => {
        received += d.length;
      });
    });
    const { socket } = await bunClient(port);
    const big = Buffer.alloc(32 << 20, 1);
    const first = socket.write(big);
    assert.ok(first > 0 && first < big.length, `one write took ${first} of ${big.length} bytes`);
    assert.equal(socket.write(big), 0, "a full socket takes nothing");
    await waitFor(() => peerSocket !== null, { what: "the peer" });
    (peerSocket as unknown as net.Socket).resume();
    await delay(300);
    assert.equal(received, first, "the peer gets exactly what write() said it took");
    socket.end();
  });

  test("reusePort: several listeners on one port (one per process with --workers N)", async (t) => {
    const handlers: BunSocketHandlers<null> = { data() {} };
    const a = bunApi().listen({
      hostname: "127.0.0.1",
      port: 0,
      reusePort: true,
      socket: handlers,
    });
    t.after(() => a.stop(true));
    const b = bunApi().listen({
      hostname: "127.0.0.1",
      port: a.port,
      reusePort: true,
      socket: handlers,
    });
    t.after(() => b.stop(true));
    assert.equal(b.port, a.port);
    assert.throws(
      () => bunApi().listen({ hostname: "127.0.0.1", port: a.port, socket: handlers }),
      (e: Error & { code?: string }) => e.code === "EADDRINUSE",
    );
  });
});
