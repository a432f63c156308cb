/**
 * JSON logs: one pino logger for the process, one line per connection when it ends, and a few
 * lifecycle lines (started, listening, reload ok/failed, draining, stopped). The line formats
 * are documented in docs/observability.md; field names are a contract with log pipelines.
 */
import { type DestinationStream, type Level, type Logger, pino } from "pino";
import type { HostPort, LogConfig } from "../config/types.js";
import { LineOutput, type LineOutputOptions } from "./line-output.js";
import type { ConnectionRecord } from "./types.js";

export type { Logger } from "pino";

/**
 * A pino logger writing JSON lines: `level` as a label ("info"), `time` as ISO 8601 UTC,
 * `pid`, `hostname`, then the fields, then `msg`. To stdout through a LineOutput (batched, off
 * the event loop, bounded; what waits is written on exit) unless `destination` is given: any
 * object with `write(line: string)`, which is how tests capture lines. `output.otherWriters`:
 * whether other processes write to the same stdout (LineOutput; default true).
 */
export function createLogger(
  config: Pick<LogConfig, "level">,
  destination?: DestinationStream,
  output: Pick<LineOutputOptions, "otherWriters"> = {},
): Logger {
  let stream = destination;
  if (stream === undefined) {
    const lines = new LineOutput(output);
    process.once("exit", () => lines.flushSync());
    stream = lines;
  }
  return pino(
    {
      level: config.level,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    stream,
  );
}

/** The LineOutput a logger made by createLogger writes to, or null (a test's destination). */
export function lineOutputOf(logger: Logger): LineOutput | null {
  const stream = (logger as unknown as Record<symbol, unknown>)[streamSym];
  return stream instanceof LineOutput ? stream : null;
}

const INFO = pino.levels.values.info;
const WARN = pino.levels.values.warn;

/** Milliseconds rounded to the microsecond: enough precision, short lines. */
function ms(value: number): number {
  return Math.round(value * 1000) / 1000;
}

/**
 * The level of a connection line. Every decision is logged at info, deny and drop included:
 * they are the gateway doing its job (scanners, misrouted clients, revoked endpoints), an
 * attacker could otherwise flood the warn stream at will, and alerting on them belongs to the
 * metrics (rates by reason), not to log levels. Only an allowed connection that failed upstream
 * is logged at warn: the backend is unreachable or misbehaving, which the operator must act on.
 */
export function connectionLogLevel(record: ConnectionRecord): Level {
  return record.upstreamError === null ? "info" : "warn";
}

// pino's public symbol for a logger's destination stream.
const { streamSym } = pino.symbols as unknown as { streamSym: symbol };

let cachedSecond = -1;
/** "2026-11-30T08:12:03." for cachedSecond: the date and time, rendered once a second. */
const cachedPrefix = new Uint8Array(20);
/**
 * Writes `ms` (milliseconds since the epoch) as ISO 8601 ("2026-11-30T08:12:03.001Z") into `b`
 * at `at`; returns the end. As bytes: a string per line would be one more allocation per
 * connection.
 */
function isoTimeInto(b: Buffer, at: number, ms: number): number {
  const second = Math.floor(ms / 1000);
  if (second !== cachedSecond) {
    cachedSecond = second;
    const text = new Date(second * 1000).toISOString(); // up to the "." is the prefix
    for (let i = 0; i < 20; i++) cachedPrefix[i] = text.charCodeAt(i);
  }
  for (let i = 0; i < 20; i++) b[at + i] = cachedPrefix[i];
  const millis = ms - second * 1000;
  b[at + 20] = 0x30 + Math.floor(millis / 100);
  b[at + 21] = 0x30 + (Math.floor(millis / 10) % 10);
  b[at + 22] = 0x30 + (millis % 10);
  b[at + 23] = 0x5a; // "Z"
  return at + 24;
}

// ---------------------------------------------------------------------------------------------
// The connection line, rendered directly: the same bytes pino would write for these fields (a
// test keeps them equal), rendered as bytes straight into the output's batch buffer, because a
// line is written for every connection: no string, no UTF-8 length, no copy. Every value JSON
// might escape, and any non-ASCII one, goes through JSON.stringify and Buffer#write (so lone
// surrogates are escaped, as JSON.stringify does); plain ASCII is copied a byte at a time.

/** What `renderConnectionLine` needs besides the buffer: one object, reused per process. */
export interface ConnectionLineInput {
  level: Level;
  /** When the connection ended (Date.now()): the line's `time`, whenever it is rendered. */
  time: number;
  /** The logger's bindings (`,"pid":…,"hostname":…`), as UTF-8 bytes. */
  bindings: Uint8Array;
  record: ConnectionRecord;
}

/** Bytes of the line besides its strings and numbers: 612 today, rounded up generously. */
const LINE_FIXED_BYTES = 1024;
/** The most bytes a JSON string takes per UTF-16 unit: "\u001f" (6). */
const MAX_BYTES_PER_UNIT = 6;

/** An upper bound on the rendered line's length, for LineOutput.writeRendered. */
export function connectionLineMaxBytes(input: ConnectionLineInput): number {
  const r = input.record;
  let units = r.listener.length + r.peer.address.length + r.reason.length + (r.errno?.length ?? 0);
  if (r.proxySource !== null) units += r.proxySource.address.length;
  if (r.proxyDestination !== null) units += r.proxyDestination.address.length;
  if (r.link !== null) units += r.link.length;
  if (r.sni !== null) units += r.sni.length;
  if (r.tenant !== null) units += r.tenant.length;
  if (r.rule?.description != null) units += r.rule.description.length;
  if (r.upstream !== null) units += r.upstream.length;
  return LINE_FIXED_BYTES + input.bindings.length + MAX_BYTES_PER_UNIT * units;
}

/** Copies text known to be ASCII and free of JSON escapes (constants, codes). */
function ascii(b: Buffer, at: number, text: string): number {
  for (let i = 0; i < text.length; i++) b[at + i] = text.charCodeAt(i);
  return at + text.length;
}

/** A JSON string or null, as `str` renders it. */
function jsonString(b: Buffer, at: number, value: string | null): number {
  if (value === null) return ascii(b, at, "null");
  b[at] = 0x22;
  let p = at + 1;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || c >= 0x7f) {
      // Escapes or UTF-8: the general way, from the opening quote.
      return at + b.write(JSON.stringify(value), at);
    }
    b[p++] = c;
  }
  b[p] = 0x22;
  return p + 1;
}

/** 10^k for k < 10, as 32-bit integers (digit counts without a division). */
const POWERS_OF_TEN = Int32Array.from({ length: 10 }, (_, k) => 10 ** k);

/** A non-negative safe integer in decimal; anything else as String() renders it. */
function integer(b: Buffer, at: number, n: number): number {
  // Ports, byte counts and rule indexes: 32-bit arithmetic, and the quotient by 10 as
  // `(x * 0.1) | 0`, which equals Math.floor(x / 10) for every x below 2^31 (checked for all of
  // them; 0.1 as a double is a hair above a tenth, never enough to reach the next integer).
  // No division: a quotient with a fraction, truncated by `| 0`, made Bun's JIT drop and
  // recompile the whole line renderer again and again (2 µs a line;
  // test/engines/bun/jit.test.ts), and the exact division `(x - x % 10) / 10` that replaced it
  // cost Bun 150-165 ns a line more than this (npm run bench:line). Larger integers (a bulk
  // transfer's byte count) take the double path below, so this loop sees only 32-bit values.
  if (n >= 0 && n <= 0x7fffffff && (n | 0) === n) {
    let x = n | 0;
    let digits = 1;
    while (digits < 10 && x >= POWERS_OF_TEN[digits]) digits++;
    let p = at + digits;
    do {
      const quotient = (x * 0.1) | 0;
      b[--p] = 0x30 + x - quotient * 10;
      x = quotient;
    } while (x > 0);
    return at + digits;
  }
  if (!(n >= 0 && n <= Number.MAX_SAFE_INTEGER && Math.floor(n) === n)) {
    return ascii(b, at, String(n));
  }
  let digits = 1;
  for (let x = n; x >= 10; x = Math.floor(x / 10)) digits++;
  let p = at + digits;
  let x = n;
  do {
    b[--p] = 0x30 + (x % 10);
    x = Math.floor(x / 10);
  } while (x > 0);
  return at + digits;
}

/** Milliseconds as `ms()` then JSON render them: at most three decimals, no trailing zero. */
function millis(b: Buffer, at: number, value: number): number {
  const micros = Math.round(value * 1000);
  // Below 1e15 µs (31 years), i.fff is exactly the shortest form JSON prints.
  if (!(micros >= 0 && micros < 1e15)) return ascii(b, at, String(ms(value)));
  const whole = Math.floor(micros / 1000);
  let frac = micros - whole * 1000;
  let p = integer(b, at, whole);
  if (frac === 0) return p;
  b[p++] = 0x2e; // "."
  let width = 3;
  while (frac % 10 === 0) {
    frac /= 10;
    width--;
  }
  for (let k = width - 1; k >= 0; k--) {
    b[p + k] = 0x30 + (frac % 10);
    frac = Math.floor(frac / 10);
  }
  return p + width;
}

function nullableInteger(b: Buffer, at: number, n: number | null): number {
  return n === null ? ascii(b, at, "null") : integer(b, at, n);
}

/** The connection line into `b` from `at` (room: connectionLineMaxBytes); returns its end. */
export function renderConnectionLine(b: Buffer, at: number, input: ConnectionLineInput): number {
  const r = input.record;
  const src = r.proxySource;
  const dst = r.proxyDestination;
  const rule = r.rule;
  let p = ascii(b, at, '{"level":"');
  p = ascii(b, p, input.level);
  p = ascii(b, p, '","time":"');
  p = isoTimeInto(b, p, input.time);
  b[p++] = 0x22;
  b.set(input.bindings, p);
  p += input.bindings.length;
  p = ascii(b, p, ',"listener":');
  p = jsonString(b, p, r.listener);
  p = ascii(b, p, ',"peerAddress":');
  p = jsonString(b, p, r.peer.address);
  p = ascii(b, p, ',"peerPort":');
  p = integer(b, p, r.peer.port);
  p = ascii(b, p, ',"proxySrcAddress":');
  p = jsonString(b, p, src === null ? null : src.address);
  p = ascii(b, p, ',"proxySrcPort":');
  p = nullableInteger(b, p, src === null ? null : src.port);
  p = ascii(b, p, ',"proxyDstAddress":');
  p = jsonString(b, p, dst === null ? null : dst.address);
  p = ascii(b, p, ',"proxyDstPort":');
  p = nullableInteger(b, p, dst === null ? null : dst.port);
  p = ascii(b, p, ',"link":');
  p = jsonString(b, p, r.link);
  p = ascii(b, p, ',"sni":');
  p = jsonString(b, p, r.sni);
  p = ascii(b, p, ',"tenant":');
  p = jsonString(b, p, r.tenant);
  p = ascii(b, p, ',"decision":"');
  p = ascii(b, p, r.decision);
  p = ascii(b, p, '","reason":"');
  p = ascii(b, p, r.reason);
  p = ascii(b, p, '","rule":');
  p = nullableInteger(b, p, rule === null ? null : rule.index);
  p = ascii(b, p, ',"ruleDescription":');
  p = jsonString(b, p, rule === null ? null : rule.description);
  p = ascii(b, p, ',"upstream":');
  p = jsonString(b, p, r.upstream);
  p = ascii(b, p, ',"upstreamError":');
  p = jsonString(b, p, r.upstreamError);
  p = ascii(b, p, ',"closedBy":');
  p = jsonString(b, p, r.closedBy);
  p = ascii(b, p, ',"errno":');
  p = jsonString(b, p, r.errno);
  p = ascii(b, p, ',"bytesFromClient":');
  p = integer(b, p, r.bytesFromClient);
  p = ascii(b, p, ',"bytesToClient":');
  p = integer(b, p, r.bytesToClient);
  p = ascii(b, p, ',"handshakeMs":');
  p = r.handshakeMs === null ? ascii(b, p, "null") : millis(b, p, r.handshakeMs);
  p = ascii(b, p, ',"durationMs":');
  p = millis(b, p, r.durationMs);
  return ascii(b, p, ',"msg":"connection"}\n');
}

/** The connection line as a string, for a destination that is not a LineOutput (a test's). */
export function connectionLine(
  level: Level,
  bindings: string,
  record: ConnectionRecord,
  time = Date.now(),
): string {
  const input: ConnectionLineInput = { level, time, bindings: Buffer.from(bindings), record };
  const out = Buffer.allocUnsafe(connectionLineMaxBytes(input));
  return out.toString("utf8", 0, renderConnectionLine(out, 0, input));
}

/**
 * The connection line's fields, in its order, as a generic JSON logger would be given them:
 * what pino serializes in `logConnectionWithPino`, and what `npm run bench:line` hands
 * JSON.stringify as the renderer's yardstick.
 */
export function connectionLineFields(record: ConnectionRecord): Record<string, unknown> {
  const { peer, proxySource: src, proxyDestination: dst, rule } = record;
  return {
    listener: record.listener,
    peerAddress: peer.address,
    peerPort: peer.port,
    proxySrcAddress: src === null ? null : src.address,
    proxySrcPort: src === null ? null : src.port,
    proxyDstAddress: dst === null ? null : dst.address,
    proxyDstPort: dst === null ? null : dst.port,
    link: record.link,
    sni: record.sni,
    tenant: record.tenant,
    decision: record.decision,
    reason: record.reason,
    rule: rule === null ? null : rule.index,
    ruleDescription: rule === null ? null : rule.description,
    upstream: record.upstream,
    upstreamError: record.upstreamError,
    closedBy: record.closedBy,
    errno: record.errno,
    bytesFromClient: record.bytesFromClient,
    bytesToClient: record.bytesToClient,
    handshakeMs: record.handshakeMs === null ? null : ms(record.handshakeMs),
    durationMs: ms(record.durationMs),
  };
}

/** The same line through pino's own serializer: the reference the connection line must equal. */
export function logConnectionWithPino(logger: Logger, record: ConnectionRecord): void {
  if (logger.levelVal > WARN) return;
  const level = connectionLogLevel(record);
  if (level === "info" && logger.levelVal > INFO) return;
  logger[level](connectionLineFields(record), "connection");
}

// Lifecycle lines. Each takes a details object so callers can add fields; the named ones are
// the documented contract.

/** msg "started": the process is up (before listeners bind). */
export function logStarted(
  logger: Logger,
  details: { version: string; configFile?: string | null; [key: string]: unknown },
): void {
  // On Bun, `node` is the Node.js version Bun is compatible with, and `bun` its own.
  const runtime =
    process.versions.bun === undefined
      ? { node: process.version }
      : { node: process.version, bun: process.versions.bun };
  logger.info({ ...runtime, ...details }, "started");
}

/** msg "listening": a listener (or "admin", the admin HTTP endpoint) is bound. */
export function logListening(
  logger: Logger,
  listener: string,
  address: HostPort,
  details?: Record<string, unknown>,
): void {
  logger.info({ listener, host: address.host, port: address.port, ...details }, "listening");
}

/** A problem reported by a failed reload: a coded error, a config validation issue, an Error. */
export interface ReloadProblem {
  readonly message: string;
  readonly code?: string;
}

export type ReloadResult =
  | { ok: true; tenants: number; rules: number; durationMs?: number; source?: string }
  | { ok: false; errors: readonly (ReloadProblem | Error)[]; durationMs?: number; source?: string };

function problemJson(problem: ReloadProblem | Error): Record<string, unknown> {
  if (problem instanceof Error) {
    const code = (problem as { code?: unknown }).code;
    return code === undefined
      ? { name: problem.name, message: problem.message }
      : { code, message: problem.message };
  }
  return { ...problem };
}

/**
 * msg "reload ok" (info) with the policy's size, or "reload failed" (error) with `errors`, each
 * `{code?, message, …}` (extra fields such as file/line/key are kept). A failed reload keeps the
 * previous policy in force; the line says so with `kept: "previous policy"`.
 */
export function logReload(logger: Logger, result: ReloadResult): void {
  if (result.ok) {
    const { ok: _ok, ...rest } = result;
    logger.info(rest, "reload ok");
  } else {
    const { ok: _ok, errors, ...rest } = result;
    logger.error(
      { ...rest, errors: errors.map(problemJson), kept: "previous policy" },
      "reload failed",
    );
  }
}

/** msg "draining": SIGTERM (or equivalent) received; no new connections, live ones get a grace. */
export function logDraining(
  logger: Logger,
  details: { activeConnections: number; drainTimeoutMs: number; signal?: string },
): void {
  logger.info(details, "draining");
}

/** msg "stopped": the process is about to exit. `forcedConnections` were cut at the deadline. */
export function logStopped(
  logger: Logger,
  details: { forcedConnections?: number; exitCode?: number; [key: string]: unknown } = {},
): void {
  logger.info(details, "stopped");
}

/**
 * msg "reload incomplete" (error): a valid policy was swapped in, but not in every process that
 * serves: with `serve --workers N`, `lagging` lists the workers still on an older generation.
 * Counted as a failed reload.
 */
export function logReloadIncomplete(logger: Logger, details: Record<string, unknown>): void {
  logger.error(details, "reload incomplete");
}

/**
 * msg "unhandled error" (error): an exception or promise rejection that no code handled, with
 * its stack (`err`), its `kind` and what the process does about it (`action`).
 */
export function logProcessError(
  logger: Logger,
  details: { kind: string; action: string },
  error: unknown,
): void {
  logger.error({ ...details, err: error }, "unhandled error");
}
