/**
 * `npm start` (scripts/demo.ts): the demo comes up on its fixed ports with the store, the API,
 * the console and the two API tenants, sends its traffic (every kind of decision shows), and
 * stops cleanly on Ctrl-C. Its directory is a temporary one here, not the checkout's .demo/.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { testCertificate } from "../helpers/gateway.js";
import { waitFor } from "../helpers/programs.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

test("npm start: linkgate, API, console, tenants and simulated traffic; Ctrl-C stops it", {
  timeout: 60_000,
}, async (t) => {
  if ((await testCertificate(t)) === null) return; // openssl: the demo speaks TLS like clients
  const dir = mkdtempSync(join(tmpdir(), "linkgate-demo-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const child = spawn(process.execPath, ["--import", "tsx", "scripts/demo.ts"], {
    cwd: ROOT,
    env: { ...process.env, LINKGATE_DEMO_DIR: dir },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (d: Buffer) => {
    out += d;
  });
  child.stderr.on("data", (d: Buffer) => {
    out += d;
  });
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  t.after(() => child.kill("SIGKILL"));

  await waitFor(() => out.includes("Console:"), { timeoutMs: 30_000, what: `the banner (${out})` });
  const admin = readFileSync(join(dir, "admin-token"), "utf8").trim();
  const answer = await fetch("http://127.0.0.1:9090/v1/tenants", {
    headers: { authorization: `Bearer ${admin}` },
  });
  const tenants = (await answer.json()) as { items: { id: string; managedBy: string }[] };
  assert.deepEqual(tenants.items.map((x) => `${x.id}:${x.managedBy}`).sort(), [
    "globex:config",
    "initech:api",
    "megacorp:api",
  ]);
  const page = await fetch("http://127.0.0.1:9090/console/");
  assert.equal(page.status, 200);
  assert.match(out, /Tenant megacorp: {2}lgt_/);

  // The traffic goes through all its kinds within its first round (one every 1.5 s).
  for (const line of [
    /allow +megacorp +aws:vpce-0123456789abcdef0 +POLICY_LINK_ALLOWED/,
    /deny +megacorp +aws:vpce-0aa11bb22cc33dd44 +POLICY_LINK_NOT_ALLOWED/,
    /would-deny +initech/,
    /drop +- +peer 127\.0\.0\.66 +PP_UNTRUSTED_PEER/,
  ]) {
    await waitFor(() => line.test(out), { timeoutMs: 25_000, what: `a line matching ${line}` });
  }

  child.kill("SIGINT");
  assert.equal(await exited, 0, out);
});
