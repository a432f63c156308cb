/**
 * Connection lines as a gateway under load renders them: one record whose ports, byte counts,
 * durations and time change from line to line (what JIT compilers specialize on), rendered
 * one after the other into a 64 KiB buffer. Used by `npm run bench:line` and by the Bun JIT
 * test (test/engines/bun/jit.test.ts), so the two run the same lines.
 */
import type { ConnectionRecord } from "../../src/observability/index.js";
import {
  type ConnectionLineInput,
  connectionLineMaxBytes,
} from "../../src/observability/logger.js";

/** Renders one line into `b` from `at`; returns its end (renderConnectionLine's shape). */
export type LineRender = (b: Buffer, at: number, input: ConnectionLineInput) => number;

/** Renders `count` varying connection lines through `render`. */
export function renderVaryingLines(count: number, render: LineRender): void {
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
  for (let i = 0; i < count; i++) {
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
}
