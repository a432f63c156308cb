/**
 * linkgate's own work per connection, without sockets: `linkgate serve` as `npm run bench` runs
 * it (the suite's 10-tenant policy, the control plane, metrics, a connection line at info),
 * started with an engine that has no sockets, and driven through the socket events of an
 * allowed connection: accept, the PROXY v2 header and the Chromium ClientHello in one read,
 * the decision, the upstream connected, the fresh header and the hello written upstream, a
 * 64-byte answer relayed, both FINs, both closes. About 50 connections are in flight at once,
 * as under the suite's 50 clients, so that what lives as long as a connection is alive when
 * the garbage collector runs.
 *
 *   npm run bench:connection [-- --connections 100000 --rounds 5 --in-flight 50 --log warn --lines pipe]
 *
 * What it measures is what linkgate adds to its runtime's floor in user time: the socket
 * layer (Node's streams, the system calls) is not in it. CPU is the process's user + system
 * time, helper threads (GC) included. Connection lines go to a LineOutput on /dev/null, or with
 * `--lines pipe` to a pipe that another process reads, as a container runtime or journald reads
 * a gateway's stdout (that process's CPU is not counted; its wake-ups are the writer's).
 * Prints numbers only, asserts nothing.
 */
import { spawn, spawnSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PerformanceObserver, performance } from "node:perf_hooks";
import type {
  Engine,
  EngineServer,
  EngineSocket,
  ListenOptions,
  SocketOwner,
} from "../src/dataplane/index.js";
import { LineOutput } from "../src/observability/line-output.js";
import { LinkgateRuntime } from "../src/runtime/linkgate.js";
import { AWS_LINK, buildPayloads } from "./lib/payloads.js";
import { generatePolicy } from "./lib/policy.js";

const USAGE =
  "usage: npm run bench:connection [-- --connections N --rounds N --in-flight N --log info|warn --lines null|pipe]";

/** The command line, or a one-line error and exit 2. */
function parseOptions(argv: string[]): {
  connections: number;
  rounds: number;
  inFlight: number;
  logLevel: "info" | "warn";
  lines: "null" | "pipe";
} {
  const o = {
    connections: 100_000,
    rounds: 5,
    inFlight: 50,
    logLevel: "info" as "info" | "warn",
    lines: "null" as "null" | "pipe",
  };
  const fail = (why: string): never => {
    process.stderr.write(`bench:connection: ${why}\n${USAGE}\n`);
    process.exit(2);
  };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (flag === "--log") {
      if (value !== "info" && value !== "warn") fail("--log takes info or warn");
      o.logLevel = value as "info" | "warn";
      continue;
    }
    if (flag === "--lines") {
      if (value !== "null" && value !== "pipe") fail("--lines takes null or pipe");
      o.lines = value as "null" | "pipe";
      continue;
    }
    const key = { "--connections": "connections", "--rounds": "rounds", "--in-flight": "inFlight" }[
      flag
    ] as "connections" | "rounds" | "inFlight" | undefined;
    if (key === undefined) fail(`unknown option ${flag}`);
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) fail(`${flag} takes a positive integer, not ${value}`);
    o[key as "connections" | "rounds" | "inFlight"] = n;
  }
  return o;
}
const {
  connections: CONNECTIONS,
  rounds: ROUNDS,
  inFlight: IN_FLIGHT,
  logLevel: LOG_LEVEL,
  lines: LINES,
} = parseOptions(process.argv.slice(2));

/**
 * Where the connection lines go: /dev/null, or a FIFO read by another process. The FIFO is
 * written in blocking mode: this benchmark makes lines 20 times faster than a proxy under load
 * does, and a full pipe then waits for the reader instead of dropping lines (waiting takes no
 * CPU); what it measures is the cost of the writes themselves.
 */
function openLines(tmp: string): { fd: number; linesRead: Promise<number> | null } {
  if (LINES === "null") return { fd: openSync("/dev/null", "w"), linesRead: null };
  const fifo = join(tmp, "lines");
  const made = spawnSync("mkfifo", [fifo]);
  if (made.status !== 0) throw new Error(`mkfifo: ${made.stderr}`);
  // wc(1) counts the lines it reads, faster than this process writes them: none is dropped.
  const reader = spawn("sh", ["-c", 'exec wc -l < "$0"', fifo], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  reader.stdout.on("data", (d: Buffer) => {
    out += d;
  });
  const linesRead = new Promise<number>((resolve, reject) =>
    reader.on("close", (code) => {
      const count = Number(out.trim());
      if (code === 0 && out.trim() !== "" && Number.isInteger(count)) resolve(count);
      else reject(new Error(`the pipe's reader (wc -l) exited with ${code}: "${out.trim()}"`));
    }),
  );
  const fd = openSync(fifo, "w"); // waits for the reader to open its end
  return { fd, linesRead };
}

/** A socket that goes nowhere: writes are taken whole, everything else is a no-op. */
class NullSocket implements EngineSocket {
  readonly remoteAddress: string;
  readonly remotePort: number;
  owner: SocketOwner | null = null;
  written = 0;
  constructor(address: string, port: number) {
    this.remoteAddress = address;
    this.remotePort = port;
  }
  localAddress(): { address: string; port: number } {
    return { address: "127.0.0.41", port: 443 };
  }
  write(_buffer: Buffer, length: number): boolean {
    this.written += length;
    return true;
  }
  shutdown(): void {}
  pause(): void {}
  resume(): void {}
  destroy(): void {}
  setKeepAlive(): void {}
  relayReads(): void {}
}

let acceptOne: ((socket: EngineSocket) => SocketOwner) | null = null;
/** The upstream socket the last decision dialled. */
let dialled: NullSocket | null = null;

const nullEngine: Engine = {
  name: "node",
  listen(
    options: ListenOptions,
    accept: (socket: EngineSocket) => SocketOwner,
  ): Promise<EngineServer> {
    acceptOne = accept;
    return Promise.resolve({ host: options.host, port: options.port, stopAccepting() {} });
  },
  connect(_host: string, _port: number, owner: SocketOwner): EngineSocket {
    const s = new NullSocket("", 0);
    s.owner = owner;
    dialled = s;
    return s;
  },
};

/** One connection's sockets and its next step. */
interface Slot {
  client: NullSocket | null;
  upstream: NullSocket | null;
  owner: SocketOwner | null;
  step: number;
}

const payloads = buildPayloads();
const ANSWER = Buffer.alloc(64, 0x17);
let accepted = 0;

/** Moves a slot one step on; returns true when its connection has ended. */
function advance(slot: Slot): boolean {
  switch (slot.step++) {
    case 0: {
      // A new address string per connection, as the engine reads it from the socket, from a
      // few load balancer nodes (trusted: 127.0.0.0/8).
      const client = new NullSocket(`127.0.0.${1 + (accepted % 4)}`, 1024 + (accepted++ % 60000));
      const owner = (acceptOne as (s: EngineSocket) => SocketOwner)(client);
      client.owner = owner;
      slot.client = client;
      slot.owner = owner;
      dialled = null;
      owner.onOpen(client);
      owner.onData(client, payloads.allowed, payloads.allowed.length);
      if (dialled === null) throw new Error("the allowed payload was not routed upstream");
      slot.upstream = dialled;
      return false;
    }
    case 1:
      (slot.owner as SocketOwner).onOpen(slot.upstream as NullSocket);
      return false;
    case 2:
      (slot.owner as SocketOwner).onData(slot.upstream as NullSocket, ANSWER, ANSWER.length);
      return false;
    default: {
      const owner = slot.owner as SocketOwner;
      const client = slot.client as NullSocket;
      const upstream = slot.upstream as NullSocket;
      owner.onEnd(upstream);
      owner.onEnd(client);
      owner.onClose(upstream);
      owner.onClose(client);
      if (upstream.written < payloads.helloBytes) {
        throw new Error("the upstream did not get the client's bytes");
      }
      slot.step = 0;
      return true;
    }
  }
}

/** Runs `count` connections, IN_FLIGHT at a time; yields to the event loop often. */
async function drive(count: number): Promise<void> {
  const slots: Slot[] = [];
  for (let i = 0; i < IN_FLIGHT; i++)
    slots.push({ client: null, upstream: null, owner: null, step: 0 });
  let done = 0;
  let started = 0;
  // Stagger: slot i starts i % 4 ticks late, so that the connections in flight are at every
  // one of the 4 steps.
  let tick = 0;
  while (done < count) {
    for (let i = 0; i < slots.length; i++) {
      const s = slots[i];
      if (s.step === 0 && (started >= count || tick < i % 4)) continue;
      if (s.step === 0) started++;
      if (advance(s)) done++;
    }
    tick++;
    // Every 16 ticks (about 200 connections, two or three 64 KiB batches of lines): the
    // connection log's output writes its batches and reuses their buffers, as it does under
    // `serve`, where the event loop turns between a few socket events.
    if ((tick & 15) === 0) await new Promise((r) => setImmediate(r));
  }
}

async function main(): Promise<void> {
  const tmp = mkdtempSync(join(tmpdir(), "linkgate-connection-path-"));
  const { config } = generatePolicy({
    tenants: 10,
    rules: 100,
    listen: "127.0.0.41:443",
    upstream: "127.0.0.2:443",
    upstreamProxy: "v2",
    sni: payloads.sni,
    allowedLink: AWS_LINK,
    logLevel: LOG_LEVEL,
    adminBind: "127.0.0.1:0",
  });
  const file = join(tmp, "linkgate.json");
  writeFileSync(file, JSON.stringify(config));
  const output = openLines(tmp);
  // As `linkgate serve` in one process: no other process writes to its stdout.
  const lines = new LineOutput({ fd: output.fd, otherWriters: false });
  const rt = await LinkgateRuntime.start({
    configFile: file,
    version: "bench",
    watchFile: false,
    engine: nullEngine,
    logDestination: lines as unknown as NodeJS.WritableStream,
  });
  const gcs = { count: 0, ms: 0, major: 0 };
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gcs.count++;
      gcs.ms += e.duration;
      const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind;
      if (kind !== undefined && kind !== 1) gcs.major++; // 1: NODE_PERFORMANCE_GC_MINOR
    }
  });
  observer.observe({ entryTypes: ["gc"] });

  await drive(Math.min(CONNECTIONS, 20_000)); // warm-up: the JIT, the heap's sizes
  console.log(
    `linkgate's own work per allowed connection, no sockets (${process.versions.bun ? `Bun ${process.versions.bun}` : `Node.js ${process.version}`}); ${CONNECTIONS} connections per round, ${IN_FLIGHT} in flight, connection lines at ${LOG_LEVEL} to ${LINES === "pipe" ? "a pipe another process reads" : "/dev/null"}`,
  );
  const perRound: number[] = [];
  for (let r = 1; r <= ROUNDS; r++) {
    gcs.count = 0;
    gcs.ms = 0;
    gcs.major = 0;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await drive(CONNECTIONS);
    const wall = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    await new Promise((resolve) => setImmediate(resolve)); // let the GC entries arrive
    const us = (cpu.user + cpu.system) / CONNECTIONS;
    perRound.push(us);
    console.log(
      `  round ${r}: ${us.toFixed(2)} µs CPU/conn (user ${(cpu.user / CONNECTIONS).toFixed(2)}, system ${(cpu.system / CONNECTIONS).toFixed(2)}), ${((wall * 1000) / CONNECTIONS).toFixed(2)} µs wall/conn; GC: ${gcs.count} pauses (${gcs.major} major), ${((gcs.ms * 1000) / CONNECTIONS).toFixed(2)} µs/conn paused`,
    );
  }
  perRound.sort((a, b) => a - b);
  console.log(`median: ${perRound[Math.floor(perRound.length / 2)].toFixed(2)} µs CPU/conn`);
  observer.disconnect();
  await rt.stop();
  lines.flushSync();
  closeSync(output.fd);
  if (output.linesRead !== null) {
    const read = await output.linesRead;
    console.log(
      `the reader read ${read} lines; ${lines.droppedLines} dropped (writes of up to ${lines.batchBytes} bytes)`,
    );
  }
  rmSync(tmp, { recursive: true, force: true });
}

await main();
