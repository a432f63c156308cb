/**
 * `linkgate serve` under test: a real process (from its build, dist/), its JSON log
 * lines read as they come, what it holds sampled from outside (/proc) and inside (probe.ts).
 *
 * Connection lines are not kept (a flood writes hundreds of thousands): each is checked and
 * counted as it arrives (ConnectionLines), and handed to the scenario's own observer. Every
 * other line (lifecycle) is kept.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { isErrorCode } from "../../../src/errors/index.js";
import { Proc, processTree } from "../../lib/procs.js";
import { ROOT } from "./tools.js";

/** The fields of a connection line (docs/observability.md) the suite reads. */
export interface ConnectionLine {
  listener: string;
  peerAddress: string;
  peerPort: number;
  link: string | null;
  sni: string | null;
  tenant: string | null;
  decision: "allow" | "would-deny" | "deny" | "drop" | "health-check";
  reason: string;
  upstream: string | null;
  upstreamError: string | null;
  closedBy: string | null;
  errno: string | null;
  bytesFromClient: number;
  bytesToClient: number;
  handshakeMs: number | null;
  durationMs: number;
  worker?: number;
}

const DECISIONS = new Set(["allow", "would-deny", "deny", "drop", "health-check"]);

/** Counts connection lines by outcome and keeps the malformed ones. */
export class ConnectionLines {
  total = 0;
  /** "decision reason[ upstreamError][ closedBy][ errno]" -> count. */
  readonly counts = new Map<string, number>();
  /** Lines without a valid decision or reason code: each one is a defect. */
  readonly malformed: string[] = [];
  /** Called with every line (after the checks). */
  observer: ((line: ConnectionLine) => void) | null = null;

  add(text: string): void {
    let line: ConnectionLine;
    try {
      line = JSON.parse(text);
    } catch {
      this.malformed.push(text.slice(0, 300));
      return;
    }
    this.total++;
    const codes = [line.reason, line.upstreamError, line.closedBy];
    if (
      !DECISIONS.has(line.decision) ||
      !isErrorCode(line.reason) ||
      codes.some((c) => c !== null && !isErrorCode(c))
    ) {
      if (this.malformed.length < 20) this.malformed.push(text.slice(0, 300));
    }
    const key = [line.decision, line.reason, line.upstreamError, line.closedBy, line.errno]
      .filter((x) => x !== null)
      .join(" ");
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    this.observer?.(line);
  }

  /**
   * Lines whose key starts with `prefix` ("allow", "drop CONN_HEADER_TIMEOUT", ...), since
   * `mark` (a copy of `counts` taken earlier) when given.
   */
  count(prefix: string, mark?: ReadonlyMap<string, number>): number {
    let n = 0;
    for (const [k, v] of this.counts) {
      if (k === prefix || k.startsWith(`${prefix} `)) n += v - (mark?.get(k) ?? 0);
    }
    return n;
  }

  /** A copy of the counts, to count what comes after it. */
  mark(): ReadonlyMap<string, number> {
    return new Map(this.counts);
  }

  /** The counts, most frequent first, for reports. */
  table(): Record<string, number> {
    return Object.fromEntries([...this.counts].sort((a, b) => b[1] - a[1]));
  }
}

/** What a process holds, from the probe (after a GC) and /proc. */
export interface Holdings {
  pids: number;
  rssMiB: number;
  heapMiB: number;
  /** Buffers, outside the heap. */
  buffersMiB: number;
  fds: number;
  registry: number;
  timers: number;
  sockets: number;
}

interface ProbeLine {
  pid: number;
  seq: number;
  registry: number;
  timers: number;
  sockets: number;
  fds: number;
  rss: number;
  heapUsed: number;
  arrayBuffers: number;
}

export interface LinkgateOptions {
  /** The configuration (written as JSON, which YAML reads). */
  config: object;
  dir: string;
  name: string;
  workers?: number;
  /** Run with this descriptor limit (soft and hard), through prlimit. */
  fdLimit?: number;
}

const isConnection = (line: string) => line.endsWith('"msg":"connection"}');

export class Linkgate {
  readonly proc: Proc;
  readonly lines = new ConnectionLines();
  readonly configFile: string;
  #probeSeq = new Map<number, number>();
  #stderr = "";
  #partial = "";
  #probes: ProbeLine[] = [];

  private constructor(proc: Proc, configFile: string) {
    this.proc = proc;
    this.configFile = configFile;
    proc.child.stderr?.on("data", (d: Buffer) => this.#onStderr(d.toString()));
  }

  static async start(o: LinkgateOptions): Promise<Linkgate> {
    const configFile = join(o.dir, `${o.name}.json`);
    writeFileSync(configFile, JSON.stringify(o.config));
    const registry = pathToFileURL(join(ROOT, "dist/policy/registry.js")).href;
    const args = [
      "--expose-gc",
      "--import",
      join(ROOT, "bench/stress/lib/probe.ts"),
      join(ROOT, "dist/cli/main.js"),
      "serve",
      "--config",
      configFile,
      "--no-watch",
      ...(o.workers !== undefined && o.workers > 1 ? ["--workers", String(o.workers)] : []),
    ];
    const [command, argv] =
      o.fdLimit === undefined
        ? [process.execPath, args]
        : ["prlimit", [`--nofile=${o.fdLimit}:${o.fdLimit}`, "--", process.execPath, ...args]];
    let lg: Linkgate | null = null;
    const proc = new Proc(command, argv, {
      name: `linkgate (${o.name})`,
      cwd: ROOT,
      env: { ...process.env, LINKGATE_PROBE_REGISTRY: registry },
      countOnly: (line) => {
        if (!isConnection(line)) return false;
        lg?.lines.add(line);
        return true;
      },
    });
    lg = new Linkgate(proc, configFile);
    const want = (o.config as { listeners: unknown[] }).listeners.length;
    const deadline = Date.now() + 60_000;
    while (lg.lifecycle("listening").length < want) {
      if (!proc.running)
        throw new Error(`linkgate exited (${proc.exitCode}) before listening:\n${lg.stderr}`);
      if (Date.now() > deadline)
        throw new Error(`linkgate did not listen within 60 s:\n${lg.stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return lg;
  }

  get stderr(): string {
    return this.#stderr.slice(-5000);
  }

  get running(): boolean {
    return this.proc.running;
  }

  /** Lifecycle lines with this msg. */
  lifecycle(msg: string): Record<string, unknown>[] {
    return this.proc.json().filter((j) => j.msg === msg);
  }

  port(listener: string): number {
    const l = this.lifecycle("listening").find((j) => j.listener === listener);
    if (l === undefined) throw new Error(`no listening line for ${listener}`);
    return Number(l.port);
  }

  /** The primary (or only) process and its workers. */
  pids(): number[] {
    if (!this.proc.running) return [];
    // prlimit execs node: the pid is node's.
    return processTree(this.proc.pid);
  }

  /** Rewrites the configuration and sends SIGHUP; resolves with the outcome line. */
  async reload(config: object, timeoutMs = 10_000): Promise<"ok" | "failed"> {
    const ok0 = this.lifecycle("reload ok").length;
    const failed0 = this.lifecycle("reload failed").length;
    writeFileSync(this.configFile, JSON.stringify(config));
    this.proc.signal("SIGHUP");
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.lifecycle("reload ok").length > ok0) return "ok";
      if (this.lifecycle("reload failed").length > failed0) return "failed";
      if (!this.proc.running) throw new Error(`linkgate exited during a reload:\n${this.stderr}`);
      if (Date.now() > deadline) throw new Error("no reload line within the time limit");
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  #onStderr(text: string): void {
    const lines = (this.#partial + text).split("\n");
    this.#partial = lines.pop() ?? "";
    for (const line of lines) {
      if (line.startsWith("LINKGATE_PROBE ")) this.#probes.push(JSON.parse(line.slice(15)));
      else this.#stderr = `${this.#stderr}${line}\n`.slice(-100_000);
    }
    if (this.#probes.length > 1000) this.#probes.splice(0, this.#probes.length - 1000);
  }

  /** Asks every process for its probe line (after a GC) and sums them. */
  async holdings(timeoutMs = 5000): Promise<Holdings> {
    const pids = this.pids();
    const wanted = new Map<number, number>();
    for (const pid of pids) {
      const seq = (this.#probeSeq.get(pid) ?? 0) + 1;
      wanted.set(pid, seq);
      try {
        process.kill(pid, "SIGUSR2");
      } catch {
        wanted.delete(pid);
      }
    }
    const deadline = Date.now() + timeoutMs;
    const got = new Map<number, ProbeLine>();
    while (got.size < wanted.size) {
      for (const p of this.#probes) if ((wanted.get(p.pid) ?? Infinity) <= p.seq) got.set(p.pid, p);
      if (got.size >= wanted.size) break;
      if (Date.now() > deadline)
        throw new Error(`no probe answer from ${[...wanted.keys()].filter((p) => !got.has(p))}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    for (const [pid, p] of got) this.#probeSeq.set(pid, p.seq);
    const sum = (f: (p: ProbeLine) => number) => [...got.values()].reduce((n, p) => n + f(p), 0);
    return {
      pids: got.size,
      rssMiB: round(sum((p) => p.rss) / 2 ** 20),
      heapMiB: round(sum((p) => p.heapUsed) / 2 ** 20),
      buffersMiB: round(sum((p) => p.arrayBuffers) / 2 ** 20),
      fds: sum((p) => p.fds),
      registry: sum((p) => p.registry),
      timers: sum((p) => p.timers),
      sockets: sum((p) => p.sockets),
    };
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code. */
  async stop(graceMs = 10_000): Promise<number | string | null> {
    await this.proc.stop("SIGTERM", graceMs);
    return this.proc.exitCode;
  }
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}
