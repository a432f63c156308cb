/**
 * The Bun engine reads an accepted socket's peer in one getpeername(2) (peer-name.ts), where
 * Bun's getters make one each. Run by `bun test` (npm test).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import net from "node:net";
import { describe, type TestContext, test } from "node:test";
import { fileURLToPath } from "node:url";
import { type BunSocket, bunApi } from "../../../src/dataplane/engines/bun/bun-api.js";
import {
  peerNameMethod,
  readPeer,
  readPeerWithGetters,
} from "../../../src/dataplane/engines/bun/peer-name.js";
import { hasIPv6Loopback, requireProgram, skipLoudly, waitFor } from "../../helpers/programs.js";

const fixture = fileURLToPath(new URL("./fixtures/peer-calls.ts", import.meta.url));

/**
 * Listens with Bun.listen on `host`, connects a node:net client from `from` to `to` and reads
 * the accepted socket's peer both ways.
 */
async function peersOfOneConnection(
  t: TestContext,
  host: string,
  from: string,
  to = host,
): Promise<{ ffi: object; getters: object; clientPort: number }> {
  let accepted: BunSocket<null> | null = null;
  let ffi = {};
  let getters = {};
  const listener = bunApi().listen<null>({
    hostname: host,
    port: 0,
    socket: {
      open(raw) {
        accepted = raw;
        const a = { address: "", port: 0 };
        readPeer(raw, a);
        const b = { address: "", port: 0 };
        readPeerWithGetters(raw, b);
        ffi = a;
        getters = b;
      },
      data() {},
    },
  });
  const client = net.connect({ host: to, port: listener.port, localAddress: from });
  t.after(() => {
    client.destroy();
    listener.stop(true);
  });
  await new Promise<void>((resolve, reject) =>
    client.once("connect", resolve).once("error", reject),
  );
  await waitFor(() => accepted !== null, { what: "the accept" });
  return { ffi, getters, clientPort: client.localPort as number };
}

describe("the Bun engine's peer: one getpeername(2)", () => {
  test("on Linux it is read through bun:ffi, not Bun's two getters", () => {
    assert.equal(process.platform, "linux");
    assert.equal(peerNameMethod, "getpeername");
  });

  test("IPv4: the client's address and port, as Bun's getters give them", async (t) => {
    const { ffi, getters, clientPort } = await peersOfOneConnection(t, "127.0.0.1", "127.0.0.3");
    assert.deepEqual(ffi, { address: "127.0.0.3", port: clientPort });
    assert.deepEqual(getters, ffi);
  });

  test("IPv6: the client's address and port, as Bun's getters give them", async (t) => {
    if (!(await hasIPv6Loopback())) return skipLoudly(t, "this host has no IPv6 loopback (::1)");
    const { ffi, getters, clientPort } = await peersOfOneConnection(t, "::1", "::1");
    assert.deepEqual(ffi, { address: "::1", port: clientPort });
    assert.deepEqual(getters, ffi);
  });

  test("an IPv4 client of a dual-stack listener: the IPv4-mapped address", async (t) => {
    if (!(await hasIPv6Loopback())) return skipLoudly(t, "this host has no IPv6 loopback (::1)");
    const { ffi, getters, clientPort } = await peersOfOneConnection(
      t,
      "::",
      "127.0.0.4",
      "127.0.0.1",
    );
    assert.deepEqual(ffi, { address: "::ffff:127.0.0.4", port: clientPort });
    assert.deepEqual(getters, ffi);
  });

  test("a call that fails (no such descriptor, a socket already reset) falls back to the getters", () => {
    const into = { address: "before", port: 1 };
    const fake = (remoteAddress: string | undefined, remotePort: number | undefined) =>
      ({ fd: -1, remoteAddress, remotePort }) as unknown as BunSocket<unknown>;
    readPeer(fake("10.1.2.3", 4567), into);
    assert.deepEqual(into, { address: "10.1.2.3", port: 4567 });
    // The getters cannot tell either: no address, and the port is not read.
    readPeer(fake(undefined, 4567), into);
    assert.deepEqual(into, { address: "", port: 0 });
  });

  test("strace: one getpeername(2) per accepted socket, where Bun's getters make two", (t) => {
    if (!requireProgram(t, "strace", "strace")) return;
    const count = (mode: string) => {
      const run = spawnSync(
        "strace",
        ["-f", "-qq", "-e", "trace=getpeername", process.execPath, fixture, mode, "5"],
        { encoding: "utf8", timeout: 60_000 },
      );
      assert.equal(run.status, 0, `${run.stderr}${run.stdout}`);
      const { peers, expected } = JSON.parse(run.stdout.trim().split("\n").at(-1) as string);
      assert.deepEqual([...peers].sort(), [...expected].sort());
      return run.stderr.split("\n").filter((l) => /getpeername\(/.test(l)).length;
    };
    assert.equal(count("engine"), 5);
    assert.equal(count("getters"), 10);
  });
});
