import assert from "node:assert/strict";
import { test } from "node:test";
import {
  BUN_HEAP_ENV,
  bunHeapEnvInEffect,
  lacksBunHeapEnv,
  withBunHeapEnv,
} from "../../src/runtime/bun-heap.js";

test("Bun's heap settings are added where missing; the operator's own values are kept", () => {
  assert.deepEqual(BUN_HEAP_ENV, {
    MIMALLOC_PURGE_DELAY: "10000",
    BUN_JSC_useWarmUpMarkedBlocks: "0",
  });
  const added = withBunHeapEnv({ PATH: "/bin" });
  assert.deepEqual(added, { PATH: "/bin", ...BUN_HEAP_ENV });
  assert.equal(lacksBunHeapEnv({ PATH: "/bin" }), true);
  assert.equal(lacksBunHeapEnv(added), false);
  const own = { MIMALLOC_PURGE_DELAY: "-1" };
  assert.deepEqual(
    withBunHeapEnv(own),
    { ...BUN_HEAP_ENV, MIMALLOC_PURGE_DELAY: "-1" },
    "a value set is never replaced; the others are added",
  );
  assert.equal(lacksBunHeapEnv(own), true, "one setting is still missing: a second start adds it");
  const all = { MIMALLOC_PURGE_DELAY: "-1", BUN_JSC_useWarmUpMarkedBlocks: "1" };
  assert.deepEqual(withBunHeapEnv(all), all);
  assert.equal(lacksBunHeapEnv(all), false, "all set: no second start is asked for");
  assert.equal(
    lacksBunHeapEnv({ MIMALLOC_PURGE_DELAY: "", BUN_JSC_useWarmUpMarkedBlocks: "" }),
    false,
    "even empty ones",
  );
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
