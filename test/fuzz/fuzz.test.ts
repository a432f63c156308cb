/**
 * A short fuzz run of every parser in each `npm test`: the targets of `npm run fuzz` (the long
 * run, docs/RELIABILITY.md) for at most LINKGATE_FUZZ_RUNS inputs (default 3000) or
 * LINKGATE_FUZZ_MS milliseconds (default 3000) each. A failure prints fast-check's seed and path;
 * `npm run fuzz -- --target NAME --seed SEED` then keeps the shrunk input as a vector.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { TARGETS } from "./targets.js";

const RUNS = Number(process.env.LINKGATE_FUZZ_RUNS ?? 3000);
const MS = Number(process.env.LINKGATE_FUZZ_MS ?? 3000);

for (const t of TARGETS) {
  test(`fuzz ${t.name} (${t.parser}): ${RUNS} inputs or ${MS} ms`, (ctx) => {
    let inputs = 0;
    fc.assert(
      t.property(() => {
        inputs++;
      }),
      { numRuns: RUNS, interruptAfterTimeLimit: MS, markInterruptAsFailure: false },
    );
    ctx.diagnostic(`${inputs} inputs`);
    // However loaded the machine, a run that tried almost nothing proves nothing.
    assert.ok(inputs >= Math.min(RUNS, 100), `only ${inputs} inputs ran`);
  });
}
