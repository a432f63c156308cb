/**
 * JSON logs: one pino logger for the process, one line per connection when it ends, and a few
 * lifecycle lines (started, listening, reload ok/failed, draining, stopped). The line formats
 * are documented in docs/observability.md; field names are a contract with log pipelines.
 */
import { type DestinationStream, type Level, type Logger, pino } from "pino";
import type { HostPort, LogConfig } from "../config/types.js";
import { LineOutput } from "./line-output.js";
import type { ConnectionRecord } from "./types.js";

export type { Logger } from "pino";

/**
 * A pino logger writing JSON lines: `level` as a label ("info"), `time` as ISO 8601 UTC,
 * `pid`, `hostname`, then the fields, then `msg`. To stdout through a LineOutput (batched, off
 * the event loop, bounded; what waits is written on exit) unless `destination` is given: any
 * object with `write(line: string)`, which is how tests capture lines.
 */
export function createLogger(
  config: Pick<LogConfig, "level">,
  destination?: DestinationStream,
): Logger {
  let stream = destination;
  if (stream === undefined) {
    const output = new LineOutput();
    process.once("exit", () => output.flushSync());
    stream = output;
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

/**
 * A JSON string. Most values (names, addresses, identities, host names) contain nothing JSON
 * escapes, which one scan tells, so JSON.stringify runs only for the others (and gives exactly
 * its output: quotes, backslashes, control characters and lone surrogates are its only escapes).
 */
function str(value: string | null): string {
  if (value === null) return "null";
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) {
      return JSON.stringify(value);
    }
  }
  return `"${value}"`;
}

let cachedSecond = -1;
let cachedPrefix = "";
/** ISO 8601 time ("2026-11-30T08:12:03.001Z"): the date and time part rendered once a second. */
function isoNow(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== cachedSecond) {
    cachedSecond = second;
    cachedPrefix = new Date(second * 1000).toISOString().slice(0, 20); // up to the "."
  }
  const millis = now - second * 1000;
  return `${cachedPrefix}${millis < 10 ? "00" : millis < 100 ? "0" : ""}${millis}Z`;
}

/**
 * The connection line, rendered directly: the same bytes pino would write for these fields (a
 * test keeps them equal), at half the cost, because a connection line is written for every
 * connection. Strings go through JSON.stringify, so any value is escaped.
 */
export function connectionLine(level: Level, bindings: string, r: ConnectionRecord): string {
  const src = r.proxySource;
  const dst = r.proxyDestination;
  const rule = r.rule;
  return `{"level":"${level}","time":"${isoNow()}"${bindings},"listener":${str(r.listener)},"peerAddress":${str(r.peer.address)},"peerPort":${r.peer.port},"proxySrcAddress":${src === null ? "null" : str(src.address)},"proxySrcPort":${src === null ? "null" : src.port},"proxyDstAddress":${dst === null ? "null" : str(dst.address)},"proxyDstPort":${dst === null ? "null" : dst.port},"link":${str(r.link)},"sni":${str(r.sni)},"tenant":${str(r.tenant)},"decision":"${r.decision}","reason":"${r.reason}","rule":${rule === null ? "null" : rule.index},"ruleDescription":${rule === null ? "null" : str(rule.description)},"upstream":${str(r.upstream)},"upstreamError":${r.upstreamError === null ? "null" : `"${r.upstreamError}"`},"closedBy":${r.closedBy === null ? "null" : `"${r.closedBy}"`},"errno":${str(r.errno)},"bytesFromClient":${r.bytesFromClient},"bytesToClient":${r.bytesToClient},"handshakeMs":${r.handshakeMs === null ? "null" : ms(r.handshakeMs)},"durationMs":${ms(r.durationMs)},"msg":"connection"}\n`;
}

/** The same line through pino's own serializer: the reference `connectionLine` must equal. */
export function logConnectionWithPino(logger: Logger, record: ConnectionRecord): void {
  if (logger.levelVal > WARN) return;
  const level = connectionLogLevel(record);
  if (level === "info" && logger.levelVal > INFO) return;
  const { peer, proxySource: src, proxyDestination: dst, rule } = record;
  logger[level](
    {
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
    },
    "connection",
  );
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
