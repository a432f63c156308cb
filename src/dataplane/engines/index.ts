/**
 * The engine of the runtime linkgate runs on: Bun's native sockets on Bun, `node:net` on
 * Node.js. Only that one is loaded (the Node.js engine probes `node:net` internals at load).
 */
import type { Engine } from "../engine.js";

export const runtimeEngine: Engine =
  process.versions.bun === undefined
    ? (await import("./node/index.js")).nodeEngine
    : (await import("./bun/index.js")).bunEngine;
