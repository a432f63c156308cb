/**
 * Bun's JIT keeps the connection line renderer compiled. A speculation that fails now and then
 * (it was a quotient with a fraction, truncated by `| 0`, in the integer renderer) made
 * JavaScriptCore drop the optimized renderer and compile it again, eight times in a million
 * lines: about 2 µs more per connection line, and 100 ms of compiler time each time. Run by
 * `bun test` (npm test); counts the compilations Bun reports (BUN_JSC_reportCompileTimes).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const fixture = fileURLToPath(new URL("./fixtures/render-lines.ts", import.meta.url));

test("a million connection lines compile the renderer once per tier, not again and again", () => {
  const run = spawnSync(process.execPath, [fixture, "1000000"], {
    env: { ...process.env, BUN_JSC_reportCompileTimes: "true" },
    encoding: "utf8",
    timeout: 60_000,
  });
  assert.equal(run.status, 0, run.stderr);
  const output = `${run.stdout}${run.stderr}`;
  assert.match(output, /rendered 1000000/);
  const compiles = (tier: string) =>
    output
      .split("\n")
      .filter((l) => /^Optimized renderConnectionLine#/.test(l) && l.includes(`using ${tier} `))
      .length;
  // At least one: the report works, so zero would not mean "never recompiled".
  assert.ok(compiles("FTL") >= 1, "Bun reported no FTL compilation of renderConnectionLine");
  assert.ok(compiles("FTL") <= 2, `renderConnectionLine compiled ${compiles("FTL")} times at FTL`);
  assert.ok(compiles("DFG") <= 2, `renderConnectionLine compiled ${compiles("DFG")} times at DFG`);
});
