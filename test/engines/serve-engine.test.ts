/**
 * `linkgate serve --engine bun` from Node.js: the same process (same pid, signals, stdout)
 * becomes Bun and serves with the Bun engine: connections, logs, metrics, drain. And Bun,
 * however it was started, serves with its heap settings (src/runtime/bun-heap.ts): it
 * runs itself again once to get them, keeping its pid and its own options.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { describe, type TestContext, test } from "node:test";
import { bunExecutable } from "../../src/cli/engine.js";
import { encodeProxyHeaderV2 } from "../../src/proxy-protocol/index.js";
import { BUN_HEAP_ENV } from "../../src/runtime/bun-heap.js";
import { connectThrough, startOrigin, testCertificate } from "../helpers/gateway.js";
import { tempDir, waitFor, withTimeout } from "../helpers/programs.js";
import { type Serve, serveConfigYaml, serveStarted, spawnServe } from "../helpers/serve.js";

const VPCE = "aws:vpce-0123456789abcdef0";

/** The environment of a running process, as the kernel holds it (after any execve). */
function environOf(pid: number): Map<string, string> {
  const env = new Map<string, string>();
  for (const entry of readFileSync(`/proc/${pid}/environ`, "latin1").split("\0")) {
    const eq = entry.indexOf("=");
    if (eq > 0) env.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  return env;
}

/** Bun's executable and a configuration whose upstream is never dialled. */
async function bunAndConfig(t: TestContext): Promise<{ bun: string; file: string }> {
  const bun = bunExecutable();
  assert.ok(bun !== null, "Bun is a devDependency: npm install");
  const file = join(await tempDir(t), "linkgate.yaml");
  writeFileSync(file, serveConfigYaml(9, `        - { link: "${VPCE}" }`));
  return { bun, file };
}

/** The names of a process's threads (one per thread). */
function threadNamesOf(pid: number): string[] {
  return readdirSync(`/proc/${pid}/task`).map((tid) =>
    readFileSync(`/proc/${pid}/task/${tid}/comm`, "latin1").trim(),
  );
}

/** Each BUN_HEAP_ENV setting is in the process's environment, as the kernel holds it. */
function assertBunHeapEnv(pid: number, message: string): void {
  const env = environOf(pid);
  for (const [name, value] of Object.entries(BUN_HEAP_ENV))
    assert.equal(env.get(name), value, `${message}: ${name}`);
}

function commandLineOf(pid: number): string[] {
  return readFileSync(`/proc/${pid}/cmdline`, "latin1").split("\0").slice(0, -1);
}

describe("linkgate serve --engine bun", () => {
  test("re-runs itself under Bun, in the same process, and serves", {
    timeout: 60_000,
  }, async (t) => {
    const cert = await testCertificate(t);
    if (cert === null) return;
    const origin = await startOrigin(t, cert, { proxyProtocol: true });
    const dir = await tempDir(t);
    const file = join(dir, "linkgate.yaml");
    writeFileSync(file, serveConfigYaml(origin.port, `        - { link: "${VPCE}" }`));
    const s = spawnServe(t, ["-c", file, "--engine", "bun"]);
    await serveStarted(s);
    const pid = s.child.pid as number;
    assert.match(basename(readlinkSync(`/proc/${pid}/exe`)), /^bun/, "the process runs Bun");
    const started = s.find("started")[0];
    assert.equal(started.pid, pid, "the same process");
    assert.equal(typeof started.bun, "string", "the started line names Bun's version");
    assert.equal(started.v8Flags, undefined, "no V8 flags on Bun");
    assert.deepEqual(started.bunEnv, BUN_HEAP_ENV, "Bun's heap settings");
    assertBunHeapEnv(pid, "in Bun's environment");

    const r = await connectThrough({
      host: "127.0.0.1",
      port: s.port("privatelink"),
      preamble: encodeProxyHeaderV2({
        source: { address: "10.1.2.3", port: 1 },
        destination: { address: "10.0.0.1", port: 443 },
        link: VPCE,
        crc32c: true,
      }),
      servername: "megacorp.api.example.com",
    });
    assert.equal(r.ok, true, r.error ?? "");
    assert.equal(r.reply, "hello megacorp ping");
    await waitFor(() => s.find("connection").length === 1, { what: "the connection line" });
    const line = s.find("connection")[0];
    assert.equal(line.decision, "allow");
    assert.equal(line.link, VPCE);
    const metrics = await (await fetch(`http://127.0.0.1:${s.port("admin")}/metrics`)).text();
    assert.ok(
      /linkgate_connections_total\{[^}]*decision="allow"[^}]*\} 1/.test(metrics),
      "the connection is counted",
    );

    s.child.kill("SIGTERM");
    assert.equal(await withTimeout(s.exited, 10_000, "the drain"), 0);
    assert.equal(s.find("stopped").length, 1);
  });

  test("Bun started without its heap settings runs itself again once with them: same pid, its options kept", {
    timeout: 60_000,
  }, async (t) => {
    const { bun, file } = await bunAndConfig(t);
    const s = spawnServe(t, ["-c", file], {}, { executable: bun, options: ["--smol"] });
    await serveStarted(s);
    const pid = s.child.pid as number;
    const started = s.find("started");
    assert.equal(started.length, 1, "one started line: the first image logs nothing");
    assert.equal(started[0].pid, pid, "the same process");
    assert.deepEqual(started[0].bunEnv, BUN_HEAP_ENV);
    assertBunHeapEnv(pid, "after the execve");
    assert.ok(
      !threadNamesOf(pid).includes("JSCWarmUp"),
      `JavaScriptCore's warm-up thread is off: ${threadNamesOf(pid).join(", ")}`,
    );
    const argv = commandLineOf(pid);
    assert.ok(argv.includes("--smol"), `Bun's own option is kept: ${argv.join(" ")}`);
    assert.equal(argv.filter((a) => a === "serve").length, 1, "the command as it was given");
    s.child.kill("SIGTERM");
    assert.equal(await withTimeout(s.exited, 10_000, "the drain"), 0);
  });

  test("under Bun's CPU profiler serve does not run itself again (SIGPWR could kill it): it says so, serves and writes the profile", {
    timeout: 60_000,
  }, async (t) => {
    const { bun, file } = await bunAndConfig(t);
    const profiles = await tempDir(t);
    // Several starts: the execve this avoids killed about one start in three.
    for (let start = 0; start < 3; start++) {
      const s = spawnServe(
        t,
        ["-c", file],
        {},
        {
          executable: bun,
          options: ["--cpu-prof", `--cpu-prof-dir=${profiles}`],
        },
      );
      await serveStarted(s);
      const pid = s.child.pid as number;
      assert.match(s.stderr(), /Bun's CPU profiler is on, so serve does not run itself again/);
      assert.match(s.stderr(), /MIMALLOC_PURGE_DELAY=10000/);
      assert.equal(environOf(pid).get("MIMALLOC_PURGE_DELAY"), undefined, "not run again");
      s.child.kill("SIGTERM");
      assert.equal(await withTimeout(s.exited, 10_000, "the drain"), 0);
    }
    const written = readdirSync(profiles).filter((f) => f.endsWith(".cpuprofile"));
    assert.equal(written.length, 3, `one profile per start: ${written.join(", ")}`);
  });

  test("a purge delay the operator set is kept, on Bun started directly and from Node.js", {
    timeout: 60_000,
  }, async (t) => {
    const { bun, file } = await bunAndConfig(t);
    for (const start of ["bun", "--engine bun"]) {
      const s: Serve =
        start === "bun"
          ? spawnServe(t, ["-c", file], { MIMALLOC_PURGE_DELAY: "250" }, { executable: bun })
          : spawnServe(t, ["-c", file, "--engine", "bun"], { MIMALLOC_PURGE_DELAY: "250" });
      await serveStarted(s);
      const pid = s.child.pid as number;
      const started = s.find("started")[0];
      assert.deepEqual(started.bunEnv, { ...BUN_HEAP_ENV, MIMALLOC_PURGE_DELAY: "250" }, start);
      assert.equal(environOf(pid).get("MIMALLOC_PURGE_DELAY"), "250", start);
      s.child.kill("SIGTERM");
      assert.equal(await withTimeout(s.exited, 10_000, "the drain"), 0);
    }
  });

  test("control: without the setting, Bun starts JavaScriptCore's warm-up thread (so the check above can fail)", {
    timeout: 30_000,
  }, async (t) => {
    const bun = bunExecutable();
    assert.ok(bun !== null, "Bun is a devDependency: npm install");
    const env = { ...process.env };
    for (const name of Object.keys(BUN_HEAP_ENV)) delete env[name];
    // A heap that grows past its first blocks, then waits to be looked at.
    const child = spawn(
      bun,
      [
        "-e",
        "globalThis.k = Array.from({ length: 300000 }, (_, i) => ({ i })); setTimeout(() => {}, 20000);",
      ],
      { env, stdio: "ignore" },
    );
    t.after(() => child.kill("SIGKILL"));
    const pid = child.pid as number;
    await waitFor(() => threadNamesOf(pid).includes("JSCWarmUp"), {
      timeoutMs: 10_000,
      what: "the JSCWarmUp thread in a Bun without BUN_JSC_useWarmUpMarkedBlocks=0",
    });
  });
});
