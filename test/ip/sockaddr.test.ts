import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { decodeSockaddr, SOCKADDR_BYTES } from "../../src/ip/sockaddr.js";

/** A sockaddr as Linux lays it out on a little-endian machine. */
function sockaddr(family: number, port: number, address: number[], flowAndScope = 0): Uint8Array {
  const b = new Uint8Array(SOCKADDR_BYTES).fill(0xee); // what the call did not write
  b[0] = family & 0xff;
  b[1] = family >> 8;
  b[2] = port >> 8;
  b[3] = port & 0xff;
  if (family === 2) {
    b.set(address, 4);
    b.fill(0, 8, 16);
  } else {
    b.fill(flowAndScope, 4, 8);
    b.set(address, 8);
    b.fill(flowAndScope, 24, 28);
  }
  return b;
}

const v6 = (...groups: number[]) => groups.flatMap((g) => [g >> 8, g & 0xff]);

describe("decodeSockaddr: what getpeername(2) fills", () => {
  test("IPv4: the dotted quad and the port, in network order", () => {
    const into = { address: "", port: 0 };
    assert.equal(decodeSockaddr(sockaddr(2, 41234, [10, 0, 0, 5]), 16, into), true);
    assert.deepEqual(into, { address: "10.0.0.5", port: 41234 });
    assert.equal(decodeSockaddr(sockaddr(2, 0, [255, 255, 255, 255]), 16, into), true);
    assert.deepEqual(into, { address: "255.255.255.255", port: 0 });
    assert.equal(decodeSockaddr(sockaddr(2, 65535, [0, 0, 0, 0]), 16, into), true);
    assert.deepEqual(into, { address: "0.0.0.0", port: 65535 });
  });

  test("IPv6: RFC 5952 text, flow info and scope id ignored", () => {
    const into = { address: "", port: 0 };
    assert.equal(decodeSockaddr(sockaddr(10, 443, v6(0, 0, 0, 0, 0, 0, 0, 1), 7), 28, into), true);
    assert.deepEqual(into, { address: "::1", port: 443 });
    const doc = v6(0x2001, 0xdb8, 0, 0, 1, 0, 0, 0xab);
    assert.equal(decodeSockaddr(sockaddr(10, 50123, doc), 28, into), true);
    assert.deepEqual(into, { address: "2001:db8::1:0:0:ab", port: 50123 });
  });

  test("IPv4-mapped IPv6 (a dual-stack listener's IPv4 peer) in mixed notation", () => {
    const into = { address: "", port: 0 };
    const mapped = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 3];
    assert.equal(decodeSockaddr(sockaddr(10, 1024, mapped), 28, into), true);
    assert.deepEqual(into, { address: "::ffff:127.0.0.3", port: 1024 });
  });

  test("another family, or fewer bytes than the family needs: false, nothing written", () => {
    const into = { address: "before", port: 1 };
    const unix = sockaddr(2, 80, [1, 2, 3, 4]);
    unix[0] = 1; // AF_UNIX
    assert.equal(decodeSockaddr(unix, 16, into), false);
    assert.equal(decodeSockaddr(sockaddr(2, 80, [1, 2, 3, 4]), 15, into), false);
    assert.equal(decodeSockaddr(sockaddr(10, 80, v6(0, 0, 0, 0, 0, 0, 0, 1)), 16, into), false);
    const bigEndianFamily = sockaddr(2, 80, [1, 2, 3, 4]);
    bigEndianFamily[0] = 0;
    bigEndianFamily[1] = 2;
    assert.equal(decodeSockaddr(bigEndianFamily, 16, into), false);
    assert.deepEqual(into, { address: "before", port: 1 });
  });
});
