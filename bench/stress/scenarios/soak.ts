/**
 * Soak: minutes of mixed traffic, with what linkgate holds sampled every 10 s (RSS and heap after
 * a full GC, descriptors, timers, TCP sockets, the connection registry). Bounded means: the heap
 * and RSS stop growing once warm, and everything returns to its baseline when traffic stops.
 */
import { helloWithSni } from "../../../test/tls/hello-builder.js";
import { type Holdings, Linkgate } from "../lib/linkgate.js";
import { Client, clients, Origin } from "../lib/peers.js";
import {
  AWS_LINK,
  bySize,
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
import { Backend, closedLoop, failures } from "../lib/tools.js";

const SAMPLE_MS = 10_000;

function soakConfig(ctx: Context, backend: Backend, echo: Origin, extraTenants: number) {
  return linkgateConfig(ctx, {
    upstream: backend.target,
    extraTenants,
    idleTimeout: "20s",
    tenants: [{ id: "longlived", upstream: echo.target, allow: { rules: [{ link: AWS_LINK }] } }],
  });
}

interface Sample extends Holdings {
  atSeconds: number;
  lines: number;
}

export const soak: Scenario = {
  name: "soak",
  title: "mixed traffic for minutes, what linkgate holds sampled every 10 s",
  limitSeconds: (o) => bySize(o.size, { quick: 20, full: o.soakSeconds ?? 600 }) + 120,
  async run(ctx) {
    const seconds = ctx.pick({ quick: 20, full: ctx.options.soakSeconds ?? 600 });
    const backend = await Backend.start(ctx.tools.load, "reply");
    const echo = await Origin.start({ kind: "echo" });
    const lg = await Linkgate.start({
      config: soakConfig(ctx, backend, echo, 0),
      dir: ctx.dir,
      name: "lg",
    });
    const port = lg.port("pl");
    const domain = ctx.payloads.sni.slice(ctx.payloads.sni.indexOf(".") + 1);
    const longPayload = Buffer.concat([
      ctx.payloads.allowed.subarray(0, ctx.payloads.headerBytes),
      helloWithSni(`longlived.${domain}`),
    ]);
    const allowed = ctx.file("allowed", ctx.payloads.allowed);
    await closedLoop(ctx.tools, port, allowed, { concurrency: 4, seconds: 2 });
    const baseline = await idleHoldings(lg);

    ctx.try(
      `${seconds} s of: 4 allowed connections at a time, 2 from a denied endpoint, 1 with a bad CRC32C; 20 long-lived echo connections (5 replaced a minute); every 10 s 50 clients stuck in the header and 10 that reset mid-stream; every 30 s a 16 MiB round trip and a reload`,
    );
    const t0 = Date.now();
    const end = t0 + seconds * 1000;
    const load = closedLoop(ctx.tools, port, allowed, { concurrency: 4, seconds });
    const denied = closedLoop(ctx.tools, port, ctx.file("wrong-link", ctx.payloads.wrongLink), {
      concurrency: 2,
      seconds,
    });
    const dropped = closedLoop(ctx.tools, port, ctx.file("bad-crc", ctx.payloads.badCrc), {
      concurrency: 1,
      seconds,
    });
    let long = await clients(20, port, longPayload);
    const samples: Sample[] = [];
    let tick = 0;
    let echoFailures = 0;
    let bulkRounds = 0;
    let bulkFailures = 0;
    let reloads = 0;
    let stuck: Client[] = [];
    while (Date.now() < end) {
      await sleep(Math.max(0, t0 + (tick + 1) * SAMPLE_MS - Date.now()));
      tick++;
      for (const c of stuck) c.socket.destroy();
      stuck = await clients(50, port, ctx.payloads.allowed.subarray(0, 16));
      // Reset mid-stream: once an echo has come back. (Resets in the header phase are the
      // churn's business.)
      const resets = await clients(10, port, longPayload);
      for (const c of resets) c.socket.write(Buffer.alloc(64, 0x72));
      await until(() => resets.every((c) => c.received >= 64 || !c.open), 2000, 10);
      for (const c of resets) c.socket.resetAndDestroy();
      for (const c of long) {
        const want = c.received + 64;
        c.socket.write(Buffer.alloc(64, 0x6c));
        if (!(await until(() => c.received >= want, 2000, 10))) echoFailures++;
      }
      if (tick % 6 === 0) {
        for (const c of long.slice(0, 5)) c.socket.end();
        long = [...long.slice(5), ...(await clients(5, port, longPayload))];
      }
      if (tick % 3 === 1) {
        bulkRounds++;
        const bulk = new Client(port, longPayload);
        await bulk.connected;
        const volume = 16 * 2 ** 20;
        bulk.socket.write(Buffer.alloc(volume, 0x62));
        if (!(await until(() => bulk.received >= volume, 20_000, 20))) bulkFailures++;
        bulk.socket.end();
        if ((await lg.reload(soakConfig(ctx, backend, echo, reloads % 2 === 0 ? 100 : 0))) === "ok")
          reloads++;
      }
      const h = await lg.holdings();
      samples.push({
        ...h,
        atSeconds: Math.round((Date.now() - t0) / 1000),
        lines: lg.lines.total,
      });
      ctx.say(
        `    ${samples.at(-1)?.atSeconds} s: RSS ${h.rssMiB} MiB, heap ${h.heapMiB} MiB, buffers ${h.buffersMiB} MiB, ${h.fds} fds, ${h.timers} timers, ${h.sockets} sockets, ${h.registry} registered, ${lg.lines.total} lines`,
      );
      if (!lg.running) break;
    }
    const [l, d, x] = await Promise.all([load, denied, dropped]);
    for (const c of [...long, ...stuck]) c.socket.destroy();

    // Growth once warm: the first third against the last.
    const third = Math.max(1, Math.floor(samples.length / 3));
    const early = samples.slice(0, third);
    const late = samples.slice(-third);
    const maxOf = (s: Sample[], f: (x: Sample) => number) => Math.max(...s.map(f));
    const heapGrowth =
      Math.round((maxOf(late, (s) => s.heapMiB) - maxOf(early, (s) => s.heapMiB)) * 10) / 10;
    const rssGrowth =
      Math.round((maxOf(late, (s) => s.rssMiB) - maxOf(early, (s) => s.rssMiB)) * 10) / 10;
    ctx.figure("seconds", seconds);
    ctx.figure("connections", lg.lines.total);
    ctx.figure("allowed", {
      ok: l.ok,
      failed: failures(l),
      rate: Math.round(l.rateOk),
      p99Ms: ms(l.latencyUs.p99),
    });
    ctx.figure("deniedGotAnAnswer", d.ok + x.ok);
    ctx.figure("longLived", { echoFailures, bulkRounds, bulkFailures, reloads });
    ctx.figure("growthFirstToLastThird", { heapMiB: heapGrowth, rssMiB: rssGrowth });
    ctx.figure(
      "samples",
      samples.map((s) => [
        s.atSeconds,
        s.rssMiB,
        s.heapMiB,
        s.buffersMiB,
        s.fds,
        s.timers,
        s.sockets,
        s.registry,
        s.lines,
      ]),
    );
    ctx.figure("samplesColumns", [
      "s",
      "rssMiB",
      "heapMiB",
      "buffersMiB",
      "fds",
      "timers",
      "sockets",
      "registry",
      "lines",
    ]);
    ctx.figure("lines", lg.lines.table());
    expectHealthy(ctx, lg);
    ctx.expect(failures(l) === 0, `${failures(l)} allowed connections failed (${l.lastErrno})`);
    ctx.expect(
      d.ok + x.ok === 0,
      `${d.ok + x.ok} denied or dropped connections got the backend's answer`,
    );
    ctx.expect(
      echoFailures === 0 && bulkFailures === 0,
      `long-lived relays failed: ${echoFailures} echoes, ${bulkFailures} of ${bulkRounds} bulk round trips`,
    );
    ctx.expect(heapGrowth <= 8, `the heap grew ${heapGrowth} MiB from the first third to the last`);
    ctx.expect(rssGrowth <= 64, `RSS grew ${rssGrowth} MiB from the first third to the last`);
    await expectNoLeak(ctx, lg, baseline, 16, 30_000);
    await echo.close();
    ctx.summary = `${lg.lines.total} connections in ${seconds} s (${l.ok} allowed ok, ${failures(l)} failed; ${echoFailures} echo and ${bulkFailures}/${bulkRounds} bulk failures; ${reloads} reloads); heap +${heapGrowth} MiB and RSS +${rssGrowth} MiB from the first third to the last; back to baseline afterwards`;
  },
};
