/**
 * bench/connection-line.ts (npm run bench:line) runs on both runtimes and prints each one's
 * figures; a bad command line is a one-line error. It asserts no timing.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const run = (...args: string[]) =>
  spawnSync(process.execPath, ["--import", "tsx", "bench/connection-line.ts", ...args], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 60_000,
  });

test("a short run prints both runtimes' medians, ratios and rounds", () => {
  const r = run("--lines", "2000", "--rounds", "2");
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /2,000 lines per round, 2 rounds/);
  for (const runtime of ["Node\\.js v24", "Bun 1\\."]) {
    const line = new RegExp(
      `^ {2}${runtime}[^:]*: renderConnectionLine \\d+ ns, JSON\\.stringify \\d+ ns \\([\\d.]+x\\); rounds \\d+, \\d+ / \\d+, \\d+$`,
      "m",
    );
    assert.match(r.stdout, line);
  }
});

test("a bad command line: exit 2, what is wrong, the usage", () => {
  for (const [args, why] of [
    [["--rounds", "0"], "--rounds takes a positive integer, not 0"],
    [["--lines"], "--lines takes a positive integer, not undefined"],
    [["--warmup", "3"], "unknown option --warmup"],
  ] as const) {
    const r = run(...args);
    assert.equal(r.status, 2, `${args.join(" ")}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, new RegExp(`bench:line: ${why}`));
    assert.match(r.stderr, /usage: npm run bench:line/);
  }
});
