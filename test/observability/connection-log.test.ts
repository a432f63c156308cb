/**
 * ConnectionLog (src/observability/connection-log.ts): denied and dropped lines within
 * log.deniedLinesPerSecond, allowed and report-only lines always, the rest counted by reason and
 * summed up once a second.
 */
import assert from "node:assert/strict";
import { mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { ConnectionLog, createLogger, Metrics } from "../../src/observability/index.js";
import { LineOutput } from "../../src/observability/line-output.js";
import { connectionObserver } from "../../src/observability/observer.js";
import { record } from "./fixtures.js";

function capture() {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger(
    { level: "info" },
    { write: (l: string) => void lines.push(JSON.parse(l)) },
  );
  return { lines, logger };
}

describe("ConnectionLog: the denial budget", () => {
  test("over the budget: denials counted, not written; allowed and would-deny always written", (t) => {
    t.mock.timers.enable({ apis: ["Date", "setTimeout"] });
    const { lines, logger } = capture();
    const log = new ConnectionLog(logger, { deniedLinesPerSecond: 5 });
    for (let i = 0; i < 20; i++) log.write(record({ decision: "drop", reason: "PP2_BAD_CRC32C" }));
    for (let i = 0; i < 3; i++) log.write(record({ decision: "deny", reason: "TLS_NO_SNI" }));
    for (let i = 0; i < 4; i++) log.write(record({ decision: "allow" }));
    log.write(record({ decision: "would-deny", reason: "POLICY_LINK_NOT_ALLOWED" }));
    const connections = lines.filter((l) => l.msg === "connection");
    assert.equal(connections.filter((l) => l.decision === "drop").length, 5);
    assert.equal(connections.filter((l) => l.decision === "deny").length, 0);
    assert.equal(connections.filter((l) => l.decision === "allow").length, 4);
    assert.equal(connections.filter((l) => l.decision === "would-deny").length, 1);
    assert.deepEqual(Object.fromEntries(log.suppressed), { PP2_BAD_CRC32C: 15, TLS_NO_SNI: 3 });

    // One summary line a second later, with what was left out.
    assert.equal(lines.filter((l) => l.msg === "connection lines suppressed").length, 0);
    t.mock.timers.tick(1000);
    const summary = lines.filter((l) => l.msg === "connection lines suppressed");
    assert.equal(summary.length, 1);
    assert.equal(summary[0].level, "warn");
    assert.equal(summary[0].suppressed, 18);
    assert.deepEqual(summary[0].reasons, { PP2_BAD_CRC32C: 15, TLS_NO_SNI: 3 });

    // A new second, a new budget.
    log.write(record({ decision: "deny", reason: "TLS_NO_SNI" }));
    assert.equal(lines.filter((l) => l.msg === "connection").length, 11);
    t.mock.timers.tick(1000);
    assert.equal(
      lines.filter((l) => l.msg === "connection lines suppressed").length,
      1,
      "nothing more to report",
    );
  });

  test("deniedLinesPerSecond 0: no denial line at all, every one counted", () => {
    const { lines, logger } = capture();
    const log = new ConnectionLog(logger, { deniedLinesPerSecond: 0 });
    log.write(record({ decision: "deny", reason: "POLICY_PUBLIC_NOT_ALLOWED" }));
    log.write(record({ decision: "allow" }));
    log.flush();
    assert.deepEqual(
      lines.map((l) => l.msg),
      ["connection", "connection lines suppressed"],
    );
    assert.equal(lines[0].decision, "allow");
  });

  test("the metrics count suppressed lines by reason, and lines the output dropped", async () => {
    const { logger } = capture();
    const metrics = new Metrics({ defaultMetrics: false });
    const observer = connectionObserver({ metrics, logger, deniedLinesPerSecond: 1 });
    for (let i = 0; i < 3; i++) {
      observer.opened("privatelink");
      observer.closed(record({ decision: "drop", reason: "PP_UNTRUSTED_PEER" }));
    }
    const text = await metrics.metricsText();
    assert.match(text, /^linkgate_log_lines_suppressed_total\{reason="PP_UNTRUSTED_PEER"\} 2$/m);
    assert.match(text, /^linkgate_log_lines_dropped_total 0$/m);
    assert.match(
      text,
      /^linkgate_connections_total\{listener="privatelink",tenant="megacorp",decision="drop",reason="PP_UNTRUSTED_PEER"\} 3$/m,
    );
    observer.log?.flush();
  });
});

describe("ConnectionLog: lines rendered late, in a row", () => {
  test("a line keeps its connection's end time and its place before later lines", (t) => {
    const dir = mkdtempSync(join(tmpdir(), "linkgate-connlog-"));
    try {
      const file = join(dir, "out.log");
      const output = new LineOutput({ fd: openSync(file, "w") });
      const logger = createLogger({ level: "info" }, output);
      const log = new ConnectionLog(logger, { deniedLinesPerSecond: 10 });
      const start = Date.UTC(2026, 10, 30, 8, 12, 3, 1);
      t.mock.timers.enable({ apis: ["Date"], now: start });

      log.write(record({ decision: "allow", bytesFromClient: 1 }));
      log.write(record({ decision: "deny", reason: "TLS_NO_SNI", bytesFromClient: 2 }));
      assert.equal(output.bufferedBytes, 0, "kept unrendered");
      t.mock.timers.tick(5_000);
      logger.warn("a later line"); // renders the waiting ones first
      assert.ok(output.bufferedBytes > 0);

      // DEFERRED_LINES (64) waiting: rendered without being asked.
      const before = output.bufferedBytes;
      for (let i = 0; i < 63; i++) log.write(record({ decision: "allow", bytesFromClient: 3 }));
      assert.equal(output.bufferedBytes, before);
      log.write(record({ decision: "allow", bytesFromClient: 3 }));
      assert.ok(output.bufferedBytes > before, "64 lines waiting: rendered");

      log.write(record({ decision: "allow", bytesFromClient: 4 }));
      log.flush(); // on stop: the waiting line is rendered
      output.flushSync();
      const lines = readFileSync(file, "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      assert.deepEqual(
        lines.map((l) => [l.msg, l.bytesFromClient ?? null, l.time]),
        [
          ["connection", 1, "2026-11-30T08:12:03.001Z"],
          ["connection", 2, "2026-11-30T08:12:03.001Z"],
          ["a later line", null, "2026-11-30T08:12:08.001Z"],
          ...Array.from({ length: 64 }, () => ["connection", 3, "2026-11-30T08:12:08.001Z"]),
          ["connection", 4, "2026-11-30T08:12:08.001Z"],
        ],
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
