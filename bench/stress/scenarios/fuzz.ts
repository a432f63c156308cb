/**
 * The fuzz targets (npm run fuzz) as a scenario of the suite: every parser for a budget of
 * inputs and time, in a child process; fails on any failing input (kept in test/fuzz/vectors/).
 */
import { join } from "node:path";
import { runJson } from "../../lib/procs.js";
import { bySize, type Scenario } from "../lib/scenario.js";
import { ROOT } from "../lib/tools.js";

interface TargetResult {
  target: string;
  inputs: number;
  seconds: number;
  inputsPerSecond: number;
  failure: { error: string; vector: string } | null;
}

export const fuzz: Scenario = {
  name: "fuzz",
  title: "each parser under fast-check for a budget of inputs and time",
  limitSeconds: (o) => 4 * bySize(o.size, { quick: 10, full: 1800 }) + 60,
  async run(ctx) {
    const inputs = ctx.pick({ quick: 5000, full: ctx.options.fuzzInputs ?? 200_000 });
    const seconds = ctx.pick({ quick: 10, full: 1800 });
    ctx.try(`${inputs} inputs or ${seconds} s per parser`);
    let lines: Record<string, unknown>[];
    try {
      lines = await runJson(
        process.execPath,
        [
          "--import",
          "tsx",
          join(ROOT, "bench/stress/fuzz.ts"),
          "--inputs",
          String(inputs),
          "--seconds",
          String(seconds),
        ],
        "fuzz",
        (4 * seconds + 60) * 1000,
      );
    } catch (error) {
      // A failing input makes the run exit 1: its report is in the output.
      const m = /\{"fuzz".*\}/.exec((error as Error).message);
      if (m === null) throw error;
      lines = [JSON.parse(m[0])];
    }
    const report = lines.find((j) => j.fuzz !== undefined)?.fuzz as
      | { results: TargetResult[] }
      | undefined;
    if (report === undefined) throw new Error("the fuzz run printed no result");
    for (const r of report.results) {
      ctx.figure(r.target, {
        inputs: r.inputs,
        seconds: r.seconds,
        inputsPerSecond: r.inputsPerSecond,
      });
      ctx.expect(
        r.failure === null,
        `${r.target}: ${r.failure?.error} (kept in ${r.failure?.vector})`,
      );
    }
    ctx.summary = report.results
      .map(
        (r) =>
          `${r.target} ${r.inputs} inputs (${r.inputsPerSecond}/s)${r.failure === null ? "" : " FAILED"}`,
      )
      .join(", ");
  },
};
