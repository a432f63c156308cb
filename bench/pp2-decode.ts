/**
 * PROXY header decode throughput: linkgate against proxy-protocol-js and
 * @balena/proxy-protocol-parser, in one process, interleaved rounds, medians.
 *
 *   npm run bench:pp2            (writes its section of docs/BENCHMARKS.md)
 *   npm run bench:pp2 -- --quick (fewer, shorter rounds; does not write the doc)
 *
 * linkgate does strictly more per header than the peers: it validates the whole header (TLV
 * tiling, per-TLV caps, duplicates), verifies the CRC32C and decodes the Private Link identity;
 * proxy-protocol-js returns the TLV bytes unparsed (mixed with the payload) and balena ignores
 * them. Each peer runs only on headers it parses correctly.
 */
import { createRequire } from "node:module";
import { PerformanceObserver } from "node:perf_hooks";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import {
  decodeProxyHeader,
  encodeProxyHeaderV2,
  type ProxyHeader,
} from "../src/proxy-protocol/index.js";
import {
  loadAverage,
  machineDescription,
  markdownTable,
  median,
  writeSection,
} from "./lib/report.js";

const require = createRequire(import.meta.url);
const ppjs = require("proxy-protocol-js");
const balena = require("@balena/proxy-protocol-parser");

const quick = process.argv.includes("--quick");
const ROUNDS = quick ? 3 : 9;
const ROUND_MS = quick ? 60 : 200;
const BATCH = 1000;

interface Case {
  name: string;
  what: string;
  bytes: Buffer;
  v1?: boolean;
  /** Peers that parse this header correctly. */
  peers: ("proxy-protocol-js" | "balena")[];
}

const hex = (s: string) => Buffer.from(s.replace(/\s/g, ""), "hex");
const CASES: Case[] = [
  {
    name: "AWS PrivateLink",
    what: "100 B: TCP4, CRC32C, VPC endpoint ID, NOOP padding (real capture)",
    bytes: hex(
      "0d0a0d0a000d0a515549540a21110054ac1f0771ac1f0a1fc8f20050030004e8d6892dea001701767063652d3038643262663135666163353030316339040024000000000000000000000000000000000000000000000000000000000000000000000000",
    ),
    peers: ["proxy-protocol-js", "balena"],
  },
  {
    name: "GCP PSC",
    what: "39 B: TCP4, PSC connection ID (real capture)",
    bytes: hex("0d0a0d0a000d0a515549540a211100170a003c020a003c6481380050e00008009b34d70a003c64"),
    peers: ["proxy-protocol-js", "balena"],
  },
  {
    name: "Azure Private Link",
    what: "36 B: TCP4, LINKID",
    bytes: hex("0d0a0d0a000d0a515549540a211100140a0000040a000005c35001bbee000501c1450021"),
    peers: ["proxy-protocol-js", "balena"],
  },
  {
    name: "TCP4, no TLV",
    what: "28 B",
    bytes: hex("0d0a0d0a000d0a515549540a2111000cc0000201c6336401c35001bb"),
    peers: ["proxy-protocol-js", "balena"],
  },
  {
    name: "TCP6, no TLV",
    what: "52 B",
    bytes: hex(
      "0d0a0d0a000d0a515549540a2121002420010db800000001000000000000000020010db8000000020000000000000000c35001bb",
    ),
    peers: ["proxy-protocol-js", "balena"],
  },
  {
    name: "v1 TCP4",
    what: "47 B text line",
    bytes: Buffer.from("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n", "latin1"),
    v1: true,
    peers: ["proxy-protocol-js", "balena"],
  },
  {
    name: "HAProxy TLS",
    what: "CRC32C, ALPN, AUTHORITY, SSL with sub-TLVs (peers do not parse TLVs)",
    bytes: encodeProxyHeaderV2({
      source: { address: "192.0.2.1", port: 50000 },
      destination: { address: "198.51.100.1", port: 443 },
      crc32c: true,
      alpn: "h2",
      authority: "megacorp.api.example.com",
      ssl: {
        client: 1,
        verify: 0,
        version: "TLSv1.3",
        cipher: "TLS_AES_256_GCM_SHA384",
        sigAlg: "ecdsa-with-SHA256",
        keyAlg: "EC256",
      },
    }),
    peers: [],
  },
];

let sink = 0;

type Fn = () => void;

/** What the gateway needs for a decision: everything validated, the identity, the source IP. */
const ipScratch = new Uint8Array(16);
function linkgateDecision(b: Buffer): Fn {
  return () => {
    const h = decodeProxyHeader(b) as ProxyHeader;
    sink += h.headerLength + h.sourceIp(ipScratch) + (h.link === null ? 0 : h.link.id.length);
  };
}
/** As above, plus both addresses and ports as strings and numbers (what a log line needs). */
function linkgateStrings(b: Buffer): Fn {
  return () => {
    const h = decodeProxyHeader(b) as ProxyHeader;
    const s = h.source;
    const d = h.destination;
    sink +=
      h.headerLength +
      (s === null ? 0 : s.address.length + (s.port ?? 0)) +
      (d === null ? 0 : d.address.length) +
      (h.link === null ? 0 : 1);
  };
}
/** Every TLV materialised as an object, too. */
function linkgateAllTlvs(b: Buffer): Fn {
  return () => {
    const h = decodeProxyHeader(b) as ProxyHeader;
    sink += h.headerLength + h.tlvs.length + (h.source?.address.length ?? 0);
  };
}
function ppjsFn(c: Case): Fn {
  if (c.v1) {
    return () => {
      const p = ppjs.V1ProxyProtocol.parse(c.bytes.toString("latin1"));
      sink += p.source.port + p.source.ipAddress.length;
    };
  }
  return () => {
    const p = ppjs.V2ProxyProtocol.parse(c.bytes);
    sink += p.proxyAddress.sourcePort + p.proxyAddress.sourceAddress.address.length;
  };
}
function balenaFn(c: Case): Fn {
  return () => {
    const p = balena.decode(c.bytes, true);
    sink += p.remotePort + p.remoteAddress.length;
  };
}

interface Task {
  caseName: string;
  system: string;
  fn: Fn;
  samples: number[];
}

const tasks: Task[] = [];
for (const c of CASES) {
  // Every system must accept the header before it is timed.
  const check = decodeProxyHeader(c.bytes);
  if (!("headerLength" in check)) throw new Error(`${c.name}: ${check.code}`);
  tasks.push({
    caseName: c.name,
    system: "linkgate (decision fields)",
    fn: linkgateDecision(c.bytes),
    samples: [],
  });
  tasks.push({
    caseName: c.name,
    system: "linkgate (+ address strings)",
    fn: linkgateStrings(c.bytes),
    samples: [],
  });
  tasks.push({
    caseName: c.name,
    system: "linkgate (+ all TLV objects)",
    fn: linkgateAllTlvs(c.bytes),
    samples: [],
  });
  if (c.peers.includes("proxy-protocol-js"))
    tasks.push({ caseName: c.name, system: "proxy-protocol-js", fn: ppjsFn(c), samples: [] });
  if (c.peers.includes("balena"))
    tasks.push({
      caseName: c.name,
      system: "@balena/proxy-protocol-parser",
      fn: balenaFn(c),
      samples: [],
    });
}

/** ns per call, timing batches of BATCH calls for about `ms` milliseconds. */
function timeTask(fn: Fn, ms: number): number {
  const deadline = process.hrtime.bigint() + BigInt(ms) * 1_000_000n;
  let calls = 0;
  const t0 = process.hrtime.bigint();
  let now = t0;
  while (now < deadline) {
    for (let i = 0; i < BATCH; i++) fn();
    calls += BATCH;
    now = process.hrtime.bigint();
  }
  return Number(now - t0) / calls;
}

/** Bytes allocated per call: heap growth over N calls with no GC in between (retried if one ran). */
function allocationPerCall(fn: Fn): number | null {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) return null;
  let gcs = 0;
  const obs = new PerformanceObserver((list) => {
    gcs += list.getEntries().length;
  });
  obs.observe({ entryTypes: ["gc"] });
  try {
    for (let n = 20000; n >= 1000; n >>= 1) {
      for (let attempt = 0; attempt < 3; attempt++) {
        gc();
        gcs = 0;
        const before = process.memoryUsage().heapUsed;
        for (let i = 0; i < n; i++) fn();
        const after = process.memoryUsage().heapUsed;
        if (gcs === 0 && after >= before) return (after - before) / n;
      }
    }
    return null;
  } finally {
    obs.disconnect();
  }
}

interface IsolatedRequest {
  task: number;
  ms: number;
}

if (!isMainThread) {
  // A worker times one task in its own isolate: its JIT sees one header shape, as a listener
  // behind one cloud's load balancer does.
  const { task, ms } = workerData as IsolatedRequest;
  const t = tasks[task];
  timeTask(t.fn, 100); // warm up
  parentPort?.postMessage(timeTask(t.fn, ms));
} else {
  await main();
}

function isolated(task: number, ms: number): Promise<number> {
  return new Promise((resolve, reject) => {
    // Node 20 does not apply the tsx loader to a worker's entry module: register it first.
    const bootstrap = `import("tsx/esm/api").then((m) => { m.register(); return import(${JSON.stringify(import.meta.url)}); });`;
    const w = new Worker(bootstrap, {
      eval: true,
      workerData: { task, ms } satisfies IsolatedRequest,
    });
    w.once("message", (ns: number) => {
      resolve(ns);
      void w.terminate();
    });
    w.once("error", reject);
  });
}

async function main(): Promise<void> {
  console.log(`PROXY header decode: ${ROUNDS} interleaved rounds of ${ROUND_MS} ms per task`);
  console.log(machineDescription());
  const loadBefore = loadAverage();

  // Isolated: each task in a fresh worker per round, rounds interleaved (A B C A B C ...).
  const isolatedSamples = tasks.map(() => [] as number[]);
  for (let r = 0; r < ROUNDS; r++) {
    for (let i = 0; i < tasks.length; i++) isolatedSamples[i].push(await isolated(i, ROUND_MS));
    process.stdout.write(`isolated round ${r + 1}/${ROUNDS}\r`);
  }
  // Mixed: every task in this one isolate, rounds interleaved.
  for (const t of tasks) timeTask(t.fn, 50);
  for (let r = 0; r < ROUNDS; r++) {
    for (const t of tasks) t.samples.push(timeTask(t.fn, ROUND_MS));
    process.stdout.write(`mixed round ${r + 1}/${ROUNDS}   \r`);
  }
  const allocations = new Map(tasks.map((t) => [t, allocationPerCall(t.fn)]));

  const rows: string[][] = [];
  const summary: string[] = [];
  const ratio = (best: number | null, ns: number) =>
    best === null ? "—" : `${(best / ns).toFixed(2)}x`;
  for (const c of CASES) {
    const idx = tasks.map((t, i) => [t, i] as const).filter(([t]) => t.caseName === c.name);
    const iso = (i: number) => median(isolatedSamples[i]);
    const mix = (t: Task) => median(t.samples);
    const peers = idx.filter(([t]) => !t.system.startsWith("linkgate"));
    const bestIso = peers.length === 0 ? null : Math.min(...peers.map(([, i]) => iso(i)));
    const bestMix = peers.length === 0 ? null : Math.min(...peers.map(([t]) => mix(t)));
    for (const [t, i] of idx) {
      const mine = t.system.startsWith("linkgate");
      const alloc = allocations.get(t);
      rows.push([
        c.name,
        t.system,
        iso(i).toFixed(0),
        mine ? ratio(bestIso, iso(i)) : iso(i) === bestIso ? "fastest peer" : "",
        mix(t).toFixed(0),
        mine ? ratio(bestMix, mix(t)) : mix(t) === bestMix ? "fastest peer" : "",
        alloc === null || alloc === undefined ? "n/a" : alloc.toFixed(0),
      ]);
      if (t.system === "linkgate (decision fields)" && bestIso !== null && bestMix !== null) {
        summary.push(
          `${c.name}: linkgate ${ratio(bestIso, iso(i))} the fastest peer isolated, ${ratio(bestMix, mix(t))} mixed`,
        );
      }
    }
  }
  const table = markdownTable(
    [
      "header",
      "decoder",
      "ns/decode, isolated",
      "vs fastest peer",
      "ns/decode, mixed",
      "vs fastest peer",
      "bytes allocated/decode",
    ],
    rows,
  );
  const loadAfter = loadAverage();
  console.log(`\n${table}\n`);
  console.log(`load average ${loadBefore} before, ${loadAfter} after`);
  for (const line of summary) console.log(line);
  if (sink === 42) console.log(""); // keep results alive

  if (!quick) {
    writeSection(
      "pp2-decode",
      `## PROXY header decoding (\`npm run bench:pp2\`)

Measured ${new Date().toISOString().slice(0, 10)} on: ${machineDescription()}.
Load average ${loadBefore} before, ${loadAfter} after. ${ROUNDS} interleaved rounds of ${ROUND_MS} ms
per task, each timing batches of ${BATCH} decodes; medians of the rounds.

- **isolated**: each task in its own worker isolate (a fresh one per round), so the JIT sees one
  header shape, as a listener behind one cloud's load balancer does;
- **mixed**: every task in one isolate, so every decoder sees every shape (polymorphic code);
- allocation: heap growth per call over a run with no garbage collection (mixed isolate).

linkgate always validates the whole header (signature, version, command, family, TLV tiling,
per-TLV caps, duplicate TLVs, CRC32C) and decodes the Private Link identity, whichever fields
are then read. "decision fields" reads what the gateway decides on (identity, source IP bytes);
"+ address strings" also formats both addresses; "+ all TLV objects" also builds every TLV.
proxy-protocol-js and @balena/proxy-protocol-parser parse addresses only (no TLV, CRC or
identity) and run only on the headers they parse.

${summary.map((l) => `- ${l}`).join("\n")}

${table}
`,
    );
    console.log("docs/BENCHMARKS.md updated (section pp2-decode)");
  }
}
