/**
 * The defects the fuzz targets found, each reduced by hand to its smallest input and checked
 * where a user meets it: the library, `linkgate pp2 decode`, `linkgate check`. The inputs as the
 * fuzzer found them are in vectors/.
 */
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { describe, test } from "node:test";
import { parseConfigText } from "../../src/config/index.js";
import { decodeProxyHeader, ParseError } from "../../src/proxy-protocol/index.js";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/programs.js";

describe("defects found by fuzzing", () => {
  // LOCAL, UNSPEC, len 9: one SSL TLV of 6 bytes whose sub-TLV header is cut short. A LOCAL
  // block is listed without being validated, and the JSON form decoded the SSL value anyway.
  const LOCAL_WITH_BROKEN_SSL = "0d0a0d0a000d0a515549540a20000009200006000000000000";

  test("a LOCAL header holding an SSL TLV whose sub-TLVs do not tile turns into JSON", () => {
    const h = decodeProxyHeader(Buffer.from(LOCAL_WITH_BROKEN_SSL, "hex"));
    assert.ok(!(h instanceof ParseError));
    const json = h.toJSON();
    assert.deepEqual(json.tlvs, [{ type: 0x20, name: "SSL", length: 6, value: "000000000000" }]);
  });

  test("linkgate pp2 decode prints that header instead of crashing", async () => {
    const r = await runCli(["pp2", "decode", LOCAL_WITH_BROKEN_SSL]);
    assert.equal(r.code, 0, r.err);
    assert.equal(JSON.parse(r.out).command, "local");
  });

  // A duration given as an integer of 2^53 or more: the schema takes it for an integer, the
  // range check did not (not a safe integer), and resolving it threw "internal: unchecked".
  const HUGE_DURATION = `listeners:
  - { name: pl, bind: "127.0.0.1:1", proxyProtocol: none, headerTimeout: 1e300 }
routing: { hostPatterns: ["{tenant}.a.example"], upstream: "127.0.0.1:2" }
`;

  test("a duration of 1e300 ms is an out-of-range error with its line and key", () => {
    const r = parseConfigText(HUGE_DURATION, "huge.yaml");
    assert.ok(!r.ok);
    assert.deepEqual(
      r.errors.map((e) => [e.line, e.key, e.code]),
      [[2, "listeners[0].headerTimeout", "CONFIG_BAD_DURATION"]],
    );
  });

  test("linkgate check reports it and exits 1, without a stack trace", async (t) => {
    const dir = await tempDir(t);
    await writeFile(`${dir}/huge.yaml`, HUGE_DURATION);
    const r = await runCli(["check", "--config", `${dir}/huge.yaml`]);
    assert.equal(r.code, 1);
    assert.match(r.err, /listeners\[0\]\.headerTimeout: must be from 100ms to 5m/);
    assert.doesNotMatch(r.err, /internal|at /);
  });

  test("a mapping used as a key is an unknown-key error, and nothing is written to stderr", async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on("warning", onWarning);
    try {
      const r = parseConfigText("? [a, b]\n: 1\n", "key.yaml");
      assert.ok(!r.ok);
      assert.equal(r.errors[0].code, "CONFIG_UNKNOWN_KEY");
      // Warnings are emitted on the next tick.
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off("warning", onWarning);
    }
    assert.deepEqual(warnings, []);
  });
});
