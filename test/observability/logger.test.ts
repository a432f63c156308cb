import assert from "node:assert/strict";
import { fstatSync } from "node:fs";
import { describe, it } from "node:test";
import type { LogConfig } from "../../src/config/types.js";
import {
  createLogger,
  lineOutputOf,
  logDraining,
  logListening,
  logReload,
  logStarted,
  logStopped,
} from "../../src/observability/logger.js";
import type { ConnectionRecord, Decision } from "../../src/observability/types.js";
import { logConnection, record } from "./fixtures.js";

function capture(level: LogConfig["level"] = "info") {
  const lines: string[] = [];
  const logger = createLogger({ level }, { write: (line: string) => void lines.push(line) });
  const parsed = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  return { logger, lines, parsed };
}

/** A record that counts how many of its properties are read. */
function spyRecord(base: ConnectionRecord): { record: ConnectionRecord; reads: () => number } {
  let reads = 0;
  const proxy = new Proxy(base, {
    get(target, key, receiver) {
      reads++;
      return Reflect.get(target, key, receiver);
    },
  });
  return { record: proxy, reads: () => reads };
}

describe("logConnection", () => {
  it("time: the instant of writing, to the millisecond, across second boundaries", (t) => {
    const { logger, parsed } = capture();
    t.mock.timers.enable({ apis: ["Date"], now: Date.parse("2026-11-30T08:12:03.007Z") });
    const at = ["2026-11-30T08:12:03.007Z"];
    logConnection(logger, record());
    for (const step of [43, 950, 1, 99_000, 1]) {
      t.mock.timers.tick(step);
      at.push(new Date(Date.now()).toISOString());
      logConnection(logger, record());
    }
    assert.deepEqual(
      parsed().map((l) => l.time),
      at,
    );
    assert.deepEqual(at.slice(1, 3), ["2026-11-30T08:12:03.050Z", "2026-11-30T08:12:04.000Z"]);
  });

  it("writes exactly one JSON line with every field", () => {
    const { logger, lines, parsed } = capture();
    logConnection(logger, record());
    assert.equal(lines.length, 1);
    assert.ok(lines[0].endsWith("\n"));
    assert.equal(lines[0].indexOf("\n"), lines[0].length - 1, "a single line");
    const line = parsed()[0];
    assert.match(String(line.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(line.pid, process.pid);
    assert.equal(typeof line.hostname, "string");
    const { time: _t, pid: _p, hostname: _h, ...fields } = line;
    assert.deepEqual(fields, {
      level: "info",
      msg: "connection",
      listener: "privatelink",
      peerAddress: "10.0.0.5",
      peerPort: 41234,
      proxySrcAddress: "172.31.7.9",
      proxySrcPort: 50123,
      proxyDstAddress: "10.0.9.1",
      proxyDstPort: 443,
      link: "aws:vpce-0123456789abcdef0",
      sni: "megacorp.privatelink.example.com",
      tenant: "megacorp",
      decision: "allow",
      reason: "POLICY_LINK_ALLOWED",
      rule: 0,
      ruleDescription: "prod VPC",
      upstream: "10.0.9.9:443",
      upstreamError: null,
      closedBy: null,
      errno: null,
      bytesFromClient: 1517,
      bytesToClient: 6143,
      handshakeMs: 1.235,
      durationMs: 2500,
    });
  });

  it("writes absent values as null, never omits a field", () => {
    const { logger, parsed } = capture();
    logConnection(
      logger,
      record({
        listener: "public",
        peer: { address: "2001:db8::7", port: 443 },
        proxySource: null,
        proxyDestination: null,
        link: null,
        sni: null,
        tenant: null,
        decision: "drop",
        reason: "PP2_BAD_CRC32C",
        rule: null,
        upstream: null,
        bytesFromClient: 52,
        bytesToClient: 0,
        handshakeMs: null,
        durationMs: 0.25,
      }),
    );
    const line = parsed()[0];
    assert.equal(line.peerAddress, "2001:db8::7");
    for (const key of [
      "proxySrcAddress",
      "proxySrcPort",
      "proxyDstAddress",
      "proxyDstPort",
      "link",
      "sni",
      "tenant",
      "rule",
      "ruleDescription",
      "upstream",
      "upstreamError",
      "closedBy",
      "errno",
      "handshakeMs",
    ]) {
      assert.ok(Object.hasOwn(line, key), key);
      assert.equal(line[key], null, key);
    }
    assert.equal(line.decision, "drop");
    assert.equal(line.reason, "PP2_BAD_CRC32C");
    assert.equal(line.durationMs, 0.25);
  });

  it("keeps a matched rule without description as rule index with a null description", () => {
    const { logger, parsed } = capture();
    logConnection(logger, record({ rule: { index: 3, description: null } }));
    assert.equal(parsed()[0].rule, 3);
    assert.equal(parsed()[0].ruleDescription, null);
  });

  it("says why linkgate closed a live connection", () => {
    const { logger, parsed } = capture();
    logConnection(logger, record({ closedBy: "POLICY_REVOKED" }));
    assert.equal(parsed()[0].closedBy, "POLICY_REVOKED");
    assert.equal(parsed()[0].level, "info");
  });

  it("logs every decision at info, and an upstream failure at warn", () => {
    const { logger, parsed } = capture();
    const decisions: Decision[] = ["allow", "would-deny", "deny", "drop", "health-check"];
    for (const decision of decisions) logConnection(logger, record({ decision }));
    logConnection(logger, record({ upstreamError: "UPSTREAM_CONNECT_FAILED" }));
    const lines = parsed();
    assert.deepEqual(
      lines.map((l) => [l.decision, l.level]),
      [...decisions.map((d) => [d, "info"]), ["allow", "warn"]],
    );
    assert.equal(lines[5].upstreamError, "UPSTREAM_CONNECT_FAILED");
    assert.ok(lines.every((l) => l.msg === "connection"));
  });

  it("at level warn writes only upstream failures", () => {
    const { logger, parsed } = capture("warn");
    logConnection(logger, record({ decision: "deny", reason: "TLS_NO_SNI" }));
    logConnection(logger, record({ upstreamError: "UPSTREAM_CONNECT_FAILED" }));
    assert.deepEqual(
      parsed().map((l) => l.level),
      ["warn"],
    );
  });

  for (const level of ["error", "fatal", "silent"] as const) {
    it(`at level ${level} writes nothing and does not read the record`, () => {
      const { logger, lines } = capture(level);
      const spy = spyRecord(record({ upstreamError: "UPSTREAM_CONNECT_FAILED" }));
      logConnection(logger, spy.record);
      assert.equal(lines.length, 0);
      assert.equal(spy.reads(), 0);
    });
  }
});

describe("lifecycle lines", () => {
  it("started, listening, reload ok, reload failed, draining, stopped", () => {
    const { logger, parsed } = capture();
    logStarted(logger, { version: "0.1.0", configFile: "/etc/linkgate.yaml" });
    logListening(
      logger,
      "privatelink",
      { host: "0.0.0.0", port: 8443 },
      { proxyProtocol: "required" },
    );
    logReload(logger, { ok: true, tenants: 3, rules: 7, durationMs: 4.5, source: "file" });
    logReload(logger, {
      ok: false,
      errors: [
        { code: "CONFIG_BAD_KEY", message: "unknown key", file: "linkgate.yaml", line: 12 } as {
          code: string;
          message: string;
        },
        new Error("database unreachable"),
      ],
    });
    logDraining(logger, { activeConnections: 12, drainTimeoutMs: 30000, signal: "SIGTERM" });
    logStopped(logger, { forcedConnections: 1, exitCode: 0 });
    const lines = parsed();
    assert.deepEqual(
      lines.map((l) => [l.msg, l.level]),
      [
        ["started", "info"],
        ["listening", "info"],
        ["reload ok", "info"],
        ["reload failed", "error"],
        ["draining", "info"],
        ["stopped", "info"],
      ],
    );
    assert.equal(lines[0].version, "0.1.0");
    assert.equal(lines[0].node, process.version);
    assert.equal(lines[0].configFile, "/etc/linkgate.yaml");
    assert.deepEqual(
      [lines[1].listener, lines[1].host, lines[1].port, lines[1].proxyProtocol],
      ["privatelink", "0.0.0.0", 8443, "required"],
    );
    assert.equal(lines[2].ok, undefined);
    assert.deepEqual([lines[2].tenants, lines[2].rules, lines[2].durationMs], [3, 7, 4.5]);
    assert.deepEqual(lines[3].errors, [
      { code: "CONFIG_BAD_KEY", message: "unknown key", file: "linkgate.yaml", line: 12 },
      { name: "Error", message: "database unreachable" },
    ]);
    assert.equal(lines[3].kept, "previous policy");
    assert.deepEqual([lines[4].activeConnections, lines[4].signal], [12, "SIGTERM"]);
    assert.equal(lines[5].forcedConnections, 1);
  });
});

describe("createLogger's standard output", () => {
  it("writes 64 KiB batches when no other process writes to it, else PIPE_BUF on a pipe", () => {
    const stdout = fstatSync(1);
    const shareable = stdout.isFIFO() || stdout.isSocket();
    const alone = lineOutputOf(createLogger({ level: "warn" }, undefined, { otherWriters: false }));
    const shared = lineOutputOf(createLogger({ level: "warn" }, undefined, { otherWriters: true }));
    const byDefault = lineOutputOf(createLogger({ level: "warn" }));
    assert.equal(alone?.batchBytes, 65_536);
    assert.equal(shared?.batchBytes, shareable ? 4096 : 65_536);
    assert.equal(byDefault?.batchBytes, shared?.batchBytes, "the default: others may write");
    assert.equal(lineOutputOf(capture().logger), null, "a test's destination is not a LineOutput");
  });
});
