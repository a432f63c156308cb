/**
 * `npm run stress [-- options]`: the adversarial and fault suite (docs/RELIABILITY.md). Runs
 * linkgate from its build (dist/, built first) as a real process on 127.0.0.0/8, one scenario at
 * a time; each is bounded in time and size, prints what it tries, a one-line summary and a JSON
 * result, and fails on a crash, a leak, a wrong decision or a connection ended without its
 * reason. Exits 1 if any scenario failed.
 *
 *   --quick             the short variants (npm run stress:quick; CI runs those in test/stress/)
 *   --only NAMES        comma-separated scenario names (default: all)
 *   --soak-minutes N    the soak's duration (default 10; quick: 20 s)
 *   --fuzz-inputs N     the fuzz scenario's inputs per parser (default 200000; quick: 5000)
 *   --node              use loadgen.ts even where lgbench can be built
 *   --no-build          use dist/ as it is
 */
import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { installCleanup } from "../lib/procs.js";
import { loadAverage, machineDescription } from "../lib/report.js";
import { type RunOptions, runScenario, type ScenarioResult } from "./lib/scenario.js";
import { prepareTools, ROOT } from "./lib/tools.js";
import { SCENARIOS } from "./scenarios/index.js";

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    only: { type: "string" },
    "soak-minutes": { type: "string" },
    "fuzz-inputs": { type: "string" },
    node: { type: "boolean", default: false },
    "no-build": { type: "boolean", default: false },
  },
});

const names = values.only?.split(",");
for (const n of names ?? []) {
  if (!SCENARIOS.some((s) => s.name === n)) {
    throw new Error(`no scenario ${n}; scenarios: ${SCENARIOS.map((s) => s.name).join(", ")}`);
  }
}
const selected = names === undefined ? SCENARIOS : SCENARIOS.filter((s) => names.includes(s.name));

if (!values["no-build"]) {
  const r = spawnSync("npm", ["run", "build"], { cwd: ROOT, stdio: "inherit" });
  if (r.status !== 0) throw new Error("npm run build failed");
}
const dir = join(ROOT, ".bench-tmp/stress");
const tools = prepareTools(dir, values.node);
installCleanup(() => rmSync(dir, { recursive: true, force: true }));

const options: RunOptions = {
  size: values.quick ? "quick" : "full",
  tools,
  soakSeconds:
    values["soak-minutes"] === undefined ? undefined : Number(values["soak-minutes"]) * 60,
  fuzzInputs: values["fuzz-inputs"] === undefined ? undefined : Number(values["fuzz-inputs"]),
};
process.stdout.write(
  `stress: ${selected.length} scenario(s), ${values.quick ? "quick" : "full"}; load: ${tools.kind}; machine: ${machineDescription()}; load average ${loadAverage()}\n`,
);
const results: ScenarioResult[] = [];
for (const s of selected) results.push(await runScenario(s, options));

process.stdout.write("\nstress summary:\n");
for (const r of results)
  process.stdout.write(
    `  ${r.ok ? "PASS" : "FAIL"} ${r.scenario} (${r.seconds} s): ${r.summary}\n`,
  );
process.stdout.write(
  `${JSON.stringify({ stressRun: { quick: values.quick, load: tools.kind, node: process.version, passed: results.filter((r) => r.ok).length, failed: results.filter((r) => !r.ok).map((r) => r.scenario) } })}\n`,
);
process.exitCode = results.every((r) => r.ok) ? 0 : 1;
