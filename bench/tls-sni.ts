/**
 * ClientHello decoding cost: ns per hello for the captured Chromium (~2 KB, post-quantum key
 * share) and openssl hellos, in one chunk (the in-place fast path) and split in two chunks (the
 * reassembling path, as when a hello spans two TCP segments). A fresh decoder per hello, as per
 * connection in the gateway.
 *
 *   node --import tsx bench/tls-sni.ts
 */
import { readFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { ClientHelloDecoder, DONE } from "../src/tls/index.js";

const FIXTURES = join(import.meta.dirname, "../test/tls/fixtures");

function fixture(name: string): Buffer {
  return Buffer.from(
    readFileSync(join(FIXTURES, `${name}.hex`), "utf8").replace(/\s+/g, ""),
    "hex",
  );
}

// Read by the loop so the work cannot be optimised away.
let sink = 0;

function decode(chunks: Buffer[]): void {
  const decoder = new ClientHelloDecoder();
  for (const chunk of chunks) decoder.push(chunk);
  if (decoder.status !== DONE) throw new Error(decoder.error?.message ?? "hello incomplete");
  sink += decoder.hello?.sni?.length ?? 0;
}

/** Median over rounds of ~200 ms each, after a warm-up, in ns per operation. */
function measure(chunks: Buffer[]): number {
  const warmUntil = performance.now() + 300;
  while (performance.now() < warmUntil) for (let i = 0; i < 1000; i++) decode(chunks);
  const rounds: number[] = [];
  for (let r = 0; r < 7; r++) {
    let ops = 0;
    const start = process.hrtime.bigint();
    const until = performance.now() + 200;
    while (performance.now() < until) {
      for (let i = 0; i < 1000; i++) decode(chunks);
      ops += 1000;
    }
    rounds.push(Number(process.hrtime.bigint() - start) / ops);
  }
  rounds.sort((a, b) => a - b);
  return rounds[rounds.length >> 1];
}

const cases: [string, Buffer[]][] = [];
for (const name of ["chromium", "openssl-tls13"]) {
  const bytes = fixture(name);
  const half = bytes.length >> 1;
  cases.push([`${name} (${bytes.length} B), one chunk`, [bytes]]);
  cases.push([
    `${name} (${bytes.length} B), split in two`,
    [bytes.subarray(0, half), bytes.subarray(half)],
  ]);
}

const cpu = os.cpus()[0]?.model.trim() ?? "unknown CPU";
const load = os.loadavg().map((l) => l.toFixed(2));
console.log(`${cpu}, ${os.availableParallelism()} cores, Node.js ${process.version}, load ${load}`);
for (const [label, chunks] of cases) {
  console.log(`${label.padEnd(44)} ${measure(chunks).toFixed(0).padStart(6)} ns/op`);
}
if (sink === 0) console.log("(unreachable)");
