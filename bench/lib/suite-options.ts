/**
 * The command line of `npm run bench` (bench/suite.ts): workloads, systems, rounds, sizes.
 * Pure: parsing and defaults only, so that test/bench can check it without starting anything.
 */

export const WORKLOADS = ["rate", "bulk", "idle", "policy", "denied"] as const;
export type Workload = (typeof WORKLOADS)[number];

/**
 * Runtimes whose minimal proxy (bench/floor/) the suite can run as `floor-<runtime>`: the least
 * that runtime costs for the work linkgate does on an allowed connection. `bun` is the Node.js
 * floor run by Bun (its node:net), `bun-native` the same work on Bun's own sockets.
 * `node-engine` and `bun-engine` do the same work on linkgate's own engine (bench/floor/engine.ts):
 * between a floor and linkgate, they tell the engine's part from the rest of linkgate's.
 */
export const FLOOR_RUNTIMES = ["node", "bun", "bun-native", "node-engine", "bun-engine"] as const;
export type FloorRuntime = (typeof FLOOR_RUNTIMES)[number];

/** A system under test, parsed from its name. */
export type SystemSpec =
  | { name: "direct"; kind: "direct" }
  | { name: string; kind: "haproxy"; threads: number }
  | { name: string; kind: "floor"; runtime: FloorRuntime }
  | {
      name: string;
      kind: "linkgate";
      /** The data plane's engine (`serve --engine`): the -bun systems run linkgate on Bun. */
      engine: "node" | "bun";
      workers: number;
      /** info: one line per connection, as in production; warn: lifecycle and errors only. */
      logLevel: "info" | "warn";
      /**
       * Another build of linkgate to run instead of this checkout's (`linkgate@DIR`): a
       * checkout or worktree with its own node_modules and dist/, for A/B runs of two commits
       * under the same load. null: this checkout.
       */
      build: string | null;
    };

export interface SuiteOptions {
  quick: boolean;
  workloads: Workload[];
  /** Systems in the order they are interleaved; `null` workers count means auto-detect. */
  systems: SystemSpec[];
  /** Whether --systems was given (else linkgate-wN is included only if serve supports it). */
  systemsExplicit: boolean;
  rounds: number;
  /** Seconds per system per round (connection rate and denied flood). */
  seconds: number;
  /** Seconds of unrecorded load per system before the first round. */
  warmup: number;
  concurrency: number;
  /** Generator processes sharing the concurrency. */
  generators: number;
  bulkBytes: number;
  bulkRounds: number;
  idleConnections: number;
  idleRounds: number;
  tenants: number;
  rules: number;
  /** Separate launches timed for the compile figures. */
  compileRuns: number;
  /** What linkgate and HAProxy send upstream. */
  upstreamProxy: "v2" | "none";
  build: boolean;
  writeDoc: boolean;
  keepTmp: boolean;
  /** Profile linkgate (single process) during the connection-rate rounds. */
  cpuProf: boolean;
  /** Also time the YAML loader (parseConfigText, what `serve` uses) on the large policy. */
  yamlLoad: boolean;
  help: boolean;
}

export const DEFAULT_SYSTEMS = [
  "direct",
  "haproxy-t1",
  "haproxy-t2",
  "floor-node",
  "floor-node-engine",
  "floor-bun-native",
  "floor-bun-engine",
  "linkgate",
  "linkgate-w2",
  "linkgate-bun",
];

export const USAGE = `npm run bench [-- options]      full run, rewrites the "suite" section of docs/BENCHMARKS.md
npm run bench:quick [-- options] smoke run (small sizes, short rounds), does not write the doc

  --workloads LIST       ${WORKLOADS.join(",")} (default: all)
  --systems LIST         ${DEFAULT_SYSTEMS.join(",")}
                         (default: these; linkgate-wN only when \`linkgate serve --workers\` exists).
                         haproxy-tN = nbthread N; floor-RUNTIME = that runtime's minimal proxy
                         (${FLOOR_RUNTIMES.join(", ")}); linkgate-wN = serve --workers N; linkgate-bun
                         = serve --engine bun (also -bun-wN). linkgate logs a line per
                         connection (log.level info) and serves /metrics; linkgate-quiet and
                         linkgate-wN-quiet run at log.level warn. Any linkgate system with
                         @DIR runs the build in DIR (a checkout or \`git worktree\` of another
                         commit, after \`npm ci && npm run build\` there) instead of this one:
                         A/B runs, e.g. --workloads rate --systems linkgate@../before,linkgate
  --rounds N             interleaved rounds (rate, denied, policy) (default 5; quick 2)
  --seconds S            seconds per system per round (default 5; quick 2)
  --warmup S             unrecorded seconds per system before round 1 (default 2; quick 1)
  --concurrency N        closed-loop connections (default 50)
  --generators N         generator processes sharing them (default 1)
  --bulk-bytes SIZE      bytes per bulk transfer, e.g. 2GiB (default 2GiB; quick 256MiB)
  --bulk-rounds N        (default 3; quick 1)
  --idle-connections N   held connections (default 10000, capped by the file descriptor limit; quick 2000)
  --idle-rounds N        (default 3; quick 1)
  --tenants N --rules N  large policy (default 100000 and 1000000; quick 10000 and 100000)
  --compile-runs N       launches timed for the compile figures (default 3; quick 1)
  --upstream-proxy v2|none   header sent to the backend by linkgate and HAProxy (default v2)
  --no-build             do not run \`npm run build\` first
  --write-doc / --no-doc  rewrite docs/BENCHMARKS.md (default: yes, except with --quick)
  --keep-tmp             keep the temporary directory (configs, logs, profiles)
  --cpu-prof             profile linkgate during the rate rounds; prints the top functions
  --yaml-load            also time the YAML loader on the large policy (slow)
  --help`;

/** "2GiB", "256MiB", "1e9", "4096" -> bytes. */
export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?(?:e\d+)?)\s*(k|kb|kib|m|mb|mib|g|gb|gib)?$/i.exec(text.trim());
  if (m === null) throw new Error(`not a size: ${JSON.stringify(text)} (e.g. 2GiB, 256MiB)`);
  const unit = (m[2] ?? "").toLowerCase();
  const mult: Record<string, number> = {
    "": 1,
    k: 1024,
    kib: 1024,
    kb: 1000,
    m: 2 ** 20,
    mib: 2 ** 20,
    mb: 1e6,
    g: 2 ** 30,
    gib: 2 ** 30,
    gb: 1e9,
  };
  const n = Math.round(Number(m[1]) * mult[unit]);
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`not a size: ${JSON.stringify(text)}`);
  return n;
}

export function parseSystem(name: string): SystemSpec {
  if (name === "direct") return { name, kind: "direct" };
  let m = /^haproxy-t([1-9][0-9]?)$/.exec(name);
  if (m !== null) return { name, kind: "haproxy", threads: Number(m[1]) };
  m = /^floor-([a-z0-9-]+)$/.exec(name);
  const runtime = FLOOR_RUNTIMES.find((r) => r === m?.[1]);
  if (runtime !== undefined) return { name, kind: "floor", runtime };
  m = /^linkgate(-bun)?(?:-w([1-9][0-9]?))?(-quiet)?(?:@(.+))?$/.exec(name);
  if (m !== null) {
    const engine = m[1] === undefined ? "node" : "bun";
    const logLevel = m[3] === undefined ? "info" : "warn";
    const build = m[4] ?? null;
    return { name, kind: "linkgate", engine, workers: Number(m[2] ?? 1), logLevel, build };
  }
  throw new Error(
    `unknown system ${JSON.stringify(name)}: direct, haproxy-tN (nbthread N), ${FLOOR_RUNTIMES.map((r) => `floor-${r}`).join(", ")}, linkgate, linkgate-wN (--workers N), linkgate[-wN]-quiet, linkgate-bun[-wN][-quiet] (on Bun), each with an optional @DIR (another build)`,
  );
}

function integer(flag: string, text: string | undefined, min: number): number {
  if (text === undefined || !/^\d+$/.test(text) || Number(text) < min) {
    throw new Error(`${flag} needs an integer >= ${min}`);
  }
  return Number(text);
}

function seconds(flag: string, text: string | undefined): number {
  const n = Number(text);
  if (text === undefined || !Number.isFinite(n) || n < 0) {
    throw new Error(`${flag} needs a number of seconds`);
  }
  return n;
}

/** Parses the arguments after `--`; throws an Error with a message for the user. */
export function parseSuiteArgs(argv: readonly string[]): SuiteOptions {
  const quick = argv.includes("--quick");
  const o: SuiteOptions = {
    quick,
    workloads: [...WORKLOADS],
    systems: DEFAULT_SYSTEMS.map(parseSystem),
    systemsExplicit: false,
    rounds: quick ? 2 : 5,
    seconds: quick ? 2 : 5,
    warmup: quick ? 1 : 2,
    concurrency: 50,
    generators: 1,
    bulkBytes: quick ? 256 * 2 ** 20 : 2 * 2 ** 30,
    bulkRounds: quick ? 1 : 3,
    idleConnections: quick ? 2000 : 10_000,
    idleRounds: quick ? 1 : 3,
    tenants: quick ? 10_000 : 100_000,
    rules: quick ? 100_000 : 1_000_000,
    compileRuns: quick ? 1 : 3,
    upstreamProxy: "v2",
    build: true,
    writeDoc: !quick,
    keepTmp: false,
    cpuProf: false,
    yamlLoad: false,
    help: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = (): string | undefined => argv[++i];
    switch (flag) {
      case "--quick":
        break;
      case "--help":
      case "-h":
        o.help = true;
        break;
      case "--workloads": {
        const list = (value() ?? "").split(",").filter((w) => w !== "");
        for (const w of list) {
          if (!(WORKLOADS as readonly string[]).includes(w)) {
            throw new Error(`unknown workload ${JSON.stringify(w)}: ${WORKLOADS.join(", ")}`);
          }
        }
        if (list.length === 0) throw new Error("--workloads needs a list");
        o.workloads = WORKLOADS.filter((w) => list.includes(w));
        break;
      }
      case "--systems": {
        const list = (value() ?? "").split(",").filter((s) => s !== "");
        if (list.length === 0) throw new Error("--systems needs a list");
        if (new Set(list).size !== list.length) throw new Error("--systems lists a system twice");
        o.systems = list.map(parseSystem);
        o.systemsExplicit = true;
        break;
      }
      case "--rounds":
        o.rounds = integer(flag, value(), 1);
        break;
      case "--seconds":
        o.seconds = seconds(flag, value());
        if (o.seconds <= 0) throw new Error("--seconds must be positive");
        break;
      case "--warmup":
        o.warmup = seconds(flag, value());
        break;
      case "--concurrency":
        o.concurrency = integer(flag, value(), 1);
        break;
      case "--generators":
        o.generators = integer(flag, value(), 1);
        break;
      case "--bulk-bytes":
        o.bulkBytes = parseSize(value() ?? "");
        break;
      case "--bulk-rounds":
        o.bulkRounds = integer(flag, value(), 1);
        break;
      case "--idle-connections":
        o.idleConnections = integer(flag, value(), 1);
        break;
      case "--idle-rounds":
        o.idleRounds = integer(flag, value(), 1);
        break;
      case "--tenants":
        o.tenants = integer(flag, value(), 10);
        break;
      case "--rules":
        o.rules = integer(flag, value(), 1);
        break;
      case "--compile-runs":
        o.compileRuns = integer(flag, value(), 1);
        break;
      case "--upstream-proxy": {
        const v = value();
        if (v !== "v2" && v !== "none") throw new Error("--upstream-proxy is v2 or none");
        o.upstreamProxy = v;
        break;
      }
      case "--no-build":
        o.build = false;
        break;
      case "--write-doc":
        o.writeDoc = true;
        break;
      case "--no-doc":
        o.writeDoc = false;
        break;
      case "--keep-tmp":
        o.keepTmp = true;
        break;
      case "--cpu-prof":
        o.cpuProf = true;
        break;
      case "--yaml-load":
        o.yamlLoad = true;
        break;
      default:
        throw new Error(`unknown option ${JSON.stringify(flag)}`);
    }
  }
  if (o.generators > o.concurrency) throw new Error("--generators exceeds --concurrency");
  if (o.rules < o.tenants) throw new Error("--rules must be at least --tenants (one rule each)");
  return o;
}

/** The largest number of proxied connections one process can hold: two descriptors each. */
export function idleCapacity(fdLimit: number, reserve = 100): number {
  return Math.max(1, Math.floor((fdLimit - reserve) / 2));
}
