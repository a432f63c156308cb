/**
 * Loaded into a linkgate process under test (node --import): answers SIGUSR2 with one line on
 * stderr, `LINKGATE_PROBE {...}`, describing what the process holds, for the leak checks of the
 * stress suite. What /proc cannot tell from outside:
 * - `registry`: connections in the gateway's ConnectionRegistry (admitted, not yet ended). The
 *   module is the one named by LINKGATE_PROBE_REGISTRY (a file URL into dist/), whose
 *   ConnectionRegistry instances are remembered on their first add();
 * - `timers`: live Timeout objects, unref'd ones included (process.getActiveResourcesInfo()
 *   lists only ref'd ones), from async_hooks with promises left out;
 * - `sockets`: live TCP socket handles, the same way;
 * - `heapUsed`, `arrayBuffers` (Buffers live outside the heap): after a full GC when node runs
 *   with --expose-gc.
 * Nothing else changes in the process. Run by Node.js 24 as it is (type stripping).
 */
import { createHook } from "node:async_hooks";
import { readdirSync } from "node:fs";

const live = new Map<number, string>();
createHook({
  init(id, type) {
    if (type === "Timeout" || type === "TCPWRAP") live.set(id, type);
  },
  destroy(id) {
    live.delete(id);
  },
  trackPromises: false,
} as Parameters<typeof createHook>[0]).enable();

interface Registry {
  size: number;
  add(...args: unknown[]): void;
}
const registries = new Set<Registry>();
const url = process.env.LINKGATE_PROBE_REGISTRY;
if (url !== undefined) {
  const { ConnectionRegistry } = (await import(url)) as {
    ConnectionRegistry: { prototype: Registry };
  };
  const add = ConnectionRegistry.prototype.add;
  ConnectionRegistry.prototype.add = function (this: Registry, ...args: unknown[]) {
    registries.add(this);
    return add.apply(this, args);
  };
}

let sequence = 0;
process.on("SIGUSR2", () => {
  (globalThis as { gc?: () => void }).gc?.();
  let timers = 0;
  let sockets = 0;
  for (const type of live.values()) {
    if (type === "Timeout") timers++;
    else sockets++;
  }
  let registry = 0;
  for (const r of registries) registry += r.size;
  const m = process.memoryUsage();
  const sample = {
    pid: process.pid,
    seq: ++sequence,
    registry,
    timers,
    sockets,
    fds: readdirSync("/proc/self/fd").length,
    rss: m.rss,
    heapUsed: m.heapUsed,
    arrayBuffers: m.arrayBuffers,
  };
  process.stderr.write(`LINKGATE_PROBE ${JSON.stringify(sample)}\n`);
});
