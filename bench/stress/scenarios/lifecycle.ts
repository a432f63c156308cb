/**
 * The process's own events under traffic: a storm of reloads, SIGTERM (drain), and a worker of
 * `serve --workers 2` killed with SIGKILL.
 *
 * Long-lived connections go to a second tenant, `longlived`, whose upstream echoes: they must
 * keep relaying through every reload that still admits them, and be closed with the right
 * reason when one no longer does, or at the end of a drain.
 */
import { helloWithSni } from "../../../test/tls/hello-builder.js";
import { Linkgate } from "../lib/linkgate.js";
import { Client, clients, Loop, type LoopConnection, Origin } from "../lib/peers.js";
import {
  AWS_LINK,
  bySize,
  type Context,
  expectHealthy,
  expectNoLeak,
  idleHoldings,
  linkgateConfig,
  OTHER_LINK,
  type Scenario,
  sleep,
  until,
} from "../lib/scenario.js";
import { Backend, closedLoop, failures } from "../lib/tools.js";

/** A PROXY header from the allowed endpoint, then a ClientHello for longlived.<domain>. */
function longLivedPayload(ctx: Context): Buffer {
  const domain = ctx.payloads.sni.slice(ctx.payloads.sni.indexOf(".") + 1);
  return Buffer.concat([
    ctx.payloads.allowed.subarray(0, ctx.payloads.headerBytes),
    helloWithSni(`longlived.${domain}`),
  ]);
}

function config(
  ctx: Context,
  backend: Backend,
  echo: Origin,
  o: {
    longLivedLinks?: string[];
    extraTenants?: number;
    drainTimeout?: string;
    headerTimeout?: string;
  } = {},
) {
  return linkgateConfig(ctx, {
    upstream: backend.target,
    extraTenants: o.extraTenants,
    drainTimeout: o.drainTimeout,
    headerTimeout: o.headerTimeout,
    tenants: [
      {
        id: "longlived",
        upstream: echo.target,
        allow: { rules: (o.longLivedLinks ?? [AWS_LINK]).map((link) => ({ link })) },
      },
    ],
  });
}

/** Sends 100 bytes and waits for them to come back: the relay works. */
async function echoes(c: Client, timeoutMs = 3000): Promise<boolean> {
  if (!c.open) return false;
  const want = c.received + 100;
  c.socket.write(Buffer.alloc(100, 0x70));
  return until(() => c.received >= want, timeoutMs, 10);
}

async function allEcho(cs: Client[]): Promise<number> {
  return (await Promise.all(cs.map((c) => echoes(c)))).filter(Boolean).length;
}

export const reloadStorm: Scenario = {
  name: "reload-storm",
  title: "back-to-back reloads under traffic, then one that revokes a tenant's endpoint",
  limitSeconds: (o) => bySize(o.size, { quick: 60, full: 150 }),
  async run(ctx) {
    const seconds = ctx.pick({ ci: 3, quick: 5, full: 30 });
    const k = 20;
    const backend = await Backend.start(ctx.tools.load, "reply");
    const echo = await Origin.start({ kind: "echo" });
    const base = config(ctx, backend, echo);
    const bigger = config(ctx, backend, echo, { extraTenants: 200 });
    const lg = await Linkgate.start({
      config: base,
      dir: ctx.dir,
      name: "lg",
    });
    const port = lg.port("pl");
    const allowed = ctx.file("allowed", ctx.payloads.allowed);
    const wrongLink = ctx.file("wrong-link", ctx.payloads.wrongLink);
    await closedLoop(ctx.tools, port, allowed, { concurrency: 8, seconds: ctx.warmUpSeconds });
    const baseline = await idleHoldings(lg);

    ctx.try(
      `${k} long-lived connections (echo), allowed and denied traffic, and reloads back to back for ${seconds} s (alternating the policy with and without 200 more tenants)`,
    );
    const long = await clients(k, port, longLivedPayload(ctx));
    const load = closedLoop(ctx.tools, port, allowed, { concurrency: 8, seconds });
    const denied = closedLoop(ctx.tools, port, wrongLink, { concurrency: 4, seconds });
    const until_ = Date.now() + seconds * 1000;
    let reloads = 0;
    let refused = 0;
    let echoRounds = 0;
    let echoFailures = 0;
    while (Date.now() < until_) {
      const r = await lg.reload(reloads % 2 === 0 ? bigger : base);
      reloads++;
      if (r !== "ok") refused++;
      if (reloads % 10 === 0) {
        echoRounds++;
        echoFailures += k - (await allEcho(long));
      }
    }
    const [l, d] = await Promise.all([load, denied]);
    const durations = lg
      .lifecycle("reload ok")
      .map((j) => Number(j.durationMs))
      .sort((a, b) => a - b);
    const stillOpen = long.filter((c) => c.open).length;
    const revokedBefore = lg.lines.count("allow POLICY_LINK_ALLOWED POLICY_REVOKED");

    ctx.try("a reload that takes the endpoint away from longlived");
    await lg.reload(config(ctx, backend, echo, { longLivedLinks: [OTHER_LINK] }));
    const t = Date.now();
    await until(() => long.every((c) => !c.open), 3000);
    const closedWithinMs = Date.now() - t;
    await until(() => lg.lines.count("allow POLICY_LINK_ALLOWED POLICY_REVOKED") >= k, 3000);
    const revoked = lg.lines.count("allow POLICY_LINK_ALLOWED POLICY_REVOKED");
    const mark = lg.lines.mark();
    const late = new Client(port, longLivedPayload(ctx));
    await late.closed(3000);
    await until(() => lg.lines.count("deny", mark) > 0, 2000);
    const lateDenied = lg.lines.count("deny POLICY_LINK_NOT_ALLOWED", mark) === 1;
    await lg.reload(base);
    const after = await closedLoop(ctx.tools, port, allowed, { concurrency: 8, seconds: 1 });

    ctx.figure("reloads", {
      total: reloads,
      refused,
      perSecond: Math.round(reloads / seconds),
      durationMs: { p50: durations[durations.length >> 1], max: durations.at(-1) },
    });
    ctx.figure("longLived", {
      connections: k,
      echoRounds,
      echoFailures,
      openAfterStorm: stillOpen,
      revokedLines: revoked,
      closedWithinMs,
    });
    ctx.figure("allowed", { ok: l.ok, failed: failures(l) });
    ctx.figure("denied", { answered: d.answered, gotTheBackendsAnswer: d.ok });
    ctx.figure("lines", lg.lines.table());
    expectHealthy(ctx, lg);
    ctx.expect(refused === 0, `${refused} of ${reloads} reloads were refused`);
    ctx.expect(
      failures(l) === 0 && failures(after) === 0,
      `allowed connections failed: ${failures(l)} during the storm, ${failures(after)} after`,
    );
    ctx.expect(d.ok === 0, `${d.ok} denied connections got the backend's answer`);
    ctx.expect(
      stillOpen === k && echoFailures === 0 && revokedBefore === 0,
      `long-lived connections through the storm: ${stillOpen}/${k} open, ${echoFailures} echo failures, ${revokedBefore} revoked`,
    );
    ctx.expect(
      revoked === k,
      `${revoked} of ${k} long-lived connections were closed with POLICY_REVOKED`,
    );
    ctx.expect(
      !late.open && late.received === 0 && lateDenied,
      "a new connection for the revoked endpoint was not denied",
    );
    ctx.expect(
      lg.lines.count("deny POLICY_LINK_NOT_ALLOWED") === lg.lines.count("deny"),
      "a denial with another reason",
    );
    await expectNoLeak(ctx, lg, baseline);
    await echo.close();
    ctx.summary = `${reloads} reloads in ${seconds} s (p50 ${durations[durations.length >> 1]} ms, max ${durations.at(-1)} ms), none refused; ${k} long-lived connections kept relaying (${echoRounds} echo rounds, ${echoFailures} failures); ${l.ok} allowed ok, ${failures(l)} failed; the revoking reload closed ${revoked}/${k} within ${closedWithinMs} ms (POLICY_REVOKED)`;
  },
};

type LineKey = string;
const keyOf = (address: string, port: number): LineKey => `${address}:${port}`;

export const sigterm: Scenario = {
  name: "sigterm",
  title: "SIGTERM under traffic: every connection completes or is closed with a reason, exit 0",
  limitSeconds: () => 60,
  async run(ctx) {
    const k = 30;
    const slowCount = 50;
    const drainMs = 2000;
    const backend = await Backend.start(ctx.tools.load, "reply");
    const echo = await Origin.start({ kind: "echo" });
    const lg = await Linkgate.start({
      config: config(ctx, backend, echo, { drainTimeout: `${drainMs}ms`, headerTimeout: "10s" }),
      dir: ctx.dir,
      name: "lg",
    });
    const port = lg.port("pl");
    const byClient = new Map<LineKey, string[]>();
    lg.lines.observer = (l) => {
      const key = keyOf(l.peerAddress, l.peerPort);
      const list = byClient.get(key) ?? [];
      list.push(
        [l.decision, l.reason, l.upstreamError, l.closedBy].filter((x) => x !== null).join(" "),
      );
      byClient.set(key, list);
    };

    ctx.try(
      `${k} long-lived connections, ${slowCount} clients stuck in the header, 8 allowed connections at a time; SIGTERM after 1 s (drainTimeout ${drainMs} ms)`,
    );
    const long = await clients(k, port, longLivedPayload(ctx));
    const slow = await clients(slowCount, port, ctx.payloads.allowed.subarray(0, 16));
    const loop = new Loop(port, ctx.payloads.allowed, 8);
    await sleep(1000);
    const t0 = Date.now();
    lg.proc.signal("SIGTERM");
    await Promise.race([lg.proc.exited, sleep(drainMs + 15_000)]);
    const exitedAfterMs = Date.now() - t0;
    await loop.stop();
    await until(() => [...long, ...slow].every((c) => !c.open), 3000);

    const stopped = lg.lifecycle("stopped")[0];
    const draining = lg.lifecycle("draining")[0];
    const outcome = (cs: { key: LineKey }[]) => {
      const counts: Record<string, number> = {};
      for (const c of cs)
        for (const line of byClient.get(c.key) ?? ["(no line)"])
          counts[line] = (counts[line] ?? 0) + 1;
      return counts;
    };
    const longLines = outcome(long.map((c) => ({ key: keyOf(c.localAddress, c.localPort) })));
    const slowLines = outcome(slow.map((c) => ({ key: keyOf(c.localAddress, c.localPort) })));
    const connected = loop.connections.filter((c) => c.connected);
    const completed = connected.filter((c) => c.received >= 64);
    const cut = connected.filter((c) => c.received < 64);
    const refused = loop.connections.filter((c) => !c.connected);
    const loopLines = outcome(
      connected.map((c: LoopConnection) => ({ key: keyOf(c.localAddress, c.localPort) })),
    );
    // Connections still in the kernel's accept queue when the listener closes are reset by the
    // kernel: linkgate never had them, so they have no line. They can only have started around
    // the SIGTERM; any other connection without a line is a defect.
    const unseen = connected.filter((c) => !byClient.has(keyOf(c.localAddress, c.localPort)));
    const inAcceptQueue = unseen.filter(
      (c) => Math.abs(c.startedAt - t0) <= 200 && c.received === 0 && c.error === "ECONNRESET",
    );
    const noLine =
      [...long, ...slow].filter((c) => !byClient.has(keyOf(c.localAddress, c.localPort))).length +
      unseen.length -
      inAcceptQueue.length;

    ctx.figure("exit", {
      code: lg.proc.exitCode,
      afterMs: exitedAfterMs,
      forcedConnections: stopped?.forcedConnections,
      activeAtSigterm: draining?.activeConnections,
    });
    ctx.figure("longLived", longLines);
    ctx.figure("inHeader", slowLines);
    ctx.figure("closedLoop", {
      connected: connected.length,
      completed: completed.length,
      cutShort: cut.length,
      resetInTheAcceptQueue: inAcceptQueue.length,
      refusedAfterSigterm: refused.length,
      lines: loopLines,
    });
    ctx.figure("connectionsWithoutALine", noLine);
    ctx.expect(lg.proc.exitCode === 0, `exit code ${lg.proc.exitCode}: ${lg.stderr.slice(-500)}`);
    ctx.expect(
      lg.lines.malformed.length === 0,
      "connection lines without a valid decision or reason",
    );
    ctx.expect(
      exitedAfterMs < drainMs + 3000,
      `exited ${exitedAfterMs} ms after SIGTERM (drainTimeout ${drainMs} ms)`,
    );
    ctx.expect(noLine === 0, `${noLine} connections ended without a connection line`);
    ctx.expect(
      (longLines["allow POLICY_LINK_ALLOWED CONN_SHUTDOWN"] ?? 0) === k,
      `long-lived connections: ${JSON.stringify(longLines)}`,
    );
    ctx.expect(
      (slowLines["drop CONN_SHUTDOWN"] ?? 0) === slowCount,
      `connections in the header phase: ${JSON.stringify(slowLines)}`,
    );
    // Lines are matched to clients by address and port. A closed-loop client's port can come
    // back for a later connection (linkgate, which closes first, keeps the TIME_WAIT), and then
    // an earlier connection's line is under the same key: such keys prove nothing either way.
    const uses = new Map<LineKey, number>();
    for (const c of [...long, ...slow, ...connected]) {
      const key = keyOf(c.localAddress, c.localPort);
      uses.set(key, (uses.get(key) ?? 0) + 1);
    }
    const cutWithAllowLine = cut.filter((c) => {
      const key = keyOf(c.localAddress, c.localPort);
      return uses.get(key) === 1 && (byClient.get(key) ?? []).includes("allow POLICY_LINK_ALLOWED");
    });
    ctx.figure("clientPortsReused", [...uses.values()].filter((n) => n > 1).length);
    ctx.expect(
      cutWithAllowLine.length === 0,
      `a connection cut short has a line saying it ended normally: ${JSON.stringify(
        cutWithAllowLine.map((c) => ({
          port: c.localPort,
          received: c.received,
          error: c.error,
          startedMsAfterSigterm: c.startedAt - t0,
          lines: byClient.get(keyOf(c.localAddress, c.localPort)),
        })),
      )}`,
    );
    ctx.expect(
      completed.every((c) =>
        (byClient.get(keyOf(c.localAddress, c.localPort)) ?? []).includes(
          "allow POLICY_LINK_ALLOWED",
        ),
      ),
      "a completed connection has no allow line",
    );
    ctx.expect(
      stopped !== undefined && stopped.forcedConnections === k + slowCount,
      `forcedConnections ${stopped?.forcedConnections}, expected ${k + slowCount}`,
    );
    await echo.close();
    ctx.summary = `exit ${lg.proc.exitCode} ${exitedAfterMs} ms after SIGTERM; ${k} long-lived and ${slowCount} header-phase connections closed with CONN_SHUTDOWN at the drain deadline (forced ${stopped?.forcedConnections}); closed loop: ${completed.length} completed, ${cut.length} cut short (${inAcceptQueue.length} of them reset in the accept queue as the listener closed), ${refused.length} refused after it closed; ${noLine} without a line`;
  },
};

export const workerKill: Scenario = {
  name: "worker-kill",
  title: "serve --workers 2: one worker killed with SIGKILL under traffic",
  limitSeconds: () => 90,
  async run(ctx) {
    const k = 20;
    const before = ctx.pick({ ci: 1, quick: 2, full: 5 });
    const afterSeconds = ctx.pick({ ci: 2, quick: 3, full: 10 });
    const backend = await Backend.start(ctx.tools.load, "reply");
    const echo = await Origin.start({ kind: "echo" });
    const lg = await Linkgate.start({
      config: config(ctx, backend, echo),
      dir: ctx.dir,
      name: "lg",
      workers: 2,
    });
    const port = lg.port("pl");
    await closedLoop(ctx.tools, port, ctx.file("allowed", ctx.payloads.allowed), {
      concurrency: 8,
      seconds: ctx.warmUpSeconds,
    });
    const baseline = await idleHoldings(lg);
    const [primary, ...workers] = lg.pids();

    ctx.try(
      `${k} long-lived connections and 8 allowed connections at a time; after ${before} s, SIGKILL to worker ${workers[0]}`,
    );
    const long = await clients(k, port, longLivedPayload(ctx));
    const loop = new Loop(port, ctx.payloads.allowed, 8);
    await sleep(before * 1000);
    const killedAt = Date.now();
    process.kill(workers[0], "SIGKILL");
    const replaced = await until(() => lg.lifecycle("worker started").length > 2, 15_000);
    const restartedAt = Date.now();
    await sleep(afterSeconds * 1000);
    await loop.stop();

    const survivors = long.filter((c) => c.open);
    const echoing = await allEcho(survivors);
    const failed = loop.connections.filter((c) => c.received < 64);
    const lastFailure = Math.max(0, ...failed.map((c) => c.endedAt));
    const failedLate = failed.filter((c) => c.startedAt > restartedAt + 1000).length;
    const workersNow = lg.pids().filter((p) => p !== primary);
    for (const c of long) c.socket.destroy();
    await sleep(500);

    ctx.figure("worker", {
      killed: workers[0],
      replacedWithinMs: replaced ? restartedAt - killedAt : null,
      workersAfter: workersNow.length,
    });
    ctx.figure("closedLoop", {
      connections: loop.connections.length,
      failed: failed.length,
      failedMoreThan1sAfterTheReplacement: failedLate,
      lastFailureMsAfterKill: failed.length === 0 ? null : lastFailure - killedAt,
    });
    ctx.figure("longLived", {
      connections: k,
      cutWithTheWorker: k - survivors.length,
      survivedAndEcho: echoing,
    });
    ctx.figure(
      "exitedLines",
      lg.lifecycle("worker exited").map((j) => ({ signal: j.signal, restartInMs: j.restartInMs })),
    );
    expectHealthy(ctx, lg);
    ctx.expect(replaced, "the killed worker was not replaced within 15 s");
    ctx.expect(workersNow.length === 2, `${workersNow.length} workers after the replacement`);
    ctx.expect(
      failedLate === 0,
      `${failedLate} allowed connections failed more than 1 s after the replacement started`,
    );
    ctx.expect(
      echoing === survivors.length,
      `${survivors.length - echoing} long-lived connections on the surviving worker stopped relaying`,
    );
    await expectNoLeak(ctx, lg, baseline);
    const code = await lg.stop();
    ctx.expect(code === 0, `exit code ${code} after SIGTERM`);
    await echo.close();
    ctx.summary = `worker replaced ${restartedAt - killedAt} ms after SIGKILL; ${failed.length} of ${loop.connections.length} allowed connections failed, the last ${failed.length === 0 ? "-" : lastFailure - killedAt} ms after the kill; ${k - survivors.length}/${k} long-lived connections died with the worker, ${echoing} on the other kept relaying`;
  },
};
