/**
 * The pieces of a benchmark run: the backend (lgbench server), the systems under test (direct,
 * HAProxy, linkgate) and the load (lgbench client, bulk, hold). Everything listens on its own
 * 127.0.0.x address; ports are free ports of that address.
 */
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import { generatePolicy } from "./policy.js";
import { cpuSeconds, Proc, processTree, runJson, waitListening } from "./procs.js";
import { type Histogram, mergeHistograms, percentile } from "./stats.js";
import type { SystemSpec } from "./suite-options.js";

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

  static async start(
    env: Env,
    behaviour: Behaviour,
    extra: string[] = [],
    maxSeconds = 1800,
  ): Promise<Backend> {
    const proc = new Proc(
      env.helper,
      [
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

  /** Polls the counters until `done` accepts them; returns the last ones. */
  async waitStats(
    done: (s: BackendStats) => boolean,
    timeoutMs: number,
    what: string,
  ): Promise<BackendStats> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = await this.stats();
      if (done(s)) return s;
      if (Date.now() > deadline) {
        throw new Error(`timed out waiting for ${what}: backend ${JSON.stringify(s)}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
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
  stop(): Promise<void>;
}

export function systemLabel(spec: SystemSpec): string {
  switch (spec.kind) {
    case "direct":
      return "direct (no proxy)";
    case "haproxy":
      return `HAProxy nbthread ${spec.threads}`;
    default:
      return spec.workers === 1 ? "linkgate (1 process)" : `linkgate --workers ${spec.workers}`;
  }
}

function systemAddress(spec: SystemSpec): string {
  switch (spec.kind) {
    case "direct":
      return "127.0.0.2";
    case "haproxy":
      return `127.0.0.${10 + spec.threads}`;
    default:
      return `127.0.0.${40 + spec.workers}`;
  }
}

/**
 * The closest HAProxy 2.6 equivalent of linkgate's listener: PROXY header accepted
 * (accept-proxy), SNI read from the ClientHello (inspect-delay + req.ssl_sni) and mapped to the
 * backend; unknown host names get no backend. HAProxy 2.6 cannot read the PP2 TLVs (fc_pp_tlv
 * came in 2.9), so it cannot check the VPC endpoint: it forwards any endpoint.
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
  bind ${o.bind} accept-proxy
  tcp-request inspect-delay 5s
  tcp-request content accept if { req.ssl_hello_type 1 }
  tcp-request content reject
  use_backend %[req.ssl_sni,lower,map(${o.mapFile})]

backend upstream
  server backend ${o.backend}${o.upstreamProxy === "v2" ? " send-proxy-v2" : ""}
`;
}

/** Writes the small policy (10 tenants, 100 rules) for `listen` -> `upstream`; returns the file. */
export function writeLinkgateConfig(
  env: Env,
  name: string,
  listen: string,
  upstream: string,
  tenants = 10,
  rules = 100,
): { file: string; hosts: string[]; bytes: number } {
  const { config, hosts } = generatePolicy({
    tenants,
    rules,
    listen,
    upstream,
    upstreamProxy: env.upstreamProxy,
    sni: env.sni,
    allowedLink: env.allowedLink,
  });
  const file = join(env.tmp, `${name}-${nextId()}.json`);
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
      stop: async () => {},
    };
  }
  const host = systemAddress(spec);
  const port = await freePort(host);
  let proc: Proc;
  if (spec.kind === "haproxy") {
    const id = nextId();
    const { hosts } = generatePolicy({
      tenants: 10,
      rules: 10,
      listen: "",
      upstream: "",
      upstreamProxy: env.upstreamProxy,
      sni: env.sni,
      allowedLink: env.allowedLink,
    });
    const mapFile = join(env.tmp, `haproxy-${id}.map`);
    writeFileSync(mapFile, hosts.map((h) => `${h} upstream\n`).join(""));
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
  } else {
    const { file } = writeLinkgateConfig(env, spec.name, `${host}:${port}`, backend.target);
    const profile =
      env.cpuProfDir !== null && spec.workers === 1
        ? ["--cpu-prof", `--cpu-prof-dir=${env.cpuProfDir}`]
        : [];
    const workers = spec.workers > 1 ? ["--workers", String(spec.workers)] : [];
    proc = new Proc(
      process.execPath,
      [...profile, ...env.linkgateArgs, "serve", "-c", file, "--no-watch", ...workers],
      { name: label, cwd: env.root, execWrapper: env.helper },
    );
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
    stop: () => p.stop("SIGTERM", 5000),
  };
}

// ---------------------------------------------------------------------------------------------
// Load

export interface LoadResult {
  seconds: number;
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

/** Runs the load and the CPU time the system (and the backend) used meanwhile. */
export async function measuredLoad(
  env: Env,
  system: RunningSystem,
  backend: Backend,
  payloadFile: string,
  o: { concurrency: number; generators: number; seconds: number; expect?: number },
): Promise<LoadResult & { systemCpu: number; backendCpu: number }> {
  const pids = system.pids();
  const c0 = cpuSeconds(pids);
  const b0 = cpuSeconds([backend.proc.pid]);
  const r = await runLoad(env, system, payloadFile, o);
  return {
    ...r,
    systemCpu: cpuSeconds(pids) - c0,
    backendCpu: cpuSeconds([backend.proc.pid]) - b0,
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
