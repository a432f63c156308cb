/**
 * bench/connection-path.ts (npm run bench:connection) runs: serve on an engine without sockets
 * routes every allowed connection upstream (the benchmark throws otherwise), and a bad command
 * line is a one-line error. It asserts no timing: a benchmark is not a test.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const run = (...args: string[]) =>
  spawnSync(process.execPath, ["--import", "tsx", "bench/connection-path.ts", ...args], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 60_000,
  });

test("a short run routes every connection upstream and prints its rounds and their median", () => {
  const r = run("--connections", "2000", "--rounds", "2", "--in-flight", "7", "--log", "warn");
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /2000 connections per round, 7 in flight, connection lines at warn/);
  assert.equal(r.stdout.match(/^ {2}round \d: [\d.]+ µs CPU\/conn/gm)?.length, 2, r.stdout);
  assert.match(r.stdout, /^median: [\d.]+ µs CPU\/conn$/m);
});

test("--lines pipe: every line reaches the reading process, in 64 KiB writes", () => {
  const r = run("--connections", "3000", "--rounds", "2", "--lines", "pipe");
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /connection lines at info to a pipe another process reads/);
  // 3000 of the warm-up, 2 x 3000 measured, and the lifecycle lines (started, listening, ...).
  const read = Number(r.stdout.match(/^the reader read (\d+) lines; 0 dropped/m)?.[1]);
  assert.ok(read >= 9000 && read < 9020, r.stdout);
  assert.match(r.stdout, /writes of up to 65536 bytes/);
});

test("a bad command line: exit 2, what is wrong, the usage", () => {
  for (const [args, why] of [
    [["--rounds", "0"], "--rounds takes a positive integer, not 0"],
    [["--log", "debug"], "--log takes info or warn"],
    [["--lines", "file"], "--lines takes null or pipe"],
    [["--bogus", "1"], "unknown option --bogus"],
  ] as const) {
    const r = run(...args);
    assert.equal(r.status, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.ok(r.stderr.includes(why), r.stderr);
    assert.match(r.stderr, /^usage: npm run bench:connection/m);
  }
});
