/** The suite's child processes (bench/lib/procs.ts): what is kept of their output. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Proc } from "../../bench/lib/procs.js";

test("lines accepted by countOnly are counted, not kept", async () => {
  const p = new Proc(
    "sh",
    ["-c", 'echo first; for i in 1 2 3; do echo "conn $i"; done; echo last'],
    {
      name: "printer",
      countOnly: (line) => line.startsWith("conn "),
    },
  );
  await p.exited;
  assert.equal(p.counted, 3);
  assert.deepEqual(p.lines, ["first", "last"]);
  assert.doesNotMatch(p.output, /conn/);
});
