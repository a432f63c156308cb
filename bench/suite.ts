/**
 * The benchmark suite (issue 4): linkgate against HAProxy 2.6, the runtime's floor (the minimal
 * proxy of bench/floor/) and the direct path, on loopback, in interleaved rounds
 * (A B C A B C ...), medians and ratios from one run.
 *
 *   npm run bench              full run (about 15 minutes); rewrites the "suite" section of
 *                              docs/BENCHMARKS.md
 *   npm run bench:quick        smoke run (about 2 minutes); prints, does not write the doc
 *   npm run bench -- --help    options (workloads, systems, rounds, sizes)
 *
 * Workloads: connection rate, bulk throughput, idle memory, policy scale, denied flood (see
 * the doc section for what each measures). The load generator and the backend are a small C
 * program (bench/native/lgbench.c) built here with `cc -O2`; HAProxy is Debian's package,
 * installed with apt-get if missing; linkgate runs from its build (dist/), after `npm run
 * build`, logging a line per connection (drained and counted) and serving /metrics (scraped
 * every round). Every child process is killed when the suite ends, however it ends.
 */
import { spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import os from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { BUN_HEAP_ENV } from "../src/runtime/bun-heap.js";
import { topFunctions } from "./lib/cpuprofile.js";
import { AWS_LINK, buildPayloads } from "./lib/payloads.js";
import { generatePolicy, TRUSTED_PROXIES } from "./lib/policy.js";
import {
  cpuAccounting,
  fileDescriptorLimit,
  installCleanup,
  Proc,
  rssKiB,
  waitListening,
} from "./lib/procs.js";
import {
  firstOutputLine,
  loadAverage,
  machineDescription,
  markdownTable,
  writeSection,
} from "./lib/report.js";
import { fmt, median, ratio } from "./lib/stats.js";
import {
  idleCapacity,
  parseSuiteArgs,
  type SuiteOptions,
  type SystemSpec,
  USAGE,
} from "./lib/suite-options.js";
import {
  Backend,
  type BulkResult,
  type Env,
  FLOORS,
  floorOf,
  floorUnavailable,
  freePort,
  Holder,
  type MeasuredLoad,
  measuredLoad,
  otherBuildUnavailable,
  type RunningSystem,
  runBulk,
  startSystem,
  systemLabel,
} from "./lib/systems.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const NATIVE = join(ROOT, "bench/native");

let opts: SuiteOptions;
try {
  opts = parseSuiteArgs(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`bench: ${(error as Error).message}\n\n${USAGE}\n`);
  process.exit(2);
}
if (opts.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}

const startedAt = Date.now();
const tmp = mkdtempSync(join(os.tmpdir(), "linkgate-bench-"));
installCleanup(() => {
  if (!opts.keepTmp) rmSync(tmp, { recursive: true, force: true });
});

const log = (line: string) => process.stdout.write(`${line}\n`);
const progress = (line: string) => process.stdout.write(`  ${line}\n`);
const notes: string[] = [];

// ---------------------------------------------------------------------------------------------
// Prerequisites

function buildHelper(): string {
  const out = join(NATIVE, "build/lgbench");
  const src = join(NATIVE, "lgbench.c");
  if (!existsSync(out) || statSync(out).mtimeMs < statSync(src).mtimeMs) {
    mkdirSync(join(NATIVE, "build"), { recursive: true });
    const cc = process.env.CC ?? "cc";
    const r = spawnSync(cc, ["-O2", "-Wall", "-o", out, src], { encoding: "utf8" });
    if (r.status !== 0) {
      throw new Error(`cannot build ${src} with ${cc} -O2: ${r.error?.message ?? r.stderr}`);
    }
    log(`built ${out}`);
  }
  return out;
}

function haproxyVersion(): string | null {
  const r = spawnSync("haproxy", ["-v"], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.split("\n")[0].replace(/ - https.*$/, "") : null;
}

/** Debian's HAProxy, installed as .ci/run does when it is missing. */
function ensureHaproxy(): string | null {
  const v = haproxyVersion();
  if (v !== null) return v;
  log("HAProxy is not installed: apt-get install haproxy");
  const sudo = process.getuid?.() === 0 ? [] : ["sudo"];
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  for (const args of [
    ["apt-get", "update", "-q"],
    ["apt-get", "install", "-y", "-q", "haproxy"],
  ]) {
    const cmd = [...sudo, ...args];
    const r = spawnSync(cmd[0], cmd.slice(1), { stdio: "inherit", env });
    if (r.status !== 0) {
      notes.push("HAProxy could not be installed (apt-get failed): its systems were skipped.");
      return null;
    }
  }
  return haproxyVersion();
}

/** Builds linkgate (dist/) and returns how to run its CLI with node. */
function prepareLinkgate(): string[] {
  if (opts.build) {
    log("npm run build");
    const r = spawnSync("npm", ["run", "build", "--silent"], { cwd: ROOT, encoding: "utf8" });
    if (r.status !== 0) {
      const why = `${r.stdout}${r.stderr}`.trim().split("\n").slice(-5).join(" / ");
      if (existsSync(join(ROOT, "dist/cli/main.js"))) {
        notes.push(`\`npm run build\` failed (${why}); the existing dist/ was used.`);
        log(`warning: npm run build failed; using the existing dist/: ${why}`);
      } else {
        notes.push("`npm run build` failed and there is no dist/: linkgate ran through tsx.");
        log("warning: npm run build failed and there is no dist/: running linkgate through tsx");
        return ["--import", "tsx", join(ROOT, "src/cli/main.ts")];
      }
    }
  }
  if (!existsSync(join(ROOT, "dist/cli/main.js"))) {
    throw new Error("dist/ is missing: run `npm run build` (or drop --no-build)");
  }
  return [join(ROOT, "bin/linkgate.js")];
}

function serveSupportsWorkers(linkgateArgs: string[]): boolean {
  const r = spawnSync(process.execPath, [...linkgateArgs, "serve", "--help"], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 30_000,
  });
  return /--workers\b/.test(`${r.stdout}${r.stderr}`);
}

const helper = buildHelper();
const haproxy = opts.systems.some((s) => s.kind === "haproxy") ? ensureHaproxy() : haproxyVersion();
const linkgateArgs = prepareLinkgate();
const workersSupported = serveSupportsWorkers(linkgateArgs);

const systems: SystemSpec[] = [];
for (const s of opts.systems) {
  if (s.kind === "haproxy" && haproxy === null) continue;
  if (s.kind === "floor") {
    const why = floorUnavailable(FLOORS[s.runtime]);
    if (why !== null) {
      notes.push(`${systemLabel(s)}: not measured, ${why}.`);
      continue;
    }
  }
  if (s.kind === "linkgate" && s.build !== null) {
    const root = resolve(ROOT, s.build);
    const why = otherBuildUnavailable(root);
    if (why !== null) {
      notes.push(`${systemLabel(s)}: not measured, ${why}.`);
      continue;
    }
    const commit = spawnSync("git", ["rev-parse", "--short", "HEAD"], {
      cwd: root,
      encoding: "utf8",
    });
    notes.push(
      `${systemLabel(s)}: the build in ${root}, commit ${commit.stdout?.trim() || "unknown"}.`,
    );
  }
  if (s.kind === "linkgate" && s.workers > 1 && !workersSupported) {
    notes.push(
      `${systemLabel(s)}: not measured, \`linkgate serve --workers\` does not exist yet in this build (the system list accepts ${s.name} once it does).`,
    );
    continue;
  }
  systems.push(s);
}
const proxied = systems.filter((s) => s.kind !== "direct");
const haproxy1 = systems.find((s) => s.kind === "haproxy" && s.threads === 1);
// The targets are about linkgate as deployed (a log line per connection, metrics served), and
// about this checkout: not another build (@DIR) run for comparison.
/** linkgate's heap settings on Bun, which the Bun floors run with too, as the doc names them. */
const bunHeapSetting = Object.entries(BUN_HEAP_ENV)
  .map(([name, value]) => `\`${name}=${value}\``)
  .join(", ");
const asDeployed = (s: SystemSpec): s is Extract<SystemSpec, { kind: "linkgate" }> =>
  s.kind === "linkgate" && s.logLevel === "info" && s.build === null;
const linkgate1 = systems.find((s) => asDeployed(s) && s.engine === "node" && s.workers === 1);
const linkgate2 = systems.find((s) => asDeployed(s) && s.engine === "node" && s.workers === 2);
const linkgateBun = systems.find((s) => asDeployed(s) && s.engine === "bun" && s.workers === 1);
const floorNode = systems.find((s) => s.kind === "floor" && s.runtime === "node");
const floorBunNative = systems.find((s) => s.kind === "floor" && s.runtime === "bun-native");
/** A system's floor row in `rows`: its own runtime's native minimal proxy (systems.ts). */
const floorRow = <R extends { spec: SystemSpec }>(rows: R[], spec: SystemSpec) =>
  byName(rows, floorOf(spec) === "node" ? floorNode : floorBunNative);
const direct = systems.find((s) => s.kind === "direct");

const payloads = buildPayloads();
const files = {
  allowed: join(tmp, "allowed.bin"),
  wrongLink: join(tmp, "wrong-link.bin"),
  badCrc: join(tmp, "bad-crc.bin"),
};
writeFileSync(files.allowed, payloads.allowed);
writeFileSync(files.wrongLink, payloads.wrongLink);
writeFileSync(files.badCrc, payloads.badCrc);

const fdLimit = fileDescriptorLimit();
const env: Env = {
  root: ROOT,
  tmp,
  helper,
  linkgateArgs,
  upstreamProxy: opts.upstreamProxy,
  sni: payloads.sni,
  allowedLink: AWS_LINK,
  haproxyMaxconn: idleCapacity(fdLimit),
  cpuProfDir: opts.cpuProf ? join(tmp, "cpuprof") : null,
  clientBinds: "127.0.1.1,127.0.1.2,127.0.1.3,127.0.1.4",
};
if (env.cpuProfDir !== null) {
  mkdirSync(env.cpuProfDir, { recursive: true });
  notes.push(
    "linkgate's one-process systems ran under `--cpu-prof`: their figures include the profiler's cost.",
  );
}

const load = {
  concurrency: opts.concurrency,
  generators: opts.generators,
  seconds: opts.seconds,
};

function provenance(): string {
  const git = (args: string[]) =>
    spawnSync("git", args, { cwd: ROOT, encoding: "utf8" }).stdout?.trim() ?? "";
  const head = git(["rev-parse", "--short", "HEAD"]);
  if (head === "") return "not a git checkout";
  const dirty = git(["status", "--porcelain", "--", "src"]) !== "";
  return `commit ${head}${dirty ? " plus uncommitted changes in src/" : ""}`;
}

const machine = machineDescription();
const linkgateVersion = provenance();
const loadBefore = loadAverage();
log(`\nlinkgate benchmark suite${opts.quick ? " (quick)" : ""}`);
log(machine);
log(`load average ${loadBefore}; file descriptor limit ${fdLimit}; temp ${tmp}`);
log(`linkgate: ${linkgateVersion}`);
log(`systems: ${systems.map(systemLabel).join(", ")}`);
log(
  `payload: ${payloads.headerBytes}-byte AWS PrivateLink PROXY v2 header + ${payloads.helloBytes}-byte Chromium ClientHello (SNI ${payloads.sni})`,
);
for (const n of notes) log(`note: ${n}`);

async function startAll(specs: readonly SystemSpec[], backend: Backend): Promise<RunningSystem[]> {
  const out: RunningSystem[] = [];
  for (const s of specs) out.push(await startSystem(env, s, backend));
  return out;
}

async function stopAll(running: readonly RunningSystem[]): Promise<void> {
  for (const r of running) await r.stop();
}

const ms = (us: number) => us / 1000;

// ---------------------------------------------------------------------------------------------
// 1. Connection rate

interface RateRow {
  spec: SystemSpec;
  rates: number[];
  p50: number;
  p90: number;
  p99: number;
  errors: number;
  /**
   * The median of the rounds' CPU per connection (each round: the system's CPU time over the
   * connections it completed), like the rate: a round disturbed by another program does not
   * move it. Null for the direct connection, which has no proxy.
   */
  cpuUsPerConn: number | null;
  /** Each round's CPU per connection, in round order. */
  cpuRounds: number[];
  rate: number;
  /** Cores used on average over the measured rounds (machine: every program, busy time). */
  cores: { system: number; generator: number; backend: number; machine: number };
  /** Connections opened, and connection lines logged meanwhile (null: logs none). */
  started: number;
  logLines: number | null;
  /** Rounds whose /metrics scrape succeeded, and the failures (null: no endpoint). */
  scrapes: { ok: number; errors: string[] } | null;
}

/** A round's CPU per completed connection, in µs: the proxy's CPU time over its connections. */
function cpuPerConnection(round: MeasuredLoad): number {
  return (round.systemCpu / round.ok) * 1e6;
}

async function connectionRate(): Promise<RateRow[]> {
  log(
    `\n[1/5] connection rate: ${opts.concurrency} closed-loop clients, ${opts.rounds} rounds x ${opts.seconds} s per system`,
  );
  const backend = await Backend.start(env, "reply");
  const running = await startAll(systems, backend);
  const samples = new Map<string, MeasuredLoad[]>();
  try {
    for (const r of running) {
      if (opts.warmup > 0)
        await measuredLoad(env, r, backend, files.allowed, { ...load, seconds: opts.warmup });
      samples.set(r.spec.name, []);
    }
    for (let round = 1; round <= opts.rounds; round++) {
      for (const r of running) {
        const res = await measuredLoad(env, r, backend, files.allowed, load);
        samples.get(r.spec.name)?.push(res);
        progress(
          `round ${round}/${opts.rounds} ${r.label.padEnd(24)} ${fmt(res.rateOk).padStart(7)} conn/s  p99 ${fmt(ms(res.p99), 2)} ms${r.spec.kind === "direct" || res.ok === 0 ? "" : `  CPU ${fmt(cpuPerConnection(res))} µs/conn`}${res.ok === res.answered && res.refused + res.timeout + res.other === 0 ? "" : `  errors ${res.answered - res.ok + res.refused + res.timeout + res.other} (${res.lastErrno ?? ""})`}`,
        );
      }
    }
  } finally {
    await stopAll(running);
    await backend.stop();
  }
  if (env.cpuProfDir !== null) printProfile(env.cpuProfDir);
  return running.map((r) => {
    const s = samples.get(r.spec.name) ?? [];
    const sum = (f: (x: MeasuredLoad) => number) => s.reduce((n, x) => n + f(x), 0);
    const cpu = sum((x) => x.systemCpu);
    const cpuRounds =
      r.spec.kind === "direct" ? [] : s.filter((x) => x.ok > 0).map(cpuPerConnection);
    const seconds = sum((x) => x.seconds);
    const scrapes = s.map((x) => x.scrape);
    return {
      spec: r.spec,
      rates: s.map((x) => x.rateOk),
      rate: median(s.map((x) => x.rateOk)),
      p50: median(s.map((x) => x.p50)),
      p90: median(s.map((x) => x.p90)),
      p99: median(s.map((x) => x.p99)),
      errors: s.reduce((n, x) => n + x.answered - x.ok + x.refused + x.timeout + x.other, 0),
      cpuUsPerConn: cpuRounds.length === 0 ? null : median(cpuRounds),
      cpuRounds,
      cores: {
        system: cpu / seconds,
        generator: sum((x) => x.generatorCpu) / seconds,
        backend: sum((x) => x.backendCpu) / seconds,
        machine: sum((x) => x.machineCpu) / seconds,
      },
      started: sum((x) => x.started),
      logLines: s.some((x) => x.logLines === null) ? null : sum((x) => x.logLines ?? 0),
      scrapes: scrapes.some((x) => x === null)
        ? null
        : {
            ok: scrapes.filter((x) => x?.ok).length,
            errors: scrapes.flatMap((x) => (x?.error ? [x.error] : [])),
          },
    };
  });
}

function printProfile(dir: string): void {
  const profiles = readdirSync(dir).filter((f) => f.endsWith(".cpuprofile"));
  for (const f of profiles) {
    const { samples, busy, top } = topFunctions(join(dir, f), 25);
    log(
      `\nlinkgate CPU profile (${join(dir, f)}): ${busy} busy of ${samples} samples; top self time, share of the busy samples`,
    );
    for (const t of top) log(`  ${(t.share * 100).toFixed(1).padStart(5)}%  ${t.name}  ${t.where}`);
  }
}

// ---------------------------------------------------------------------------------------------
// 2. Bulk

interface BulkRow {
  spec: SystemSpec;
  up: number[];
  down: number[];
  upGbps: number | null;
  downGbps: number | null;
  failures: string[];
}

async function bulk(): Promise<BulkRow[]> {
  log(
    `\n[2/5] bulk: one connection, ${fmt(opts.bulkBytes / 2 ** 20)} MiB each way separately, ${opts.bulkRounds} rounds`,
  );
  const rows = new Map<string, BulkRow>(
    systems.map((s) => [
      s.name,
      { spec: s, up: [], down: [], upGbps: null, downGbps: null, failures: [] },
    ]),
  );
  for (const direction of ["up", "down"] as const) {
    const backend = await Backend.start(
      env,
      direction === "up" ? "sink" : "source",
      direction === "up" ? [] : ["--source-bytes", String(opts.bulkBytes)],
    );
    const running = await startAll(systems, backend);
    try {
      for (const r of running) {
        // Warm-up: a short transfer (and, for linkgate, the JIT).
        if (direction === "down") continue; // the source backend always sends the full size
        await runBulk(env, r, files.allowed, direction, Math.min(opts.bulkBytes, 64 * 2 ** 20));
      }
      for (let round = 1; round <= opts.bulkRounds; round++) {
        for (const r of running) {
          const res: BulkResult = await runBulk(env, r, files.allowed, direction, opts.bulkBytes);
          const row = rows.get(r.spec.name) as BulkRow;
          if (res.ok) row[direction].push(res.gbps);
          else row.failures.push(`${direction}: ${res.error}`);
          progress(
            `${direction === "up" ? "upload  " : "download"} round ${round}/${opts.bulkRounds} ${r.label.padEnd(24)} ${res.ok ? `${res.gbps.toFixed(2)} Gbit/s` : `failed: ${res.error}`}`,
          );
        }
      }
    } finally {
      await stopAll(running);
      await backend.stop();
    }
  }
  return [...rows.values()].map((r) => ({
    ...r,
    upGbps: r.up.length > 0 ? median(r.up) : null,
    downGbps: r.down.length > 0 ? median(r.down) : null,
  }));
}

// ---------------------------------------------------------------------------------------------
// 3. Idle memory

interface IdleRow {
  spec: SystemSpec;
  held: number[];
  rssBefore: number[];
  rssAfter: number[];
  perConnKiB: number[];
  failures: string[];
}

const idleTarget = Math.min(opts.idleConnections, idleCapacity(fdLimit));

async function idleMemory(): Promise<IdleRow[]> {
  log(
    `\n[3/5] idle memory: ${fmt(idleTarget)} proxied connections held open, ${opts.idleRounds} rounds`,
  );
  if (idleTarget < opts.idleConnections) {
    log(
      `  note: ${fmt(opts.idleConnections)} requested, but a proxy holds 2 descriptors per connection and the limit is ${fdLimit}: ${fmt(idleTarget)}`,
    );
  }
  const rows = new Map<string, IdleRow>(
    proxied.map((s) => [
      s.name,
      { spec: s, held: [], rssBefore: [], rssAfter: [], perConnKiB: [], failures: [] },
    ]),
  );
  for (let round = 1; round <= opts.idleRounds; round++) {
    for (const spec of proxied) {
      const row = rows.get(spec.name) as IdleRow;
      const backend = await Backend.start(env, "hold");
      let system: RunningSystem | null = null;
      let holder: Holder | null = null;
      try {
        system = await startSystem(env, spec, backend);
        // Warm-up: hold and release a few hundred connections (first-use allocations, JIT).
        const warm = Math.min(500, idleTarget);
        holder = new Holder(env, system, files.allowed, warm);
        await holder.established(60_000);
        await backend.waitStats((s) => s.holding >= warm, 30_000, "warm-up connections");
        await holder.stop();
        await backend.waitStats((s) => s.holding === 0, 30_000, "warm-up connections to close");
        await new Promise((r) => setTimeout(r, 1500));
        const before = rssKiB(system.pids());
        holder = new Holder(env, system, files.allowed, idleTarget);
        const est = await holder.established(120_000);
        const s = await backend
          .waitStats(
            (b) => b.holding >= est.ok,
            60_000,
            `${fmt(est.ok)} connections to reach the backend`,
          )
          .catch(async () => backend.stats());
        await new Promise((r) => setTimeout(r, 2000));
        const after = rssKiB(system.pids());
        const held = Math.min(est.ok, s.holding);
        row.held.push(held);
        row.rssBefore.push(before);
        row.rssAfter.push(after);
        row.perConnKiB.push((after - before) / Math.max(1, held));
        if (est.failed > 0) row.failures.push(`${est.failed} connections failed`);
        progress(
          `round ${round}/${opts.idleRounds} ${system.label.padEnd(24)} held ${fmt(held)}  RSS ${fmt(before / 1024, 1)} -> ${fmt(after / 1024, 1)} MiB  ${fmt((after - before) / Math.max(1, held), 2)} KiB/conn`,
        );
      } catch (error) {
        row.failures.push((error as Error).message.split("\n")[0]);
        progress(
          `round ${round}/${opts.idleRounds} ${spec.name}: failed: ${(error as Error).message}`,
        );
      } finally {
        await holder?.stop();
        await system?.stop();
        await backend.stop();
      }
    }
  }
  return [...rows.values()];
}

// ---------------------------------------------------------------------------------------------
// 4. Policy scale

interface PolicyRow {
  name: string;
  tenants: number;
  rules: number;
  fileBytes: number;
  readParseMs: number;
  validateMs: number;
  compileMs: number;
  compileCpuMs: number;
  loadCpuMs: number;
  startToListenMs: number;
  rssMiB: number;
  heapMiB: number;
  rates: number[];
  rate: number;
  p99: number;
  errors: number;
}

interface PolicyResult {
  rows: PolicyRow[];
  check: { code: number | null; ms: number; message: string };
  yaml: { ms: number | null; message: string } | null;
}

async function launchPolicyGateway(
  file: string,
  host: string,
  port: number,
  exitAfterReady: boolean,
  loader: "json" | "yaml" = "json",
): Promise<{ proc: Proc; ready: Record<string, number>; wallMs: number }> {
  const t0 = Date.now();
  const proc = new Proc(
    process.execPath,
    [
      "--expose-gc",
      "--max-old-space-size=8192",
      "--import",
      "tsx",
      join(ROOT, "bench/lib/policy-gateway.ts"),
      "--config",
      file,
      "--loader",
      loader,
      ...(exitAfterReady ? ["--exit-after-ready"] : []),
    ],
    { name: `policy gateway ${file}`, cwd: ROOT, execWrapper: helper },
  );
  const ready = (await proc.waitJson(
    (j) => j.event === "ready",
    600_000,
    "the policy gateway",
  )) as Record<string, number>;
  const wallMs = Date.now() - t0;
  if (!exitAfterReady) await waitListening(proc, host, port, 10_000);
  return { proc, ready, wallMs };
}

async function policyScale(): Promise<PolicyResult> {
  log(
    `\n[4/5] policy scale: 10 tenants vs ${fmt(opts.tenants)} tenants / ${fmt(opts.rules)} rules; ${opts.compileRuns} timed launch(es), ${opts.rounds} rate rounds`,
  );
  const backend = await Backend.start(env, "reply");
  const policies = [
    { name: "small", tenants: 10, rules: 100, host: "127.0.0.30" },
    { name: "large", tenants: opts.tenants, rules: opts.rules, host: "127.0.0.31" },
  ];
  const prepared = [];
  for (const p of policies) {
    const port = await freePort(p.host);
    const t0 = Date.now();
    const { config } = generatePolicy({
      tenants: p.tenants,
      rules: p.rules,
      listen: `${p.host}:${port}`,
      upstream: backend.target,
      upstreamProxy: env.upstreamProxy,
      sni: env.sni,
      allowedLink: env.allowedLink,
    });
    const file = join(tmp, `policy-${p.name}.json`);
    const text = JSON.stringify(config);
    writeFileSync(file, text);
    progress(
      `${p.name}: ${fmt(Buffer.byteLength(text) / 2 ** 20, 1)} MiB JSON, generated in ${fmt(Date.now() - t0)} ms`,
    );
    prepared.push({ ...p, port, file, bytes: Buffer.byteLength(text) });
  }
  const large = prepared[1];

  // What `linkgate check` (the same loader as `serve`) says about the large file.
  const t0 = Date.now();
  const check = spawnSync(process.execPath, [...linkgateArgs, "check", "-c", large.file], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 300_000,
    maxBuffer: 64 << 20,
  });
  const checkResult = {
    code: check.status,
    ms: Date.now() - t0,
    message: firstOutputLine(`${check.stdout}${check.stderr}`, large.file),
  };
  progress(
    `linkgate check on the large file: exit ${checkResult.code} in ${fmt(checkResult.ms)} ms: ${checkResult.message}`,
  );

  let yaml: PolicyResult["yaml"] = null;
  if (opts.yamlLoad) {
    try {
      const port = await freePort("127.0.0.32");
      const { config } = generatePolicy({
        tenants: large.tenants,
        rules: large.rules,
        listen: `127.0.0.32:${port}`,
        upstream: backend.target,
        upstreamProxy: env.upstreamProxy,
        sni: env.sni,
        allowedLink: env.allowedLink,
      });
      const file = join(tmp, "policy-large-yaml.json");
      writeFileSync(file, JSON.stringify(config));
      const { proc, ready } = await launchPolicyGateway(file, "127.0.0.32", port, true, "yaml");
      await proc.exited;
      yaml = {
        ms: ready.parseMs,
        message: "parseConfigText (YAML parser with positions, schema, semantics)",
      };
      progress(`YAML loader on the large policy: ${fmt(ready.parseMs)} ms`);
    } catch (error) {
      yaml = { ms: null, message: (error as Error).message.split("\n")[0] };
    }
  }

  const rows: PolicyRow[] = [];
  const gateways: Proc[] = [];
  const targets: { host: string; port: number }[] = [];
  try {
    for (const p of prepared) {
      const timings: { ready: Record<string, number>; wallMs: number }[] = [];
      let last: Proc | null = null;
      for (let i = 1; i <= opts.compileRuns; i++) {
        const keep = i === opts.compileRuns;
        const g = await launchPolicyGateway(p.file, p.host, p.port, !keep);
        timings.push(g);
        if (keep) last = g.proc;
        else await g.proc.exited;
        progress(
          `${p.name} launch ${i}/${opts.compileRuns}: read+parse ${fmt(g.ready.readMs + g.ready.parseMs)} ms, validate ${fmt(g.ready.validateMs)} ms, compile ${fmt(g.ready.compileMs)} ms (CPU ${fmt(g.ready.compileCpuMs)} ms), listening after ${fmt(g.ready.sinceStartMs)} ms, RSS ${fmt(g.ready.rss / 2 ** 20)} MiB`,
        );
      }
      gateways.push(last as Proc);
      targets.push({ host: p.host, port: p.port });
      const m = (k: string) => median(timings.map((t) => t.ready[k]));
      rows.push({
        name: p.name,
        tenants: p.tenants,
        rules: p.rules,
        fileBytes: p.bytes,
        readParseMs: median(timings.map((t) => t.ready.readMs + t.ready.parseMs)),
        validateMs: m("validateMs"),
        compileMs: m("compileMs"),
        compileCpuMs: m("compileCpuMs"),
        loadCpuMs: m("loadCpuMs"),
        startToListenMs: m("sinceStartMs"),
        rssMiB: m("rss") / 2 ** 20,
        heapMiB: m("heapUsed") / 2 ** 20,
        rates: [],
        rate: 0,
        p99: 0,
        errors: 0,
      });
    }
    const systemsHere: RunningSystem[] = gateways.map((g, i) => ({
      spec: {
        name: `policy-${rows[i].name}`,
        kind: "linkgate",
        engine: "node",
        workers: 1,
        logLevel: "warn",
        build: null,
      },
      label: `linkgate, ${rows[i].name} policy`,
      host: targets[i].host,
      port: targets[i].port,
      proc: g,
      pids: () => [g.pid],
      metricsUrl: null,
      connectionLines: () => null,
      stop: () => g.stop("SIGTERM", 5000),
    }));
    const p99s: number[][] = systemsHere.map(() => []);
    for (const s of systemsHere) {
      if (opts.warmup > 0)
        await measuredLoad(env, s, backend, files.allowed, { ...load, seconds: opts.warmup });
    }
    for (let round = 1; round <= opts.rounds; round++) {
      for (const [i, s] of systemsHere.entries()) {
        const res = await measuredLoad(env, s, backend, files.allowed, load);
        rows[i].rates.push(res.rateOk);
        p99s[i].push(res.p99);
        rows[i].errors += res.answered - res.ok + res.refused + res.timeout + res.other;
        progress(
          `round ${round}/${opts.rounds} ${s.label.padEnd(24)} ${fmt(res.rateOk).padStart(7)} conn/s  p99 ${fmt(ms(res.p99), 2)} ms`,
        );
      }
    }
    rows.forEach((r, i) => {
      r.rate = median(r.rates);
      r.p99 = median(p99s[i]);
    });
  } finally {
    for (const g of gateways) await g.stop("SIGTERM", 5000);
    await backend.stop();
  }
  return { rows, check: checkResult, yaml };
}

// ---------------------------------------------------------------------------------------------
// 5. Denied flood

interface DeniedRow {
  spec: SystemSpec;
  payload: "wrong VPC endpoint" | "bad CRC32C";
  rates: number[];
  rate: number;
  p99: number;
  forwarded: number;
  backendAccepted: number | null;
}

async function deniedFlood(): Promise<DeniedRow[]> {
  log(
    `\n[5/5] denied flood: ${opts.concurrency} closed-loop clients sending denied connections, ${opts.rounds} rounds x ${opts.seconds} s`,
  );
  interface Variant {
    spec: SystemSpec;
    payload: DeniedRow["payload"];
    file: string;
    system: RunningSystem;
    backend: Backend;
    rates: number[];
    p99s: number[];
    forwarded: number;
  }
  const variants: Variant[] = [];
  const started: { system: RunningSystem; backend: Backend }[] = [];
  let rows: DeniedRow[] = [];
  try {
    // A floor checks no endpoint and no CRC32C: it has nothing to deny here.
    for (const spec of systems.filter((s) => s.kind !== "floor")) {
      // One backend per system: its accept counter proves the system never dialled it. For
      // direct, the backend itself resets each connection once the request is in: the
      // generator's limit for connections that get no answer.
      const backend = await Backend.start(env, spec.kind === "direct" ? "drop" : "reply");
      const system = await startSystem(env, spec, backend);
      started.push({ system, backend });
      const kinds: [DeniedRow["payload"], string][] =
        spec.kind === "linkgate"
          ? [
              ["wrong VPC endpoint", files.wrongLink],
              ["bad CRC32C", files.badCrc],
            ]
          : [["bad CRC32C", files.badCrc]]; // HAProxy 2.6 cannot read the endpoint TLV
      for (const [payload, file] of kinds) {
        variants.push({ spec, payload, file, system, backend, rates: [], p99s: [], forwarded: 0 });
      }
    }
    for (const v of variants) {
      if (opts.warmup > 0) {
        await measuredLoad(env, v.system, v.backend, v.file, { ...load, seconds: opts.warmup });
      }
    }
    for (let round = 1; round <= opts.rounds; round++) {
      for (const v of variants) {
        const res = await measuredLoad(env, v.system, v.backend, v.file, load);
        v.rates.push(res.rateAnswered);
        v.p99s.push(res.p99);
        v.forwarded += res.ok;
        const errors = res.refused + res.timeout + res.other;
        progress(
          `round ${round}/${opts.rounds} ${v.system.label.padEnd(24)} ${(v.spec.kind === "direct" ? "(backend resets)" : v.payload).padEnd(18)} ${fmt(res.rateAnswered).padStart(7)} closed conn/s  p99 ${fmt(ms(res.p99), 2)} ms${errors > 0 ? `  errors ${errors} (${res.lastErrno ?? ""})` : ""}`,
        );
      }
    }
  } finally {
    const accepted = new Map<Backend, number | null>();
    for (const { system, backend } of started) {
      await system.stop();
      const s = await backend.stop();
      accepted.set(backend, s?.accepted ?? null);
    }
    rows = variants.map((v) => ({
      spec: v.spec,
      payload: v.payload,
      rates: v.rates,
      rate: median(v.rates),
      p99: median(v.p99s),
      forwarded: v.forwarded,
      backendAccepted: accepted.get(v.backend) ?? null,
    }));
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------
// Run

const results: {
  rate?: RateRow[];
  bulk?: BulkRow[];
  idle?: IdleRow[];
  policy?: PolicyResult;
  denied?: DeniedRow[];
} = {};
const loads: string[] = [];
const contention: string[] = [];
const cores = os.availableParallelism();
for (const w of opts.workloads) {
  const before = loadAverage();
  const t = Date.now();
  const cpu0 = cpuAccounting();
  if (w === "rate") results.rate = await connectionRate();
  else if (w === "bulk") results.bulk = await bulk();
  else if (w === "idle") results.idle = await idleMemory();
  else if (w === "policy") results.policy = await policyScale();
  else results.denied = await deniedFlood();
  loads.push(`${w}: ${before} -> ${loadAverage()} (${fmt((Date.now() - t) / 1000)} s)`);
  const cpu1 = cpuAccounting();
  const others =
    (cpu1.machine - cpu0.machine - (cpu1.ours - cpu0.ours)) / ((Date.now() - t) / 1000);
  contention.push(`${w} ${fmt(Math.max(0, others), 2)}`);
}

// ---------------------------------------------------------------------------------------------
// Tables

const sections: string[] = [];
const targets: string[][] = [];
const target = (what: string, measured: string, met: boolean | null, margin = "") =>
  targets.push([
    what,
    measured,
    met === null ? "not measured" : met ? "**met**" : "**missed**",
    margin,
  ]);
const byName = <T extends { spec: SystemSpec }>(rows: readonly T[] | undefined, s?: SystemSpec) =>
  s === undefined ? undefined : rows?.find((r) => r.spec.name === s.name);

let generatorBound = "not checked (no direct system or no connection-rate workload)";
const generatorChecks: string[] = [];
let rateLimit: number | null = null;
if (results.rate !== undefined) {
  const rows = results.rate;
  const d = byName(rows, direct);
  const best = Math.max(...rows.filter((r) => r.spec.kind !== "direct").map((r) => r.rate));
  if (d !== undefined && Number.isFinite(best)) {
    rateLimit = d.rate / 1.5;
    generatorBound =
      d.rate >= 1.5 * best
        ? `direct ${fmt(d.rate)} conn/s = ${ratio(d.rate, best)} the best proxied rate (>= 1.5x): the proxied figures are not generator-bound`
        : `direct ${fmt(d.rate)} conn/s is only ${ratio(d.rate, best)} the best proxied rate (< 1.5x): rates above ${fmt(rateLimit)} are GENERATOR-BOUND`;
  }
  const h1 = byName(rows, haproxy1);
  const floor = byName(rows, floorNode);
  const bound = (r: RateRow) =>
    r.spec.kind !== "direct" && rateLimit !== null && r.rate > rateLimit
      ? " (generator-bound)"
      : "";
  const observability = rows.flatMap((r) => {
    if (r.logLines === null && r.scrapes === null) return [];
    const lines =
      r.logLines === null
        ? "no connection lines (log.level warn)"
        : `${fmt(r.logLines)} connection log lines for ${fmt(r.started)} connections opened${r.logLines === r.started ? "" : ` (${fmt(r.logLines - r.started)}: NOT ONE LINE PER CONNECTION)`}`;
    const scrapes =
      r.scrapes === null
        ? "no /metrics"
        : `/metrics scraped in ${r.scrapes.ok} of ${r.rates.length} rounds${r.scrapes.errors.length > 0 ? ` (failed: ${r.scrapes.errors[0]})` : ""}`;
    return [`- ${systemLabel(r.spec)}: ${lines}; ${scrapes}.`];
  });
  sections.push(`### 1. Connection rate

${opts.concurrency} closed-loop clients (${opts.generators} generator process${opts.generators > 1 ? "es" : ""}); each connection sends the PROXY v2 header and the ClientHello (${payloads.allowed.length} bytes), the backend answers 64 bytes and closes; a connection counts when the client has read the 64 bytes and the EOF. Latency: connect() to EOF. CPU: user + system time of the proxy's processes per connection, the median of the rounds' (each round: its CPU time over its connections; less sensitive to other load on the machine than the rate); "CPU vs floor" divides it by its runtime's native floor's (Node.js, or Bun native for the Bun rows), the least that runtime itself costs for this work (Bun floors run with the heap settings linkgate serves with on Bun, ${bunHeapSetting}, docs/engines.md).

${markdownTable(
  [
    "system",
    "conn/s (median)",
    "vs HAProxy nbthread 1",
    "p50 ms",
    "p90 ms",
    "p99 ms",
    "proxy CPU µs/conn",
    "CPU vs floor",
    "errors",
    "rounds (conn/s)",
    "rounds (CPU µs/conn)",
  ],
  rows.map((r) => [
    systemLabel(r.spec),
    fmt(r.rate) + bound(r),
    r.spec.kind === "direct" ? "—" : ratio(r.rate, h1?.rate),
    fmt(ms(r.p50), 2),
    fmt(ms(r.p90), 2),
    fmt(ms(r.p99), 2),
    fmt(r.cpuUsPerConn),
    ratio(r.cpuUsPerConn, floorRow(rows, r.spec)?.cpuUsPerConn),
    fmt(r.errors),
    r.rates.map((x) => fmt(x)).join(", "),
    r.cpuRounds.map((x) => fmt(x)).join(", ") || "—",
  ]),
)}

Logs and metrics (linkgate's stdout is a pipe the suite drains, counting the connection lines and discarding them):

${observability.join("\n") || "- no linkgate system"}

Generator check: ${generatorBound}.`);
  generatorChecks.push(`connection rate: ${generatorBound}`);
  const l1 = byName(rows, linkgate1);
  target(
    "connection rate, linkgate 1 process >= 0.45x HAProxy nbthread 1",
    ratio(l1?.rate, h1?.rate),
    l1 === undefined || h1 === undefined ? null : l1.rate >= 0.45 * h1.rate,
    `${fmt(l1?.rate)} vs ${fmt(h1?.rate)} conn/s`,
  );
  const l1Cpu = l1?.cpuUsPerConn;
  const floorCpu = floor?.cpuUsPerConn;
  target(
    "overhead: linkgate 1 process CPU µs/conn <= 1.15x the Node.js floor's (logs and metrics on)",
    ratio(l1Cpu, floorCpu),
    l1Cpu == null || floorCpu == null ? null : l1Cpu <= 1.15 * floorCpu,
    `${fmt(l1Cpu)} vs ${fmt(floorCpu)} µs/conn`,
  );
  const lb = byName(rows, linkgateBun);
  if (lb !== undefined) {
    const bunFloorCpu = byName(rows, floorBunNative)?.cpuUsPerConn;
    target(
      "connection rate, linkgate on Bun 1 process >= 0.75x HAProxy nbthread 1",
      ratio(lb.rate, h1?.rate),
      h1 === undefined ? null : lb.rate >= 0.75 * h1.rate,
      `${fmt(lb.rate)} vs ${fmt(h1?.rate)} conn/s`,
    );
    target(
      "overhead: linkgate on Bun CPU µs/conn <= 1.15x the Bun native floor's (logs and metrics on)",
      ratio(lb.cpuUsPerConn, bunFloorCpu),
      lb.cpuUsPerConn == null || bunFloorCpu == null ? null : lb.cpuUsPerConn <= 1.15 * bunFloorCpu,
      `${fmt(lb.cpuUsPerConn)} vs ${fmt(bunFloorCpu)} µs/conn`,
    );
    target(
      `p99 latency at ${opts.concurrency} connections, linkgate on Bun <= 1.5x HAProxy nbthread 1's`,
      ratio(lb.p99, h1?.p99),
      h1 === undefined ? null : lb.p99 <= 1.5 * h1.p99,
      `${fmt(ms(lb.p99), 2)} vs ${h1 === undefined ? "—" : fmt(ms(h1.p99), 2)} ms`,
    );
  }
  const l2 = byName(rows, linkgate2);
  if (l2 !== undefined) {
    const { system, generator, backend, machine } = l2.cores;
    const others = Math.max(0, machine - system - generator - backend);
    target(
      "multi-core: linkgate --workers 2 >= 1.6x linkgate 1 process (connection rate)",
      ratio(l2.rate, l1?.rate),
      l1 === undefined ? null : l2.rate >= 1.6 * l1.rate,
      `${fmt(l2.rate)} vs ${fmt(l1?.rate)} conn/s; during the --workers 2 rounds, cores busy ${fmt(machine, 2)} of ${cores}: linkgate ${fmt(system, 2)}, generator ${fmt(generator, 2)}, backend ${fmt(backend, 2)}, other programs ${fmt(others, 2)}${machine >= 0.9 * cores ? ": the machine left no room to scale" : ""}`,
    );
  } else {
    target(
      "multi-core: linkgate --workers 2 >= 1.6x linkgate 1 process (connection rate)",
      "—",
      null,
      "linkgate-w2 not measured",
    );
  }
}

if (results.bulk !== undefined) {
  const rows = results.bulk;
  const h1 = byName(rows, haproxy1);
  const d = byName(rows, direct);
  for (const dir of ["up", "down"] as const) {
    const key = dir === "up" ? "upGbps" : "downGbps";
    const best = Math.max(...rows.filter((r) => r.spec.kind !== "direct").map((r) => r[key] ?? 0));
    const dv = d?.[key];
    if (dv !== null && dv !== undefined && best > 0) {
      generatorChecks.push(
        `bulk ${dir === "up" ? "upload" : "download"}: direct ${fmt(dv, 1)} Gbit/s = ${ratio(dv, best)} the best proxied (${dv >= 1.5 * best ? "not generator-bound" : "GENERATOR-BOUND"})`,
      );
    }
  }
  sections.push(`### 2. Bulk throughput

One connection moving ${fmt(opts.bulkBytes / 2 ** 30, 2)} GiB after the PROXY header and the ClientHello: upload (client -> backend, then FIN; timed until the backend's EOF comes back) and download (backend -> client, timed from the request to EOF), each in its own phase. Median of ${opts.bulkRounds} rounds.

${markdownTable(
  [
    "system",
    "upload Gbit/s",
    "vs HAProxy nbthread 1",
    "download Gbit/s",
    "vs HAProxy nbthread 1",
    "rounds up / down (Gbit/s)",
    "failures",
  ],
  rows.map((r) => [
    systemLabel(r.spec),
    fmt(r.upGbps, 2),
    r.spec.kind === "direct" ? "—" : ratio(r.upGbps, h1?.upGbps),
    fmt(r.downGbps, 2),
    r.spec.kind === "direct" ? "—" : ratio(r.downGbps, h1?.downGbps),
    `${r.up.map((x) => x.toFixed(2)).join(", ")} / ${r.down.map((x) => x.toFixed(2)).join(", ")}`,
    r.failures.join("; ") || "0",
  ]),
)}`);
  const l1 = byName(rows, linkgate1);
  if (l1 !== undefined && h1 !== undefined) {
    for (const dir of ["up", "down"] as const) {
      const a = dir === "up" ? l1.upGbps : l1.downGbps;
      const b = dir === "up" ? h1.upGbps : h1.downGbps;
      target(
        `bulk ${dir === "up" ? "upload" : "download"}, linkgate 1 process >= 0.9x HAProxy nbthread 1`,
        ratio(a, b),
        a !== null && b !== null ? a >= 0.9 * b : null,
        `${fmt(a, 2)} vs ${fmt(b, 2)} Gbit/s`,
      );
    }
  }
  const lb = byName(rows, linkgateBun);
  if (lb !== undefined && h1 !== undefined) {
    for (const dir of ["up", "down"] as const) {
      const a = dir === "up" ? lb.upGbps : lb.downGbps;
      const b = dir === "up" ? h1.upGbps : h1.downGbps;
      target(
        `bulk ${dir === "up" ? "upload" : "download"}, linkgate on Bun >= 1.0x HAProxy nbthread 1`,
        ratio(a, b),
        a !== null && b !== null ? a >= b : null,
        `${fmt(a, 2)} vs ${fmt(b, 2)} Gbit/s`,
      );
    }
  }
}

if (results.idle !== undefined) {
  const rows = results.idle;
  sections.push(`### 3. Idle memory

${fmt(idleTarget)} proxied connections held open (each sent the PROXY header and the ClientHello; the backend holds its side open), RSS of the proxy's processes before (after a warm-up of 500 connections opened and closed) and 2 s after the last connection reached the backend; per connection = difference / connections. Median of ${opts.idleRounds} round(s), fresh processes each time. Kernel socket buffers are not in the RSS.${idleTarget < opts.idleConnections ? ` **${fmt(opts.idleConnections)} were asked for, but this machine's hard limit of ${fdLimit} open files per process (no CAP_SYS_RESOURCE to raise it) allows a proxy ${fmt(idleTarget)} proxied connections (two descriptors each).**` : ""}

${markdownTable(
  [
    "system",
    "connections held",
    "RSS before MiB",
    "RSS after MiB",
    "KiB per connection",
    "rounds (KiB/conn)",
    "failures",
  ],
  rows.map((r) => [
    systemLabel(r.spec),
    fmt(median(r.held)),
    fmt(median(r.rssBefore) / 1024, 1),
    fmt(median(r.rssAfter) / 1024, 1),
    fmt(median(r.perConnKiB), 2),
    r.perConnKiB.map((x) => x.toFixed(2)).join(", "),
    r.failures.join("; ") || "0",
  ]),
)}`);
  const h1 = byName(rows, haproxy1);
  for (const [spec, name] of [
    [linkgate1, "linkgate"],
    [linkgateBun, "linkgate on Bun"],
  ] as const) {
    const l = byName(rows, spec);
    if (l === undefined || l.perConnKiB.length === 0) continue;
    const v = median(l.perConnKiB);
    target(
      `idle memory per proxied connection, ${name} <= 16 KiB`,
      `${fmt(v, 2)} KiB`,
      v <= 16,
      h1 !== undefined && h1.perConnKiB.length > 0
        ? `HAProxy nbthread 1: ${fmt(median(h1.perConnKiB), 2)} KiB`
        : "",
    );
  }
}

if (results.policy !== undefined) {
  const { rows, check, yaml } = results.policy;
  const small = rows[0];
  const large = rows[1];
  sections.push(`### 4. Policy scale

Both policies run in \`bench/lib/policy-gateway.ts\`: linkgate's data plane from dist/ (Gateway, CompiledPolicy, metrics and the connection observer, as \`serve\` wires them), started from a JSON file read with JSON.parse and validated with \`validateConfigValue\` (the schema and semantic checks of a file), because the file loader of \`serve\` refuses files over 16 MiB. Rules are mixed: AWS, Azure and GCP links, link + CIDR (IPv4 and IPv6) and CIDR-only rules, every identity unique; the payload's tenant is the first. Timings are medians of ${opts.compileRuns} launch(es), wall clock (and CPU time for the compile, less sensitive to other load); "listening" counts from process start (module loading through tsx included). RSS and heap after the listener is bound (heap after a full GC). Both run at \`log.level: warn\` (the comparison is about the rules) and without an admin endpoint. linkgate only: HAProxy 2.6 and the runtimes' floors have no endpoint policy to scale.

${markdownTable(
  [
    "policy",
    "tenants",
    "rules",
    "file MiB",
    "read + JSON.parse ms",
    "validate ms",
    "compile ms",
    "compile CPU ms",
    "listening after ms",
    "RSS MiB",
    "heap MiB",
    "conn/s (median)",
    "vs small",
    "p99 ms",
    "rounds (conn/s)",
  ],
  rows.map((r) => [
    r.name,
    fmt(r.tenants),
    fmt(r.rules),
    fmt(r.fileBytes / 2 ** 20, 1),
    fmt(r.readParseMs),
    fmt(r.validateMs),
    fmt(r.compileMs),
    fmt(r.compileCpuMs),
    fmt(r.startToListenMs),
    fmt(r.rssMiB),
    fmt(r.heapMiB),
    fmt(r.rate),
    ratio(r.rate, small.rate),
    fmt(ms(r.p99), 2),
    r.rates.map((x) => fmt(x)).join(", "),
  ]),
)}

\`linkgate check -c\` on the large file (the loader \`serve\` uses): exit ${check.code} after ${fmt(check.ms)} ms: \`${check.message}\`.${yaml === null ? "" : ` YAML loader (\`parseConfigText\`) on the large policy: ${yaml.ms === null ? `failed: ${yaml.message}` : `${fmt(yaml.ms)} ms`}.`}`);
  target(
    `${fmt(large.rules)} rules: compile <= 5 s`,
    `${fmt(large.compileMs / 1000, 2)} s`,
    large.compileMs <= 5000,
    `CPU ${fmt(large.compileCpuMs / 1000, 2)} s; before it, validate ${fmt(large.validateMs / 1000, 2)} s and read+parse ${fmt(large.readParseMs / 1000, 2)} s`,
  );
  target(
    `${fmt(large.rules)} rules: connection rate >= 0.95x the 10-tenant policy`,
    ratio(large.rate, small.rate),
    large.rate >= 0.95 * small.rate,
    `${fmt(large.rate)} vs ${fmt(small.rate)} conn/s`,
  );
}

if (results.denied !== undefined) {
  const rows = results.denied;
  const allowed = (s: SystemSpec) => byName(results.rate, s)?.rate;
  const d = rows.find((r) => r.spec.kind === "direct");
  const limit = d === undefined ? null : d.rate / 1.5;
  const best = Math.max(...rows.filter((r) => r.spec.kind !== "direct").map((r) => r.rate));
  const deniedBound =
    d === undefined
      ? "not checked (no direct system)"
      : d.rate >= 1.5 * best
        ? `direct ${fmt(d.rate)} closed conn/s = ${ratio(d.rate, best)} the best proxied rate (>= 1.5x): not generator-bound`
        : `direct ${fmt(d.rate)} closed conn/s is only ${ratio(d.rate, best)} the best proxied rate (< 1.5x): rates above ${fmt(limit)} are GENERATOR-BOUND`;
  const proof = (r: DeniedRow) =>
    r.spec.kind === "direct"
      ? "— (it is the backend)"
      : r.backendAccepted === null
        ? "unknown"
        : r.backendAccepted === 0 && r.forwarded === 0
          ? "0 (never dialled)"
          : `${r.backendAccepted} (DIALLED)`;
  sections.push(`### 5. Denied flood

${opts.concurrency} closed-loop clients sending connections the system must drop: the PROXY header of another VPC endpoint (valid CRC32C; linkgate denies after reading the ClientHello) or the captured header with a corrupted CRC32C (dropped at the header). Rate: connections the system closed per second (the client sent its bytes, then saw EOF or a reset). Each proxy has its own backend, whose accept counter is the proof that nothing was dialled. *direct* is the generator's limit for such connections: the backend reads the request and resets the connection at once (the cheapest close for the client; HAProxy's drops are resets too, linkgate's are FINs). HAProxy 2.6 cannot read the endpoint TLV, so it has no wrong-endpoint row (it would forward the connection); it does check the CRC32C. The runtimes' floors check neither (they would forward both payloads), so they have no row here.

${markdownTable(
  [
    "system",
    "payload",
    "closed conn/s (median)",
    "vs its allowed rate (workload 1)",
    "p99 ms",
    "backend connections",
    "rounds (conn/s)",
  ],
  rows.map((r) => [
    r.spec.kind === "direct" ? "direct (backend resets at once)" : systemLabel(r.spec),
    r.spec.kind === "direct" ? "(any)" : r.payload,
    fmt(r.rate) +
      (r.spec.kind !== "direct" && limit !== null && r.rate > limit ? " (generator-bound)" : ""),
    r.spec.kind === "direct" ? "—" : ratio(r.rate, allowed(r.spec)),
    fmt(ms(r.p99), 2),
    proof(r),
    r.rates.map((x) => fmt(x)).join(", "),
  ]),
)}

Generator check: ${deniedBound}.`);
  generatorChecks.push(`denied flood: ${deniedBound}`);
  for (const r of rows.filter((x) => x.spec.name === linkgate1?.name)) {
    const a = allowed(r.spec);
    target(
      `denied flood (${r.payload}) >= 2x the allowed rate, linkgate 1 process`,
      ratio(r.rate, a),
      a === undefined ? null : r.rate >= 2 * a,
      `${fmt(r.rate)} vs ${fmt(a)} conn/s; upstream dialled: ${r.backendAccepted === 0 && r.forwarded === 0 ? "never" : "YES"}`,
    );
  }
}

const targetTable = markdownTable(["target", "measured", "result", "detail"], targets);
const command = `npm run bench${process.argv.slice(2).length > 0 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}`;
const loadAfter = loadAverage();
const minutes = (Date.now() - startedAt) / 60_000;

log(`\n${sections.join("\n\n")}\n\n### Targets\n\n${targetTable}\n`);
for (const c of generatorChecks) log(`generator check, ${c}`);
log(
  `CPU taken by other programs (cores, average per workload, of ${cores}): ${contention.join(", ")}`,
);
log(`load average ${loadBefore} before, ${loadAfter} after; ${loads.join("; ")}`);
log(`${fmt(minutes, 1)} minutes`);
for (const n of notes) log(`note: ${n}`);

if (opts.writeDoc) {
  writeSection(
    "suite",
    `## linkgate vs HAProxy 2.6 vs the direct path (\`npm run bench\`)

Measured ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC on: ${machine}.
linkgate: ${linkgateVersion}. Command: \`${command}\` (${fmt(minutes, 1)} minutes).

- Load average ${loadBefore} before, ${loadAfter} after; per workload (1, 5, 15 min): ${loads.join("; ")}.
- CPU taken by other programs during each workload, in cores of ${cores} (machine busy time
  minus the suite's own processes): ${contention.join(", ")}. Anything well above 0 means the
  machine was shared: rates are then lower and noisier than on a quiet machine; CPU time per
  connection is less affected.
- Everything runs on loopback, on the same ${cores} cores: the generator, the backend and the
  system under test share them, so absolute figures are pessimistic and the ratios between
  systems measured in the same run are what counts. Rounds are interleaved (A B C A B C ...);
  tables give medians and every round.

**Systems.**

- *direct*: the generator talks to the backend, no proxy (the physical limit here).
- *HAProxy* (Debian's 2.6 package, \`nbthread\` 1 and 2, no logging): \`tcp-request connection
  reject unless { src ${TRUSTED_PROXIES.join(" ")} }\` then \`tcp-request connection expect-proxy
  layer4\` (the PROXY header only from the trusted load balancers, as linkgate's
  \`trustedProxies\`; HAProxy has the peer's address from accept(2)), \`tcp-request
  inspect-delay 5s\`, \`tcp-request content accept if { req.ssl_hello_type 1 }\`,
  \`use_backend %[req.ssl_sni,lower,map(tenants.map)]\` over the same 10 host names,
  \`server ...${opts.upstreamProxy === "v2" ? " send-proxy-v2" : ""}\`. This is the closest HAProxy 2.6
  gets: **it cannot read the PROXY v2 TLVs** (\`fc_pp_tlv\` arrived in 2.9), so it routes on the
  SNI alone and would forward any VPC endpoint; it does verify the CRC32C.
- *floor* (Node.js ${process.version}): \`bench/floor/node.ts\`, the least a Node.js proxy must do
  for an allowed connection, in plain \`node:net\` (under 150 lines, no loader): drop the
  connection unless its TCP peer is in ${TRUSTED_PROXIES.join(", ")} (linkgate's \`trustedProxies\`; reading the
  peer's address is a getpeername(2) on Node.js and on Bun), read the whole
  PROXY v2 header and the first TLS record, look for the accepted host names' bytes (the same 10
  as HAProxy's map) in it, connect, write a fresh PROXY header and the bytes as received, relay
  with backpressure and half-close; no policy, deadlines, logs or metrics. linkgate's "CPU vs
  floor" is its own cost over the runtime's. It checks no endpoint and no CRC32C, so it is not
  in the policy-scale and denied-flood workloads.
- *floor on linkgate's engine* (Node.js, Bun): \`bench/floor/engine.ts\`, the same work on the
  socket layer linkgate's data plane uses (\`src/dataplane/engines\`, from dist/), and nothing
  else of linkgate. Its CPU over its runtime's floor is what linkgate's engine adds (or saves);
  linkgate's over it is what the rest of linkgate adds: decoders, policy, deadlines, registry,
  the connection line, metrics. Compared with the same native floor as linkgate on that runtime.
- *linkgate*: \`node bin/linkgate.js serve\` (the built JS; \`--workers N\` for the multi-core
  rows) with a \`privatelink\` listener (PROXY header required from ${TRUSTED_PROXIES.join(", ")}), 10 tenants /
  100 mixed rules, the payload's tenant allowing its VPC endpoint, as deployed: \`log.level:
  info\` (a JSON line per connection on stdout, a pipe the suite drains and counts) and the admin
  endpoint, whose \`/metrics\` the suite scrapes halfway through every measured round.${systems.some((s) => s.kind === "linkgate" && s.logLevel === "warn") ? " Rows marked *log warn* ran at `log.level: warn` (no line per connection)." : ""}
- The three proxies send the backend ${opts.upstreamProxy === "v2" ? "a fresh PROXY v2 header (`upstreamProxyProtocol: v2`, `send-proxy-v2`, the floor's TCP4 header): a backend behind any of them needs it to learn the client, so this is the fair setting; linkgate's also carries the tenant and endpoint TLVs" : "no header (`upstreamProxyProtocol: none`, no send-proxy)"}.
${notes.map((n) => `- ${n}\n`).join("")}
**Load.** \`bench/native/lgbench.c\` (epoll, one thread per process, built with \`cc -O2\`) is the
generator and the backend. Payload: the captured AWS PrivateLink PROXY v2 header
(${payloads.headerBytes} B, CRC32C, \`vpce-08d2bf15fac5001c9\`) + a real Chromium ClientHello
(${payloads.helloBytes} B, SNI \`${payloads.sni}\`). Generator check: the direct path must reach
1.5x the best proxied figure of the same run, else figures above direct / 1.5 are marked
generator-bound. This run:

${generatorChecks.map((c) => `- ${c}`).join("\n") || "- not checked"}

${sections.join("\n\n")}

### Targets

${targetTable}
`,
  );
  log("docs/BENCHMARKS.md updated (section suite)");
}
