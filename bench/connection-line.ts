/**
 * What rendering one connection line costs, on Node.js and on Bun: the renderer `serve` uses
 * (renderConnectionLine, bytes straight into a batch buffer) against JSON.stringify of the
 * same fields written into the same buffer, the way a generic JSON logger renders them. Ports,
 * byte counts and durations vary from line to line as under load (what JIT compilers specialize
 * on). Each runtime runs in a child process of its own; rounds alternate the two renderers.
 *
 *   npm run bench:line [-- --lines 1000000 --rounds 5]
 *
 * Prints ns per line (medians of the rounds) and the ratio; asserts nothing.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import {
  type ConnectionLineInput,
  connectionLineFields,
  renderConnectionLine,
} from "../src/observability/logger.js";
import { type LineRender, renderVaryingLines } from "./lib/line-load.js";

const USAGE = "usage: npm run bench:line [-- --lines N --rounds N]";

/** The command line, or a one-line error and exit 2. */
function parseOptions(argv: string[]): { lines: number; rounds: number } {
  const o = { lines: 1_000_000, rounds: 5 };
  const fail = (why: string): never => {
    process.stderr.write(`bench:line: ${why}\n${USAGE}\n`);
    process.exit(2);
  };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    const key = { "--lines": "lines", "--rounds": "rounds" }[flag] as
      | "lines"
      | "rounds"
      | undefined;
    if (key === undefined) fail(`unknown option ${flag}`);
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) fail(`${flag} takes a positive integer, not ${value}`);
    o[key as "lines" | "rounds"] = n;
  }
  return o;
}

/** One round of `lines` lines through `render`: ns per line. */
function round(lines: number, render: LineRender): number {
  const t0 = performance.now();
  renderVaryingLines(lines, render);
  return ((performance.now() - t0) * 1e6) / lines;
}

/** The same fields through JSON.stringify, then Buffer#write: a generic JSON logger's way. */
function stringifyLine(b: Buffer, at: number, input: ConnectionLineInput): number {
  const line = `${JSON.stringify({
    level: input.level,
    time: new Date(input.time).toISOString(),
    pid: 12345,
    hostname: "lg-eu-1a",
    ...connectionLineFields(input.record),
    msg: "connection",
  })}\n`;
  return at + b.write(line, at);
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

const options = parseOptions(process.argv.slice(2).filter((a) => a !== "--child"));

if (process.argv.includes("--child")) {
  const rendered: number[] = [];
  const stringified: number[] = [];
  for (let i = 0; i < options.rounds; i++) {
    rendered.push(round(options.lines, renderConnectionLine));
    stringified.push(round(options.lines, stringifyLine));
  }
  const runtime = process.versions.bun
    ? `Bun ${process.versions.bun}`
    : `Node.js ${process.version}`;
  process.stdout.write(`${JSON.stringify({ runtime, rendered, stringified })}\n`);
} else {
  const self = fileURLToPath(import.meta.url);
  const args = ["--child", ...process.argv.slice(2)];
  const runtimes = [
    { name: "Node.js", command: process.execPath, args: ["--import", "tsx"] },
    { name: "Bun", command: "bun", args: [] },
  ];
  console.log(
    `one connection line, ${options.lines.toLocaleString("en-US")} lines per round, ${options.rounds} rounds (medians; rounds alternate the two)`,
  );
  for (const r of runtimes) {
    const run = spawnSync(r.command, [...r.args, self, ...args], { encoding: "utf8" });
    if (run.status !== 0) {
      process.stderr.write(`bench:line: ${r.name} failed (${run.status}): ${run.stderr}\n`);
      process.exit(1);
    }
    const { runtime, rendered, stringified } = JSON.parse(run.stdout) as {
      runtime: string;
      rendered: number[];
      stringified: number[];
    };
    console.log(
      `  ${runtime}: renderConnectionLine ${median(rendered).toFixed(0)} ns, JSON.stringify ${median(stringified).toFixed(0)} ns (${(median(rendered) / median(stringified)).toFixed(2)}x); rounds ${rendered.map((n) => n.toFixed(0)).join(", ")} / ${stringified.map((n) => n.toFixed(0)).join(", ")}`,
    );
  }
}
