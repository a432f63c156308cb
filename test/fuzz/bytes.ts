/**
 * Byte-level pieces shared by the fuzz targets: mutations of a valid input (bit flips, bytes
 * set, inserted or deleted, truncation) and the chunkings a stream decoder is fed.
 */
import fc from "fast-check";

export type Mutation =
  | { kind: "flip"; at: number; mask: number }
  | { kind: "set"; at: number; value: number }
  | { kind: "insert"; at: number; value: number }
  | { kind: "delete"; at: number }
  | { kind: "truncate"; at: number };

const at = fc.nat({ max: 1 << 20 });
const byte = fc.integer({ min: 0, max: 255 });

export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant("flip"), at, mask: fc.integer({ min: 1, max: 255 }) }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("set"), at, value: byte }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("insert"), at, value: byte }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("delete"), at }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("truncate"), at }) },
) as fc.Arbitrary<Mutation>;

/** None half of the time (valid inputs must reach the DONE path too), else one to four. */
export const mutations: fc.Arbitrary<Mutation[]> = fc.oneof(
  fc.constant<Mutation[]>([]),
  fc.array(mutation, { minLength: 1, maxLength: 4 }),
);

/** Applies the mutations in order; positions wrap around the current length. */
export function mutate(original: Uint8Array, list: readonly Mutation[]): Buffer {
  let bytes = Buffer.from(original);
  for (const m of list) {
    const n = bytes.length;
    if (m.kind === "insert") {
      const p = m.at % (n + 1);
      bytes = Buffer.concat([bytes.subarray(0, p), Buffer.from([m.value]), bytes.subarray(p)]);
      continue;
    }
    if (n === 0) continue;
    const p = m.at % n;
    if (m.kind === "flip") bytes[p] ^= m.mask;
    else if (m.kind === "set") bytes[p] = m.value;
    else if (m.kind === "delete")
      bytes = Buffer.concat([bytes.subarray(0, p), bytes.subarray(p + 1)]);
    else bytes = bytes.subarray(0, p);
  }
  return bytes;
}

/** How an input is fed to a stream decoder. */
export type Chunking =
  | { kind: "cuts"; cuts: number[] }
  | { kind: "bytewise" }
  /**
   * Two chunks, at every split point in turn (every ⌈n/512⌉-th one past 512 bytes): the costly
   * one, drawn rarely.
   */
  | { kind: "every-split" };

export const chunking: fc.Arbitrary<Chunking> = fc.oneof(
  {
    weight: 60,
    arbitrary: fc.record({
      kind: fc.constant("cuts" as const),
      cuts: fc.array(fc.nat({ max: 4096 }), { maxLength: 6 }),
    }),
  },
  { weight: 3, arbitrary: fc.constant({ kind: "bytewise" as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: "every-split" as const }) },
);

/** Cuts `bytes` at the given points (any order; duplicates and out-of-range ones ignored). */
export function chunksAt(bytes: Buffer, points: readonly number[]): Buffer[] {
  const cuts = [...new Set(points.filter((p) => p > 0 && p < bytes.length))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const c of cuts) {
    chunks.push(bytes.subarray(from, c));
    from = c;
  }
  chunks.push(bytes.subarray(from));
  return chunks;
}

/** The chunkings a `Chunking` stands for: one list of chunks, or one per split point. */
export function chunkingsOf(bytes: Buffer, c: Chunking): Buffer[][] {
  if (c.kind === "cuts") return [chunksAt(bytes, c.cuts)];
  if (c.kind === "bytewise") return [[...bytes].map((b) => Buffer.from([b]))];
  const all: Buffer[][] = [];
  const step = Math.ceil(bytes.length / 512);
  for (let i = 1; i < bytes.length; i += step) all.push([bytes.subarray(0, i), bytes.subarray(i)]);
  if (all.length === 0) all.push([bytes]);
  return all;
}

/** A prefix length to check that a decoder's answer on a prefix agrees with the whole's. */
export const prefixAt: fc.Arbitrary<number> = fc.nat({ max: 1 << 16 });
