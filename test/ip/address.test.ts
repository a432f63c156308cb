import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import {
  formatIPv4,
  formatIPv6,
  ipv4Text,
  parseIp,
  parseIpPort,
  parsePort,
} from "../../src/ip/address.js";

function v6(text: string): string {
  const parsed = parseIp(text);
  assert.ok(parsed !== null && parsed.family === 6, `${text} should parse as IPv6`);
  return formatIPv6(parsed.bytes, 0);
}

describe("IPv6 text (RFC 5952 canonical output)", () => {
  const canonical: [string, string][] = [
    ["::1", "::1"],
    ["::", "::"],
    ["0:0:0:0:0:0:0:1", "::1"],
    ["2001:DB8:0:0:0:0:0:1", "2001:db8::1"],
    ["2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"],
    // A single zero group is not shortened (RFC 5952 4.2.2).
    ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"],
    // The longest run wins; on a tie, the first (4.2.3).
    ["2001:0:0:1:0:0:0:1", "2001:0:0:1::1"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    ["2001:db8:0:1::", "2001:db8:0:1::"],
    ["fe80::", "fe80::"],
    // IPv4-mapped addresses in mixed notation (section 5).
    ["::ffff:192.0.2.1", "::ffff:192.0.2.1"],
    ["0:0:0:0:0:ffff:c000:0201", "::ffff:192.0.2.1"],
    ["64:ff9b::192.0.2.33", "64:ff9b::c000:221"],
  ];
  for (const [input, expected] of canonical) {
    test(`${input} -> ${expected}`, () => assert.equal(v6(input), expected));
  }

  const invalid = [
    "",
    ":",
    ":::",
    "1::2::3",
    "1:2:3:4:5:6:7:8:9",
    "1:2:3:4:5:6:7",
    "12345::",
    "fe80::1%eth0",
    "[::1]",
    "::ffff:1.2.3",
    "::ffff:1.2.3.04",
    "1.2.3.4::",
    "1:2:3:4:5:6:7:8::",
    "1:",
    ":1",
    "g::",
  ];
  for (const input of invalid) {
    test(`rejects ${JSON.stringify(input)}`, () => assert.equal(parseIp(input), null));
  }

  test("any 16 bytes format to text that parses back to the same bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => {
        const text = formatIPv6(bytes, 0);
        const back = parseIp(text);
        assert.ok(back !== null, text);
        assert.deepEqual([...back.bytes], [...bytes]);
        assert.equal(text, text.toLowerCase());
      }),
    );
  });

  test("agrees with the URL parser's canonical form on random addresses", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => {
        const mapped = bytes.slice(0, 12).every((b, i) => (i < 10 ? b === 0 : b === 0xff));
        fc.pre(!mapped); // WHATWG URL prints IPv4-mapped addresses in hex; RFC 5952 mixes.
        const text = formatIPv6(bytes, 0);
        assert.equal(new URL(`http://[${text}]/`).hostname, `[${text}]`);
      }),
    );
  });
});

describe("IPv4 text (strict dotted quad)", () => {
  test("accepts canonical addresses", () => {
    assert.deepEqual([...(parseIp("192.0.2.1")?.bytes ?? [])], [192, 0, 2, 1]);
    assert.deepEqual([...(parseIp("0.0.0.0")?.bytes ?? [])], [0, 0, 0, 0]);
    assert.deepEqual([...(parseIp("255.255.255.255")?.bytes ?? [])], [255, 255, 255, 255]);
  });
  for (const input of [
    "01.2.3.4",
    "1.2.3",
    "1.2.3.4.5",
    "256.1.1.1",
    "1..2.3",
    "1.2.3.4 ",
    "+1.2.3.4",
    "1.2.3.0x4",
    "",
  ]) {
    test(`rejects ${JSON.stringify(input)}`, () => assert.equal(parseIp(input), null));
  }
});

describe("ports and host:port", () => {
  test("ports are decimal 0-65535 without leading zeros or signs", () => {
    assert.equal(parsePort("0"), 0);
    assert.equal(parsePort("65535"), 65535);
    for (const bad of ["", "080", "65536", "+80", "-1", "8a", "123456"]) {
      assert.equal(parsePort(bad), -1, bad);
    }
  });
  test("host:port and [v6]:port", () => {
    assert.equal(parseIpPort("10.0.0.1:443")?.port, 443);
    assert.equal(parseIpPort("[2001:db8::1]:8443")?.ip.family, 6);
    assert.equal(parseIpPort("2001:db8::1:443"), null, "bare IPv6 needs brackets");
    assert.equal(parseIpPort("10.0.0.1"), null);
    assert.equal(parseIpPort("[10.0.0.1]:80"), null);
  });
});

describe("ipv4Text: remembered IPv4 texts", () => {
  test("the dotted quad at the offset, past the bound on remembered addresses and again", () => {
    const bytes = new Uint8Array(6);
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 10_000; i++) {
        bytes.set([0xff, 10, (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff, 0xff]);
        assert.equal(ipv4Text(bytes, 1), `10.${(i >> 16) & 0xff}.${(i >> 8) & 0xff}.${i & 0xff}`);
      }
    }
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 4, maxLength: 4 }), (b) => {
        assert.equal(ipv4Text(b, 0), formatIPv4(b, 0));
        assert.equal(ipv4Text(b, 0), [...b].join("."));
      }),
    );
  });
});
