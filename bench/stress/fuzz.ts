/**
 * `npm run fuzz [-- options]`: each parser under fast-check for a budget of inputs and of time,
 * whichever runs out first; one target at a time (test/fuzz/targets.ts).
 *
 *   --inputs N       inputs per target (default 1000000; the long run is 10000000)
 *   --seconds S      time per target (default 3600)
 *   --target NAMES   comma-separated: proxy-v1, proxy-v2, client-hello, config (default all)
 *   --seed N         first seed (default: random); batch i runs with seed N + i
 *
 * Inputs run in batches of BATCH, each with its own seed, so a failure is reproducible from the
 * seed printed with it. A failing input is shrunk by fast-check, written to test/fuzz/vectors/
 * (replayed by `npm test` from then on), and stops its target; the run then exits 1.
 * Prints a progress line every 10 s, one summary line per target, and a JSON result last.
 */
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import fc from "fast-check";
import { type FuzzTarget, TARGETS, target } from "../../test/fuzz/targets.js";
import { saveVector } from "../../test/fuzz/vectors.js";

const BATCH = 20_000;
const PROGRESS_MS = 10_000;

interface TargetResult {
  target: string;
  parser: string;
  inputs: number;
  seconds: number;
  inputsPerSecond: number;
  /** Why it stopped: the input budget, the time budget, or a failure. */
  stoppedBy: "inputs" | "time" | "failure";
  failure: { seed: number; path: string | undefined; error: string; vector: string } | null;
}

function fuzz(t: FuzzTarget, inputs: number, seconds: number, firstSeed: number): TargetResult {
  let count = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  let lastReport = started;
  const property = t.property(() => {
    count++;
  });
  for (let batch = 0; count < inputs; batch++) {
    const now = performance.now();
    if (now >= deadline) break;
    if (now - lastReport >= PROGRESS_MS) {
      lastReport = now;
      const s = (now - started) / 1000;
      process.stdout.write(
        `fuzz ${t.name}: ${count} inputs in ${s.toFixed(0)} s (${Math.round(count / s)}/s)\n`,
      );
    }
    const seed = firstSeed + batch;
    const details = fc.check(property, {
      seed,
      numRuns: Math.min(BATCH, inputs - count),
      interruptAfterTimeLimit: Math.max(1, deadline - now),
      markInterruptAsFailure: false,
    });
    if (details.failed) {
      const error = String(details.errorInstance).split("\n").slice(0, 3).join(" ");
      const input = (details.counterexample as [unknown])[0];
      const vector = saveVector({
        target: t.name,
        found: `npm run fuzz -- --target ${t.name} --seed ${seed} (batch seed; fast-check path ${details.counterexamplePath})`,
        failure: error.slice(0, 300),
        input: t.save(input),
      });
      return result(t, count, started, "failure", {
        seed,
        path: details.counterexamplePath ?? undefined,
        error,
        vector,
      });
    }
  }
  return result(t, count, started, count >= inputs ? "inputs" : "time", null);
}

function result(
  t: FuzzTarget,
  inputs: number,
  started: number,
  stoppedBy: TargetResult["stoppedBy"],
  failure: TargetResult["failure"],
): TargetResult {
  const seconds = (performance.now() - started) / 1000;
  return {
    target: t.name,
    parser: t.parser,
    inputs,
    seconds: Math.round(seconds * 10) / 10,
    inputsPerSecond: Math.round(inputs / seconds),
    stoppedBy,
    failure,
  };
}

const { values } = parseArgs({
  options: {
    inputs: { type: "string", default: "1000000" },
    seconds: { type: "string", default: "3600" },
    target: { type: "string" },
    seed: { type: "string" },
  },
});
const inputs = Number(values.inputs);
const seconds = Number(values.seconds);
if (!(inputs > 0 && seconds > 0))
  throw new Error("--inputs and --seconds must be positive numbers");
const targets = values.target === undefined ? TARGETS : values.target.split(",").map(target);
const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);

process.stdout.write(
  `fuzz: ${targets.map((t) => t.name).join(", ")}; up to ${inputs} inputs and ${seconds} s each; seed ${seed}\n`,
);
const results: TargetResult[] = [];
for (const t of targets) {
  const r = fuzz(t, inputs, seconds, seed);
  results.push(r);
  const outcome =
    r.failure === null
      ? `no failure (stopped by the ${r.stoppedBy} budget)`
      : `FAILED: ${r.failure.error}; input saved to ${r.failure.vector}`;
  process.stdout.write(
    `fuzz ${r.target}: ${r.inputs} inputs in ${r.seconds} s, ${r.inputsPerSecond}/s; ${outcome}\n`,
  );
}
process.stdout.write(`${JSON.stringify({ fuzz: { seed, node: process.version, results } })}\n`);
process.exitCode = results.some((r) => r.failure !== null) ? 1 : 0;
