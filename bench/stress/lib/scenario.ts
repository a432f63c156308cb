/**
 * What every stress scenario shares: its bounds, its record (what it tried, its figures, its
 * failures), the configuration of linkgate it runs, the payloads, and the leak check.
 *
 * A scenario fails on: linkgate crashing (or exiting when it should not), fds, the connection
 * registry, timers or heap not returning to their baseline afterwards (a leak), a wrong decision
 * (an allowed connection denied or a denied one allowed), a connection line without a valid
 * reason. Each scenario adds its own checks; `expect` records a failure and carries on, so one
 * run reports every problem it saw.
 */
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { AWS_LINK, buildPayloads, OTHER_LINK, type Payloads } from "../../lib/payloads.js";
import { cpuAccounting, killAll } from "../../lib/procs.js";
import type { Holdings, Linkgate } from "./linkgate.js";
import { payloadFile, type Tools } from "./tools.js";

/** ci: test/stress (seconds each); quick: npm run stress:quick; full: npm run stress. */
export type Size = "ci" | "quick" | "full";

/** A value for each size; `ci` defaults to `quick`'s. */
export interface BySize<T> {
  ci?: T;
  quick: T;
  full: T;
}

export function bySize<T>(size: Size, v: BySize<T>): T {
  return size === "ci" ? (v.ci ?? v.quick) : v[size];
}

export interface RunOptions {
  size: Size;
  tools: Tools;
  /** Soak duration in seconds (full run). */
  soakSeconds?: number;
  /** Fuzz budget per target (full run). */
  fuzzInputs?: number;
  /** Print nothing (tests report the result themselves). */
  quiet?: boolean;
}

export interface ScenarioResult {
  scenario: string;
  ok: boolean;
  seconds: number;
  /** One line: what was tried and what happened. */
  summary: string;
  tried: string[];
  figures: Record<string, unknown>;
  failures: string[];
}

export class Context {
  readonly options: RunOptions;
  readonly dir: string;
  readonly tried: string[] = [];
  readonly figures: Record<string, unknown> = {};
  readonly failures: string[] = [];
  summary = "";
  #payloads: Payloads | null = null;
  readonly #started = performance.now();

  constructor(options: RunOptions, dir: string) {
    this.options = options;
    this.dir = dir;
  }

  /** The value for the size this run has. */
  pick<T>(v: BySize<T>): T {
    return bySize(this.options.size, v);
  }

  /** Seconds of allowed traffic that warm linkgate up before its baseline is taken. */
  get warmUpSeconds(): number {
    return this.pick({ ci: 0.5, quick: 1, full: 2 });
  }

  get tools(): Tools {
    return this.options.tools;
  }

  /** Records a failure unless `condition` holds. */
  expect(condition: boolean, failure: string): boolean {
    if (!condition) this.failures.push(failure);
    return condition;
  }

  try(what: string): void {
    this.tried.push(what);
    this.say(`  - [${((performance.now() - this.#started) / 1000).toFixed(1)} s] ${what}`);
  }

  /** A line of progress on stdout (none when quiet). */
  say(line: string): void {
    if (!this.options.quiet) process.stdout.write(`${line}\n`);
  }

  figure(name: string, value: unknown): void {
    this.figures[name] = value;
  }

  /** The load generator's payloads (bench/lib/payloads.ts), written to files once. */
  get payloads(): Payloads {
    this.#payloads ??= buildPayloads();
    return this.#payloads;
  }

  #files = new Map<string, string>();
  /** A payload as a file, for the load tools. */
  file(name: string, bytes: Buffer): string {
    let f = this.#files.get(name);
    if (f === undefined) {
      f = payloadFile(this.tools, name, bytes);
      this.#files.set(name, f);
    }
    return f;
  }
}

export interface Scenario {
  name: string;
  /** What it does, in one sentence (docs/RELIABILITY.md has the details). */
  title: string;
  /** The bound on the whole scenario, in seconds. */
  limitSeconds(o: RunOptions): number;
  run(ctx: Context): Promise<void>;
}

/**
 * Runs one scenario within its time limit; whatever happens, every child it started is killed
 * and its directory removed. Prints what it tries as it goes, then a one-line summary.
 */
export async function runScenario(s: Scenario, options: RunOptions): Promise<ScenarioResult> {
  const dir = join(options.tools.dir, s.name);
  mkdirSync(dir, { recursive: true });
  const ctx = new Context(options, dir);
  const started = performance.now();
  const cpu0 = cpuAccounting();
  const limit = s.limitSeconds(options);
  ctx.say(`${s.name}: ${s.title} (at most ${limit} s)`);
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      s.run(ctx),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`did not finish within ${limit} s`)),
          limit * 1000,
        );
      }),
    ]);
  } catch (error) {
    ctx.failures.push(`aborted: ${(error as Error).message.split("\n").slice(0, 6).join(" | ")}`);
  } finally {
    clearTimeout(timer);
    // The CPU other programs took meanwhile, in cores: the load the figures were measured under.
    const cpu1 = cpuAccounting();
    const wall = (performance.now() - started) / 1000;
    ctx.figure(
      "otherLoadCores",
      Math.round(((cpu1.machine - cpu0.machine - (cpu1.ours - cpu0.ours)) / wall) * 100) / 100,
    );
    killAll();
    rmSync(dir, { recursive: true, force: true });
  }
  const result: ScenarioResult = {
    scenario: s.name,
    ok: ctx.failures.length === 0,
    seconds: Math.round((performance.now() - started) / 100) / 10,
    summary: ctx.summary,
    tried: ctx.tried,
    figures: ctx.figures,
    failures: ctx.failures,
  };
  ctx.say(`${result.ok ? "PASS" : "FAIL"} ${s.name} (${result.seconds} s): ${result.summary}`);
  for (const f of result.failures) ctx.say(`  failure: ${f}`);
  ctx.say(JSON.stringify({ stress: result }));
  return result;
}

// ---------------------------------------------------------------------------------------------
// linkgate's configuration in the scenarios

export interface ConfigOptions {
  headerTimeout?: string;
  idleTimeout?: string;
  connectTimeout?: string;
  drainTimeout?: string;
  upstream: string;
  /** Tenants beyond the payload's, each with two rules (reload storms vary this). */
  extraTenants?: number;
  /** Tenants added as they are (a tenant with its own upstream, say). */
  tenants?: object[];
}

/**
 * One `pl` listener on 127.0.0.1 (PROXY header required from 127.0.0.0/8), the payload's tenant
 * allowing its VPC endpoint, every connection logged (the denial budget out of the way: the
 * suite checks every line).
 */
export function linkgateConfig(ctx: Context, o: ConfigOptions): object {
  const sni = ctx.payloads.sni;
  const dot = sni.indexOf(".");
  const tenants: object[] = [{ id: sni.slice(0, dot), allow: { rules: [{ link: AWS_LINK }] } }];
  tenants.push(...(o.tenants ?? []));
  for (let i = 0; i < (o.extraTenants ?? 0); i++) {
    tenants.push({
      id: `extra${i}`,
      allow: { rules: [{ link: `azure:${1000 + i}` }, { cidr: `10.${i % 250}.0.0/16` }] },
    });
  }
  return {
    listeners: [
      {
        name: "pl",
        bind: "127.0.0.1:0",
        proxyProtocol: "required",
        trustedProxies: ["127.0.0.0/8"],
        headerTimeout: o.headerTimeout ?? "5s",
        idleTimeout: o.idleTimeout ?? "1h",
      },
    ],
    routing: {
      hostPatterns: [`{tenant}.${sni.slice(dot + 1)}`],
      upstream: o.upstream,
      upstreamProxyProtocol: "v2",
      connectTimeout: o.connectTimeout ?? "5s",
    },
    log: { level: "info", deniedLinesPerSecond: 1_000_000 },
    shutdown: { drainTimeout: o.drainTimeout ?? "2s" },
    tenants,
  };
}

export { AWS_LINK, OTHER_LINK };

// ---------------------------------------------------------------------------------------------
// Leaks

/**
 * What linkgate holds once the connections of a warm-up have ended (nothing registered, the
 * same sockets and descriptors twice in a row): the baseline of the leak check.
 */
export async function idleHoldings(lg: Linkgate, timeoutMs = 5000): Promise<Holdings> {
  const deadline = Date.now() + timeoutMs;
  let before = await lg.holdings();
  for (;;) {
    await sleep(100);
    const h = await lg.holdings();
    const settled = h.registry === 0 && h.sockets === before.sockets && h.fds === before.fds;
    if (settled || Date.now() > deadline) return h;
    before = h;
  }
}

/** What linkgate holds, in a few words, for the scenario's figures. */
function holdingsText(h: Holdings): string {
  return `${h.fds} fds, ${h.registry} registered, ${h.timers} timers, ${h.sockets} sockets, heap ${h.heapMiB} MiB, buffers ${h.buffersMiB} MiB, RSS ${h.rssMiB} MiB`;
}

/**
 * Waits (up to `timeoutMs`) for linkgate to hold no more than at `baseline`: descriptors,
 * sockets, timers, an empty registry, the heap within `heapSlackMiB` (after a full GC); records a
 * failure for what did not come back. RSS is reported, not checked: V8 and the allocator keep
 * freed memory, so RSS is the soak's business (growth over time), not a single scenario's.
 */
export async function expectNoLeak(
  ctx: Context,
  lg: Linkgate,
  baseline: Holdings,
  heapSlackMiB = 16,
  timeoutMs = 15_000,
): Promise<Holdings> {
  const deadline = Date.now() + timeoutMs;
  let h = await lg.holdings();
  const back = (x: Holdings) =>
    x.fds <= baseline.fds &&
    x.sockets <= baseline.sockets &&
    x.timers <= baseline.timers &&
    x.registry === 0 &&
    x.heapMiB <= baseline.heapMiB + heapSlackMiB;
  while (!back(h) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    h = await lg.holdings();
  }
  ctx.figure("baseline", holdingsText(baseline));
  ctx.figure("after", holdingsText(h));
  ctx.expect(
    h.fds <= baseline.fds,
    `leak: ${h.fds} descriptors afterwards, ${baseline.fds} before`,
  );
  ctx.expect(
    h.sockets <= baseline.sockets,
    `leak: ${h.sockets} TCP sockets afterwards, ${baseline.sockets} before`,
  );
  ctx.expect(
    h.timers <= baseline.timers,
    `leak: ${h.timers} timers afterwards, ${baseline.timers} before`,
  );
  ctx.expect(h.registry === 0, `leak: ${h.registry} connections still in the registry`);
  ctx.expect(
    h.heapMiB <= baseline.heapMiB + heapSlackMiB,
    `leak: heap ${h.heapMiB} MiB after a GC, ${baseline.heapMiB} MiB before`,
  );
  return h;
}

/**
 * linkgate is still running, and every connection line it wrote was well formed. Every peer of
 * the suite is on 127.0.0.0/8, which the listener trusts: PP_UNTRUSTED_PEER is a wrong reason.
 */
export function expectHealthy(ctx: Context, lg: Linkgate): void {
  ctx.expect(lg.running, `linkgate exited (${lg.proc.exitCode}): ${lg.stderr.slice(-800)}`);
  ctx.expect(
    lg.lines.malformed.length === 0,
    `connection lines without a valid decision or reason: ${lg.lines.malformed.slice(0, 3).join(" | ")}`,
  );
  const untrusted = lg.lines.count("drop PP_UNTRUSTED_PEER");
  ctx.expect(
    untrusted === 0,
    `${untrusted} connections from trusted peers (127.0.0.0/8) were logged PP_UNTRUSTED_PEER`,
  );
}

export function ms(us: number): number {
  return Math.round(us / 10) / 100;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Waits for `check` to hold, polling; false if it did not within `timeoutMs`. */
export async function until(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  everyMs = 50,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await sleep(everyMs);
  }
}
