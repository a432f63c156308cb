/**
 * The pieces of a benchmark run: the backend (lgbench server), the systems under test (direct,
 * HAProxy, the runtimes' minimal proxies, linkgate) and the load (lgbench client, bulk, hold).
 * Everything listens on its own 127.0.0.x address; ports are free ports of that address.
 */
import { execFileSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import net from "node:net";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { withBunHeapEnv } from "../../src/runtime/bun-heap.js";
import { generatePolicy, TRUSTED_PROXIES } from "./policy.js";
import {
  cpuSeconds,
  machineCpuSeconds,
  Proc,
  processTree,
  runJson,
  waitListening,
} from "./procs.js";
import { type Histogram, mergeHistograms, percentile } from "./stats.js";
import type { FloorRuntime, SystemSpec } from "./suite-options.js";

export interface Env {
  root: string;
  tmp: string;
  /** bench/native/build/lgbench */
  helper: string;
  /** How to run the linkgate CLI: `node <args...> serve ...`. */
  linkgateArgs: string[];
  upstreamProxy: "v2" | "none";
  /** The ClientHello's SNI (the first tenant's host name). */
  sni: string;
  allowedLink: string;
  /** HAProxy's global maxconn (bounded by the descriptor limit). */
  haproxyMaxconn: number;
  /** Where linkgate (single process) writes a CPU profile, or null. */
  cpuProfDir: string | null;
  /** Local addresses the generators connect from (spreads the 4-tuples). */
  clientBinds: string;
}

let sequence = 0;
function nextId(): number {
  return ++sequence;
}

/** A TCP port that was free on `host` a moment ago. */
export function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once("error", reject);
    server.listen({ host, port: 0, exclusive: true }, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Backend

export type Behaviour = "reply" | "drop" | "hold" | "sink" | "source";

export interface BackendStats {
  accepted: number;
  completed: number;
  active: number;
  holding: number;
  incomplete: number;
  timeouts: number;
  errors: number;
}

export class Backend {
  readonly host = "127.0.0.2";
  port = 0;
  readonly proc: Proc;

  private constructor(proc: Proc) {
    this.proc = proc;
  }

  /**
   * `command`: the suite's lgbench (its Env), or the program and leading arguments of any tool
   * with lgbench's `server` mode (the stress suite's loadgen.ts, where no C compiler is).
   */
  static async start(
    command: Env | readonly string[],
    behaviour: Behaviour,
    extra: string[] = [],
    maxSeconds = 1800,
  ): Promise<Backend> {
    const [program, ...lead] = Array.isArray(command) ? command : [(command as Env).helper];
    const proc = new Proc(
      program,
      [
        ...lead,
        "server",
        "--listen",
        "127.0.0.2:0",
        "--behaviour",
        behaviour,
        "--max-seconds",
        String(maxSeconds),
        ...extra,
      ],
      { name: `backend (${behaviour})` },
    );
    const b = new Backend(proc);
    const line = await proc.waitJson((j) => j.event === "listening", 10_000, "the backend");
    b.port = Number(line.port);
    return b;
  }

  get target(): string {
    return `${this.host}:${this.port}`;
  }

  /** Asks for the counters (SIGUSR1) and returns them. */
  async stats(): Promise<BackendStats> {
    const from = this.proc.lines.length;
    this.proc.signal("SIGUSR1");
    const j = await this.proc.waitJson((l) => l.event === "stats", 5000, "backend stats", from);
    return j as unknown as BackendStats;
  }

  /** Polls the counters until `done` accepts them or `timeoutMs` is up; returns the last ones. */
  async settle(done: (s: BackendStats) => boolean, timeoutMs = 5000): Promise<BackendStats> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = await this.stats();
      if (done(s) || Date.now() > deadline) return s;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** As settle, but throws, naming `what`, if the time is up first. */
  async waitStats(
    done: (s: BackendStats) => boolean,
    timeoutMs: number,
    what: string,
  ): Promise<BackendStats> {
    const s = await this.settle(done, timeoutMs);
    if (!done(s)) throw new Error(`timed out waiting for ${what}: backend ${JSON.stringify(s)}`);
    return s;
  }

  async stop(): Promise<BackendStats | null> {
    await this.proc.stop("SIGTERM", 3000);
    const exit = this.proc.json().find((j) => j.event === "exit");
    return exit === undefined ? null : (exit as unknown as BackendStats);
  }
}

// ---------------------------------------------------------------------------------------------
// Systems under test

export interface RunningSystem {
  spec: SystemSpec;
  label: string;
  host: string;
  port: number;
  proc: Proc | null;
  /** The processes doing the work (empty for direct). */
  pids(): number[];
  /** linkgate's admin endpoint, scraped during each measured load as Prometheus would. */
  metricsUrl: string | null;
  /** The connection lines logged so far, or null for a system that logs none. */
  connectionLines(): number | null;
  stop(): Promise<void>;
}

/** A runtime's minimal proxy (bench/floor/): how to run it, and whether this machine can. */
interface FloorProxy {
  label: string;
  host: string;
  /** The program, relative to the repository. */
  script: string;
  /** The runtime that runs it. */
  runtime: "node" | "bun";
}

/** Bun: the `bun` devDependency's binary (null when it is not installed). */
export const BUN: string | null = (() => {
  const bin = fileURLToPath(new URL("../../node_modules/bun/bin/bun.exe", import.meta.url));
  return existsSync(bin) ? bin : null;
})();

export const FLOORS: Record<FloorRuntime, FloorProxy> = {
  node: {
    label: "floor: Node.js",
    host: "127.0.0.21",
    script: "bench/floor/node.ts",
    runtime: "node",
  },
  bun: {
    label: "floor: Bun (node:net)",
    host: "127.0.0.22",
    script: "bench/floor/bun.ts",
    runtime: "bun",
  },
  "bun-native": {
    label: "floor: Bun native",
    host: "127.0.0.23",
    script: "bench/floor/bun-native.ts",
    runtime: "bun",
  },
  "node-engine": {
    label: "floor on linkgate's engine: Node.js",
    host: "127.0.0.24",
    script: "bench/floor/engine.ts",
    runtime: "node",
  },
  "bun-engine": {
    label: "floor on linkgate's engine: Bun",
    host: "127.0.0.25",
    script: "bench/floor/engine.ts",
    runtime: "bun",
  },
};

/** Why `floor` cannot run on this machine, or null. */
export function floorUnavailable(floor: FloorProxy): string | null {
  if (floor.runtime === "bun")
    return BUN === null ? "Bun is not installed (the `bun` devDependency)" : null;
  // The suite's own Node.js (the devDependency under npm run) runs the .ts file as it is.
  return process.features.typescript
    ? null
    : `Node.js ${process.version} cannot run ${floor.script} without a loader (type stripping needs 22.18 or later)`;
}

/** The runtime binary that runs `floor` (check floorUnavailable first). */
export function floorProgram(floor: FloorProxy): string {
  return floor.runtime === "bun" ? (BUN as string) : process.execPath;
}

/**
 * The program, arguments and environment that run `floor`; `args`: listen, upstream, host names,
 * v2|none, trusted CIDRs. A floor on Bun runs with the heap settings linkgate serves with on Bun
 * (src/runtime/bun-heap.ts), so that "CPU vs floor" compares the code, not the settings.
 */
export function floorCommand(
  env: Env,
  floor: FloorProxy,
  args: string[],
): { program: string; args: string[]; env: NodeJS.ProcessEnv } {
  return {
    program: floorProgram(floor),
    args: [join(env.root, floor.script), ...args],
    env: floor.runtime === "bun" ? withBunHeapEnv(process.env) : process.env,
  };
}

/** The floor a system's CPU is compared with: its runtime's native minimal proxy. */
export function floorOf(spec: SystemSpec): FloorRuntime {
  if (spec.kind === "linkgate") return spec.engine === "bun" ? "bun-native" : "node";
  if (spec.kind === "floor" && spec.runtime !== "node" && spec.runtime !== "node-engine")
    return "bun-native";
  return "node";
}

export function systemLabel(spec: SystemSpec): string {
  switch (spec.kind) {
    case "direct":
      return "direct (no proxy)";
    case "haproxy":
      return `HAProxy nbthread ${spec.threads}`;
    case "floor":
      return FLOORS[spec.runtime].label;
    default: {
      const name = spec.engine === "bun" ? "linkgate on Bun" : "linkgate";
      let label = spec.workers === 1 ? `${name} (1 process)` : `${name} --workers ${spec.workers}`;
      if (spec.logLevel === "warn") label = `${label}, log warn`;
      return spec.build === null ? label : `${label} @ ${spec.build}`;
    }
  }
}

function systemAddress(spec: SystemSpec): string {
  switch (spec.kind) {
    case "direct":
      return "127.0.0.2";
    case "haproxy":
      return `127.0.0.${10 + spec.threads}`;
    case "floor":
      return FLOORS[spec.runtime].host;
    default: {
      // Another build: the same last byte in a /24 of its own (Linux routes all of 127/8 here).
      const net = spec.build === null ? 0 : buildNetwork(spec.build);
      return `127.0.${net}.${(spec.logLevel === "info" ? 40 : 50) + (spec.engine === "bun" ? 20 : 0) + spec.workers}`;
    }
  }
}

const buildNetworks = new Map<string, number>();
/** 1, 2, ... for each other build (linkgate@DIR) in the order they are first named. */
function buildNetwork(build: string): number {
  let n = buildNetworks.get(build);
  if (n === undefined) {
    n = buildNetworks.size + 1;
    buildNetworks.set(build, n);
  }
  return n;
}

/**
 * The script that runs linkgate's CLI: this checkout's (env.linkgateArgs), or that of another
 * build (linkgate@DIR), which must have been built.
 */
function linkgateCli(env: Env, build: string | null): { args: string[]; cwd: string } {
  if (build === null) return { args: env.linkgateArgs, cwd: env.root };
  const root = resolve(env.root, build);
  const why = otherBuildUnavailable(root);
  if (why !== null) throw new Error(`linkgate@${build}: ${why}`);
  return { args: [join(root, "bin/linkgate.js")], cwd: root };
}

/** Why another build (a checkout at `root`) cannot run, or null. */
export function otherBuildUnavailable(root: string): string | null {
  if (!existsSync(join(root, "bin/linkgate.js"))) return `no linkgate checkout in ${root}`;
  if (!existsSync(join(root, "node_modules")))
    return `no node_modules in ${root}: run \`npm ci\` there`;
  if (!existsSync(join(root, "dist/cli/main.js")))
    return `no dist/ in ${root}: run \`npm run build\` there`;
  return null;
}

/** The host names of the first 10 tenants: HAProxy's map and the floors' accepted names. */
function tenantHosts(env: Env): string[] {
  return generatePolicy({
    tenants: 10,
    rules: 10,
    listen: "",
    upstream: "",
    upstreamProxy: env.upstreamProxy,
    sni: env.sni,
    allowedLink: env.allowedLink,
  }).hosts;
}

/** A line linkgate writes when a connection ends (docs/observability.md). */
const isConnectionLine = (line: string) => line.endsWith('"msg":"connection"}');

/**
 * The closest HAProxy 2.6 equivalent of linkgate's listener: PROXY header accepted from the
 * trusted load balancers only (expect-proxy after a check of the TCP peer), SNI read from the
 * ClientHello (inspect-delay + req.ssl_sni) and mapped to the backend; unknown host names get no
 * backend. HAProxy 2.6 cannot read the PP2 TLVs (fc_pp_tlv came in 2.9), so it cannot check the
 * VPC endpoint: it forwards any endpoint. HAProxy has the peer's address from accept(2): the check
 * costs it no system call.
 */
export function haproxyConfig(o: {
  threads: number;
  maxconn: number;
  bind: string;
  backend: string;
  mapFile: string;
  upstreamProxy: "v2" | "none";
}): string {
  return `global
  nbthread ${o.threads}
  maxconn ${o.maxconn}

defaults
  mode tcp
  timeout connect 5s
  timeout client 300s
  timeout server 300s

frontend privatelink
  bind ${o.bind}
  tcp-request connection reject unless { src ${TRUSTED_PROXIES.join(" ")} }
  tcp-request connection expect-proxy layer4
  tcp-request inspect-delay 5s
  tcp-request content accept if { req.ssl_hello_type 1 }
  tcp-request content reject
  use_backend %[req.ssl_sni,lower,map(${o.mapFile})]

backend upstream
  server backend ${o.backend}${o.upstreamProxy === "v2" ? " send-proxy-v2" : ""}
`;
}

/**
 * Writes the small policy (10 tenants, 100 rules) for `listen` -> `upstream`, with the admin
 * endpoint on `adminBind`; returns the file.
 */
export function writeLinkgateConfig(
  env: Env,
  name: string,
  o: { listen: string; upstream: string; adminBind: string; logLevel: "info" | "warn" },
): { file: string; hosts: string[]; bytes: number } {
  const { config, hosts } = generatePolicy({
    tenants: 10,
    rules: 100,
    ...o,
    upstreamProxy: env.upstreamProxy,
    sni: env.sni,
    allowedLink: env.allowedLink,
  });
  // A system's name may hold a path (linkgate@DIR): only its safe characters name the file.
  const file = join(env.tmp, `${name.replace(/[^A-Za-z0-9-]/g, "_")}-${nextId()}.json`);
  const text = JSON.stringify(config);
  writeFileSync(file, text);
  return { file, hosts, bytes: Buffer.byteLength(text) };
}

export async function startSystem(
  env: Env,
  spec: SystemSpec,
  backend: Backend,
): Promise<RunningSystem> {
  const label = systemLabel(spec);
  if (spec.kind === "direct") {
    return {
      spec,
      label,
      host: backend.host,
      port: backend.port,
      proc: null,
      pids: () => [],
      metricsUrl: null,
      connectionLines: () => null,
      stop: async () => {},
    };
  }
  const host = systemAddress(spec);
  const port = await freePort(host);
  let proc: Proc;
  let metricsUrl: string | null = null;
  if (spec.kind === "haproxy") {
    const id = nextId();
    const mapFile = join(env.tmp, `haproxy-${id}.map`);
    writeFileSync(
      mapFile,
      tenantHosts(env)
        .map((h) => `${h} upstream\n`)
        .join(""),
    );
    const cfg = join(env.tmp, `haproxy-${id}.cfg`);
    writeFileSync(
      cfg,
      haproxyConfig({
        threads: spec.threads,
        maxconn: env.haproxyMaxconn,
        bind: `${host}:${port}`,
        backend: backend.target,
        mapFile,
        upstreamProxy: env.upstreamProxy,
      }),
    );
    try {
      execFileSync("haproxy", ["-c", "-q", "-f", cfg], { stdio: "pipe" });
    } catch (error) {
      const e = error as { stderr?: Buffer };
      throw new Error(`HAProxy rejects ${cfg}: ${e.stderr?.toString() ?? error}`);
    }
    proc = new Proc("haproxy", ["-db", "-f", cfg], { name: label, execWrapper: env.helper });
  } else if (spec.kind === "floor") {
    const hosts = tenantHosts(env).join(",");
    const args = [
      `${host}:${port}`,
      backend.target,
      hosts,
      env.upstreamProxy,
      TRUSTED_PROXIES.join(","),
    ];
    const command = floorCommand(env, FLOORS[spec.runtime], args);
    proc = new Proc(command.program, command.args, {
      name: label,
      cwd: env.root,
      execWrapper: env.helper,
      env: command.env,
    });
  } else {
    let adminPort = await freePort(host);
    while (adminPort === port) adminPort = await freePort(host);
    metricsUrl = `http://${host}:${adminPort}/metrics`;
    const { file } = writeLinkgateConfig(env, spec.name, {
      listen: `${host}:${port}`,
      upstream: backend.target,
      adminBind: `${host}:${adminPort}`,
      logLevel: spec.logLevel,
    });
    const workers = spec.workers > 1 ? ["--workers", String(spec.workers)] : [];
    const serve = ["serve", "-c", file, "--no-watch", ...workers];
    // Bun takes Node.js's profiling options.
    const profile =
      env.cpuProfDir !== null && spec.workers === 1
        ? ["--cpu-prof", `--cpu-prof-dir=${env.cpuProfDir}`]
        : [];
    const cli = linkgateCli(env, spec.build);
    if (spec.engine === "bun") {
      if (BUN === null)
        throw new Error(`${label}: Bun is not installed (the \`bun\` devDependency)`);
      // Bun runs the CLI script itself (TypeScript too): tsx's --import stays behind.
      proc = new Proc(BUN, [...profile, cli.args.at(-1) as string, ...serve], {
        name: label,
        cwd: cli.cwd,
        // The heap settings serve would run itself again to set (src/cli/engine.ts), given
        // here as the floors get them: the same process, and no execve for Bun's profiler
        // (--cpu-prof) to race with.
        env: withBunHeapEnv(process.env),
        execWrapper: env.helper,
        countOnly: isConnectionLine,
      });
    } else {
      proc = new Proc(process.execPath, [...profile, ...cli.args, ...serve], {
        name: label,
        cwd: cli.cwd,
        execWrapper: env.helper,
        countOnly: isConnectionLine,
      });
    }
  }
  try {
    await waitListening(proc, host, port, 30_000);
  } catch (error) {
    await proc.stop("SIGKILL", 0);
    throw error;
  }
  const p = proc;
  return {
    spec,
    label,
    host,
    port,
    proc: p,
    pids: () => (p.running ? processTree(p.pid) : []),
    metricsUrl,
    connectionLines: () =>
      spec.kind === "linkgate" && spec.logLevel === "info" ? p.counted : null,
    stop: () => p.stop("SIGTERM", 5000),
  };
}

/** GETs the metrics as Prometheus would; returns null, or why the scrape failed. */
async function scrapeMetrics(url: string): Promise<string | null> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
    const text = await res.text();
    if (res.status !== 200) return `${url}: HTTP ${res.status}`;
    if (!text.includes("linkgate_connections_total")) return `${url}: no connection counter`;
    return null;
  } catch (error) {
    return `${url}: ${(error as Error).message}`;
  }
}

// ---------------------------------------------------------------------------------------------
// Load

export interface LoadResult {
  seconds: number;
  /** Connections opened, those still open when the time was up included. */
  started: number;
  ok: number;
  noReply: number;
  reset: number;
  refused: number;
  timeout: number;
  other: number;
  answered: number;
  rateOk: number;
  rateAnswered: number;
  /** Microseconds, over the answered connections (ok, closed without reply, reset). */
  p50: number;
  p90: number;
  p99: number;
  /** CPU seconds used by the generator processes. */
  generatorCpu: number;
  lastErrno: string;
}

/** Closed-loop load from `generators` processes sharing `concurrency` connections. */
export async function runLoad(
  env: Env,
  target: { host: string; port: number },
  payloadFile: string,
  o: { concurrency: number; generators: number; seconds: number; expect?: number },
): Promise<LoadResult> {
  const shares = Array.from(
    { length: o.generators },
    (_, i) => Math.floor(o.concurrency / o.generators) + (i < o.concurrency % o.generators ? 1 : 0),
  );
  const runs = await Promise.all(
    shares.map((c, i) =>
      runJson(
        env.helper,
        [
          "client",
          "--connect",
          `${target.host}:${target.port}`,
          "--payload",
          payloadFile,
          "--concurrency",
          String(c),
          "--duration",
          String(o.seconds),
          "--expect",
          String(o.expect ?? 64),
          "--bind",
          env.clientBinds,
          "--conn-timeout-ms",
          "5000",
        ],
        `generator ${i + 1}`,
        (o.seconds + 20) * 1000,
      ),
    ),
  );
  const rs = runs.map((lines) => {
    const r = lines.find((j) => j.mode === "client");
    if (r === undefined) throw new Error("the generator printed no result");
    return r as Record<string, number | string | Histogram>;
  });
  const sum = (k: string) => rs.reduce((n, r) => n + Number(r[k]), 0);
  const seconds = Math.max(...rs.map((r) => Number(r.seconds)));
  const hist = mergeHistograms(rs.map((r) => r.hist as Histogram));
  return {
    seconds,
    started: sum("started"),
    ok: sum("ok"),
    noReply: sum("noReply"),
    reset: sum("reset"),
    refused: sum("refused"),
    timeout: sum("timeout"),
    other: sum("other"),
    answered: sum("answered"),
    rateOk: sum("ok") / seconds,
    rateAnswered: sum("answered") / seconds,
    p50: percentile(hist, 0.5),
    p90: percentile(hist, 0.9),
    p99: percentile(hist, 0.99),
    generatorCpu: sum("cpuSeconds"),
    lastErrno: rs.map((r) => r.lastErrno).find((e) => e !== "") as string,
  };
}

export interface MeasuredLoad extends LoadResult {
  /** CPU seconds the system's processes used. */
  systemCpu: number;
  backendCpu: number;
  /** CPU seconds the whole machine used (busy time, every program). */
  machineCpu: number;
  /** Connection lines the system logged meanwhile, or null for a system that logs none. */
  logLines: number | null;
  /** The /metrics scrape halfway through: null if the system has none, else its outcome. */
  scrape: { ok: boolean; error: string | null } | null;
}

/**
 * Runs the load, with the CPU time the system (and the backend) used meanwhile. A system with
 * an admin endpoint is scraped halfway through, so that the scrape's cost is in its CPU time.
 */
export async function measuredLoad(
  env: Env,
  system: RunningSystem,
  backend: Backend,
  payloadFile: string,
  o: { concurrency: number; generators: number; seconds: number; expect?: number },
): Promise<MeasuredLoad> {
  const pids = system.pids();
  const c0 = cpuSeconds(pids);
  const b0 = cpuSeconds([backend.proc.pid]);
  const m0 = machineCpuSeconds();
  const lines0 = system.connectionLines();
  const url = system.metricsUrl;
  const scraped =
    url === null
      ? null
      : new Promise<void>((r) => setTimeout(r, o.seconds * 500)).then(() => scrapeMetrics(url));
  const r = await runLoad(env, system, payloadFile, o);
  const scrapeError = await scraped;
  const systemCpu = cpuSeconds(pids) - c0;
  const backendCpu = cpuSeconds([backend.proc.pid]) - b0;
  const machineCpu = machineCpuSeconds() - m0;
  // The last connections' lines may still be in the pipe: give them a moment to arrive.
  if (lines0 !== null) await new Promise((resolve) => setTimeout(resolve, 100));
  const lines1 = system.connectionLines();
  return {
    ...r,
    systemCpu,
    backendCpu,
    machineCpu,
    logLines: lines0 === null || lines1 === null ? null : lines1 - lines0,
    scrape: scraped === null ? null : { ok: scrapeError === null, error: scrapeError },
  };
}

export interface BulkResult {
  ok: boolean;
  error: string;
  bytes: number;
  seconds: number;
  gbps: number;
}

export async function runBulk(
  env: Env,
  target: { host: string; port: number },
  payloadFile: string,
  direction: "up" | "down",
  bytes: number,
): Promise<BulkResult> {
  const timeoutS = Math.max(60, Math.ceil(bytes / 50e6));
  const p = new Proc(
    env.helper,
    [
      "bulk",
      "--connect",
      `${target.host}:${target.port}`,
      "--payload",
      payloadFile,
      "--direction",
      direction,
      "--bytes",
      String(bytes),
      "--timeout-s",
      String(timeoutS),
    ],
    { name: `bulk ${direction}` },
  );
  const timer = setTimeout(() => void p.stop("SIGKILL", 0), (timeoutS + 10) * 1000);
  await p.exited;
  clearTimeout(timer);
  const r = p.json().find((j) => j.mode === "bulk");
  if (r === undefined) {
    return {
      ok: false,
      error: `no result (${p.exitCode}) ${p.output}`,
      bytes: 0,
      seconds: 0,
      gbps: 0,
    };
  }
  return r as unknown as BulkResult;
}

export interface HoldResult {
  ok: number;
  failed: number;
  seconds: number;
  [kind: string]: number;
}

/** Opens `count` connections and keeps them open until stop(). */
export class Holder {
  readonly proc: Proc;
  constructor(
    env: Env,
    target: { host: string; port: number },
    payloadFile: string,
    count: number,
  ) {
    this.proc = new Proc(
      env.helper,
      [
        "hold",
        "--connect",
        `${target.host}:${target.port}`,
        "--payload",
        payloadFile,
        "--count",
        String(count),
        "--parallel",
        "200",
        "--bind",
        env.clientBinds,
        "--max-seconds",
        "600",
      ],
      { name: "hold" },
    );
  }

  async established(timeoutMs: number): Promise<HoldResult> {
    const j = await this.proc.waitJson((l) => l.event === "established", timeoutMs, "connections");
    return j as unknown as HoldResult;
  }

  stop(): Promise<void> {
    return this.proc.stop("SIGTERM", 5000);
  }
}
