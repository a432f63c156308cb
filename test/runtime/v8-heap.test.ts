/**
 * src/runtime/v8-heap.ts: the flag it sets at run time must reach V8. A child process makes
 * objects that all survive (the pattern V8 pretenures) and reports V8's own pretenuring trace:
 * without the call V8 tenures the site, after it V8 makes no pretenuring decision at all. The
 * first half keeps the second honest: if V8 stops tenuring on this pattern, or renames its
 * trace, the test fails instead of passing on silence. The child loads no tsx (Node.js strips
 * the module's types itself): a loader's own heap changes when V8 collects, and so what it sees.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, test } from "node:test";
import { CONNECTION_HEAP_FLAGS, tuneHeapForConnections } from "../../src/runtime/v8-heap.js";

const MODULE = new URL("../../src/runtime/v8-heap.ts", import.meta.url).href;

/** Keeps 400,000 objects from one literal site, calling the tuning first if `tuned`. */
function childScript(tuned: boolean): string {
  return `
${
  tuned
    ? `const { tuneHeapForConnections } = await import(${JSON.stringify(MODULE)});
tuneHeapForConnections();`
    : ""
}
const keep = [];
function make(i) { return { a: i, b: [i, i + 1] }; }
for (let i = 0; i < 400000; i++) keep.push(make(i));
process.stdout.write("kept " + keep.length + "\\n");
`;
}

function pretenuringTrace(tuned: boolean): string {
  const r = spawnSync(
    process.execPath,
    [
      "--trace-pretenuring-statistics",
      // Allocation sites collect feedback only from code that is not optimized, and V8 decides
      // at scavenges: without optimizing compilers and with a 1 MiB young generation it decides
      // many times. Otherwise whether it tenures at all depends on when its compilers finish
      // (in CI, once, it did not).
      "--no-maglev",
      "--no-turbofan",
      "--max-semi-space-size=1",
      "--input-type=module",
      "--eval",
      childScript(tuned),
    ],
    { encoding: "utf8", timeout: 30_000 },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /kept 400000/);
  return r.stdout;
}

describe("V8 heap settings for serving", { skip: process.versions.bun !== undefined }, () => {
  test("returns the flags it set, once per process", () => {
    const first = tuneHeapForConnections();
    assert.deepEqual(first, ["--no-allocation-site-pretenuring"]);
    assert.equal(tuneHeapForConnections(), first);
    assert.equal(first, CONNECTION_HEAP_FLAGS);
  });

  test("without it V8 tenures a site whose objects all survive; with it, never", () => {
    assert.match(pretenuringTrace(false), /=> tenure/, "the untuned child tenures the site");
    const tuned = pretenuringTrace(true);
    assert.doesNotMatch(tuned, /=> tenure/);
    assert.doesNotMatch(tuned, /pretenuring:/, "no pretenuring feedback is processed at all");
  });
});
