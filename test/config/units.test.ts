/** The small parsers behind the semantic checks. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  formatDurationMs,
  formatHostPort,
  matchHostPattern,
  parseCidr,
  parseDuration,
  parseHostPattern,
  parseHostPort,
} from "../../src/config/index.js";
import { editDistance, suggest } from "../../src/config/suggest.js";

describe("durations", () => {
  test("parse and format", () => {
    assert.equal(parseDuration("250ms"), 250);
    assert.equal(parseDuration("5s"), 5000);
    assert.equal(parseDuration("1m"), 60000);
    assert.equal(parseDuration("1h"), 3600000);
    assert.equal(parseDuration(0), 0);
    assert.equal(parseDuration("999999999h"), 999999999 * 3600000);
    for (const bad of [
      "",
      "5",
      "5S",
      "5 s",
      "-5s",
      "1.5s",
      "05s",
      "1000000000ms",
      -1,
      1.5,
      NaN,
      null,
      "1d",
    ]) {
      assert.equal(parseDuration(bad), null, String(bad));
    }
    assert.deepEqual([0, 250, 5000, 60000, 90000, 3600000, 1500].map(formatDurationMs), [
      "0",
      "250ms",
      "5s",
      "1m",
      "90s",
      "1h",
      "1500ms",
    ]);
  });
});

describe("CIDRs", () => {
  test("canonical text, family and prefix", () => {
    const r = parseCidr("2001:0DB8:0000::/32");
    assert.ok(r.ok);
    assert.deepEqual([r.cidr.text, r.cidr.family, r.cidr.prefix], ["2001:db8::/32", 6, 32]);
    const v4 = parseCidr("0.0.0.0/0");
    assert.ok(v4.ok && v4.cidr.text === "0.0.0.0/0");
    const odd = parseCidr("10.0.0.128/25");
    assert.ok(odd.ok);
    const bad = parseCidr("10.0.0.129/25");
    assert.ok(!bad.ok && bad.message.includes('"10.0.0.128/25"'));
    const v6 = parseCidr("fe80::1:2/112");
    assert.ok(!v6.ok && v6.message.includes('"fe80::1:0/112"'));
  });
});

describe("host:port", () => {
  test("bind rules and upstream rules", () => {
    const bind = { ipOnly: true, allowPortZero: true };
    const up = { ipOnly: false, allowPortZero: false };
    assert.deepEqual(parseHostPort("[::]:443", bind), {
      ok: true,
      value: { host: "::", port: 443 },
    });
    assert.equal(parseHostPort("[::ffff:10.0.0.1]:1", bind).ok, true);
    assert.equal(parseHostPort("[fe80::1%eth0]:1", bind).ok, false);
    assert.equal(parseHostPort("host:1", bind).ok, false);
    assert.equal(parseHostPort("host:1", up).ok, true);
    assert.equal(parseHostPort("10.0.0.1:0", up).ok, false);
    assert.equal(parseHostPort("[::1:1", up).ok, false);
    assert.equal(formatHostPort({ host: "::1", port: 1 }), "[::1]:1");
    assert.equal(formatHostPort({ host: "a.b", port: 2 }), "a.b:2");
  });
});

describe("host patterns", () => {
  test("match exactly one label", () => {
    const r = parseHostPattern("{tenant}.api.example.com");
    assert.ok(r.ok);
    assert.equal(matchHostPattern(r.pattern, "megacorp.api.example.com"), "megacorp");
    assert.equal(matchHostPattern(r.pattern, "a.b.api.example.com"), null);
    assert.equal(matchHostPattern(r.pattern, ".api.example.com"), null);
    assert.equal(matchHostPattern(r.pattern, "api.example.com"), null);
    const mid = parseHostPattern("api.{tenant}.example.com");
    assert.ok(mid.ok);
    assert.equal(matchHostPattern(mid.pattern, "api.x.example.com"), "x");
  });
});

describe("suggestions", () => {
  test("close keys only", () => {
    assert.equal(suggest("bnd", ["bind", "name"]), "bind");
    assert.equal(suggest("trusted_proxies", ["trustedProxies"]), "trustedProxies");
    assert.equal(suggest("headertimeout", ["headerTimeout"]), "headerTimeout");
    assert.equal(suggest("warning", ["warn", "error"]), "warn");
    assert.equal(suggest("zzz", ["bind", "name"]), null);
    assert.equal(suggest("x", ["bind"]), null);
    assert.equal(editDistance("kitten", "sitting"), 3);
  });
});
