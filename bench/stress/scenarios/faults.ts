/**
 * Faults of the peers: an upstream that never answers (a black hole, then one that accepts and
 * stays silent), an upstream that resets mid-stream, a client that resets, an upstream that
 * never reads and a client that never reads (backpressure). Each connection must end with the
 * reason the fault calls for, nothing may pile up in linkgate, and nothing may be left behind.
 */
import { Linkgate } from "../lib/linkgate.js";
import { BlackHole, Client, clients, Origin } from "../lib/peers.js";
import {
  type ConfigOptions,
  type Context,
  expectHealthy,
  expectNoLeak,
  idleHoldings,
  linkgateConfig,
  type Scenario,
  sleep,
  until,
} from "../lib/scenario.js";

async function gateway(
  ctx: Context,
  upstream: string,
  extra: Partial<ConfigOptions> = {},
): Promise<Linkgate> {
  return Linkgate.start({
    config: linkgateConfig(ctx, { upstream, ...extra }),
    dir: ctx.dir,
    name: "lg",
  });
}

/** Lines for `n` connections, within `timeoutMs`. */
function linesFor(lg: Linkgate, n: number, timeoutMs = 5000): Promise<boolean> {
  return until(() => lg.lines.total >= n, timeoutMs);
}

/**
 * One connection through linkgate (reset by its client after 200 ms, whatever the upstream
 * does), so that what linkgate makes lazily exists before the baseline is taken.
 */
async function warmUp(lg: Linkgate, payload: Buffer): Promise<void> {
  const c = new Client(lg.port("pl"), payload);
  await c.connected;
  await sleep(200);
  c.socket.resetAndDestroy();
  await linesFor(lg, 1);
}

export const upstreamBlackHole: Scenario = {
  name: "upstream-black-hole",
  title: "upstreams that never answer the SYN, or accept and stay silent, end on their timeouts",
  limitSeconds: () => 60,
  async run(ctx) {
    const n = ctx.pick({ ci: 5, quick: 10, full: 50 });
    const hole = await BlackHole.start();
    const silent = await Origin.start({ kind: "no-read" });
    const lg = await gateway(ctx, hole.target, { connectTimeout: "1s", idleTimeout: "2s" });
    const payload = ctx.payloads.allowed;
    await warmUp(lg, payload);
    const baseline = await idleHoldings(lg);
    const skip = lg.lines.total;
    const mark = lg.lines.mark();

    ctx.try(`${n} allowed connections to an upstream that drops every SYN (connectTimeout 1 s)`);
    const t0 = Date.now();
    const a = await clients(n, lg.port("pl"), payload);
    await until(() => a.every((c) => !c.open), 5000);
    const closedAfter = a.map((c) => c.closedAt - t0);
    await linesFor(lg, skip + n);
    const timedOut = lg.lines.count("allow POLICY_LINK_ALLOWED UPSTREAM_CONNECT_TIMEOUT", mark);

    ctx.try(
      `${n} allowed connections to an upstream that accepts and never answers (idleTimeout 2 s)`,
    );
    await lg.reload(
      linkgateConfig(ctx, { upstream: silent.target, connectTimeout: "1s", idleTimeout: "2s" }),
    );
    const t1 = Date.now();
    const b = await clients(n, lg.port("pl"), payload);
    await until(() => b.every((c) => !c.open), 6000);
    const idleAfter = b.map((c) => c.closedAt - t1);
    await linesFor(lg, skip + 2 * n);
    const idled = lg.lines.count("allow POLICY_LINK_ALLOWED CONN_IDLE_TIMEOUT", mark);

    ctx.figure("connectTimeouts", {
      connections: n,
      lines: timedOut,
      closedAfterMs: { min: Math.min(...closedAfter), max: Math.max(...closedAfter) },
    });
    ctx.figure("idleTimeouts", {
      connections: n,
      lines: idled,
      closedAfterMs: { min: Math.min(...idleAfter), max: Math.max(...idleAfter) },
    });
    ctx.figure("lines", lg.lines.table());
    expectHealthy(ctx, lg);
    ctx.expect(
      timedOut === n,
      `${timedOut} of ${n} connections to the black hole ended with UPSTREAM_CONNECT_TIMEOUT`,
    );
    ctx.expect(
      Math.max(...closedAfter) < 2500,
      `a client of the black hole was closed only after ${Math.max(...closedAfter)} ms (connectTimeout 1 s)`,
    );
    ctx.expect(
      a.every((c) => c.received === 0),
      "a client of the black hole received bytes",
    );
    ctx.expect(
      idled === n,
      `${idled} of ${n} connections to the silent upstream ended with CONN_IDLE_TIMEOUT`,
    );
    ctx.expect(
      Math.min(...idleAfter) >= 1900 && Math.max(...idleAfter) < 3500,
      `silent upstream: clients closed ${Math.min(...idleAfter)}-${Math.max(...idleAfter)} ms after connecting (idleTimeout 2 s)`,
    );
    await expectNoLeak(ctx, lg, baseline);
    await hole.stop();
    await silent.close();
    ctx.summary = `black hole: ${timedOut}/${n} UPSTREAM_CONNECT_TIMEOUT, clients closed ${Math.min(...closedAfter)}-${Math.max(...closedAfter)} ms after connecting; silent upstream: ${idled}/${n} CONN_IDLE_TIMEOUT at ${Math.min(...idleAfter)}-${Math.max(...idleAfter)} ms`;
  },
};

export const upstreamReset: Scenario = {
  name: "upstream-reset",
  title:
    "an upstream that resets mid-stream: the client gets what was sent, then the close; UPSTREAM_ERROR",
  limitSeconds: () => 60,
  async run(ctx) {
    const n = ctx.pick({ ci: 10, quick: 20, full: 200 });
    const bytes = 100_000;
    const origin = await Origin.start({ kind: "reset-after", bytes });
    const lg = await gateway(ctx, origin.target);
    await warmUp(lg, ctx.payloads.allowed);
    const baseline = await idleHoldings(lg);
    const skip = lg.lines.total;
    const mark = lg.lines.mark();
    const errnos = new Map<string, number>();
    let delivered = 0;
    lg.lines.observer = (l) => {
      errnos.set(String(l.errno), (errnos.get(String(l.errno)) ?? 0) + 1);
      if (l.bytesToClient === bytes) delivered++;
    };
    ctx.try(`${n} allowed connections whose upstream sends ${bytes} bytes, then resets`);
    const cs = await clients(n, lg.port("pl"), ctx.payloads.allowed);
    await until(() => cs.every((c) => !c.open), 10_000);
    await linesFor(lg, skip + n);
    const ended = lg.lines.count("allow POLICY_LINK_ALLOWED UPSTREAM_ERROR", mark);
    const full = cs.filter((c) => c.received === bytes).length;
    ctx.figure("connections", n);
    ctx.figure("clientsGotAllBytes", full);
    ctx.figure("linesWithAllBytes", delivered);
    ctx.figure("errno", Object.fromEntries(errnos));
    ctx.figure("lines", lg.lines.table());
    expectHealthy(ctx, lg);
    ctx.expect(
      cs.every((c) => !c.open),
      `${cs.filter((c) => c.open).length} clients still open after their upstream reset`,
    );
    ctx.expect(ended === n, `${ended} of ${n} lines say UPSTREAM_ERROR`);
    await expectNoLeak(ctx, lg, baseline);
    await origin.close();
    ctx.summary = `${ended}/${n} ended with UPSTREAM_ERROR (errno ${[...errnos].map(([k, v]) => `${k}: ${v}`).join(", ")}); ${full}/${n} clients got all ${bytes} bytes sent before the reset`;
  },
};

export const clientReset: Scenario = {
  name: "client-reset",
  title:
    "clients that reset, in the header phase and mid-stream: CONN_CLIENT_ERROR, the upstream closed too",
  limitSeconds: () => 60,
  async run(ctx) {
    const n = ctx.pick({ ci: 10, quick: 20, full: 200 });
    const origin = await Origin.start({ kind: "stream" });
    const lg = await gateway(ctx, origin.target);
    await warmUp(lg, ctx.payloads.allowed);
    await until(() => origin.open() === 0, 2000);
    const baseline = await idleHoldings(lg);
    const skip = lg.lines.total;
    const mark = lg.lines.mark();

    ctx.try(`${n} clients that send half a PROXY header, then reset`);
    const half = await clients(n, lg.port("pl"), ctx.payloads.allowed.subarray(0, 50));
    await sleep(100);
    for (const c of half) c.socket.resetAndDestroy();
    await linesFor(lg, skip + n);
    const early = lg.lines.count("drop CONN_CLIENT_ERROR", mark);

    ctx.try(`${n} allowed clients that receive 256 KiB of an endless download, then reset`);
    const resetAt = new Map<number, number>();
    const mid = await clients(n, lg.port("pl"), ctx.payloads.allowed);
    await Promise.all(mid.map((c) => c.receive(256 * 1024)));
    const t = Date.now();
    for (const c of mid) c.socket.resetAndDestroy();
    for (const [i, c] of mid.entries()) resetAt.set(i, c.received);
    await linesFor(lg, skip + 2 * n);
    await until(() => origin.open() === 0, 5000);
    const upstreamClosedMs = Math.max(...origin.connections.slice(1).map((c) => c.closedAt - t));
    const late = lg.lines.count("allow POLICY_LINK_ALLOWED CONN_CLIENT_ERROR", mark);
    ctx.figure("headerPhase", { connections: n, CONN_CLIENT_ERROR: early });
    ctx.figure("midStream", {
      connections: n,
      CONN_CLIENT_ERROR: late,
      upstreamClosedWithinMs: upstreamClosedMs,
    });
    ctx.figure("lines", lg.lines.table());
    expectHealthy(ctx, lg);
    ctx.expect(early === n, `${early} of ${n} header-phase resets ended with CONN_CLIENT_ERROR`);
    ctx.expect(
      late === n,
      `${late} of ${n} mid-stream resets ended with closedBy CONN_CLIENT_ERROR`,
    );
    ctx.expect(
      origin.open() === 0,
      `${origin.open()} upstream connections left open after their client reset`,
    );
    ctx.expect(
      upstreamClosedMs < 1000,
      `an upstream connection was closed ${upstreamClosedMs} ms after its client reset`,
    );
    await expectNoLeak(ctx, lg, baseline);
    await origin.close();
    ctx.summary = `header phase: ${early}/${n} CONN_CLIENT_ERROR; mid-stream: ${late}/${n} closedBy CONN_CLIENT_ERROR, every upstream closed within ${upstreamClosedMs} ms`;
  },
};

/** Writes as fast as the socket takes it, up to `volume` bytes or until it stalls `stallMs`. */
async function pushUntilStalled(c: Client, volume: number, stallMs: number): Promise<number> {
  const chunk = Buffer.alloc(64 * 1024, 0x63);
  let written = 0;
  while (written < volume && c.open) {
    if (c.socket.write(chunk)) {
      written += chunk.length;
      continue;
    }
    written += chunk.length;
    const drained = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), stallMs);
      c.socket.once("drain", () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    if (!drained) break;
  }
  return written - c.socket.writableLength;
}

export const backpressure: Scenario = {
  name: "backpressure",
  title:
    "an upstream that never reads, a client that never reads: linkgate buffers a bounded amount, then idleTimeout",
  limitSeconds: () => 90,
  async run(ctx) {
    const volume = ctx.pick({ ci: 64, quick: 256, full: 1024 }) * 2 ** 20;
    const idleTimeout = ctx.pick({ ci: "1s", quick: "2s", full: "2s" });
    const sink = await Origin.start({ kind: "no-read" });
    const source = await Origin.start({ kind: "stream" });
    const lg = await gateway(ctx, sink.target, { idleTimeout });
    await warmUp(lg, ctx.payloads.allowed);
    const baseline = await idleHoldings(lg);
    const mark = lg.lines.mark();

    ctx.try(`a client uploads up to ${volume >> 20} MiB to an upstream that never reads`);
    const up = new Client(lg.port("pl"), ctx.payloads.allowed);
    await up.connected;
    const taken = await pushUntilStalled(up, volume, 800);
    const upHeld = await lg.holdings();
    await up.closed(5000);
    await linesFor(lg, 2);

    ctx.try(
      `an upstream streams without end to a client that never reads (up to ${volume >> 20} MiB)`,
    );
    await lg.reload(linkgateConfig(ctx, { upstream: source.target, idleTimeout }));
    const down = new Client(lg.port("pl"), ctx.payloads.allowed);
    await down.connected;
    down.socket.pause();
    await until(() => source.connections[0]?.sent > 0, 5000);
    let sent = -1;
    // Until the upstream's writes stop moving: everything in between is buffered somewhere.
    await until(
      () => {
        const now = source.connections[0].sent;
        const still = now === sent;
        sent = now;
        return still || now >= volume;
      },
      20_000,
      250,
    );
    const downHeld = await lg.holdings();
    await down.closed(5000);
    await linesFor(lg, 3);
    await until(() => source.open() === 0, 3000);

    const upRss = upHeld.rssMiB - baseline.rssMiB;
    const downRss = downHeld.rssMiB - baseline.rssMiB;
    ctx.figure("upload", {
      offeredMiB: volume >> 20,
      takenMiB: Math.round(taken / 2 ** 20),
      linkgateRssGrowthMiB: upRss,
    });
    ctx.figure("download", {
      upstreamSentMiB: Math.round(sent / 2 ** 20),
      linkgateRssGrowthMiB: downRss,
    });
    ctx.figure("lines", lg.lines.table());
    expectHealthy(ctx, lg);
    ctx.expect(
      taken < volume,
      `the upload never stalled: ${taken >> 20} MiB taken, no backpressure`,
    );
    ctx.expect(
      sent < volume,
      `the download never stalled: ${sent >> 20} MiB sent, no backpressure`,
    );
    ctx.expect(
      upRss < 64 && downRss < 64,
      `linkgate's RSS grew ${upRss} MiB (upload), ${downRss} MiB (download) while stalled`,
    );
    ctx.expect(
      lg.lines.count("allow POLICY_LINK_ALLOWED CONN_IDLE_TIMEOUT", mark) === 2,
      "the stalled connections did not both end with CONN_IDLE_TIMEOUT",
    );
    // (The sink never reads, so it never sees the close: linkgate's side is the probe's sockets.)
    ctx.expect(source.open() === 0, "the streaming upstream's connection was left open");
    await expectNoLeak(ctx, lg, baseline);
    await sink.close();
    await source.close();
    ctx.summary = `upload stalled after ${Math.round(taken / 2 ** 20)} of ${volume >> 20} MiB, download after ${Math.round(sent / 2 ** 20)} MiB; linkgate RSS +${upRss} / +${downRss} MiB meanwhile; both closed by idleTimeout`;
  },
};
