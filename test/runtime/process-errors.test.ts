/**
 * The error policy of `linkgate serve`, in a real process: an unhandled rejection is logged with
 * its stack and counted, and the process carries on; an uncaught exception is logged, counted,
 * and starts the drain (once), which ends with exit code 1.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import type { LogLine } from "../helpers/serve.js";

const FIXTURE = fileURLToPath(new URL("./fixtures/unhandled.ts", import.meta.url));

function run(what: string): { status: number | null; lines: LogLine[] } {
  const r = spawnSync(process.execPath, ["--import", "tsx", FIXTURE, what], {
    encoding: "utf8",
    timeout: 20_000,
  });
  const lines = r.stdout
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as LogLine);
  return { status: r.status, lines };
}

test("an unhandled rejection is logged with its stack and counted; the process carries on", () => {
  const { status, lines } = run("rejection");
  assert.equal(status, 0);
  const error = lines.find((l) => l.msg === "unhandled error");
  assert.ok(error, "logged");
  assert.equal(error.level, "error");
  assert.equal(error.kind, "unhandled_rejection");
  assert.equal(error.action, "kept serving");
  assert.match((error.err as { stack: string }).stack, /a rejection nobody handles\n\s+at /);
  const alive = lines.find((l) => l.msg === "alive");
  assert.ok(alive, "still running after it");
  assert.ok(
    (alive.counts as string[]).includes(
      'linkgate_process_errors_total{kind="unhandled_rejection"} 1',
    ),
  );
});

test("an uncaught exception is logged and counted, drains once, and exits 1", () => {
  const { status, lines } = run("exception");
  assert.equal(status, 1);
  const errors = lines.filter((l) => l.msg === "unhandled error");
  assert.deepEqual(
    errors.map((l) => [l.kind, l.action, (l.err as { message: string }).message]),
    [
      ["uncaught_exception", "draining, exit 1", "thrown from a callback"],
      ["uncaught_exception", "already draining", "thrown again while draining"],
    ],
  );
  assert.equal(lines.filter((l) => l.msg === "drain").length, 1);
  const drained = lines.find((l) => l.msg === "drained");
  assert.ok(drained, "drained");
  assert.ok(
    (drained.counts as string[]).includes(
      'linkgate_process_errors_total{kind="uncaught_exception"} 2',
    ),
  );
});
