import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type HostMatcher, HostResolver } from "../../src/policy/index.js";

const api: HostMatcher = {
  text: "{tenant}.api.example.com",
  prefix: "",
  suffix: ".api.example.com",
};
const pl: HostMatcher = { text: "pl.{tenant}.example.net", prefix: "pl.", suffix: ".example.net" };

function resolver(): HostResolver<string> {
  const exact = new Map([["portal.example.com", "megacorp"]]);
  const byId = new Map([
    ["megacorp", "megacorp"],
    ["initech", "initech"],
    ["portal", "portal"],
  ]);
  return new HostResolver(exact, byId, [api, pl]);
}

describe("HostResolver", () => {
  test("exact names, then patterns in order, one label only; the same answer when asked again", () => {
    const r = resolver();
    const cases: [string, string | null][] = [
      ["portal.example.com", "megacorp"],
      ["megacorp.api.example.com", "megacorp"],
      ["pl.initech.example.net", "initech"],
      ["a.megacorp.api.example.com", null], // two labels where {tenant} is one
      ["unknown.api.example.com", null],
      [".api.example.com", null],
      ["api.example.com", null],
      ["pl..example.net", null],
    ];
    for (let round = 0; round < 3; round++) {
      for (const [host, tenant] of cases)
        assert.equal(r.resolve(host), tenant, `${host} (${round})`);
    }
  });

  test("right past the bound on remembered names, the first ones again after they were forgotten", () => {
    const r = resolver();
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 10_000; i++) {
        const host = i % 3 === 0 ? `megacorp.api.example.com` : `scan-${i}.api.example.com`;
        assert.equal(r.resolve(host), i % 3 === 0 ? "megacorp" : null, host);
        // A fresh string each time, as a ClientHello gives it.
        assert.equal(r.resolve(["pl", "initech", "example", "net"].join(".")), "initech");
      }
    }
  });

  test("each resolver remembers its own answers: a new policy's tenants are found", () => {
    const before = resolver();
    assert.equal(before.resolve("newco.api.example.com"), null);
    const after = new HostResolver(new Map(), new Map([["newco", "newco"]]), [api]);
    assert.equal(after.resolve("newco.api.example.com"), "newco");
    assert.equal(before.resolve("newco.api.example.com"), null);
  });

  test("without patterns: exact names only, nothing else resolves", () => {
    const r = new HostResolver(new Map([["portal.example.com", "megacorp"]]), new Map(), []);
    for (let round = 0; round < 2; round++) {
      assert.equal(r.resolve("portal.example.com"), "megacorp");
      assert.equal(r.resolve("megacorp.api.example.com"), null);
    }
  });
});
