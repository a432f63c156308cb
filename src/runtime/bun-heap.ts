/**
 * Bun settings for a process that serves connections: its allocator, mimalloc, keeps memory
 * freed under load for 10 s before it hands it back to the kernel (`MIMALLOC_PURGE_DELAY=10000`;
 * mimalloc's own default is 10 ms), and JavaScriptCore makes its heap blocks resident on the
 * serving thread, without its warm-up thread (`BUN_JSC_useWarmUpMarkedBlocks=0`).
 *
 * Bun allocates its native objects with mimalloc (a new buffer for every read among them), and
 * mimalloc's background thread (`mi-scavenger`) gives pages that stay free for its delay back to
 * the kernel with madvise(2). Under `linkgate serve` at about 6,000 connections a second the
 * freed pages were needed again a few milliseconds later: the process faulted them back in,
 * about one page fault per connection against 0.3 for the minimal proxy on Bun's sockets, and
 * each page given back costs a TLB shootdown on the serving thread too (perf: the scavenger's
 * `flush_tlb_multi`). With the delay at 10 s, pages freed under load are reused long before it
 * ends, and a gateway whose load has gone still returns them (RSS under load stayed in the same
 * range as with the default; never returning them, `-1`, let it grow round after round). CPU per
 * connection: docs/BENCHMARKS.md, "What each change gained".
 *
 * JavaScriptCore's `JSCWarmUp` thread keeps a supply of new heap blocks whose pages it has
 * already touched, so that a heap growing at start does not take those page faults on the
 * JavaScript thread. Under connection load linkgate's heap frees blocks after each collection
 * and takes new ones, and the thread kept topping the supply up: 4 to 5.5 µs of CPU per
 * connection (its own time, /proc/PID/task), against 1 to 3 µs more on the serving thread
 * without it. The minimal proxy on Bun's sockets, with its small heap, barely wakes it.
 *
 * mimalloc reads its options once, as the process starts: JavaScript cannot set them. So
 * `linkgate serve` on Bun runs itself again once with them (execve: same pid, same
 * descriptors, src/cli/engine.ts), and `serve --engine bun` from Node.js starts Bun with them.
 * JavaScriptCore reads its options (BUN_JSC_*) from the environment at start too. A value the
 * operator set in the environment is kept. Node.js does not use mimalloc: its V8 settings are
 * in v8-heap.ts.
 */

/** The environment a serving Bun process starts with (unless the operator set other values). */
export const BUN_HEAP_ENV: Readonly<Record<string, string>> = {
  MIMALLOC_PURGE_DELAY: "10000",
  BUN_JSC_useWarmUpMarkedBlocks: "0",
};

/** `env` with each BUN_HEAP_ENV setting it lacks; the values it has are kept. */
export function withBunHeapEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...BUN_HEAP_ENV, ...env };
}

/** Whether `env` lacks one of the BUN_HEAP_ENV settings (whatever value the others have). */
export function lacksBunHeapEnv(env: NodeJS.ProcessEnv): boolean {
  for (const name in BUN_HEAP_ENV) if (env[name] === undefined) return true;
  return false;
}

/**
 * The BUN_HEAP_ENV settings this process runs with, as the started line reports them: null on
 * Node.js, where they mean nothing.
 */
export function bunHeapEnvInEffect(): Record<string, string> | null {
  if (process.versions.bun === undefined) return null;
  const inEffect: Record<string, string> = {};
  for (const name in BUN_HEAP_ENV) {
    const value = process.env[name];
    if (value !== undefined) inEffect[name] = value;
  }
  return inEffect;
}
