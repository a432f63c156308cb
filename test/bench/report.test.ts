/** Helpers of the benchmark reports (bench/lib/report.ts). */
import assert from "node:assert/strict";
import { test } from "node:test";
import { firstOutputLine } from "../../bench/lib/report.js";

test("firstOutputLine names the file without the machine's directory, first line only", () => {
  const file = "/tmp/linkgate-bench-k4gxBX/policy-large.json";
  const output = `\n${file}: is 41538102 bytes long; a configuration has at most 16777216 [CONFIG_UNREADABLE]\n  at load (${file})\n`;
  assert.equal(
    firstOutputLine(output, file),
    "policy-large.json: is 41538102 bytes long; a configuration has at most 16777216 [CONFIG_UNREADABLE]",
  );
  assert.equal(firstOutputLine("", file), "");
  assert.equal(firstOutputLine("x".repeat(500), file).length, 300);
});
