/**
 * `npm run demo:fleet -- --no-wait`, as the README runs it: its own PostgreSQL server and three
 * instances, the walk-through, then everything stopped.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { requirePostgres } from "../helpers/postgres.js";
import { withTimeout } from "../helpers/programs.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

test("npm run demo:fleet walks through a change, an outage and the return, then stops everything", {
  timeout: 120_000,
}, async (t) => {
  if (!requirePostgres(t)) return;
  const child = spawn(process.execPath, ["--import", "tsx", "scripts/demo-fleet.ts", "--no-wait"], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  t.after(() => child.kill("SIGKILL"));
  let out = "";
  child.stdout.on("data", (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on("data", (d: Buffer) => {
    out += d.toString();
  });
  const code = await withTimeout(
    new Promise<number | null>((resolve) => child.once("exit", resolve)),
    100_000,
    "the demo to finish",
  );
  assert.equal(code, 0, out);
  for (const expected of [
    /a: API http:\/\/127\.0\.0\.1:\d+ +Private Link listener 127\.0\.0\.1:\d+/,
    /b admits it within \d+ ms of that answer, c within \d+ ms\./,
    /Every instance denies aws:vpce-0fedcba9876543210: true\./,
    /b's \/healthz: store down since .*; \/readyz 200/,
    /b admits aws:vpce-0123456789abcdef0: true; c denies aws:vpce-0fedcba9876543210: true/,
    /A change through c: 503 STORE_UNAVAILABLE/,
    /A read through a: 200, Linkgate-Stale: true/,
    /A change through c: 201, Linkgate-Enforced: true/,
    /a admits aws:vpce-0fedcba9876543210 within \d+ ms of c's answer, b within \d+ ms\./,
  ]) {
    assert.match(out, expected);
  }
});
