/**
 * `linkgate serve --engine node|bun`. The data plane drives the sockets of the runtime it runs
 * on (src/dataplane/engines): Node.js's `node:net`, or Bun's own `Bun.listen`/`Bun.connect`.
 * Asking Node.js for the Bun engine re-executes the same command under Bun in the same process
 * (execve): same pid, same signals, same stdin/stdout/stderr, so supervisors see no difference.
 * Bun started without the heap settings it serves with (src/runtime/bun-heap.ts) re-executes
 * itself once the same way to get them.
 */
import { accessSync, constants } from "node:fs";
import { createRequire } from "node:module";
import { delimiter, dirname, join } from "node:path";
import { lacksBunHeapEnv, withBunHeapEnv } from "../runtime/bun-heap.js";

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
 * Runs this command under `engine`'s runtime if this process is not already on it, and on Bun
 * with the heap settings of src/runtime/bun-heap.ts if it lacks them; returns only if
 * neither is needed (or an error message saying why it cannot switch).
 */
export function switchEngine(engine: EngineName): string | null {
  const runtime = runtimeEngineName();
  if (engine === "node") {
    if (runtime === "node") return null;
    return "--engine node: this is Bun; start linkgate with Node.js (node bin/linkgate.js, npx linkgate)";
  }
  if (runtime === "bun") {
    // Bun's own options (--smol, ...) go with it; only the environment changes.
    if (!lacksBunHeapEnv(process.env) || typeof process.execve !== "function") return null;
    if (process.execArgv.some((option) => option.startsWith("--cpu-prof"))) {
      // Bun's CPU profiler interrupts the process with SIGPWR; one that lands as execve
      // replaces the image finds no handler there and kills it (seen: 1 start in 3). So a
      // profiled process is not run again: it serves without the settings, and says so.
      const settings = Object.entries(withBunHeapEnv({}))
        .map(([name, value]) => `${name}=${value}`)
        .join(" ");
      process.stderr.write(
        `linkgate: Bun's CPU profiler is on, so serve does not run itself again to set ${settings}; set them in the environment to profile with them\n`,
      );
      return null;
    }
    return execBun(process.execPath, process.execArgv);
  }
  const bun = bunExecutable();
  if (bun === null)
    return "--engine bun: Bun is not installed (npm install bun, or put bun on the PATH)";
  if (typeof process.execve !== "function") {
    return `--engine bun: Node.js ${process.version} cannot re-execute itself (needs 23.11+); run it with bun directly`;
  }
  // Node.js options (tsx's --import) stay behind: Bun runs TypeScript itself.
  return execBun(bun, []);
}

/** Replaces this process with `bun` running the same script and arguments; never returns. */
function execBun(bun: string, options: readonly string[]): never {
  const execve = process.execve as NonNullable<typeof process.execve>;
  return execve(
    bun,
    [bun, ...options, process.argv[1], ...process.argv.slice(2)],
    withBunHeapEnv(process.env),
  ) as never;
}
