/**
 * Child processes for the benchmark suite, and what /proc says about them.
 *
 * Every child is started in its own process group and remembered; `killAll()` SIGKILLs every
 * group still alive, and runs on exit, on SIGINT/SIGTERM and on uncaught errors (see
 * `installCleanup`). Long-lived programs (HAProxy, linkgate) are started through
 * `lgbench exec`, which makes the kernel kill them if the suite dies without cleaning up
 * (PR_SET_PDEATHSIG); the helper's own modes stop by themselves after a bounded time.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

const running = new Set<ChildProcess>();

/** SIGKILLs every child's process group still running. Synchronous: safe in an exit handler. */
export function killAll(): void {
  for (const child of running) {
    if (child.pid === undefined) continue;
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {
      try {
        child.kill("SIGKILL");
      } catch {
        // already gone
      }
    }
  }
  running.clear();
}

/**
 * Kills every child on exit, Ctrl-C, SIGTERM and uncaught errors; `cleanup` (synchronous) runs
 * after, e.g. to remove the temporary directory.
 */
export function installCleanup(cleanup: () => void): void {
  let done = false;
  const once = () => {
    if (done) return;
    done = true;
    killAll();
    try {
      cleanup();
    } catch {
      // best effort
    }
  };
  process.on("exit", once);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(signal, () => {
      process.stderr.write(`\nbench: ${signal}: stopping every child process\n`);
      once();
      process.exit(signal === "SIGINT" ? 130 : 143);
    });
  }
  const fatal = (error: unknown) => {
    process.stderr.write(`\nbench: ${(error as Error)?.stack ?? String(error)}\n`);
    once();
    process.exit(1);
  };
  process.on("uncaughtException", fatal);
  process.on("unhandledRejection", fatal);
}

export interface StartOptions {
  /** Shown in errors. */
  name: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Start through `lgbench exec` (killed with the suite). */
  execWrapper?: string;
  /**
   * Stdout lines this accepts are counted (`counted`) and dropped, not kept: a program that
   * logs a line per connection would otherwise fill the suite's memory in minutes.
   */
  countOnly?: (line: string) => boolean;
}

/** A running child whose stdout is read as lines (JSON lines from lgbench). */
export class Proc {
  readonly name: string;
  readonly child: ChildProcess;
  readonly lines: string[] = [];
  /** Stdout lines accepted by `countOnly`, counted and dropped. */
  counted = 0;
  output = "";
  exitCode: number | string | null = null;
  readonly exited: Promise<void>;
  #waiters: (() => void)[] = [];
  #partial = "";
  readonly #countOnly: ((line: string) => boolean) | null;

  constructor(command: string, args: readonly string[], options: StartOptions) {
    this.name = options.name;
    this.#countOnly = options.countOnly ?? null;
    const [cmd, argv] =
      options.execWrapper === undefined
        ? [command, args]
        : [
            options.execWrapper,
            ["exec", "--parent", String(process.pid), "--", command, ...args] as const,
          ];
    this.child = spawn(cmd, argv, {
      cwd: options.cwd,
      // lgbench checks it is still our child after arming PR_SET_PDEATHSIG.
      env: { ...(options.env ?? process.env), LGBENCH_PARENT: String(process.pid) },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    running.add(this.child);
    this.child.stdout?.setEncoding("utf8").on("data", (s: string) => this.#onData(s));
    this.child.stderr?.setEncoding("utf8").on("data", (s: string) => {
      this.output = (this.output + s).slice(-20_000);
    });
    this.exited = new Promise((resolve) => {
      this.child.once("close", (code, signal) => {
        this.exitCode = code ?? signal;
        running.delete(this.child);
        this.#wake();
        resolve();
      });
      this.child.once("error", (error) => {
        this.output += `spawn error: ${error.message}\n`;
        this.exitCode = "spawn error";
        running.delete(this.child);
        this.#wake();
        resolve();
      });
    });
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error(`${this.name} has no pid (${this.output})`);
    return this.child.pid;
  }

  get running(): boolean {
    return this.exitCode === null;
  }

  #onData(s: string): void {
    const parts = (this.#partial + s).split("\n");
    this.#partial = parts.pop() ?? "";
    let kept = "";
    for (const line of parts) {
      if (this.#countOnly?.(line)) {
        this.counted++;
      } else {
        kept += `${line}\n`;
        if (line.trim() !== "") this.lines.push(line);
      }
    }
    if (kept !== "") this.output = (this.output + kept).slice(-20_000);
    this.#wake();
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  /** The JSON lines printed so far. */
  json(): Record<string, unknown>[] {
    const out: Record<string, unknown>[] = [];
    for (const l of this.lines) {
      try {
        out.push(JSON.parse(l));
      } catch {
        // not JSON
      }
    }
    return out;
  }

  /**
   * Resolves with the first JSON line after index `from` that `match` accepts; rejects if the
   * process exits first or after `timeoutMs`.
   */
  async waitJson(
    match: (j: Record<string, unknown>) => boolean,
    timeoutMs: number,
    what: string,
    from = 0,
  ): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    let seen = from;
    for (;;) {
      for (; seen < this.lines.length; seen++) {
        let j: Record<string, unknown>;
        try {
          j = JSON.parse(this.lines[seen]);
        } catch {
          continue;
        }
        if (match(j)) return j;
      }
      if (!this.running) {
        throw new Error(`${this.name} exited (${this.exitCode}) before ${what}:\n${this.output}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 1000));
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  signal(signal: NodeJS.Signals): void {
    if (this.running) {
      try {
        this.child.kill(signal);
      } catch {
        // gone
      }
    }
  }

  /** SIGTERM (or `signal`), then SIGKILL to the whole group after `graceMs`. */
  async stop(signal: NodeJS.Signals = "SIGTERM", graceMs = 3000): Promise<void> {
    if (this.running) {
      this.signal(signal);
      const timer = setTimeout(() => {
        try {
          process.kill(-this.pid, "SIGKILL");
        } catch {
          this.child.kill("SIGKILL");
        }
      }, graceMs);
      await this.exited;
      clearTimeout(timer);
    }
    // Whatever the program left in its group (e.g. cluster workers).
    try {
      process.kill(-this.pid, "SIGKILL");
    } catch {
      // none
    }
  }
}

/** Runs a child to completion and returns its JSON lines; rejects on a non-zero exit. */
export async function runJson(
  command: string,
  args: readonly string[],
  name: string,
  timeoutMs: number,
): Promise<Record<string, unknown>[]> {
  const p = new Proc(command, args, { name });
  const timer = setTimeout(() => void p.stop("SIGKILL", 0), timeoutMs);
  await p.exited;
  clearTimeout(timer);
  if (p.exitCode !== 0) throw new Error(`${name} failed (${p.exitCode}):\n${p.output}`);
  return p.json();
}

// ---------------------------------------------------------------------------------------------
// /proc

let clockTicks: number | null = null;
function ticksPerSecond(): number {
  if (clockTicks === null) {
    try {
      clockTicks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** `pid` and all its descendants. */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(entry));
      children.set(ppid, list);
    } catch {
      // exited meanwhile
    }
  }
  const out: number[] = [];
  const stack = [pid];
  while (stack.length > 0) {
    const p = stack.pop() as number;
    out.push(p);
    stack.push(...(children.get(p) ?? []));
  }
  return out;
}

/** Resident set size of the processes, in KiB (0 for those that are gone). */
export function rssKiB(pids: readonly number[]): number {
  let total = 0;
  for (const pid of pids) {
    try {
      const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
      if (m !== null) total += Number(m[1]);
    } catch {
      // gone
    }
  }
  return total;
}

/** CPU seconds (user + system) used so far by the processes. */
export function cpuSeconds(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(f[11]) + Number(f[12]); // utime, stime
    } catch {
      // gone
    }
  }
  return ticks / ticksPerSecond();
}

/** The inodes of the sockets the processes hold. */
function socketInodes(pids: readonly number[]): Set<string> {
  const inodes = new Set<string>();
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m !== null) inodes.add(m[1]);
      } catch {
        // closed meanwhile
      }
    }
  }
  return inodes;
}

/** Inodes of the IPv4 TCP sockets listening on host:port (from /proc/net/tcp). */
function listenerInodes(host: string, port: number): string[] {
  const want = `${Buffer.from(host.split(".").map(Number).reverse()).toString("hex").toUpperCase()}:${port
    .toString(16)
    .toUpperCase()
    .padStart(4, "0")}`;
  const out: string[] = [];
  for (const line of readFileSync("/proc/net/tcp", "utf8").split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length >= 10 && f[3] === "0A" && f[1] === want) out.push(f[9]);
  }
  return out;
}

/**
 * Waits until process `pid` (or one of its descendants) listens on host:port, reading /proc
 * (a probe connection would count as a client of the system, or reach its backend).
 */
export async function waitListening(
  proc: Proc,
  host: string,
  port: number,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!proc.running) {
      throw new Error(`${proc.name} exited (${proc.exitCode}) before listening:\n${proc.output}`);
    }
    const inodes = listenerInodes(host, port);
    if (inodes.length > 0) {
      const own = socketInodes(processTree(proc.pid));
      if (inodes.some((i) => own.has(i))) return;
    }
    if (Date.now() > deadline) {
      throw new Error(`${proc.name} did not listen on ${host}:${port} within ${timeoutMs} ms`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The soft limit on open files of this process (children inherit it). */
export function fileDescriptorLimit(): number {
  try {
    const m = /^Max open files\s+(\d+)\s+(\d+)/m.exec(readFileSync("/proc/self/limits", "utf8"));
    if (m !== null) return Number(m[2]); // the hard limit: lgbench exec raises the soft one to it
  } catch {
    // not Linux
  }
  return 1024;
}

/**
 * CPU seconds the whole machine has been busy so far (user, nice, system, irq, softirq: not
 * idle, not steal).
 */
export function machineCpuSeconds(): number {
  const f = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).map(Number);
  // cpu user nice system idle iowait irq softirq steal ...
  return (f[1] + f[2] + f[3] + f[6] + f[7]) / ticksPerSecond();
}

/**
 * CPU seconds used so far by the whole machine (machineCpuSeconds) and by this process with all
 * its descendants, live or reaped. Their difference over a period is the CPU other programs
 * took: on a shared machine, the contention a run saw.
 */
export function cpuAccounting(): { machine: number; ours: number } {
  const machine = machineCpuSeconds();
  let ticks = 0;
  for (const pid of processTree(process.pid)) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const s = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(s[11]) + Number(s[12]) + Number(s[13]) + Number(s[14]); // u, s, cu, cs
    } catch {
      // gone
    }
  }
  return { machine, ours: ticks / ticksPerSecond() };
}
