/**
 * Floods, each while allowed traffic keeps flowing: slow-header clients (slowloris), connection
 * churn, denied and dropped connections, and the process's descriptor limit reached.
 */
import { readFileSync } from "node:fs";
import { Linkgate } from "../lib/linkgate.js";
import {
  bySize,
  type ConfigOptions,
  type Context,
  expectHealthy,
  expectNoLeak,
  idleHoldings,
  linkgateConfig,
  ms,
  type Scenario,
  sleep,
  until,
} from "../lib/scenario.js";
import { Backend, churn, closedLoop, failures, Holder, type LoadResult } from "../lib/tools.js";

async function start(
  ctx: Context,
  backend: Backend,
  extra: Partial<ConfigOptions> = {},
  fdLimit?: number,
): Promise<Linkgate> {
  return Linkgate.start({
    config: linkgateConfig(ctx, { upstream: backend.target, ...extra }),
    dir: ctx.dir,
    name: "lg",
    fdLimit,
  });
}

/**
 * p99Slack: milliseconds allowed on top of 2x. The runs of a test (ci) are a second or two of a
 * few hundred connections on a machine shared with the rest of the tests: their p99 is the
 * slowest handful, and scheduling noise alone can double it.
 */
const sizes = {
  ci: { clients: 300, headerTimeoutMs: 1000, baselineSeconds: 1.5, p99SlackMs: 50 },
  quick: { clients: 1000, headerTimeoutMs: 2000, baselineSeconds: 2, p99SlackMs: 0 },
  full: { clients: 5000, headerTimeoutMs: 5000, baselineSeconds: 10, p99SlackMs: 0 },
};
/** Allowed connections at a time, with and without the flood. */
const CONCURRENCY = 8;

/**
 * Thousands of clients send the first 16 bytes of a PROXY v2 header (which announce 84 more) and
 * stop. Every one must be closed at headerTimeout with CONN_HEADER_TIMEOUT, and the allowed
 * connections' p99 latency must stay within 2x of what it is without the flood.
 */
export const slowHeaderFlood: Scenario = {
  name: "slow-header-flood",
  title: "slow-header clients closed at headerTimeout while allowed traffic flows",
  limitSeconds: (o) => bySize(o.size, { quick: 60, full: 150 }),
  async run(ctx: Context) {
    const s = ctx.pick(sizes);
    const backend = await Backend.start(ctx.tools.load, "reply");
    const lg = await start(ctx, backend, { headerTimeout: `${s.headerTimeoutMs}ms` });
    const port = lg.port("pl");
    const allowed = ctx.file("allowed", ctx.payloads.allowed);
    const slow = ctx.file("slow", ctx.payloads.allowed.subarray(0, 16));
    await closedLoop(ctx.tools, port, allowed, {
      concurrency: CONCURRENCY,
      seconds: ctx.warmUpSeconds,
    });
    const baseline = await idleHoldings(lg);

    ctx.try(
      `allowed traffic alone: ${CONCURRENCY} connections at a time for ${s.baselineSeconds} s`,
    );
    const alone = await closedLoop(ctx.tools, port, allowed, {
      concurrency: CONCURRENCY,
      seconds: s.baselineSeconds,
    });

    const timeouts: number[] = [];
    lg.lines.observer = (l) => {
      if (l.reason === "CONN_HEADER_TIMEOUT") timeouts.push(l.durationMs);
    };
    const floodSeconds = s.headerTimeoutMs / 1000 + ctx.pick({ ci: 1.5, quick: 2, full: 2 });
    ctx.try(
      `${s.clients} clients sending 16 of the header's 100 bytes, allowed traffic for ${floodSeconds} s meanwhile`,
    );
    const holder = new Holder(ctx.tools, port, slow, s.clients);
    const during: Promise<LoadResult> = closedLoop(ctx.tools, port, allowed, {
      concurrency: CONCURRENCY,
      seconds: floodSeconds,
    });
    const est = await holder.established(30_000);
    const flood = await during;
    await until(async () => (await holder.status()).closedByPeer >= est.ok, 3000, 200);
    const held = await holder.status();
    await holder.stop();
    await until(() => timeouts.length >= est.ok, 3000);

    const done = await backend.settle((b) => b.completed === lg.lines.count("allow"));
    const ratio = flood.latencyUs.p99 / alone.latencyUs.p99;
    const closeMin = Math.min(...timeouts);
    const closeMax = Math.max(...timeouts);
    ctx.figure("slowClients", est.ok);
    ctx.figure("slowClientsFailedToConnect", est.failed);
    ctx.figure("closedByLinkgate", held.closedByPeer);
    ctx.figure("headerTimeoutMs", s.headerTimeoutMs);
    ctx.figure("closedAfterMs", { min: closeMin, max: closeMax });
    ctx.figure("allowedAlone", {
      ok: alone.ok,
      rate: Math.round(alone.rateOk),
      p50Ms: ms(alone.latencyUs.p50),
      p99Ms: ms(alone.latencyUs.p99),
    });
    ctx.figure("allowedDuringFlood", {
      ok: flood.ok,
      rate: Math.round(flood.rateOk),
      p50Ms: ms(flood.latencyUs.p50),
      p99Ms: ms(flood.latencyUs.p99),
    });
    ctx.figure("p99Ratio", Math.round(ratio * 100) / 100);
    ctx.figure("lines", lg.lines.table());

    expectHealthy(ctx, lg);
    ctx.expect(
      est.ok === s.clients,
      `${est.failed} of ${s.clients} slow clients could not connect`,
    );
    ctx.expect(
      held.closedByPeer === est.ok,
      `${est.ok - held.closedByPeer} slow clients were still open 2 s after headerTimeout`,
    );
    ctx.expect(
      timeouts.length === est.ok,
      `${timeouts.length} CONN_HEADER_TIMEOUT lines for ${est.ok} slow clients`,
    );
    ctx.expect(
      closeMin >= s.headerTimeoutMs - 60,
      `a slow client was closed after ${closeMin} ms, before headerTimeout`,
    );
    ctx.expect(
      closeMax <= s.headerTimeoutMs + 1000,
      `a slow client was closed only after ${closeMax} ms (headerTimeout ${s.headerTimeoutMs} ms)`,
    );
    ctx.expect(
      failures(alone) === 0 && failures(flood) === 0,
      `allowed connections failed: ${failures(alone)} alone, ${failures(flood)} during the flood`,
    );
    ctx.expect(
      lg.lines.count("allow") === lg.lines.count("allow POLICY_LINK_ALLOWED"),
      "an allowed connection ended with an upstream error or was cut",
    );
    ctx.expect(
      done.completed === lg.lines.count("allow"),
      `the backend answered ${done.completed} requests, linkgate allowed ${lg.lines.count("allow")}`,
    );
    ctx.expect(lg.lines.count("deny") === 0, "an allowed connection was denied");
    ctx.expect(
      flood.latencyUs.p99 <= 2 * alone.latencyUs.p99 + s.p99SlackMs * 1000,
      `allowed p99 ${ms(flood.latencyUs.p99)} ms during the flood, ${ms(alone.latencyUs.p99)} ms without: ${ratio.toFixed(2)}x (limit 2x${s.p99SlackMs > 0 ? ` + ${s.p99SlackMs} ms` : ""})`,
    );
    await expectNoLeak(ctx, lg, baseline);
    ctx.summary = `${held.closedByPeer}/${s.clients} slow clients closed ${closeMin}-${closeMax} ms after accept (headerTimeout ${s.headerTimeoutMs} ms); allowed p99 ${ms(alone.latencyUs.p99)} ms alone, ${ms(flood.latencyUs.p99)} ms during the flood (${ratio.toFixed(2)}x), ${flood.ok} allowed ok, 0 expected failures (${failures(flood)})`;
  },
};

/**
 * Connection churn: allowed connections in a closed loop, beside clients that connect and close
 * at once (FIN, no byte) and clients that send half a header and reset. Every connection gets
 * its line, with the reason its kind calls for.
 */
/** TcpExtTCPTimeWaitOverflow of /proc/net/netstat (0 where it cannot be read). */
function timeWaitOverflows(): number {
  try {
    const rows = readFileSync("/proc/net/netstat", "latin1").split("\n");
    for (let i = 0; i + 1 < rows.length; i += 2) {
      const names = rows[i].split(" ");
      const k = names.indexOf("TCPTimeWaitOverflow");
      if (k > 0) return Number(rows[i + 1].split(" ")[k]);
    }
  } catch {}
  return 0;
}

export const connectionChurn: Scenario = {
  name: "connection-churn",
  title: "allowed connections beside clients that close at once or reset mid-header",
  limitSeconds: (o) => bySize(o.size, { quick: 60, full: 120 }),
  async run(ctx) {
    const seconds = ctx.pick({ ci: 1, quick: 3, full: 30 });
    const backend = await Backend.start(ctx.tools.load, "reply");
    const lg = await start(ctx, backend, { headerTimeout: "2s" });
    const port = lg.port("pl");
    const allowed = ctx.file("allowed", ctx.payloads.allowed);
    await closedLoop(ctx.tools, port, allowed, { concurrency: 8, seconds: ctx.warmUpSeconds });
    const baseline = await idleHoldings(lg);
    const skip = lg.lines.total;

    ctx.try(
      `for ${seconds} s: 32 allowed connections at a time, 16 that close without a byte, 16 that reset after 50 bytes`,
    );
    const overflowsBefore = timeWaitOverflows();
    const [load, fin, rst] = await Promise.all([
      closedLoop(ctx.tools, port, allowed, { concurrency: 32, seconds }),
      churn(ctx.tools, port, allowed, { concurrency: 16, seconds, send: 0, close: "fin" }),
      churn(ctx.tools, port, allowed, { concurrency: 16, seconds, send: 50, close: "rst" }),
    ]);
    // lgbench counts as started the connections still connecting when the time is up (up to
    // its concurrency), which linkgate may never see.
    const accepted = load.started - load.refused - load.other + fin.connected + rst.connected;
    const inFlight = 32;
    await until(() => lg.lines.total - skip >= accepted, 10_000);
    const done = await backend.settle((b) => b.completed === lg.lines.count("allow"));
    const lines = lg.lines.total - skip;
    const rate = Math.round(lines / seconds);
    const overflows = timeWaitOverflows() - overflowsBefore;
    const missing = lg.lines.count("drop PP_MISSING_HEADER");
    const clientErrors = lg.lines.count("drop CONN_CLIENT_ERROR");
    ctx.figure("seconds", seconds);
    ctx.figure("connections", {
      allowed: load.started,
      closedAtOnce: fin.connected,
      resetMidHeader: rst.connected,
      lines,
      perSecond: rate,
    });
    ctx.figure("allowed", { ok: load.ok, failed: failures(load), p99Ms: ms(load.latencyUs.p99) });
    ctx.figure("lines", lg.lines.table());
    ctx.figure("timeWaitOverflows", overflows);
    expectHealthy(ctx, lg);
    ctx.expect(
      failures(load) === 0,
      `${failures(load)} allowed connections failed (${load.lastErrno})`,
    );
    ctx.expect(
      lines <= accepted && lines >= accepted - inFlight,
      `${lines} connection lines for ${accepted} connections (${inFlight} of them may have been cut while connecting)`,
    );
    // A client that closes at once is PP_MISSING_HEADER, unless its connection was reset before
    // linkgate accepted it: at this rate the client's kernel runs out of TIME_WAIT buckets
    // (TcpExtTCPTimeWaitOverflow), reuses the 4-tuple at once, and the new SYN's exchange resets
    // the old connection still in the accept queue. linkgate then sees a reset (its peer address
    // unreadable): CONN_CLIENT_ERROR, as for the clients that reset on purpose.
    ctx.expect(
      missing + clientErrors === fin.connected + rst.connected,
      `${missing} PP_MISSING_HEADER and ${clientErrors} CONN_CLIENT_ERROR lines for ${fin.connected} connections closed without a byte and ${rst.connected} resets`,
    );
    ctx.expect(
      missing <= fin.connected && clientErrors - rst.connected <= overflows,
      `${fin.connected - missing} connections closed without a byte were logged as resets, more than the ${overflows} TIME_WAIT overflows that could reset them`,
    );
    ctx.expect(
      lg.lines.count("drop PP_UNTRUSTED_PEER") === 0,
      `${lg.lines.count("drop PP_UNTRUSTED_PEER")} connections from the trusted load generator logged PP_UNTRUSTED_PEER`,
    );
    ctx.expect(
      lg.lines.count("allow") === lg.lines.count("allow POLICY_LINK_ALLOWED"),
      "an allowed connection ended with an error",
    );
    ctx.expect(
      done.completed === lg.lines.count("allow"),
      `the backend answered ${done.completed} requests, linkgate allowed ${lg.lines.count("allow")}`,
    );
    await expectNoLeak(ctx, lg, baseline);
    ctx.summary = `${lines} connections in ${seconds} s (${rate}/s): ${load.started} allowed (${failures(load)} failed), ${fin.connected} closed at once, ${rst.connected} reset; one line each, with its reason`;
  },
};

/**
 * Denied and dropped floods: connections from an endpoint no tenant allows (denied after the
 * ClientHello) and headers with a bad CRC32C (dropped at the header), beside allowed traffic.
 * Not one denied connection may reach the backend; every allowed one must.
 */
export const deniedFlood: Scenario = {
  name: "denied-flood",
  title: "denied and dropped connections in a flood, beside allowed traffic",
  limitSeconds: (o) => bySize(o.size, { quick: 60, full: 120 }),
  async run(ctx) {
    const seconds = ctx.pick({ ci: 1.5, quick: 3, full: 20 });
    const backend = await Backend.start(ctx.tools.load, "reply");
    const lg = await start(ctx, backend);
    const port = lg.port("pl");
    const allowed = ctx.file("allowed", ctx.payloads.allowed);
    const wrongLink = ctx.file("wrong-link", ctx.payloads.wrongLink);
    const badCrc = ctx.file("bad-crc", ctx.payloads.badCrc);
    await closedLoop(ctx.tools, port, allowed, { concurrency: 8, seconds: ctx.warmUpSeconds });
    const baseline = await idleHoldings(lg);

    ctx.try(`allowed traffic alone: 8 connections at a time for ${seconds} s`);
    const alone = await closedLoop(ctx.tools, port, allowed, { concurrency: 8, seconds });
    ctx.try(
      `for ${seconds} s: the same, beside 32 connections at a time from another endpoint and 32 with a bad CRC32C`,
    );
    const [during, denied, dropped] = await Promise.all([
      closedLoop(ctx.tools, port, allowed, { concurrency: 8, seconds }),
      closedLoop(ctx.tools, port, wrongLink, { concurrency: 32, seconds }),
      closedLoop(ctx.tools, port, badCrc, { concurrency: 32, seconds }),
    ]);
    const b = await backend.settle((x) => x.completed === lg.lines.count("allow"));
    const deniedLines = lg.lines.count("deny POLICY_LINK_NOT_ALLOWED");
    const droppedLines = lg.lines.count("drop PP2_BAD_CRC32C");
    ctx.figure("seconds", seconds);
    ctx.figure("allowedAlone", {
      ok: alone.ok,
      rate: Math.round(alone.rateOk),
      p99Ms: ms(alone.latencyUs.p99),
    });
    ctx.figure("allowedDuringFlood", {
      ok: during.ok,
      rate: Math.round(during.rateOk),
      p99Ms: ms(during.latencyUs.p99),
    });
    ctx.figure("denied", {
      perSecond: Math.round(denied.answered / seconds),
      lines: deniedLines,
      answeredByBackend: denied.ok,
    });
    ctx.figure("dropped", {
      perSecond: Math.round(dropped.answered / seconds),
      lines: droppedLines,
      answeredByBackend: dropped.ok,
    });
    ctx.figure("backend", { accepted: b.accepted, completed: b.completed });
    ctx.figure("lines", lg.lines.table());
    expectHealthy(ctx, lg);
    ctx.expect(
      failures(alone) === 0 && failures(during) === 0,
      `allowed connections failed: ${failures(alone)} alone, ${failures(during)} during the flood`,
    );
    ctx.expect(
      denied.ok === 0 && dropped.ok === 0,
      `denied connections got the backend's answer: ${denied.ok} denied, ${dropped.ok} dropped`,
    );
    ctx.expect(
      b.accepted === lg.lines.count("allow"),
      `the backend accepted ${b.accepted} connections, linkgate allowed ${lg.lines.count("allow")}`,
    );
    ctx.expect(
      lg.lines.count("allow") === lg.lines.count("allow POLICY_LINK_ALLOWED"),
      "an allowed connection ended with an error",
    );
    ctx.expect(deniedLines > 0 && droppedLines > 0, "the flood produced no denial");
    ctx.expect(
      deniedLines + droppedLines + lg.lines.count("allow") === lg.lines.total,
      "a line with another outcome than allow, POLICY_LINK_NOT_ALLOWED or PP2_BAD_CRC32C",
    );
    await expectNoLeak(ctx, lg, baseline);
    ctx.summary = `${Math.round(denied.answered / seconds)} denied/s and ${Math.round(dropped.answered / seconds)} dropped/s, none reached the backend; allowed: ${during.ok} ok, ${failures(during)} failed, p99 ${ms(alone.latencyUs.p99)} ms alone, ${ms(during.latencyUs.p99)} ms during the flood`;
  },
};

/**
 * The process's descriptor limit reached: linkgate runs under a low RLIMIT_NOFILE, and clients
 * open more connections than it can hold (admitted ones take two descriptors, slow headers
 * one). linkgate must not crash, and must serve again once they go.
 */
export const fdLimit: Scenario = {
  name: "fd-limit",
  title: "more connections than the descriptor limit allows, then recovery",
  limitSeconds: () => 120,
  async run(ctx) {
    const limit = ctx.pick({ ci: 128, quick: 256, full: 1024 });
    const backend = await Backend.start(ctx.tools.load, "hold");
    const replying = await Backend.start(ctx.tools.load, "reply");
    const lg = await start(ctx, backend, { headerTimeout: "20s", connectTimeout: "2s" }, limit);
    const port = lg.port("pl");
    const allowed = ctx.file("allowed", ctx.payloads.allowed);
    const slow = ctx.file("slow", ctx.payloads.allowed.subarray(0, 16));
    const baseline = await idleHoldings(lg);

    ctx.try(
      `linkgate limited to ${limit} descriptors (${baseline.fds} in use idle); ${limit} allowed connections held open upstream`,
    );
    const admitted = new Holder(ctx.tools, port, allowed, limit);
    const a = await admitted.established(60_000);
    await sleep(ctx.pick({ ci: 500, quick: 1000, full: 1000 }));
    ctx.try(`then ${limit} more that send 16 bytes of a header and wait`);
    const waiting = new Holder(ctx.tools, port, slow, limit);
    const w = await waiting.established(60_000);
    await sleep(ctx.pick({ ci: 1000, quick: 2000, full: 2000 }));
    const aliveUnderPressure = lg.running;
    const sa = await admitted.status();
    const sw = await waiting.status();
    ctx.try("all of them close; then allowed traffic through a replying backend");
    await admitted.stop();
    await waiting.stop();
    // Every connection that linkgate saw has its line once its client has gone.
    let seen = -1;
    await until(
      () => {
        const still = lg.lines.total === seen;
        seen = lg.lines.total;
        return still || !lg.running;
      },
      20_000,
      500,
    );
    const logged = lg.lines.total;
    const unlogged = a.ok + w.ok - logged;
    const table = lg.lines.table();
    if (lg.running)
      await lg.reload(
        linkgateConfig(ctx, {
          upstream: replying.target,
          headerTimeout: "20s",
          connectTimeout: "2s",
        }),
      );
    const after = lg.running
      ? await closedLoop(ctx.tools, port, allowed, {
          concurrency: 8,
          seconds: ctx.pick({ ci: 1, quick: 2, full: 2 }),
        })
      : null;
    ctx.figure("fdLimit", limit);
    ctx.figure("admittedClients", { connected: a.ok, failed: a.failed, openMeanwhile: sa.open });
    ctx.figure("waitingClients", { connected: w.ok, failed: w.failed, openMeanwhile: sw.open });
    ctx.figure("linesForTheseConnections", table);
    ctx.figure("closedWithoutALine", unlogged);
    ctx.figure("afterwards", after === null ? null : { ok: after.ok, failed: failures(after) });
    ctx.expect(
      aliveUnderPressure,
      `linkgate exited at the descriptor limit (${lg.proc.exitCode}): ${lg.stderr.slice(-1500)}`,
    );
    expectHealthy(ctx, lg);
    ctx.expect(
      unlogged === 0,
      `${unlogged} of ${a.ok + w.ok} connections were closed at the descriptor limit without a connection line (nor a metric)`,
    );
    if (after !== null)
      ctx.expect(
        failures(after) === 0 && after.ok > 0,
        `after the flood, ${failures(after)} of ${after.started} allowed connections failed`,
      );
    if (lg.running) await expectNoLeak(ctx, lg, baseline);
    ctx.summary = lg.running
      ? `at ${limit} fds: ${sa.open} of ${a.ok} admitted and ${sw.open} of ${w.ok} waiting connections held; ${unlogged} closed without a line; afterwards ${after?.ok} allowed ok, ${after === null ? "-" : failures(after)} failed; no crash`
      : `linkgate exited at the descriptor limit: ${lg.stderr.split("\n").find((l) => /Error|EMFILE/.test(l)) ?? lg.proc.exitCode}`;
  },
};
