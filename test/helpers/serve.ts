/**
 * `linkgate serve` as a real child process: its JSON log lines (stdout), stderr, exit code and
 * the ports it reports in its "listening" lines. Killed (SIGKILL, with its process group's
 * workers) when the test ends if it is still running.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { waitFor, withTimeout } from "./programs.js";

const MAIN = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));

export type LogLine = Record<string, unknown>;

export interface Serve {
  child: ChildProcess;
  lines: LogLine[];
  stderr: () => string;
  exited: Promise<number | null>;
  /** The port of a listener (or "admin") from its "listening" line. */
  port(listener: string): number;
  /** The lines whose msg is `msg`. */
  find(msg: string): LogLine[];
}

/**
 * Starts `linkgate serve ...args`, with `env` added to this process's environment; it is killed
 * when `t` (a test, or a script's own cleanup list) ends. It runs on this test's runtime unless
 * `bun` names a Bun executable (with Bun's own options, if any) to start it with.
 */
export function spawnServe(
  t: { after(fn: () => unknown): void },
  args: readonly string[],
  env: Record<string, string> = {},
  bun?: { executable: string; options?: readonly string[] },
): Serve {
  // Under `bun test`, Bun itself (it runs TypeScript without tsx): the Bun engine.
  const [program, runtimeArgs] =
    bun !== undefined
      ? [bun.executable, [...(bun.options ?? []), MAIN]]
      : process.versions.bun === undefined
        ? [process.execPath, ["--import", "tsx", MAIN]]
        : [process.execPath, [MAIN]];
  const child = spawn(program, [...runtimeArgs, "serve", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env },
    cwd: fileURLToPath(new URL("../..", import.meta.url)),
    // Its own process group, so that the cleanup reaches the workers too.
    detached: true,
  });
  const lines: LogLine[] = [];
  let out = "";
  let err = "";
  child.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
    let nl = out.indexOf("\n");
    while (nl >= 0) {
      const line = out.slice(0, nl);
      out = out.slice(nl + 1);
      lines.push(JSON.parse(line));
      nl = out.indexOf("\n");
    }
  });
  child.stderr?.on("data", (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => resolve(code)),
  );
  t.after(() => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
    } catch {
      // already gone
    }
  });
  return {
    child,
    lines,
    stderr: () => err,
    exited,
    port(listener) {
      const l = lines.find((x) => x.msg === "listening" && x.listener === listener);
      assert.ok(l, `listening line for ${listener}`);
      return l.port as number;
    },
    find(msg) {
      return lines.filter((l) => l.msg === msg);
    },
  };
}

/** Waits for the admin endpoint's "listening" line: the last one of a start. */
export async function serveStarted(s: Serve, timeoutMs = 20_000): Promise<void> {
  await withTimeout(
    waitFor(() => s.lines.some((l) => l.msg === "listening" && l.listener === "admin"), {
      timeoutMs,
      what: "linkgate to listen",
    }),
    timeoutMs + 1000,
    `linkgate serve to start (stderr: ${s.stderr()})`,
  );
}

/**
 * A configuration for `serve` tests: one `privatelink` listener (PROXY header from 127.0.0.1),
 * the admin endpoint, a 700 ms drain, and tenant megacorp with `rules` (YAML list items,
 * indented 8 spaces) in front of an origin on `originPort`; `extra` is appended as is.
 */
export function serveConfigYaml(originPort: number, rules: string, extra = ""): string {
  return `
listeners:
  - name: privatelink
    bind: 127.0.0.1:0
    proxyProtocol: required
    trustedProxies: [127.0.0.1/32]
routing:
  hostPatterns: ["{tenant}.api.example.com"]
  upstream: 127.0.0.1:${originPort}
  upstreamProxyProtocol: v2
api:
  bind: 127.0.0.1:0
shutdown:
  drainTimeout: 700ms
tenants:
  - id: megacorp
    allow:
      rules:
${rules}
${extra}`;
}

/**
 * `count` more tenants as YAML list items, for `serveConfigYaml`'s `extra`: a policy large
 * enough that loading it takes a second or more, so a test can act while a reload runs.
 */
export function fillerTenantsYaml(count: number): string {
  let out = "";
  for (let i = 0; i < count; i++) {
    out += `  - id: filler${i}\n    allow:\n      rules:\n        - { link: "aws:vpce-0123456789abcdef0", description: "filler ${i}" }\n`;
  }
  return out;
}
