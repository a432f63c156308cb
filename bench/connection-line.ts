/**
 * What rendering one connection line costs, on Node.js and on Bun: the renderer `serve` uses
 * (renderConnectionLine, bytes straight into a batch buffer) against JSON.stringify of the
 * same fields written into the same buffer, the way a generic JSON logger renders them. Ports,
 * byte counts and durations vary from line to line as under load (what JIT compilers specialize
 * on). Each runtime runs in a child process of its own; rounds alternate the two renderers.
 *
 *   npm run bench:line [-- --lines 1000000 --rounds 5]
 *
 * Prints ns per line (medians of the rounds) and the ratio; asserts nothing.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { ConnectionRecord } from "../src/observability/index.js";
import {
  type ConnectionLineInput,
  connectionLineMaxBytes,
  renderConnectionLine,
} from "../src/observability/logger.js";

const USAGE = "usage: npm run bench:line [-- --lines N --rounds N]";

function parseOptions(argv: string[]): { lines: number; rounds: number } {
  const o = { lines: 1_000_000, rounds: 5 };
  for (let i = 0; i < argv.length; i += 2) {
    const key = { "--lines": "lines", "--rounds": "rounds" }[argv[i]] as
      | "lines"
      | "rounds"
      | undefined;
    const n = Number(argv[i + 1]);
    if (key === undefined || !Number.isInteger(n) || n < 1) {
      process.stderr.write(`bench:line: bad option ${argv[i]} ${argv[i + 1] ?? ""}\n${USAGE}\n`);
      process.exit(2);
    }
    o[key] = n;
  }
  return o;
}

/** One round of `lines` lines through `render`: ns per line. */
function round(lines: number, render: (b: Buffer, at: number, i: ConnectionLineInput) => number) {
  const peer = { address: "10.0.0.5", port: 41_234 };
  const source = { address: "172.31.7.9", port: 50_123 };
  const record: ConnectionRecord = {
    listener: "privatelink",
    peer,
    proxySource: source,
    proxyDestination: { address: "10.0.9.1", port: 443 },
    link: "aws:vpce-0123456789abcdef0",
    sni: "megacorp.privatelink.example.com",
    tenant: "megacorp",
    decision: "allow",
    reason: "POLICY_LINK_ALLOWED",
    rule: { index: 0, description: "prod VPC" },
    upstreamError: null,
    closedBy: null,
    errno: null,
    upstream: "10.0.9.9:443",
    bytesFromClient: 1_517,
    bytesToClient: 6_143,
    handshakeMs: 1.234,
    durationMs: 2_500.0004,
  };
  const input: ConnectionLineInput = {
    level: "info",
    time: Date.now(),
    bindings: Buffer.from(',"pid":12345,"hostname":"lg-eu-1a"'),
    record,
  };
  const out = Buffer.allocUnsafeSlow(64 * 1024);
  let at = 0;
  let seed = 1;
  const next = (range: number) => {
    seed = (seed * 1_103_515_245 + 12_345) & 0x7fffffff;
    return seed % range;
  };
  const t0 = performance.now();
  for (let i = 0; i < lines; i++) {
    peer.port = 1024 + next(64_000);
    source.port = 1024 + next(64_000);
    record.bytesFromClient = 517 + next(4000);
    record.bytesToClient = next(100_000);
    record.handshakeMs = next(5000) / 1000;
    record.durationMs = next(50_000) / 1000;
    input.time = Date.now();
    if (at + connectionLineMaxBytes(input) > out.length) at = 0;
    at = render(out, at, input);
  }
  return ((performance.now() - t0) * 1e6) / lines;
}

/** The same fields as one JSON.stringify, then Buffer#write: a generic logger's way. */
function stringifyLine(b: Buffer, at: number, input: ConnectionLineInput): number {
  const r = input.record;
  const line = `${JSON.stringify({
    level: input.level,
    time: new Date(input.time).toISOString(),
    pid: 12345,
    hostname: "lg-eu-1a",
    listener: r.listener,
    peerAddress: r.peer.address,
    peerPort: r.peer.port,
    proxySrcAddress: r.proxySource?.address ?? null,
    proxySrcPort: r.proxySource?.port ?? null,
    proxyDstAddress: r.proxyDestination?.address ?? null,
    proxyDstPort: r.proxyDestination?.port ?? null,
    link: r.link,
    sni: r.sni,
    tenant: r.tenant,
    decision: r.decision,
    reason: r.reason,
    rule: r.rule?.index ?? null,
    ruleDescription: r.rule?.description ?? null,
    upstream: r.upstream,
    upstreamError: r.upstreamError,
    closedBy: r.closedBy,
    errno: r.errno,
    bytesFromClient: r.bytesFromClient,
    bytesToClient: r.bytesToClient,
    handshakeMs: r.handshakeMs,
    durationMs: r.durationMs,
    msg: "connection",
  })}\n`;
  return at + b.write(line, at);
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

const options = parseOptions(process.argv.slice(2).filter((a) => a !== "--child"));

if (process.argv.includes("--child")) {
  const rendered: number[] = [];
  const stringified: number[] = [];
  for (let i = 0; i < options.rounds; i++) {
    rendered.push(round(options.lines, renderConnectionLine));
    stringified.push(round(options.lines, stringifyLine));
  }
  process.stdout.write(`${JSON.stringify({ rendered, stringified })}\n`);
} else {
  const self = fileURLToPath(import.meta.url);
  const args = ["--child", ...process.argv.slice(2)];
  const runtimes = [
    { name: `Node.js ${process.version}`, command: process.execPath, args: ["--import", "tsx"] },
    { name: "Bun", command: "bun", args: [] },
  ];
  console.log(
    `one connection line, ${options.lines.toLocaleString("en-US")} lines per round, ${options.rounds} rounds (medians; rounds alternate the two)`,
  );
  for (const r of runtimes) {
    const run = spawnSync(r.command, [...r.args, self, ...args], { encoding: "utf8" });
    if (run.status !== 0) {
      process.stderr.write(`bench:line: ${r.name} failed (${run.status}): ${run.stderr}\n`);
      process.exit(1);
    }
    const { rendered, stringified } = JSON.parse(run.stdout) as Record<string, number[]>;
    const version =
      r.command === "bun" ? `Bun ${spawnSync("bun", ["--version"]).stdout}`.trim() : r.name;
    console.log(
      `  ${version}: renderConnectionLine ${median(rendered).toFixed(0)} ns, JSON.stringify ${median(stringified).toFixed(0)} ns (${(median(rendered) / median(stringified)).toFixed(2)}x); rounds ${rendered.map((n) => n.toFixed(0)).join(", ")} / ${stringified.map((n) => n.toFixed(0)).join(", ")}`,
    );
  }
}
