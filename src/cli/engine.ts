/**
 * `linkgate serve --engine node|bun`. The data plane drives the sockets of the runtime it runs
 * on (src/dataplane/engines): Node.js's `node:net`, or Bun's own `Bun.listen`/`Bun.connect`.
 * Asking Node.js for the Bun engine re-executes the same command under Bun in the same process
 * (execve): same pid, same signals, same stdin/stdout/stderr, so supervisors see no difference.
 */
import { accessSync, constants } from "node:fs";
import { createRequire } from "node:module";
import { delimiter, dirname, join } from "node:path";

export type EngineName = "node" | "bun";

export const ENGINES: readonly EngineName[] = ["node", "bun"];

/** The engine of the runtime this process runs on. */
export function runtimeEngineName(): EngineName {
  return process.versions.bun === undefined ? "node" : "bun";
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Bun: the `bun` npm package's binary when installed beside linkgate, else `bun` on the PATH. */
export function bunExecutable(): string | null {
  try {
    const pkg = createRequire(import.meta.url).resolve("bun/package.json");
    const bin = join(dirname(pkg), "bin", "bun.exe");
    if (executable(bin)) return bin;
  } catch {
    // not installed beside linkgate
  }
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir !== "" && executable(join(dir, "bun"))) return join(dir, "bun");
  }
  return null;
}

/**
 * Runs this command under `engine`'s runtime if this process is not already on it; returns
 * only if it is (or an error message saying why it cannot switch).
 */
export function switchEngine(engine: EngineName): string | null {
  if (engine === runtimeEngineName()) return null;
  if (engine === "node") {
    return "--engine node: this is Bun; start linkgate with Node.js (node bin/linkgate.js, npx linkgate)";
  }
  const bun = bunExecutable();
  if (bun === null)
    return "--engine bun: Bun is not installed (npm install bun, or put bun on the PATH)";
  if (typeof process.execve !== "function") {
    return `--engine bun: Node.js ${process.version} cannot re-execute itself (needs 23.11+); run it with bun directly`;
  }
  // The script and its arguments as given; Node.js options (tsx's --import) stay behind: Bun
  // runs TypeScript itself.
  return process.execve(bun, [bun, process.argv[1], ...process.argv.slice(2)], process.env);
}
