/**
 * The load generator and backend of the stress suite where bench/native/lgbench.c cannot be built
 * (no C compiler, as on a fresh CI machine): the same modes, options and JSON lines, in Node.js.
 * Slower than lgbench (more CPU per connection, so less left for linkgate), equally bounded.
 * Run by Node.js 24 as it is (type stripping): node bench/stress/lib/loadgen.ts MODE [options].
 *
 *   server --listen IP:PORT [--behaviour reply|drop|hold|sink|source] [--reply-bytes 64]
 *          [--source-bytes N] [--max-seconds 600]
 *   client --connect IP:PORT --payload FILE [--concurrency 50] [--duration 5] [--expect 64]
 *          [--bind IP,...] [--conn-timeout-ms 5000]
 *   hold   --connect IP:PORT --payload FILE --count N [--parallel 256] [--bind IP,...]
 *          [--conn-timeout-ms 10000] [--max-seconds 300]
 *   churn  --connect IP:PORT --payload FILE [--concurrency 50] [--duration 5] [--bind IP,...]
 *          Opens connections that send the first `--send` bytes of FILE (default 0) and then
 *          close (--close fin) or reset (--close rst), as fast as --concurrency allows. Prints
 *          {"mode":"churn","started":N,"connected":N,"failed":N}. (lgbench has no such mode.)
 *
 * Outcomes, the server's request detection (an optional PROXY header, then one TLS record) and
 * the events are lgbench's; see the comment at the top of bench/native/lgbench.c.
 */
import { readFileSync } from "node:fs";
import net from "node:net";
import { parseArgs } from "node:util";

const [mode, ...argv] = process.argv.slice(2);
const { values: o } = parseArgs({
  args: argv,
  options: {
    listen: { type: "string" },
    behaviour: { type: "string", default: "reply" },
    "reply-bytes": { type: "string", default: "64" },
    "source-bytes": { type: "string", default: "0" },
    "max-seconds": { type: "string" },
    connect: { type: "string" },
    payload: { type: "string" },
    concurrency: { type: "string", default: "50" },
    duration: { type: "string", default: "5" },
    warmup: { type: "string", default: "0" },
    expect: { type: "string", default: "64" },
    bind: { type: "string" },
    "conn-timeout-ms": { type: "string" },
    count: { type: "string" },
    parallel: { type: "string", default: "256" },
    send: { type: "string", default: "0" },
    close: { type: "string", default: "fin" },
  },
});

const print = (j: object) => process.stdout.write(`${JSON.stringify(j)}\n`);
// Stop when the parent dies (lgbench uses PR_SET_PDEATHSIG): the IPC-less way is to poll.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.exit(1);
}, 1000).unref();

function hostPort(spec: string | undefined): { host: string; port: number } {
  if (spec === undefined) throw new Error(`${mode} needs --connect/--listen IP:PORT`);
  const i = spec.lastIndexOf(":");
  return { host: spec.slice(0, i), port: Number(spec.slice(i + 1)) };
}

const binds = o.bind?.split(",") ?? [];
let nextBind = 0;
function localAddress(): string | undefined {
  return binds.length === 0 ? undefined : binds[nextBind++ % binds.length];
}

function outcomeOf(error: NodeJS.ErrnoException): "reset" | "refused" | "timeout" | "other" {
  if (error.code === "ECONNREFUSED") return "refused";
  if (error.code === "ECONNRESET" || error.code === "EPIPE" || error.code === "ECONNABORTED")
    return "reset";
  if (error.code === "ETIMEDOUT") return "timeout";
  return "other";
}

/** Percentile of sorted latencies (microseconds). */
function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

// ---------------------------------------------------------------------------------------------

/** Bytes a request takes: an optional PROXY header then one TLS record; -1 while unknown. */
function requestLength(b: Buffer): number {
  let p = 0;
  if (b.length >= 1 && b[0] === 0x0d) {
    if (b.length < 16) return -1;
    p = 16 + b.readUInt16BE(14);
  } else if (b.length >= 1 && b[0] === 0x50) {
    const crlf = b.indexOf("\r\n");
    if (crlf < 0) return -1;
    p = crlf + 2;
  }
  if (b.length < p + 5) return -1;
  return p + 5 + b.readUInt16BE(p + 3);
}

function server(): void {
  const { host, port } = hostPort(o.listen);
  const stats = {
    accepted: 0,
    completed: 0,
    active: 0,
    holding: 0,
    incomplete: 0,
    timeouts: 0,
    errors: 0,
  };
  const reply = Buffer.alloc(Number(o["reply-bytes"]), 0x72);
  const sourceBytes = Number(o["source-bytes"]);
  const srv = net.createServer({ allowHalfOpen: true, noDelay: true }, (s) => {
    stats.accepted++;
    stats.active++;
    let head = Buffer.alloc(0);
    let complete = false;
    s.on("error", () => stats.errors++);
    s.on("close", () => {
      stats.active--;
      if (!complete) stats.incomplete++;
      else if (o.behaviour === "hold") stats.holding--;
    });
    s.on("end", () => s.end());
    s.on("data", (d: Buffer) => {
      if (complete) return;
      head = Buffer.concat([head, d]);
      const want = requestLength(head);
      if (want < 0 || head.length < want) return;
      complete = true;
      stats.completed++;
      switch (o.behaviour) {
        case "reply":
          s.end(reply);
          break;
        case "drop":
          s.resetAndDestroy();
          break;
        case "hold":
          stats.holding++;
          break;
        case "source": {
          const chunk = Buffer.alloc(65536, 0x73);
          let left = sourceBytes;
          const pump = () => {
            while (left > 0) {
              const n = Math.min(left, chunk.length);
              left -= n;
              if (!s.write(n === chunk.length ? chunk : chunk.subarray(0, n)))
                return void s.once("drain", pump);
            }
            s.end();
          };
          pump();
          break;
        }
        default: // sink: read until EOF
          break;
      }
    });
  });
  srv.listen({ host, port, backlog: 4096 }, () =>
    print({ event: "listening", port: (srv.address() as net.AddressInfo).port }),
  );
  process.on("SIGUSR1", () => print({ event: "stats", ...stats }));
  const stop = () => {
    print({ event: "exit", ...stats });
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  setTimeout(stop, Number(o["max-seconds"] ?? 600) * 1000).unref();
  setInterval(() => {}, 1 << 30);
}

// ---------------------------------------------------------------------------------------------

function client(): void {
  const target = hostPort(o.connect);
  const payload = readFileSync(o.payload as string);
  const expect = Number(o.expect);
  const concurrency = Number(o.concurrency);
  const duration = Number(o.duration) * 1000;
  const warmup = Number(o.warmup) * 1000;
  const timeoutMs = Number(o["conn-timeout-ms"] ?? 5000);
  const counts = { ok: 0, noReply: 0, reset: 0, refused: 0, timeout: 0, other: 0 };
  const latencies: number[] = [];
  let started = 0;
  let lastErrno = "";
  const t0 = performance.now();
  const from = t0 + warmup;
  const to = from + duration;
  let running = 0;
  let stopped = false;

  const finish = () => {
    const seconds = duration / 1000;
    const sorted = Float64Array.from(latencies).sort();
    const answered = sorted.length;
    print({
      mode: "client",
      seconds,
      concurrency,
      started,
      ...counts,
      answered,
      rateOk: counts.ok / seconds,
      rateAnswered: answered / seconds,
      latencyUs: {
        p50: percentile(sorted, 0.5),
        p90: percentile(sorted, 0.9),
        p99: percentile(sorted, 0.99),
        max: answered === 0 ? 0 : sorted[answered - 1],
        mean: answered === 0 ? 0 : sorted.reduce((a, b) => a + b, 0) / answered,
      },
      cpuSeconds: (process.cpuUsage().user + process.cpuUsage().system) / 1e6,
      lastErrno,
    });
    process.exit(0);
  };

  const one = () => {
    if (stopped) return;
    running++;
    started++;
    const begin = performance.now();
    let got = 0;
    let done = false;
    const s = net.connect({ ...target, localAddress: localAddress(), noDelay: true });
    const end = (outcome: keyof typeof counts) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      const now = performance.now();
      if (now >= from && now < to) {
        counts[outcome]++;
        if (outcome === "ok" || outcome === "noReply" || outcome === "reset")
          latencies.push((now - begin) * 1000);
      }
      running--;
      if (now < to) setImmediate(one);
      else if (running === 0) finish();
    };
    const timer = setTimeout(() => end("timeout"), timeoutMs);
    s.on("connect", () => s.write(payload));
    s.on("data", (d: Buffer) => {
      got += d.length;
    });
    s.on("end", () => end(got >= expect ? "ok" : "noReply"));
    s.on("error", (e: NodeJS.ErrnoException) => {
      if ((e.code === "ECONNRESET" || e.code === "EPIPE") && expect > 0 && got >= expect)
        return end("ok");
      const outcome = outcomeOf(e);
      if (outcome === "other") lastErrno = e.code ?? e.message;
      end(outcome);
    });
  };
  for (let i = 0; i < concurrency; i++) one();
  setTimeout(() => {
    stopped = true;
    // Connections still open at the end are not counted (as lgbench).
    setTimeout(finish, timeoutMs + 100).unref();
  }, warmup + duration);
  process.on("SIGTERM", finish);
}

// ---------------------------------------------------------------------------------------------

function hold(): void {
  const target = hostPort(o.connect);
  const payload = readFileSync(o.payload as string);
  const count = Number(o.count);
  const parallel = Number(o.parallel);
  const timeoutMs = Number(o["conn-timeout-ms"] ?? 10_000);
  const outcomes = { reset: 0, refused: 0, timeout: 0, other: 0 };
  const sockets = new Set<net.Socket>();
  let next = 0;
  let inProgress = 0;
  let established = 0;
  let failed = 0;
  let open = 0;
  let closedByPeer = 0;
  let reported = false;
  const t0 = performance.now();

  const maybeReport = () => {
    if (reported || next < count || inProgress > 0) return;
    reported = true;
    print({
      event: "established",
      ok: established,
      failed,
      seconds: (performance.now() - t0) / 1000,
      ...outcomes,
      noReply: 0,
    });
  };
  const startMore = () => {
    while (next < count && inProgress < parallel) {
      next++;
      inProgress++;
      let state: "connecting" | "held" | "done" = "connecting";
      const s = net.connect({ ...target, localAddress: localAddress(), noDelay: true });
      sockets.add(s);
      const timer = setTimeout(() => fail("timeout"), timeoutMs);
      const fail = (outcome: keyof typeof outcomes) => {
        if (state !== "connecting") return;
        state = "done";
        clearTimeout(timer);
        outcomes[outcome]++;
        failed++;
        inProgress--;
        s.destroy();
        sockets.delete(s);
        startMore();
        maybeReport();
      };
      s.on("connect", () => {
        s.write(payload, () => {
          if (state !== "connecting") return;
          state = "held";
          clearTimeout(timer);
          established++;
          open++;
          inProgress--;
          startMore();
          maybeReport();
        });
      });
      s.on("data", () => {});
      const peerClosed = () => {
        if (state === "held") {
          state = "done";
          closedByPeer++;
          open--;
          s.destroy();
          sockets.delete(s);
        }
      };
      s.on("end", peerClosed);
      s.on("close", () => {
        peerClosed();
        if (state === "connecting") fail("reset");
      });
      s.on("error", (e: NodeJS.ErrnoException) => {
        if (state === "connecting") fail(outcomeOf(e));
        else peerClosed();
      });
    }
  };
  startMore();
  maybeReport();
  process.on("SIGUSR1", () => print({ event: "status", open, established, failed, closedByPeer }));
  const stop = () => {
    for (const s of sockets) s.destroy();
    print({ event: "exit", open, established, failed, closedByPeer });
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  setTimeout(stop, Number(o["max-seconds"] ?? 300) * 1000).unref();
  setInterval(() => {}, 1 << 30);
}

// ---------------------------------------------------------------------------------------------

function churn(): void {
  const target = hostPort(o.connect);
  const bytes = readFileSync(o.payload as string).subarray(0, Number(o.send));
  const reset = o.close === "rst";
  const concurrency = Number(o.concurrency);
  const until = performance.now() + Number(o.duration) * 1000;
  let started = 0;
  let connected = 0;
  let failed = 0;
  let running = 0;
  const one = () => {
    if (performance.now() >= until) {
      if (running === 0) {
        print({ mode: "churn", started, connected, failed });
        process.exit(0);
      }
      return;
    }
    running++;
    started++;
    const s = net.connect({ ...target, localAddress: localAddress(), noDelay: true });
    let settled = false;
    const done = (ok: boolean) => {
      if (settled) return;
      settled = true;
      if (ok) connected++;
      else failed++;
      running--;
      setImmediate(one);
    };
    s.on("error", () => done(false));
    s.on("connect", () => {
      const close = () => {
        if (reset) s.resetAndDestroy();
        else s.destroySoon();
        done(true);
      };
      if (bytes.length > 0) s.write(bytes, close);
      else close();
    });
  };
  for (let i = 0; i < concurrency; i++) one();
}

switch (mode) {
  case "server":
    server();
    break;
  case "client":
    client();
    break;
  case "hold":
    hold();
    break;
  case "churn":
    churn();
    break;
  default:
    process.stderr.write("loadgen: expected a mode: server, client, hold or churn\n");
    process.exit(2);
}
