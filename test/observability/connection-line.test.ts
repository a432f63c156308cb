/**
 * The hand-rendered connection line, as a string and as bytes rendered into a LineOutput's
 * batch, is byte for byte what pino renders for the same fields.
 */
import assert from "node:assert/strict";
import { mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import fc from "fast-check";
import type { DestinationStream, Level } from "pino";
import { createLogger } from "../../src/observability/index.js";
import { LineOutput } from "../../src/observability/line-output.js";
import {
  connectionLineMaxBytes,
  logConnectionWithPino,
  renderConnectionLine,
} from "../../src/observability/logger.js";
import type { ConnectionRecord } from "../../src/observability/types.js";
import { logConnection, record as sampleRecord } from "./fixtures.js";

function capture(): { lines: string[]; write(s: string): void } {
  const lines: string[] = [];
  return { lines, write: (s: string) => lines.push(s) };
}

const withoutTime = (line: string) => line.replace(/"time":"[^"]*"/, '"time":"T"');

const endpoint = fc.record({ address: fc.ipV4(), port: fc.integer({ min: 0, max: 65535 }) });
const record: fc.Arbitrary<ConnectionRecord> = fc.record({
  listener: fc.string(),
  peer: endpoint,
  proxySource: fc.option(endpoint),
  proxyDestination: fc.option(endpoint),
  link: fc.option(fc.string()),
  sni: fc.option(fc.string()),
  tenant: fc.option(fc.string()),
  decision: fc.constantFrom("allow", "would-deny", "deny", "drop", "health-check"),
  reason: fc.constantFrom("POLICY_LINK_ALLOWED", "PP2_BAD_CRC32C", "TLS_NO_SNI"),
  rule: fc.option(
    fc.record({ index: fc.nat(), description: fc.option(fc.string({ unit: "binary" })) }),
  ),
  upstreamError: fc.option(fc.constantFrom("UPSTREAM_CONNECT_FAILED", "UPSTREAM_ERROR")),
  closedBy: fc.option(fc.constantFrom("POLICY_REVOKED", "CONN_SHUTDOWN")),
  errno: fc.option(fc.constantFrom("ECONNREFUSED", "ECONNRESET", "EPIPE")),
  upstream: fc.option(fc.string()),
  bytesFromClient: fc.nat(),
  bytesToClient: fc.nat(),
  handshakeMs: fc.option(fc.double({ min: 0, max: 1e6, noNaN: true })),
  durationMs: fc.double({ min: 0, max: 1e9, noNaN: true }),
}) as fc.Arbitrary<ConnectionRecord>;

test("logConnection writes exactly what pino would, for any record and child bindings", () => {
  fc.assert(
    fc.property(record, fc.option(fc.integer({ min: 0, max: 64 })), (r, worker) => {
      const a = capture();
      const b = capture();
      const base = (d: ReturnType<typeof capture>) => createLogger({ level: "info" }, d);
      const la = worker === null ? base(a) : base(a).child({ worker });
      const lb = worker === null ? base(b) : base(b).child({ worker });
      logConnection(la, r);
      logConnectionWithPino(lb, r);
      assert.equal(a.lines.length, 1);
      assert.equal(withoutTime(a.lines[0]), withoutTime(b.lines[0]));
      JSON.parse(a.lines[0]);
    }),
    { numRuns: 500 },
  );
});

// Any UTF-16 text, and text made of what JSON escapes or UTF-8 encodes in several bytes.
const text = fc.oneof(
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.string({
    unit: fc.constantFrom(
      "a",
      "-",
      '"',
      "\\",
      "\n",
      "\u0001",
      "\u007f",
      "é",
      "\u2028",
      "\ud800",
      "😀",
    ),
    maxLength: 12,
  }),
);
const anyRecord: fc.Arbitrary<ConnectionRecord> = fc.record({
  listener: text,
  peer: fc.record({ address: text, port: fc.integer({ min: 0, max: 65535 }) }),
  proxySource: fc.option(fc.record({ address: text, port: fc.integer({ min: 0, max: 65535 }) })),
  proxyDestination: fc.option(
    fc.record({ address: text, port: fc.integer({ min: 0, max: 65535 }) }),
  ),
  link: fc.option(text),
  sni: fc.option(text),
  tenant: fc.option(text),
  decision: fc.constantFrom("allow", "would-deny", "deny", "drop", "health-check"),
  reason: fc.constantFrom("POLICY_LINK_ALLOWED", "PP2_BAD_CRC32C", "TLS_NO_SNI"),
  rule: fc.option(fc.record({ index: fc.nat(), description: fc.option(text) })),
  upstreamError: fc.option(fc.constantFrom("UPSTREAM_CONNECT_FAILED", "UPSTREAM_ERROR")),
  closedBy: fc.option(fc.constantFrom("POLICY_REVOKED", "CONN_SHUTDOWN")),
  errno: fc.option(fc.constantFrom("ECONNREFUSED", "ECONNRESET", "EPIPE")),
  upstream: fc.option(text),
  bytesFromClient: fc.oneof(fc.nat(), fc.maxSafeNat()),
  bytesToClient: fc.oneof(fc.nat(), fc.maxSafeNat()),
  handshakeMs: fc.option(
    fc.oneof(
      fc.double({ min: 0, max: 10, noNaN: true }),
      fc.double({ min: 0, max: 1e13, noNaN: true }),
      fc.integer({ min: 0, max: 10_000_000 }).map((us) => us / 1000),
    ),
  ),
  durationMs: fc.oneof(
    fc.double({ min: 0, max: 1e9, noNaN: true }),
    fc.double({ min: 0, max: 1e20, noNaN: true }),
    fc.integer({ min: 0, max: 10_000_000 }).map((us) => us / 1000 + 0.0004999),
  ),
}) as fc.Arbitrary<ConnectionRecord>;

test("the rendered line stays in its room and parses back to the record, for any text", () => {
  fc.assert(
    fc.property(
      anyRecord,
      fc.constantFrom<Level>("info", "warn"),
      fc.constantFrom("", ',"pid":7,"hostname":"gw-1"', ',"pid":7,"hostname":"é","worker":2'),
      // Any millisecond from 1970 to 2100: the line's time is the one it was given.
      fc.integer({ min: 0, max: 4_102_444_800_000 }),
      (r, level, bindings, time) => {
        const input = { level, time, bindings: Buffer.from(bindings), record: r };
        const room = connectionLineMaxBytes(input);
        const out = Buffer.alloc(room + 16, 0xff);
        const end = renderConnectionLine(out, 8, input);
        assert.ok(end <= 8 + room, `${end - 8} bytes rendered, ${room} allowed`);
        assert.equal(out[7], 0xff, "nothing written before the start");
        assert.equal(out[end], 0xff, "nothing written past the end");
        assert.equal(out[end - 1], 0x0a, "one line");
        // Escapes are JSON's (JSON.parse refuses raw control characters; lone surrogates are
        // escaped), so every string comes back exactly.
        const j = JSON.parse(out.subarray(8, end).toString("utf8")) as Record<string, unknown>;
        const ms = (v: number) => Math.round(v * 1000) / 1000;
        assert.deepEqual([j.level, j.time], [level, new Date(time).toISOString()]);
        assert.deepEqual(
          [j.listener, j.peerAddress, j.peerPort, j.link, j.sni, j.tenant, j.upstream],
          [r.listener, r.peer.address, r.peer.port, r.link, r.sni, r.tenant, r.upstream],
        );
        assert.deepEqual(
          [j.proxySrcAddress, j.proxySrcPort, j.proxyDstAddress, j.proxyDstPort],
          [
            r.proxySource?.address ?? null,
            r.proxySource?.port ?? null,
            r.proxyDestination?.address ?? null,
            r.proxyDestination?.port ?? null,
          ],
        );
        assert.deepEqual(
          [j.rule, j.ruleDescription, j.decision, j.reason, j.upstreamError, j.closedBy, j.errno],
          [
            r.rule?.index ?? null,
            r.rule?.description ?? null,
            r.decision,
            r.reason,
            r.upstreamError,
            r.closedBy,
            r.errno,
          ],
        );
        assert.deepEqual(
          [j.bytesFromClient, j.bytesToClient, j.handshakeMs, j.durationMs],
          [
            r.bytesFromClient,
            r.bytesToClient,
            r.handshakeMs === null ? null : ms(r.handshakeMs),
            ms(r.durationMs),
          ],
        );
        assert.equal(j.level, level);
        assert.equal(j.msg, "connection");
      },
    ),
    { numRuns: 2000 },
  );
});

// pino writes some lone surrogates raw (they reach the output as U+FFFD); linkgate escapes them
// as JSON.stringify does (the test above): compare the two on well-formed text only.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const wellFormed = (r: ConnectionRecord) => {
  const strings: (string | null | undefined)[] = [r.listener, r.peer.address];
  strings.push(r.proxySource?.address, r.proxyDestination?.address);
  strings.push(r.link, r.sni, r.tenant, r.rule?.description, r.upstream);
  return strings.every((v) => v == null || !LONE_SURROGATE.test(v));
};

test("connection lines through a LineOutput are what pino writes", () => {
  const dir = mkdtempSync(join(tmpdir(), "linkgate-connection-line-"));
  try {
    const file = join(dir, "lines.log");
    const output = new LineOutput({ fd: openSync(file, "w") });
    const viaOutput = createLogger({ level: "info" }, output as unknown as DestinationStream);
    const reference = capture();
    const viaPino = createLogger({ level: "info" }, reference);
    const records = fc.sample(anyRecord.filter(wellFormed), { numRuns: 3000, seed: 7 });
    for (const r of records) {
      logConnection(viaOutput, r);
      logConnectionWithPino(viaPino, r);
    }
    output.flushSync();
    const written = readFileSync(file, "utf8").split("\n").slice(0, -1);
    assert.equal(written.length, reference.lines.length);
    for (let i = 0; i < written.length; i++) {
      assert.equal(withoutTime(`${written[i]}\n`), withoutTime(reference.lines[i]));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("integers render as String() renders them at every digit boundary and across the 32-bit range", () => {
  const values: number[] = [0, 2 ** 31 - 1, 2 ** 31, 2 ** 32, Number.MAX_SAFE_INTEGER];
  for (let p = 1; p <= 1e15; p *= 10) values.push(p - 1, p, p + 1);
  // A stride through the 32-bit range, where the renderer divides by 10 as (x * 0.1) | 0.
  for (let n = 7; n < 2 ** 31; n += 1_000_003) values.push(n);
  const out = Buffer.alloc(4096);
  for (const n of values) {
    const r = sampleRecord({ bytesFromClient: n, bytesToClient: n });
    const input = { level: "info" as Level, time: 0, bindings: new Uint8Array(0), record: r };
    const end = renderConnectionLine(out, 0, input);
    const line = out.toString("utf8", 0, end);
    assert.match(line, new RegExp(`"bytesFromClient":${n},"bytesToClient":${n},`), String(n));
  }
});
