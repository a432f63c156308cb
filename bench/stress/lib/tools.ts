/**
 * The programs a stress scenario drives besides linkgate: the backend, the load generators and
 * the holders of idle connections. They are bench/native/lgbench.c when a C compiler can build
 * it (less CPU per connection, so more left for linkgate), else loadgen.ts, which has the same
 * modes, options and JSON lines. Every child is a bench/lib/procs.ts Proc: killed with its
 * process group when the suite ends, however it ends.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Proc, runJson } from "../../lib/procs.js";

export const ROOT = fileURLToPath(new URL("../../..", import.meta.url));

/** Local addresses the generators connect from, spreading the 4-tuples (as bench/ does). */
export const CLIENT_BINDS = Array.from({ length: 16 }, (_, i) => `127.0.0.${101 + i}`).join(",");

export interface Tools {
  /** The program and leading arguments of the load tool: lgbench, or node loadgen.ts. */
  load: string[];
  /** The Node.js load tool, for the modes lgbench lacks (churn). */
  nodeLoad: string[];
  kind: "lgbench" | "loadgen.ts";
  dir: string;
}

/** Builds lgbench if a C compiler is there (once per source change); else uses loadgen.ts. */
export function prepareTools(dir: string, preferNode = false): Tools {
  mkdirSync(dir, { recursive: true });
  const nodeLoad = [process.execPath, join(ROOT, "bench/stress/lib/loadgen.ts")];
  if (!preferNode) {
    const src = join(ROOT, "bench/native/lgbench.c");
    const out = join(ROOT, "bench/native/build/lgbench");
    const fresh = existsSync(out) && statSync(out).mtimeMs >= statSync(src).mtimeMs;
    if (!fresh) {
      mkdirSync(join(ROOT, "bench/native/build"), { recursive: true });
      const r = spawnSync(process.env.CC ?? "cc", ["-O2", "-Wall", "-o", out, src], {
        encoding: "utf8",
      });
      if (r.status === 0) return { load: [out], nodeLoad, kind: "lgbench", dir };
    } else return { load: [out], nodeLoad, kind: "lgbench", dir };
  }
  return { load: nodeLoad, nodeLoad, kind: "loadgen.ts", dir };
}

let files = 0;
/** Writes `bytes` to a file in the scenario directory (payloads are passed by file). */
export function payloadFile(tools: Tools, name: string, bytes: Buffer): string {
  const file = join(tools.dir, `${name}-${++files}.bin`);
  writeFileSync(file, bytes);
  return file;
}

function spawnTool(tools: Tools, args: string[], name: string, node = false): Proc {
  const [command, ...lead] = node ? tools.nodeLoad : tools.load;
  return new Proc(command, [...lead, ...args], { name });
}

// ---------------------------------------------------------------------------------------------

// The backend is bench/ suite's (bench/lib/systems.ts), started with `tools.load`.
export { Backend, type BackendStats, type Behaviour } from "../../lib/systems.js";

// ---------------------------------------------------------------------------------------------

export interface LoadResult {
  started: number;
  ok: number;
  noReply: number;
  reset: number;
  refused: number;
  timeout: number;
  other: number;
  answered: number;
  rateOk: number;
  latencyUs: { p50: number; p90: number; p99: number; max: number };
  lastErrno: string;
}

/** The failures of a load that should all have succeeded. */
export function failures(r: LoadResult): number {
  return r.noReply + r.reset + r.refused + r.timeout + r.other;
}

/**
 * A closed loop of `concurrency` connections for `seconds`: each connects, writes the payload,
 * reads until EOF, closes, and starts again. `expect`: reply bytes that make an outcome "ok".
 */
export async function closedLoop(
  tools: Tools,
  port: number,
  payload: string,
  o: { concurrency: number; seconds: number; expect?: number; host?: string },
): Promise<LoadResult> {
  const lines = await runJson(
    tools.load[0],
    [
      ...tools.load.slice(1),
      "client",
      "--connect",
      `${o.host ?? "127.0.0.1"}:${port}`,
      "--payload",
      payload,
      "--concurrency",
      String(o.concurrency),
      "--duration",
      String(o.seconds),
      "--expect",
      String(o.expect ?? 64),
      "--bind",
      CLIENT_BINDS,
      "--conn-timeout-ms",
      "5000",
    ],
    "load",
    (o.seconds + 30) * 1000,
  );
  const r = lines.find((j) => j.mode === "client");
  if (r === undefined) throw new Error("the load generator printed no result");
  return r as unknown as LoadResult;
}

export interface HoldStatus {
  open: number;
  established: number;
  failed: number;
  closedByPeer: number;
}

/** `count` connections that each send the payload once, then stay open until stop(). */
export class Holder {
  readonly proc: Proc;

  constructor(tools: Tools, port: number, payload: string, count: number, parallel = 200) {
    this.proc = spawnTool(
      tools,
      [
        "hold",
        "--connect",
        `127.0.0.1:${port}`,
        "--payload",
        payload,
        "--count",
        String(count),
        "--parallel",
        String(parallel),
        "--bind",
        CLIENT_BINDS,
        "--max-seconds",
        "900",
      ],
      "hold",
    );
  }

  async established(timeoutMs: number): Promise<Record<string, number>> {
    return (await this.proc.waitJson(
      (j) => j.event === "established",
      timeoutMs,
      "held connections",
    )) as Record<string, number>;
  }

  async status(): Promise<HoldStatus> {
    const from = this.proc.lines.length;
    this.proc.signal("SIGUSR1");
    return (await this.proc.waitJson(
      (j) => j.event === "status",
      5000,
      "hold status",
      from,
    )) as unknown as HoldStatus;
  }

  stop(): Promise<void> {
    return this.proc.stop("SIGTERM", 5000);
  }
}

export interface ChurnResult {
  started: number;
  connected: number;
  failed: number;
}

/** Connections that send the payload's first `send` bytes, then close (fin) or reset (rst). */
export async function churn(
  tools: Tools,
  port: number,
  payload: string,
  o: { concurrency: number; seconds: number; send: number; close: "fin" | "rst" },
): Promise<ChurnResult> {
  const lines = await runJson(
    tools.nodeLoad[0],
    [
      ...tools.nodeLoad.slice(1),
      "churn",
      "--connect",
      `127.0.0.1:${port}`,
      "--payload",
      payload,
      "--concurrency",
      String(o.concurrency),
      "--duration",
      String(o.seconds),
      "--send",
      String(o.send),
      "--close",
      o.close,
      "--bind",
      CLIENT_BINDS,
    ],
    "churn",
    (o.seconds + 30) * 1000,
  );
  const r = lines.find((j) => j.mode === "churn");
  if (r === undefined) throw new Error("the churn generator printed no result");
  return r as unknown as ChurnResult;
}
