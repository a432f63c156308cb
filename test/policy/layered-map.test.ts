/** LayeredMap: the same entries, in the same order, as a plain Map given the same changes. */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { LayeredMap } from "../../src/policy/layered-map.js";

test("any sequence of derivations reads like a Map changed in place, past the flatten threshold too", () => {
  fc.assert(
    fc.property(
      fc.array(fc.nat(50), { maxLength: 40 }),
      // Batches of changes: a value (set) or undefined (delete), over a small key space.
      fc.array(
        fc.array(fc.tuple(fc.nat(60), fc.option(fc.nat(), { nil: undefined })), { maxLength: 30 }),
        {
          minLength: 1,
          maxLength: 80,
        },
      ),
      (start, batches) => {
        const reference = new Map<number, number>();
        for (const k of start) reference.set(k, k);
        let layered: ReadonlyMap<number, number> = new Map(reference);
        for (const batch of batches) {
          const changes = new Map(batch);
          for (const [k, v] of changes) {
            reference.delete(k); // a changed entry moves to the end
            if (v !== undefined) reference.set(k, v);
          }
          layered = LayeredMap.with(layered, changes);
          assert.deepEqual([...layered], [...reference]);
          assert.equal(layered.size, reference.size);
          for (let k = 0; k <= 60; k++) {
            assert.equal(layered.get(k), reference.get(k));
            assert.equal(layered.has(k), reference.has(k));
          }
        }
      },
    ),
    { numRuns: 300 },
  );
});

test("many single changes: the top is flattened now and then, and the contents stay right", () => {
  let m: ReadonlyMap<number, number> = new Map(Array.from({ length: 100 }, (_, i) => [i, i]));
  const reference = new Map(m);
  let flattened = 0;
  for (let n = 0; n < 3000; n++) {
    const k = 100 + n; // a new key each time: the top grows until it is flattened
    m = LayeredMap.with(m, new Map([[k, n]]));
    reference.delete(k);
    reference.set(k, n);
    if (!(m instanceof LayeredMap)) flattened++;
  }
  // The top may hold 1,024 changes on a base this small: flattened at the 1,025th and 2,050th.
  assert.equal(flattened, 2, `flattened ${flattened} times in 3000 changes`);
  assert.deepEqual([...m], [...reference]);
});
