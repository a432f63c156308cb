/**
 * Crashers: every input a fuzz run found failing is kept in test/fuzz/vectors/ as one JSON file,
 * replayed by vectors.test.ts in every `npm test`, long after the bug is fixed.
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { VectorInput } from "./targets.js";

export const VECTORS_DIR = join(import.meta.dirname, "vectors");

export interface Vector {
  target: string;
  /** How it was found (command, seed) and what failed, for the reader. */
  found: string;
  failure: string;
  input: VectorInput;
}

/** Writes `vector` as vectors/<target>-<hash of the input>.json; returns the path. */
export function saveVector(vector: Vector): string {
  const id = createHash("sha256").update(JSON.stringify(vector.input)).digest("hex").slice(0, 12);
  const path = join(VECTORS_DIR, `${vector.target}-${id}.json`);
  writeFileSync(path, `${JSON.stringify(vector, null, 2)}\n`);
  return path;
}

export function loadVectors(): { file: string; vector: Vector }[] {
  return readdirSync(VECTORS_DIR)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((file) => ({
      file,
      vector: JSON.parse(readFileSync(join(VECTORS_DIR, file), "utf8")) as Vector,
    }));
}
