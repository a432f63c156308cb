/** The hand-rendered connection line is byte for byte what pino renders for the same fields. */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { createLogger } from "../../src/observability/index.js";
import { logConnectionWithPino } from "../../src/observability/logger.js";
import type { ConnectionRecord } from "../../src/observability/types.js";
import { logConnection } from "./fixtures.js";

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
