/**
 * PolicyReloader, the one reload path, with a source and a target under the test's control:
 * requests during a reload queue exactly one more, which reads the source again; the version
 * read decides whether anything changed; each outcome is logged and counted once; a target
 * that cannot bring every process to the policy makes the reload incomplete, not ok.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import type { LinkgateConfig } from "../../src/config/types.js";
import { createLogger } from "../../src/observability/logger.js";
import { Metrics } from "../../src/observability/metrics.js";
import {
  ConfigFileSource,
  type PolicySnapshot,
  type PolicySource,
} from "../../src/runtime/policy-source.js";
import {
  type ApplyReport,
  PolicyReloader,
  type PolicyTarget,
  type PolicyUpdate,
} from "../../src/runtime/reload.js";
import { config, tenant } from "../helpers/config.js";
import type { LogLine } from "../helpers/serve.js";

const valid = (version: string, tenants: string[]): PolicySnapshot => ({
  version,
  result: { ok: true, config: config({ tenants: tenants.map((id) => tenant(id)) }) },
});

const invalid = (version: string): PolicySnapshot => ({
  version,
  result: {
    ok: false,
    errors: [
      {
        file: "linkgate.yaml",
        line: 3,
        column: 5,
        key: "tenants[0].id",
        code: "CONFIG_BAD_TENANT_ID",
        message: "bad id",
      },
    ],
  },
});

/** A source whose reads the test answers, one at a time, in order. */
class ScriptedSource implements PolicySource {
  readonly pending: ((s: PolicySnapshot) => void)[] = [];
  reads = 0;
  /** The `known` version of each read (null: parse whatever it holds). */
  readonly knowns: (string | null)[] = [];
  read(known: string | null = null): Promise<PolicySnapshot> {
    this.reads++;
    this.knowns.push(known);
    return new Promise((resolve) => this.pending.push(resolve));
  }
  /** Answers the oldest read (waiting for it to be made). */
  async answer(snapshot: PolicySnapshot): Promise<void> {
    while (this.pending.length === 0) await new Promise((r) => setImmediate(r));
    this.pending.shift()?.(snapshot);
  }
}

class RecordingTarget implements PolicyTarget {
  config: LinkgateConfig;
  readonly applied: PolicyUpdate[] = [];
  report: (u: PolicyUpdate) => ApplyReport = () => ({ complete: true, details: {} });
  constructor(initial: LinkgateConfig) {
    this.config = initial;
  }
  async apply(update: PolicyUpdate): Promise<ApplyReport> {
    this.applied.push(update);
    this.config = update.config;
    return this.report(update);
  }
}

function setup(initial = valid("v1", ["a"])) {
  const lines: LogLine[] = [];
  const logger = createLogger(
    { level: "info" },
    { write: (l: string) => void lines.push(JSON.parse(l)) },
  );
  const metrics = new Metrics({ defaultMetrics: false });
  const source = new ScriptedSource();
  const target = new RecordingTarget((initial.result as { config: LinkgateConfig }).config);
  const reloader = new PolicyReloader({ source, initial, target, metrics, logger });
  const reloads = () => lines.filter((l) => String(l.msg).startsWith("reload"));
  const counted = async (result: string) => {
    const text = await metrics.metricsText();
    return Number(
      text.match(
        new RegExp(`^linkgate_policy_reloads_total\\{result="${result}"\\} (\\d+)$`, "m"),
      )?.[1],
    );
  };
  return { lines, source, target, reloader, reloads, counted, metrics };
}

describe("PolicyReloader", () => {
  test("requests during a reload queue one more reload, which reads the source again", async () => {
    const { source, target, reloader, reloads } = setup();
    const first = reloader.request({ source: "SIGHUP", force: true });
    // The running reload has asked for the source; three changes are seen meanwhile.
    while (source.reads === 0) await new Promise((r) => setImmediate(r));
    const queued = [
      reloader.request({ source: "file", force: false }),
      reloader.request({ source: "file", force: false }),
      reloader.request({ source: "SIGHUP", force: true }),
    ];
    assert.equal(source.reads, 1, "nothing more read while the first reload runs");
    await source.answer(valid("v2", ["a", "b"]));
    assert.deepEqual(await first, { result: "applied", generation: 2, problems: [] });
    await source.answer(valid("v3", ["a"]));
    const outcomes = await Promise.all(queued);
    for (const o of outcomes)
      assert.deepEqual(o, { result: "applied", generation: 3, problems: [] });
    assert.equal(source.reads, 2, "one more reload for the three requests");
    assert.deepEqual(
      target.applied.map((u) => [u.generation, u.source, u.config.tenants.length]),
      [
        [2, "SIGHUP", 2],
        [3, "file+SIGHUP", 1],
      ],
    );
    assert.deepEqual(
      reloads().map((l) => [l.msg, l.generation, l.tenants]),
      [
        ["reload ok", 2, 2],
        ["reload ok", 3, 1],
      ],
    );
    assert.equal(reloader.generation, 3);
  });

  test("content already applied or rejected is not reloaded again, unless forced", async () => {
    const { source, target, reloader, reloads, counted } = setup();
    // The file as loaded at start: a watch event (a touch) does nothing.
    let outcome = reloader.request({ source: "file", force: false });
    await source.answer(valid("v1", ["a"]));
    assert.deepEqual(await outcome, { result: "unchanged", generation: 1, problems: [] });
    // An operator's SIGHUP reloads it anyway.
    outcome = reloader.request({ source: "SIGHUP", force: true });
    await source.answer(valid("v1", ["a"]));
    assert.equal((await outcome).result, "applied");
    // Invalid content: rejected and reported once, then left alone until it changes.
    outcome = reloader.request({ source: "file", force: false });
    await source.answer(invalid("v2"));
    assert.deepEqual(await outcome, {
      result: "rejected",
      generation: 2,
      problems: ["linkgate.yaml:3:5: tenants[0].id: bad id [CONFIG_BAD_TENANT_ID]"],
    });
    outcome = reloader.request({ source: "file", force: false });
    await source.answer(invalid("v2"));
    assert.equal((await outcome).result, "unchanged");
    // An unreadable file has no version: it is reported each time.
    for (let i = 0; i < 2; i++) {
      outcome = reloader.request({ source: "file", force: false });
      await source.answer({ version: null, result: invalid("-").result });
      assert.equal((await outcome).result, "rejected");
    }
    assert.equal(target.applied.length, 1);
    assert.deepEqual(
      reloads().map((l) => l.msg),
      ["reload ok", "reload failed", "reload failed", "reload failed"],
    );
    assert.equal(await counted("ok"), 1);
    assert.equal(await counted("error"), 3);
    // Each unforced read was told the version in force, so that the source can skip parsing
    // it; the forced one was not.
    assert.deepEqual(source.knowns, ["v1", null, "v1", "v2", "v2", "v2"]);
  });

  test("a source that skipped parsing content in force: unchanged, nothing logged", async () => {
    const { source, target, reloader, reloads } = setup();
    const outcome = reloader.request({ source: "file", force: false });
    await source.answer({ version: "v1", result: null } as unknown as PolicySnapshot);
    assert.deepEqual(await outcome, { result: "unchanged", generation: 1, problems: [] });
    assert.equal(target.applied.length, 0);
    assert.deepEqual(reloads(), []);
  });

  test("a policy that changes the listeners is refused; the one in force stays", async () => {
    const { source, target, reloader, reloads } = setup();
    const moved = valid("v2", ["a"]);
    const c = (moved.result as { config: LinkgateConfig }).config;
    c.listeners[0] = { ...c.listeners[0], bind: { host: "127.0.0.1", port: 8443 } };
    const outcome = reloader.request({ source: "SIGHUP", force: true });
    await source.answer(moved);
    const o = await outcome;
    assert.equal(o.result, "rejected");
    assert.match(
      o.problems[0],
      /listener privatelink changed .*: listener sockets change only on restart/,
    );
    assert.equal(target.applied.length, 0);
    assert.equal((reloads()[0].errors as { code: string }[])[0].code, "CONFIG_NEEDS_RESTART");
  });

  test("a target that does not reach every process makes the reload incomplete", async () => {
    const { source, target, reloader, reloads, counted, metrics } = setup();
    target.report = () => ({
      complete: false,
      details: { lagging: [{ worker: 2, generation: 1 }] },
      problems: ["worker 2 runs generation 1"],
    });
    const outcome = reloader.request({ source: "file", force: false });
    await source.answer(valid("v2", ["a", "b"]));
    assert.deepEqual(await outcome, {
      result: "incomplete",
      generation: 2,
      problems: ["worker 2 runs generation 1"],
    });
    const line = reloads()[0];
    assert.equal(line.msg, "reload incomplete");
    assert.equal(line.level, "error");
    assert.deepEqual(line.lagging, [{ worker: 2, generation: 1 }]);
    assert.equal(await counted("ok"), 0);
    assert.equal(await counted("error"), 1);
    assert.match(await metrics.metricsText(), /^linkgate_policy_generation 2$/m);
  });

  test("a target that throws is reported as a failed reload; later reloads still run", async () => {
    const { source, target, reloader, reloads } = setup();
    target.report = () => {
      throw new Error("a defect in the swap");
    };
    let outcome = reloader.request({ source: "SIGHUP", force: true });
    await source.answer(valid("v2", ["a"]));
    assert.deepEqual((await outcome).problems, ["a defect in the swap"]);
    target.report = () => ({ complete: true, details: {} });
    outcome = reloader.request({ source: "SIGHUP", force: true });
    await source.answer(valid("v3", ["a"]));
    assert.equal((await outcome).result, "applied");
    assert.deepEqual(
      reloads().map((l) => l.msg),
      ["reload failed", "reload ok"],
    );
  });
});

describe("ConfigFileSource", () => {
  test("content whose version is known is hashed, not parsed; changed content is parsed", async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "linkgate-source-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, "linkgate.yaml");
    writeFileSync(file, "listeners: [\n");
    const source = new ConfigFileSource(file);
    const first = await source.read();
    assert.ok(first.version !== null);
    assert.equal(first.result.ok, false, "parsed: a syntax error");
    const again = await source.read(first.version);
    assert.deepEqual(again, { version: first.version, result: null }, "not parsed");
    writeFileSync(file, "listeners: []\n");
    const changed = await source.read(first.version);
    assert.notEqual(changed.version, first.version);
    assert.ok(changed.result !== null, "a new version is parsed");
  });
});
