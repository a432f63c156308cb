/**
 * `linkgate serve --workers 2` as real processes: both workers serve the shared listener, the
 * primary sums their metrics, a SIGHUP reload reaches both (an invalid one is rejected once), a
 * killed worker is replaced with the policy in force, and SIGTERM drains everything, exit 0.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import { describe, test } from "node:test";
import tls from "node:tls";
import { encodeProxyHeaderV2 } from "../../src/proxy-protocol/index.js";
import { connectThrough, startOrigin, testCertificate } from "../helpers/gateway.js";
import { delay, tempDir, waitFor, withTimeout } from "../helpers/programs.js";
import {
  type LogLine,
  type Serve,
  serveConfigYaml,
  serveStarted,
  spawnServe,
} from "../helpers/serve.js";

const VPCE = "aws:vpce-0123456789abcdef0";
const OTHER = "aws:vpce-0fedcba9876543210";
const HOST = "megacorp.api.example.com";

function yaml(originPort: number, link: string): string {
  return serveConfigYaml(originPort, `        - { link: "${link}" }`);
}

const pp2 = (link: string) =>
  encodeProxyHeaderV2({
    source: { address: "10.1.2.3", port: 1 },
    destination: { address: "10.0.0.1", port: 443 },
    link,
    crc32c: true,
  });

const connections = (s: Serve): LogLine[] => s.find("connection");

/** How many connection lines each worker wrote, among `lines`. */
function perWorker(lines: LogLine[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const l of lines) out.set(l.worker as number, (out.get(l.worker as number) ?? 0) + 1);
  return out;
}

/** The sum of every linkgate_connections_total series with these label values. */
/**
 * The primary's lines `msg` after a save and a SIGHUP: at least one, at most one per trigger
 * (the file's watch may see the save before the signal and reload it too), none a worker's.
 */
async function reloadLines(s: Serve, msg: "reload ok" | "reload failed"): Promise<LogLine[]> {
  await waitFor(() => s.find(msg).length >= 1, { what: msg });
  await delay(300);
  const lines = s.find(msg);
  assert.ok(
    lines.length <= 2,
    `one ${msg} line per trigger (the save, the SIGHUP): ${lines.length}`,
  );
  for (const line of lines) assert.equal(line.worker, undefined, `${msg}: by the primary`);
  return lines;
}

function connectionsTotal(metrics: string, decision: string): number {
  let n = 0;
  for (const m of metrics.matchAll(
    new RegExp(`^linkgate_connections_total\\{[^}]*decision="${decision}"[^}]*\\} (\\d+)$`, "gm"),
  )) {
    n += Number(m[1]);
  }
  return n;
}

describe("linkgate serve --workers 2", () => {
  test("shares the listener, sums metrics, reloads everywhere, replaces a crashed worker, drains", {
    timeout: 60_000,
  }, async (t) => {
    const cert = await testCertificate(t);
    if (cert === null) return;
    const origin = await startOrigin(t, cert, { proxyProtocol: true });
    const dir = await tempDir(t);
    const file = join(dir, "linkgate.yaml");
    writeFileSync(file, yaml(origin.port, VPCE));
    const s = spawnServe(t, ["-c", file, "--workers", "2"]);
    await serveStarted(s);
    const gw = { host: "127.0.0.1", port: s.port("privatelink") };
    const admin = `http://127.0.0.1:${s.port("admin")}`;
    const started = s.find("worker started");
    assert.deepEqual(started.map((l) => l.worker).sort(), [1, 2]);
    assert.equal((await fetch(`${admin}/readyz`)).status, 200);

    let attempts = 0;
    /** `count` connections, `parallel` at a time; returns how many got through. */
    const batch = async (link: string, count: number, parallel = 10): Promise<number> => {
      let ok = 0;
      for (let i = 0; i < count; i += parallel) {
        const results = await Promise.all(
          Array.from({ length: Math.min(parallel, count - i) }, () =>
            connectThrough({ ...gw, preamble: pp2(link), servername: HOST }),
          ),
        );
        attempts += results.length;
        ok += results.filter((r) => r.ok).length;
      }
      await waitFor(() => connections(s).length === attempts, {
        what: `${attempts} connection lines (have ${connections(s).length})`,
      });
      return ok;
    };

    // Both workers accept from the one shared socket. The kernel picks which, and on a busy
    // machine one worker may take long runs of them: batches of 50 until both have served (at
    // most 500 connections).
    let sent = 0;
    do {
      assert.equal(await batch(VPCE, 50), 50);
      sent += 50;
    } while (perWorker(connections(s)).size < 2 && sent < 500);
    const split = perWorker(connections(s));
    assert.deepEqual([...split.keys()].sort(), [1, 2], `per worker after ${sent}: ${[...split]}`);

    // /metrics is the exact sum over the workers; the policy metrics are counted once.
    let metrics = await (await fetch(`${admin}/metrics`)).text();
    assert.equal(connectionsTotal(metrics, "allow"), sent);
    assert.match(metrics, /^linkgate_policy_reloads_total\{result="ok"\} 1$/m);
    assert.match(metrics, /^linkgate_build_info\{[^}]*\} 1$/m);
    assert.match(metrics, /^linkgate_active_connections\{listener="privatelink"\} 0$/m);

    // SIGHUP: the primary reloads once, and every worker has the new policy when it says so.
    assert.equal(await batch(OTHER, 4), 0, "OTHER is not allowed before the reload");
    writeFileSync(file, yaml(origin.port, OTHER));
    s.child.kill("SIGHUP");
    const ok = await reloadLines(s, "reload ok");
    for (const line of ok) assert.equal(line.workers, 2, "in force in both workers");
    const afterReload = connections(s).length;
    for (let round = 0; round < 10; round++) {
      assert.equal(await batch(OTHER, 10), 10, "every attempt after the reload is allowed");
      if (perWorker(connections(s).slice(afterReload)).size === 2) break;
    }
    assert.equal(perWorker(connections(s).slice(afterReload)).size, 2, "both workers allowed it");

    // An invalid file: rejected by the primary (once per trigger), with its errors; both workers
    // keep OTHER.
    writeFileSync(file, yaml(origin.port, "aws:not-a-vpce"));
    s.child.kill("SIGHUP");
    const failed = await reloadLines(s, "reload failed");
    for (const line of failed) {
      assert.equal((line.errors as { code: string }[])[0].code, "CONFIG_BAD_IDENTITY");
    }
    assert.equal(await batch(OTHER, 20), 20, "the policy in force stays, on both workers");
    metrics = await (await fetch(`${admin}/metrics`)).text();
    const reloads = (result: string) =>
      Number(
        metrics.match(
          new RegExp(`^linkgate_policy_reloads_total\\{result="${result}"\\} (\\d+)$`, "m"),
        )?.[1],
      );
    assert.equal(reloads("error"), failed.length, "each rejection counted once");
    assert.equal(reloads("ok"), 1 + ok.length, "the start and each reload counted once");
    writeFileSync(file, yaml(origin.port, OTHER)); // valid again (the watch reloads it)

    // A worker killed: the other one keeps serving, the primary logs the exit and replaces it;
    // the replacement runs the policy in force (OTHER), not the one the process started with.
    const victim = started.find((l) => l.worker === 1)?.workerPid as number;
    process.kill(victim, "SIGKILL");
    await waitFor(() => s.find("worker exited").some((l) => l.workerPid === victim), {
      what: "worker exited",
    });
    const exit = s.find("worker exited").find((l) => l.workerPid === victim) as LogLine;
    assert.equal(exit.signal, "SIGKILL");
    assert.equal(typeof exit.restartInMs, "number");
    assert.equal(await batch(OTHER, 10), 10, "service continues meanwhile");
    const replaced = await waitFor(
      () => s.find("worker started").find((l) => l.worker === 1 && l.restarted === true),
      { timeoutMs: 15_000, what: "worker 1 replaced" },
    );
    assert.notEqual(replaced.workerPid, victim);
    await waitFor(async () => (await fetch(`${admin}/readyz`)).status === 200, {
      what: "ready again",
    });
    for (let round = 0; round < 10; round++) {
      assert.equal(await batch(OTHER, 10), 10);
      if (connections(s).some((l) => l.pid === replaced.workerPid)) break;
    }
    assert.ok(
      connections(s).some((l) => l.pid === replaced.workerPid && l.decision === "allow"),
      "the replacement allows OTHER",
    );
    metrics = await (await fetch(`${admin}/metrics`)).text();
    assert.ok(connectionsTotal(metrics, "allow") > 0);

    // SIGTERM with a live session: unready, the session gets the grace period, exit 0.
    const raw = net.connect(gw);
    await new Promise((r) => raw.once("connect", r));
    raw.write(pp2(OTHER));
    const session = tls.connect({ socket: raw, servername: HOST, rejectUnauthorized: false });
    session.on("error", () => {});
    await new Promise((r) => session.once("secureConnect", r));
    s.child.kill("SIGTERM");
    await waitFor(() => s.find("draining").length === 1, { what: "draining" });
    const readyz = await fetch(`${admin}/readyz`).catch(() => null);
    if (readyz !== null) assert.equal(readyz.status, 503);
    assert.equal(await withTimeout(s.exited, 10_000, "exit after the drain"), 0);
    const stopped = s.find("stopped");
    assert.equal(stopped.length, 1);
    assert.equal(stopped[0].forcedConnections, 1);
    assert.equal(connections(s).at(-1)?.closedBy, "CONN_SHUTDOWN");
    assert.equal(s.find("worker exited").filter((l) => l.code === 0).length, 2);
  });

  test("a worker that does not apply a reload is asked again, then replaced; ok once all run it", {
    timeout: 90_000,
  }, async (t) => {
    const cert = await testCertificate(t);
    if (cert === null) return;
    const origin = await startOrigin(t, cert, { proxyProtocol: true });
    const dir = await tempDir(t);
    const file = join(dir, "linkgate.yaml");
    writeFileSync(file, yaml(origin.port, VPCE));
    const s = spawnServe(t, ["-c", file, "--workers", "2"]);
    await serveStarted(s);
    const gw = { host: "127.0.0.1", port: s.port("privatelink") };
    const admin = `http://127.0.0.1:${s.port("admin")}`;
    const stalled = s.find("worker started").find((l) => l.worker === 1)?.workerPid as number;

    // Worker 1 stops answering (as a worker whose event loop is stuck would), then the file
    // changes (the watch reloads it: one reload, whenever the watch started).
    process.kill(stalled, "SIGSTOP");
    t.after(() => {
      try {
        process.kill(stalled, "SIGKILL");
      } catch {
        // gone, as it should be
      }
    });
    writeFileSync(file, yaml(origin.port, OTHER));
    const outcome = await waitFor(
      () => s.lines.find((l) => l.msg === "reload ok" || l.msg === "reload incomplete"),
      { timeoutMs: 45_000, what: "the outcome of the reload" },
    );
    assert.equal(outcome.msg, "reload ok", JSON.stringify(outcome));
    assert.equal(outcome.generation, 2);
    assert.deepEqual(outcome.workerGenerations, { 1: 2, 2: 2 });
    assert.deepEqual(outcome.replaced, [1]);
    const refusals = s.find("worker did not apply the policy");
    assert.deepEqual(
      refusals.map((l) => [l.worker, l.attempt]),
      [
        [1, 1],
        [1, 2],
      ],
    );
    assert.equal(s.find("worker replaced: it does not apply the policy in force").length, 1);
    assert.throws(() => process.kill(stalled, 0), /ESRCH/, "the stalled worker is gone");
    const replacement = s.find("worker started").find((l) => l.worker === 1 && l.restarted);
    assert.equal(replacement?.generation, 2, "the replacement started with the new policy");

    const metrics = await (await fetch(`${admin}/metrics`)).text();
    assert.match(metrics, /^linkgate_policy_generation 2$/m);
    assert.match(metrics, /^linkgate_worker_policy_generation\{worker="1"\} 2$/m);
    assert.match(metrics, /^linkgate_worker_policy_generation\{worker="2"\} 2$/m);
    assert.match(metrics, /^linkgate_policy_reloads_total\{result="ok"\} 2$/m);

    // Both workers (the replacement too) enforce the new policy.
    const pids = new Set<number>();
    for (let round = 0; round < 10 && pids.size < 2; round++) {
      const results = await Promise.all(
        Array.from({ length: 10 }, () =>
          connectThrough({ ...gw, preamble: pp2(OTHER), servername: HOST }),
        ),
      );
      assert.ok(results.every((r) => r.ok));
      await delay(100);
      for (const l of connections(s)) if (l.decision === "allow") pids.add(l.pid as number);
    }
    assert.equal(pids.size, 2, "connections allowed by both workers");
    assert.ok(!pids.has(stalled));
  });

  test("a SIGHUP while the workers start does not end the process: it reloads once started", {
    timeout: 60_000,
  }, async (t) => {
    const dir = await tempDir(t);
    const file = join(dir, "linkgate.yaml");
    writeFileSync(file, yaml(9, VPCE));
    const s = spawnServe(t, ["-c", file, "--workers", "2"]);
    await waitFor(() => s.find("started").length === 1, { timeoutMs: 20_000, what: "started" });
    s.child.kill("SIGHUP"); // the workers take a second or more to start
    await serveStarted(s);
    await waitFor(() => s.find("reload ok").find((l) => l.source === "SIGHUP"), {
      what: "the reload asked for while starting",
    });
    assert.equal(s.child.exitCode, null);
    assert.equal(s.child.signalCode, null);
  });

  test("a listener that cannot bind stops the start, exit 1", { timeout: 30_000 }, async (t) => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", r));
    t.after(() => new Promise<void>((r) => blocker.close(() => r())));
    const port = (blocker.address() as net.AddressInfo).port;
    const dir = await tempDir(t);
    const file = join(dir, "linkgate.yaml");
    writeFileSync(
      file,
      yaml(9, VPCE).replace(
        "bind: 127.0.0.1:0\n    proxyProtocol",
        `bind: 127.0.0.1:${port}\n    proxyProtocol`,
      ),
    );
    const s = spawnServe(t, ["-c", file, "--workers", "2"]);
    assert.equal(await withTimeout(s.exited, 25_000, "exit"), 1);
    assert.match(s.stderr(), new RegExp(`cannot bind 127\\.0\\.0\\.1:${port}`));
    assert.equal(s.find("listening").length, 0);
  });
});
