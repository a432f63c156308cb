/**
 * V8 settings for a process that serves connections: allocation-site pretenuring off.
 *
 * V8 watches the objects each allocation site makes (an object or array literal, say) and, when
 * nearly all of them survive a young-generation collection, "pretenures" the site: its objects
 * are allocated straight in the old generation from then on. That suits data built once and
 * kept. It does not suit a proxy, whose per-connection objects live for milliseconds: under
 * `linkgate serve` at 5,000 connections a second, `--trace-pretenuring-statistics` showed
 * sites tenured with every object of theirs found alive at a scavenge (ratio 1.0), and
 * `--trace-gc` showed what followed: the old generation grew by about 2 MB per scavenge, and
 * once it reached its limit V8 ran a full mark-compact every 350 ms or so, each marking the
 * whole 21 MB heap. With pretenuring off, the same 20 s of load ran 43 scavenges, no
 * mark-compact, and the heap stayed at 28 MB; CPU per connection fell from 192 to 176 µs in
 * an interleaved A/B of the two builds (docs/BENCHMARKS.md, "What each change gained").
 *
 * The flag is read when V8 processes pretenuring feedback, at each young-generation
 * collection, so setting it at run time takes effect from the next one (test/runtime pins
 * that). Bun's engine (JavaScriptCore) has no such mechanism: nothing to set there.
 */
import v8 from "node:v8";

/** The V8 flags `tuneHeapForConnections` sets, as the started line reports them. */
export const CONNECTION_HEAP_FLAGS: readonly string[] = ["--no-allocation-site-pretenuring"];

let applied: readonly string[] | null = null;

/**
 * Sets CONNECTION_HEAP_FLAGS once per process, before the first connection. Returns the flags
 * set (empty on Bun, where there are none to set).
 */
export function tuneHeapForConnections(): readonly string[] {
  if (applied !== null) return applied;
  applied = process.versions.bun === undefined ? CONNECTION_HEAP_FLAGS : [];
  for (const flag of applied) v8.setFlagsFromString(flag);
  return applied;
}
