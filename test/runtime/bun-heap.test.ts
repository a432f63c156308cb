import assert from "node:assert/strict";
import { test } from "node:test";
import {
  BUN_HEAP_ENV,
  bunHeapEnvInEffect,
  lacksBunHeapEnv,
  withBunHeapEnv,
} from "../../src/runtime/bun-heap.js";

test("Bun's allocator settings are added where missing; the operator's own values are kept", () => {
  assert.deepEqual(BUN_HEAP_ENV, { MIMALLOC_PURGE_DELAY: "10000" });
  const added = withBunHeapEnv({ PATH: "/bin" });
  assert.deepEqual(added, { PATH: "/bin", MIMALLOC_PURGE_DELAY: "10000" });
  assert.equal(lacksBunHeapEnv({ PATH: "/bin" }), true);
  assert.equal(lacksBunHeapEnv(added), false);
  const own = { MIMALLOC_PURGE_DELAY: "-1" };
  assert.deepEqual(withBunHeapEnv(own), own, "a value set is never replaced");
  assert.equal(lacksBunHeapEnv(own), false, "so no second start is asked for");
  assert.equal(lacksBunHeapEnv({ MIMALLOC_PURGE_DELAY: "" }), false, "even an empty one");
});

test("the settings in effect are reported only on Bun (there: test/engines/serve-engine.test.ts)", () => {
  if (process.versions.bun !== undefined) {
    const inEffect = Object.entries(BUN_HEAP_ENV).filter(([name]) => name in process.env);
    assert.deepEqual(
      bunHeapEnvInEffect(),
      Object.fromEntries(inEffect.map(([name]) => [name, process.env[name]])),
    );
  } else assert.equal(bunHeapEnvInEffect(), null);
});
