/**
 * A linkgate data plane for the policy-scale workload, started from a configuration file the
 * way `linkgate serve` starts one (its V8 settings, metrics and the connection observer included, logs at the
 * file's level), but timing each step and without the 16 MiB cap of the file loader, which a
 * 1,000,000-rule file exceeds. Runs the built JavaScript (dist/), as `serve` does.
 *
 *   node --expose-gc --import tsx bench/lib/policy-gateway.ts --config FILE.json
 *        [--loader json|yaml] [--exit-after-ready]
 *
 * --loader json (default): JSON.parse, then the same schema and semantic validation as a file
 * (validateConfigValue); yaml: parseConfigText, the YAML loader `serve` uses (with positions).
 * Prints one JSON line {"event":"ready", ...timings in ms (wall, and CPU for loading and
 * compiling), rss and heap in bytes} once the listener is bound, then serves until SIGTERM/SIGINT.
 */
import { existsSync, readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";

type ConfigModule = typeof import("../../src/config/index.js");
type PolicyModule = typeof import("../../src/policy/index.js");
type DataplaneModule = typeof import("../../src/dataplane/index.js");
type ObservabilityModule = typeof import("../../src/observability/index.js");
type HeapModule = typeof import("../../src/runtime/v8-heap.js");

// The built modules, as `serve` runs them; the sources (through tsx) if there is no build.
const built = existsSync(fileURLToPath(new URL("../../dist/config/index.js", import.meta.url)));
const dist = (path: string) =>
  new URL(
    built ? `../../dist/${path}` : `../../src/${path.replace(/\.js$/, ".ts")}`,
    import.meta.url,
  ).href;

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const at = (flag: string) => {
    const i = args.indexOf(flag);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const file = at("--config");
  if (file === undefined) throw new Error("--config FILE is required");
  const loader = at("--loader") ?? "json";
  const exitAfterReady = args.includes("--exit-after-ready");

  // As `serve` does before it reads its configuration (src/runtime/v8-heap.ts).
  const { tuneHeapForConnections }: HeapModule = await import(dist("runtime/v8-heap.js"));
  tuneHeapForConnections();
  const { parseConfigText, validateConfigValue }: ConfigModule = await import(
    dist("config/index.js")
  );
  const { CompiledPolicy }: PolicyModule = await import(dist("policy/index.js"));
  const { Gateway }: DataplaneModule = await import(dist("dataplane/index.js"));
  const { connectionObserver, createLogger, Metrics }: ObservabilityModule = await import(
    dist("observability/index.js")
  );
  const gc = (globalThis as { gc?: () => void }).gc;

  const t0 = performance.now();
  const text = readFileSync(file, "utf8");
  const t1 = performance.now();
  const cpu1 = process.cpuUsage();
  let parseMs: number;
  let validateMs: number;
  let result: ReturnType<ConfigModule["validateConfigValue"]>;
  if (loader === "yaml") {
    result = parseConfigText(text, file);
    parseMs = performance.now() - t1;
    validateMs = 0; // included: the YAML loader parses and validates in one call
  } else {
    const value: unknown = JSON.parse(text);
    const t2 = performance.now();
    parseMs = t2 - t1;
    result = validateConfigValue(value, file);
    validateMs = performance.now() - t2;
  }
  const v = process.cpuUsage(cpu1);
  const loadCpuMs = (v.user + v.system) / 1000; // parse + validate
  if (!result.ok) {
    throw new Error(`invalid configuration: ${JSON.stringify(result.errors.slice(0, 5))}`);
  }
  const t3 = performance.now();
  const cpu3 = process.cpuUsage();
  const policy = new CompiledPolicy(result.config);
  const compileMs = performance.now() - t3;
  const c = process.cpuUsage(cpu3);
  const compileCpuMs = (c.user + c.system) / 1000;

  const logger = createLogger(result.config.log);
  const metrics = new Metrics();
  metrics.policyReloaded(true, policy.tenants.size, policy.ruleCount);
  const gateway = new Gateway({ policy, observer: connectionObserver({ metrics, logger }) });
  const t4 = performance.now();
  const bound = await gateway.start();
  const listenMs = performance.now() - t4;
  const sinceStartMs = performance.now(); // performance.now() counts from process start
  const rssBeforeGc = process.memoryUsage().rss;
  gc?.();
  const mem = process.memoryUsage();
  process.stdout.write(
    `${JSON.stringify({
      event: "ready",
      loader,
      fileBytes: Buffer.byteLength(text),
      tenants: policy.tenants.size,
      rules: policy.ruleCount,
      readMs: t1 - t0,
      parseMs,
      validateMs,
      compileMs,
      loadCpuMs,
      compileCpuMs,
      listenMs,
      sinceStartMs,
      rssBeforeGc,
      rss: mem.rss,
      heapUsed: mem.heapUsed,
      gcExposed: gc !== undefined,
      built,
      listeners: bound,
    })}\n`,
  );
  if (exitAfterReady) {
    await gateway.stop(0);
    return;
  }
  await new Promise<void>((resolve) => {
    const stop = () => void gateway.stop(0).then(() => resolve());
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
  });
}

main().then(
  () => process.exit(0),
  (error: Error) => {
    process.stderr.write(`policy-gateway: ${error.stack ?? error.message}\n`);
    process.exit(1);
  },
);
