/**
 * The line of each finished connection, with a budget for denials.
 *
 * Allowed and report-only ("would-deny") connections are always logged: they are the record of
 * what went through. Denied and dropped ones are logged up to `deniedLinesPerSecond` per second:
 * who sends them is up to whoever connects (scanners, a flood), and the metrics count every one
 * of them anyway (linkgate_connections_total by reason). Lines over the budget are counted by
 * reason (linkgate_log_lines_suppressed_total) and summed up once a second in one warn line,
 * msg "connection lines suppressed".
 *
 * Lines are rendered late, many in a row (LineOutput's `defer`): each connection leaves its
 * record and end time here (its level follows from the record), and the lines are rendered
 * when LineOutput takes its next line or writes, or once DEFERRED_LINES wait. Under load that is cheaper than rendering each
 * line among the socket work (measured: docs/BENCHMARKS.md). The line's `time` is still the
 * connection's end.
 */
import { pino } from "pino";
import { type DeferredLines, LineOutput } from "./line-output.js";
import {
  type ConnectionLineInput,
  connectionLine,
  connectionLineMaxBytes,
  connectionLogLevel,
  type Logger,
  renderConnectionLine,
} from "./logger.js";
import type { ConnectionRecord } from "./types.js";

/** Lines kept unrendered at most: a bound on what waits, and the length of a run. */
const DEFERRED_LINES = 64;

const INFO = pino.levels.values.info;
const WARN = pino.levels.values.warn;

// pino's public symbols: the pre-rendered bindings (`,"pid":…,"hostname":…` and any child
// bindings) and the destination stream.
const { chindingsSym, streamSym } = pino.symbols as unknown as {
  chindingsSym: symbol;
  streamSym: symbol;
};

export class ConnectionLog implements DeferredLines {
  readonly #logger: Logger;
  readonly #stream: { write(line: string): void };
  readonly #bindings: string;
  /** The logger's LineOutput, where lines are rendered as bytes; null: a test's destination. */
  readonly #output: LineOutput | null;
  /** Reused for every line (rendering is synchronous). */
  readonly #input: ConnectionLineInput;
  /** Lines not rendered yet: each one's record and end time (LineOutput's `defer`). */
  #records: ConnectionRecord[] = [];
  #times: number[] = [];
  readonly deniedLinesPerSecond: number;
  /** Suppressed lines since start, by reason code. */
  readonly suppressed = new Map<string, number>();
  #windowStart = 0;
  #deniedInWindow = 0;
  /** Suppressed in the current summary period, by reason; the summary line empties it. */
  #pending = new Map<string, number>();
  #summary: NodeJS.Timeout | null = null;

  constructor(logger: Logger, options: { deniedLinesPerSecond: number }) {
    this.#logger = logger;
    const l = logger as unknown as Record<symbol, unknown>;
    this.#stream = l[streamSym] as { write(line: string): void };
    this.#bindings = l[chindingsSym] as string;
    this.#output = this.#stream instanceof LineOutput ? this.#stream : null;
    this.#input = {
      level: "info",
      time: 0,
      bindings: Buffer.from(this.#bindings),
      record: null as never,
    };
    this.deniedLinesPerSecond = options.deniedLinesPerSecond;
  }

  /** Writes the connection's line, unless its level is off or it is over the denial budget. */
  write(record: ConnectionRecord): void {
    // levelVal: pino's numeric threshold (info 30, warn 40), cheaper than isLevelEnabled().
    const threshold = this.#logger.levelVal;
    if (threshold > WARN) return;
    const level = connectionLogLevel(record);
    if (level === "info" && threshold > INFO) return;
    const now = Date.now();
    if (record.decision === "deny" || record.decision === "drop") {
      if (now - this.#windowStart >= 1000) {
        this.#windowStart = now;
        this.#deniedInWindow = 0;
      }
      if (++this.#deniedInWindow > this.deniedLinesPerSecond) {
        this.#suppress(record.reason);
        return;
      }
    }
    const output = this.#output;
    if (output === null) {
      this.#stream.write(connectionLine(level, this.#bindings, record, now));
      return;
    }
    const waiting = this.#records.push(record);
    this.#times.push(now);
    if (waiting === 1) output.defer(this);
    else if (waiting >= DEFERRED_LINES) output.renderDeferred();
  }

  /** Renders the waiting lines, in order (LineOutput calls it: see `defer`). */
  renderDeferred(): void {
    const output = this.#output;
    const records = this.#records;
    if (output === null || records.length === 0) return;
    const input = this.#input;
    for (let i = 0; i < records.length; i++) {
      input.record = records[i];
      input.level = connectionLogLevel(input.record);
      input.time = this.#times[i];
      output.writeRendered(connectionLineMaxBytes(input), renderConnectionLine, input);
    }
    input.record = null as never; // keep no record alive between lines
    records.length = 0;
    this.#times.length = 0;
  }

  #suppress(reason: string): void {
    this.suppressed.set(reason, (this.suppressed.get(reason) ?? 0) + 1);
    this.#pending.set(reason, (this.#pending.get(reason) ?? 0) + 1);
    if (this.#summary === null) {
      this.#summary = setTimeout(writeSummary, 1000, this);
      this.#summary.unref();
    }
  }

  /** The summary line of what was suppressed since the last one. */
  _writeSummary(): void {
    this.#summary = null;
    let total = 0;
    const reasons: Record<string, number> = {};
    for (const [reason, n] of this.#pending) {
      reasons[reason] = n;
      total += n;
    }
    this.#pending = new Map();
    this.#logger.warn(
      { suppressed: total, reasons, deniedLinesPerSecond: this.deniedLinesPerSecond },
      "connection lines suppressed",
    );
  }

  /**
   * Renders the waiting lines and writes the pending summary now (on stop), so that no line
   * and no suppressed count goes unreported.
   */
  flush(): void {
    this.#output?.renderDeferred();
    if (this.#summary === null) return;
    clearTimeout(this.#summary);
    this._writeSummary();
  }
}

function writeSummary(log: ConnectionLog): void {
  log._writeSummary();
}
