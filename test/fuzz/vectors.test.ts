/**
 * Replays every crasher kept in test/fuzz/vectors/ through its fuzz target's oracle: each found a
 * defect once, and must never fail again.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { target } from "./targets.js";
import { loadVectors } from "./vectors.js";

describe("fuzz crashers kept as regression vectors", () => {
  const vectors = loadVectors();

  test("there are vectors, each for a known target", () => {
    assert.ok(vectors.length > 0, "test/fuzz/vectors/ is empty: nothing is replayed");
    for (const { file, vector } of vectors) assert.ok(target(vector.target), file);
  });

  for (const { file, vector } of vectors) {
    test(`${file}: ${vector.failure}`, () => {
      target(vector.target).replay(vector.input);
    });
  }
});
