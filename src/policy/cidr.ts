/**
 * Sets of CIDRs with constant-time membership (a binary search over at most 2n+1 intervals),
 * reporting which rule matched.
 *
 * CIDRs are either disjoint or nested, so at compile time the address space is cut into
 * elementary intervals, each labelled with the lowest rule index that covers it (-1 for gaps).
 * IPv4 and IPv6 are kept apart; an IPv4-mapped IPv6 address (::ffff:a.b.c.d) or CIDR is folded
 * into IPv4, so "10.0.0.0/8" matches a client that HAProxy reports as ::ffff:10.1.2.3.
 */
import { parseCidrFast } from "../ip/cidr.js";

export interface ParsedCidr {
  family: 4 | 6;
  /** Network address, 4 or 16 bytes, host bits zero. */
  bytes: Uint8Array;
  prefix: number;
}

/** True when bytes 0-11 are ::ffff:0:0/96's prefix. */
export function isV4Mapped(b: Uint8Array, off = 0): boolean {
  if (b[off + 10] !== 0xff || b[off + 11] !== 0xff) return false;
  for (let i = 0; i < 10; i++) if (b[off + i] !== 0) return false;
  return true;
}

/** Folds an IPv4-mapped IPv6 CIDR (::ffff:0:0/96 and longer) into IPv4. */
function normalise(c: ParsedCidr): ParsedCidr {
  if (c.family === 6 && c.prefix >= 96 && isV4Mapped(c.bytes)) {
    return { family: 4, bytes: c.bytes.slice(12), prefix: c.prefix - 96 };
  }
  return c;
}

function toBigInt(bytes: Uint8Array): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}

interface Range<N> {
  start: N;
  end: N;
  rule: number;
}

/**
 * Cuts [0, limit) into elementary intervals labelled with the lowest rule covering them (-1 for
 * gaps). Generic over number (IPv4, exact below 2^53) and bigint (IPv6).
 */
function elementaryIntervals<N extends number | bigint>(
  ranges: Range<N>[],
  limit: N,
  one: N,
  zero: N,
): { starts: N[]; rules: number[] } {
  const cmp = (a: N, b: N) => (a < b ? -1 : a > b ? 1 : 0);
  // One range (the usual case for a tenant): up to three intervals, no sort.
  if (ranges.length === 1) {
    const r = ranges[0];
    const starts: N[] = [];
    const rules: number[] = [];
    if (r.start !== zero) {
      starts.push(zero);
      rules.push(-1);
    }
    starts.push(r.start);
    rules.push(r.rule);
    const after = (r.end as bigint & number) + (one as bigint & number);
    if (after < limit) {
      starts.push(after as N);
      rules.push(-1);
    }
    return { starts, rules };
  }
  // Boundaries: every start and every end + 1 (except the end of the address space).
  const points = new Set<N>([zero]);
  for (const r of ranges) {
    points.add(r.start);
    const after = ((r.end as bigint & number) + (one as bigint & number)) as N;
    if (after < limit) points.add(after);
  }
  const sorted = [...points].sort(cmp);
  // Sweep: nested/disjoint CIDRs, so at any point the covering rules form a stack.
  const byStart = [...ranges].sort((a, b) => cmp(a.start, b.start) || cmp(b.end, a.end));
  const starts: N[] = [];
  const rules: number[] = [];
  const active: Range<N>[] = [];
  let k = 0;
  for (const p of sorted) {
    while (active.length > 0 && active[active.length - 1].end < p) active.pop();
    while (k < byStart.length && byStart[k].start === p) active.push(byStart[k++]);
    // Lowest rule index among active ranges (the stack is small: nesting depth).
    let rule = -1;
    for (const a of active) if (a.end >= p && (rule < 0 || a.rule < rule)) rule = a.rule;
    if (rules.length === 0 || rules[rules.length - 1] !== rule) {
      starts.push(p);
      rules.push(rule);
    }
  }
  return { starts, rules };
}

export class CidrSet {
  readonly size: number;
  // IPv4: interval starts as uint32 and their rule labels.
  readonly #v4Starts: Uint32Array;
  readonly #v4Rules: Int32Array;
  // IPv6: starts as 4 big-endian uint32 words each.
  readonly #v6Starts: Uint32Array;
  readonly #v6Rules: Int32Array;

  /** `cidrs[i]` is labelled with `rules[i]` (defaults to i); the lowest label wins overlaps. */
  constructor(cidrs: readonly ParsedCidr[], rules?: readonly number[]) {
    this.size = cidrs.length;
    const v4: Range<number>[] = [];
    const v6: Range<bigint>[] = [];
    for (let i = 0; i < cidrs.length; i++) {
      const c = normalise(cidrs[i]);
      const rule = rules?.[i] ?? i;
      if (c.family === 4) {
        // Numbers, not BigInt: IPv4 ranges fit exactly, and compiling a million rules is faster.
        const start = readU32(c.bytes, 0);
        v4.push({ start, end: start + 2 ** (32 - c.prefix) - 1, rule });
      } else {
        const start = toBigInt(c.bytes);
        v6.push({ start, end: start | ((1n << BigInt(128 - c.prefix)) - 1n), rule });
      }
    }
    const i4 =
      v4.length === 0 ? { starts: [0], rules: [-1] } : elementaryIntervals(v4, 2 ** 32, 1, 0);
    this.#v4Starts = Uint32Array.from(i4.starts);
    this.#v4Rules = Int32Array.from(i4.rules);
    const i6 =
      v6.length === 0 ? { starts: [0n], rules: [-1] } : elementaryIntervals(v6, 1n << 128n, 1n, 0n);
    this.#v6Starts = new Uint32Array(4 * i6.starts.length);
    i6.starts.forEach((start, j) => {
      for (let w = 0; w < 4; w++)
        this.#v6Starts[4 * j + w] = Number((start >> BigInt(96 - 32 * w)) & 0xffffffffn);
    });
    this.#v6Rules = Int32Array.from(i6.rules);
  }

  /** Rule label of the first CIDR holding the IPv4 address (as uint32), or -1. */
  matchV4(address: number): number {
    const starts = this.#v4Starts;
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (starts[mid] <= address) lo = mid;
      else hi = mid - 1;
    }
    return this.#v4Rules[lo];
  }

  /** Rule label of the first CIDR holding the IPv6 address at bytes[off, off+16), or -1. */
  matchV6(bytes: Uint8Array, off: number): number {
    if (isV4Mapped(bytes, off)) return this.matchV4(readU32(bytes, off + 12));
    const w0 = readU32(bytes, off);
    const w1 = readU32(bytes, off + 4);
    const w2 = readU32(bytes, off + 8);
    const w3 = readU32(bytes, off + 12);
    const s = this.#v6Starts;
    let lo = 0;
    let hi = this.#v6Rules.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      const m = 4 * mid;
      // starts[mid] <= address, word by word
      const le =
        s[m] < w0 ||
        (s[m] === w0 &&
          (s[m + 1] < w1 ||
            (s[m + 1] === w1 && (s[m + 2] < w2 || (s[m + 2] === w2 && s[m + 3] <= w3)))));
      if (le) lo = mid;
      else hi = mid - 1;
    }
    return this.#v6Rules[lo];
  }

  /** Rule label for a 4- or 16-byte address, or -1. */
  match(family: 4 | 6, bytes: Uint8Array): number {
    return family === 4 ? this.matchV4(readU32(bytes, 0)) : this.matchV6(bytes, 0);
  }
}

function readU32(b: Uint8Array, off: number): number {
  return ((b[off] << 24) | (b[off + 1] << 16) | (b[off + 2] << 8) | b[off + 3]) >>> 0;
}

/** A CidrSet from CIDR texts (validated configuration); throws on an invalid one. */
export function cidrSetOf(texts: readonly string[], rules?: readonly number[]): CidrSet {
  return new CidrSet(
    texts.map((text) => {
      const c = parseCidrFast(text);
      if (c === null) throw new Error(`invalid CIDR ${JSON.stringify(text)}`);
      return c;
    }),
    rules,
  );
}
