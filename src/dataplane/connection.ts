/**
 * One client connection through the L4 (TLS passthrough) data plane.
 *
 *   accept -> [trusted peer?] -> PROXY header -> ClientHello -> decide -> connect upstream
 *          -> fresh PROXY v2 header + the client's bytes exactly as received -> relay
 *
 * Nothing is sent upstream, and no upstream is dialled, before the decision. Socket events are
 * handled by module-level functions that find their Connection through a symbol on the socket
 * (as undici does): no closure is allocated per connection, and the relay does nothing per
 * chunk but count, hand over and apply backpressure.
 *
 * States and their only transitions (`enter` checks each one against NEXT):
 *
 *   ProxyHeader -> ClientHello | HealthCheck | Closed      (`required` listeners start here)
 *   ClientHello -> Connecting | Closed                     (`none` listeners start here)
 *   HealthCheck -> Closed                                  (a LOCAL header: never routed)
 *   Connecting  -> Relay | Closed
 *   Relay       -> HalfClosed | Closed                     (HalfClosed: one side sent its FIN)
 *   HalfClosed  -> Closed
 *
 * One way out: `terminate(code)` marks the connection Closed, records why, clears its deadline
 * and destroys both sockets; nothing else closes a connection. The record is reported once,
 * when the client socket has closed (`finish`). Each live state has one typed deadline, kept
 * in its listener's list for that kind (deadlines.ts): header (PROXY header + ClientHello, or
 * a health check's request), connect, and relay (idle, half-closed, lifetime, keepalive).
 */
import type net from "node:net";
import { connect } from "node:net";
import { performance } from "node:perf_hooks";
import type { ErrorCode } from "../errors/index.js";
import { parseIpInto } from "../ip/address.js";
import type { ConnectionRecord, Decision } from "../observability/types.js";
import type { CompiledPolicy, DecisionInput, PolicyDecision } from "../policy/index.js";
import {
  DONE as PP_DONE,
  INVALID as PP_INVALID,
  type ProxyHeader,
  ProxyHeaderDecoder,
} from "../proxy-protocol/index.js";
import { ClientHelloDecoder, DONE as HELLO_DONE, INVALID as HELLO_INVALID } from "../tls/index.js";
import { coarseNow, type DeadlineItem, type DeadlineList } from "./deadlines.js";
import { answerHealthCheck, HealthCheckReader } from "./health-check.js";
import type { ListenerRuntime } from "./listener.js";
import {
  descriptorOf,
  type ForwardError,
  forward,
  readIntoRelayBuffer,
  relayBuffer,
  writeOwned,
} from "./node-socket.js";
import { upstreamProxyHeader } from "./upstream-header.js";

const kConnection = Symbol("linkgate.connection");

type OwnedSocket = net.Socket & { [kConnection]?: Connection };

export enum State {
  ProxyHeader = 0,
  ClientHello = 1,
  HealthCheck = 2,
  Connecting = 3,
  Relay = 4,
  HalfClosed = 5,
  Closed = 6,
}

const bit = (s: State) => 1 << s;
/** The states each state may move to (a bit per state). */
const NEXT: readonly number[] = [
  /* ProxyHeader */ bit(State.ClientHello) | bit(State.HealthCheck) | bit(State.Closed),
  /* ClientHello */ bit(State.Connecting) | bit(State.Closed),
  /* HealthCheck */ bit(State.Closed),
  /* Connecting  */ bit(State.Relay) | bit(State.Closed),
  /* Relay       */ bit(State.HalfClosed) | bit(State.Closed),
  /* HalfClosed  */ bit(State.Closed),
  /* Closed      */ 0,
];

/** Registry key of connections admitted without a tenant (a fallback upstream). */
export const NO_TENANT = "";

// Scratch for the decision input: decisions are synchronous, so one object serves all.
const sourceScratch = new Uint8Array(16);
const decisionScratch: DecisionInput = {
  sni: null,
  link: null,
  sourceFamily: 0,
  sourceBytes: sourceScratch,
};

export class Connection implements DeadlineItem {
  readonly listener: ListenerRuntime;
  readonly client: OwnedSocket;
  upstream: OwnedSocket | null = null;
  state: State;
  readonly acceptedAt: number;
  readonly peerAddress: string;
  readonly peerPort: number;

  proxyDecoder: ProxyHeaderDecoder | null = null;
  helloDecoder: ClientHelloDecoder | null = null;
  /** Client bytes after the PROXY header, kept until they are written upstream. */
  pending: Buffer[] = [];
  header: ProxyHeader | null = null;
  health: HealthCheckReader | null = null;

  sni: string | null = null;
  decision: Decision = "drop";
  reason: ErrorCode = "CONN_CLIENT_ERROR";
  /** The decision, and the policy that made it: routing settings come from that policy. */
  policy: PolicyDecision | null = null;
  decidedBy: CompiledPolicy | null = null;
  /** The registry key while registered (tenant id, or NO_TENANT), else null. */
  registeredAs: string | null = null;
  upstreamError: ErrorCode | null = null;
  closedBy: ErrorCode | null = null;
  /** The errno code of the socket error that ended the connection (ECONNREFUSED, ...), if any. */
  errno: string | null = null;
  decidedAt = -1;
  bytesFromClient = 0;
  bytesToClient = 0;
  /** Descriptors for the relay's direct writes (node-socket.ts), -1 until the relay starts. */
  clientFd = -1;
  upstreamFd = -1;
  /** Relay bookkeeping, in coarse wall-clock ms (deadlines.ts): last byte, start, keepalive. */
  activeAt = 0;
  relayStartedAt = 0;
  keepAliveSet = false;
  // The one deadline of the current state (see deadlines.ts).
  deadlineAt = 0;
  deadlinePrev: DeadlineItem | null = null;
  deadlineNext: DeadlineItem | null = null;
  deadlineList: DeadlineList<DeadlineItem> | null = null;
  finished = false;

  constructor(listener: ListenerRuntime, client: net.Socket) {
    this.listener = listener;
    this.client = client as OwnedSocket;
    this.client[kConnection] = this;
    this.acceptedAt = performance.now();
    this.peerAddress = client.remoteAddress ?? "";
    this.peerPort = client.remotePort ?? 0;
    this.state =
      listener.config.proxyProtocol === "required" ? State.ProxyHeader : State.ClientHello;
  }

  /**
   * Moves to `next`, which NEXT must allow; false, the connection then terminated, if not.
   * With `terminate`, the only way `state` changes.
   */
  enter(next: State): boolean {
    if ((NEXT[this.state] & bit(next)) !== 0) {
      this.state = next;
      return true;
    }
    // A defect in linkgate, not in the peer: fail this connection, loudly, and carry on.
    process.emitWarning(
      `connection state ${State[this.state]} -> ${State[next]} is not a transition`,
      { code: "LINKGATE_BAD_TRANSITION" },
    );
    this.terminate("CONN_INTERNAL_ERROR");
    return false;
  }

  /** Starts reading; called once the connection is registered with its listener. */
  start(): void {
    const l = this.listener;
    const client = this.client;
    // Nagle is already off: the listener's server is created with noDelay.
    client.on("error", onClientError);
    client.on("close", onClientClose);
    client.on("end", onClientEnd);
    if (l.config.proxyProtocol === "required") {
      if (!l.isTrustedPeer(this.peerAddress)) {
        this.terminate("PP_UNTRUSTED_PEER");
        return;
      }
      this.proxyDecoder = new ProxyHeaderDecoder(l.proxyOptions);
    }
    l.headerDeadlines.add(this, l.config.headerTimeoutMs);
    client.on("data", onClientHeaderData);
  }

  /**
   * The one way out: records why (a drop before the decision, an upstream error, or why an
   * admitted connection was cut), clears the deadline, destroys both sockets. `code` null: the
   * connection ended normally. Idempotent.
   */
  terminate(code: ErrorCode | null, errno: string | null = null): void {
    if (this.state === State.Closed) return;
    this.state = State.Closed; // every state may close: no NEXT check needed
    if (errno !== null) this.errno ??= errno;
    if (code !== null) {
      if (code.startsWith("UPSTREAM_")) this.upstreamError ??= code;
      else if (this.decidedAt >= 0) this.closedBy ??= code;
      else if (this.decision === "health-check") {
        if (code === "CONN_CLIENT_ERROR") this.reason = code;
      } else {
        this.decision = "drop";
        this.reason = code;
      }
    }
    this.deadlineList?.delete(this);
    this.pending = [];
    this.client.destroy();
    this.upstream?.destroy();
  }

  /** Feeds client bytes that follow the PROXY header to the ClientHello decoder. */
  feedHello(chunk: Buffer): void {
    this.pending.push(chunk);
    // Made on the first byte after the PROXY header: a connection dropped at the header (a
    // flood of bad ones, say) never pays for it.
    this.helloDecoder ??= new ClientHelloDecoder(this.listener.helloOptions);
    const status = this.helloDecoder.push(chunk);
    if (status === HELLO_INVALID) {
      this.terminate(this.helloDecoder.error?.code ?? "TLS_BAD_HELLO");
    } else if (status === HELLO_DONE) {
      this.decide();
    }
  }

  decide(): void {
    this.deadlineList?.delete(this);
    this.decidedAt = performance.now();
    const hello = (this.helloDecoder as ClientHelloDecoder).hello;
    this.sni = hello?.sni ?? null;
    this.helloDecoder = null;
    const header = this.header;
    const policy = this.listener.holder.current;
    const d = policy.decide(this.decisionInput());
    this.policy = d;
    this.decidedBy = policy;
    this.reason = d.reason;
    const observer = this.listener.observer;
    if (observer.decided !== undefined) {
      const source = header?.source?.address ?? this.peerAddress;
      observer.decided(this.listener.name, d, header?.link?.id ?? null, source);
    }
    if (d.verdict === "deny" || d.upstream === null) {
      this.decision = "deny";
      this.terminate(null);
      return;
    }
    this.decision = d.verdict;
    // The connection may live for hours: keep only the header's own bytes, not the chunk that
    // also held the ClientHello.
    if (header !== null) this.header = header.compact();
    // Registered from now on, while still connecting: a revocation must find it too.
    this.registeredAs = d.tenant?.id ?? NO_TENANT;
    this.listener.register(this.registeredAs, this);
    this.connectUpstream(d, policy);
  }

  /**
   * The connection as the policy sees it: SNI, identity and source address (the PROXY header's,
   * or the TCP peer's on a `none` listener). The returned object and its address bytes are
   * shared scratch: use them before the next call.
   */
  decisionInput(): DecisionInput {
    const h = this.header;
    let family: 0 | 4 | 6;
    if (h === null) family = parseIpInto(this.peerAddress, sourceScratch);
    else if (h.version === 2) family = h.sourceIp(sourceScratch);
    else family = h.source === null ? 0 : parseIpInto(h.source.address, sourceScratch);
    decisionScratch.sni = this.sni;
    decisionScratch.link = h?.link?.id ?? null;
    decisionScratch.sourceFamily = family;
    return decisionScratch;
  }

  connectUpstream(d: PolicyDecision, policy: CompiledPolicy): void {
    if (!this.enter(State.Connecting)) return;
    const target = d.upstream as { host: string; port: number };
    this.client.pause();
    const upstream = connect({
      host: target.host,
      port: target.port,
      allowHalfOpen: true,
      noDelay: true,
      // Reads land in the relay's shared buffer instead of a new 64 KiB one each (node-socket.ts).
      onread: { buffer: relayBuffer, callback: onUpstreamRead },
    }) as OwnedSocket;
    upstream[kConnection] = this;
    this.upstream = upstream;
    upstream.on("error", onUpstreamError);
    upstream.on("close", onUpstreamClose);
    // on(), not once(): "connect" comes at most once, and once() makes a wrapper per connection.
    upstream.on("connect", onUpstreamConnect);
    this.listener.connectDeadlines.add(this, policy.config.routing.connectTimeoutMs);
  }

  /** Starts the relay deadline: idle, half-closed, lifetime and keepalive (onRelayDeadline). */
  startRelayClock(): void {
    const now = coarseNow();
    this.activeAt = now;
    this.relayStartedAt = now - (performance.now() - this.acceptedAt);
    scheduleRelayDeadline(this, now);
  }

  /** One side sent its FIN, which went to the other side: inactivity is now bounded by finTimeout. */
  halfClose(): void {
    if (this.state !== State.Relay) return; // already half-closed: this is the second FIN
    if (!this.enter(State.HalfClosed)) return;
    scheduleRelayDeadline(this, coarseNow());
  }

  /** Rebuilds the record fields from the connection's state when it ends. */
  record(): ConnectionRecord {
    const now = performance.now();
    const h = this.header;
    const d = this.policy;
    const tenant = d?.tenant ?? null;
    const ruleIndex = d?.ruleIndex ?? -1;
    return {
      listener: this.listener.name,
      peer: { address: this.peerAddress, port: this.peerPort },
      proxySource:
        h?.source && h.source.port !== null
          ? { address: h.source.address, port: h.source.port }
          : null,
      proxyDestination:
        h?.destination && h.destination.port !== null
          ? { address: h.destination.address, port: h.destination.port }
          : null,
      link: h?.link?.id ?? null,
      sni: this.sni,
      tenant: tenant?.id ?? null,
      decision: this.decision,
      reason: this.reason,
      rule:
        tenant !== null && ruleIndex >= 0
          ? { index: ruleIndex, description: tenant.rules[ruleIndex]?.description ?? null }
          : null,
      upstreamError: this.upstreamError,
      closedBy: this.closedBy,
      errno: this.errno,
      upstream: this.upstream === null ? null : (d?.upstreamText ?? null),
      bytesFromClient: this.bytesFromClient,
      bytesToClient: this.bytesToClient,
      handshakeMs: this.decidedAt < 0 ? null : round(this.decidedAt - this.acceptedAt),
      durationMs: round(now - this.acceptedAt),
    };
  }

  /** Reports the connection once, when the client socket has closed. */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.terminate(null);
    this.listener.connectionFinished(this);
  }
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

function errnoOf(error: Error): string | null {
  const code = (error as NodeJS.ErrnoException).code;
  return typeof code === "string" ? code : null;
}

// ---------------------------------------------------------------------------------------------
// Header phase: PROXY header, ClientHello, LOCAL health checks.

function onClientHeaderData(this: OwnedSocket, chunk: Buffer): void {
  const c = this[kConnection] as Connection;
  c.bytesFromClient += chunk.length;
  switch (c.state) {
    case State.ProxyHeader: {
      const d = c.proxyDecoder as ProxyHeaderDecoder;
      const status = d.push(chunk);
      if (status === PP_INVALID) {
        c.terminate(d.error?.code ?? "PP_MISSING_HEADER");
        return;
      }
      if (status !== PP_DONE) return;
      const header = d.header as ProxyHeader;
      c.header = header;
      c.proxyDecoder = null;
      const rest = d.tailOffset < chunk.length ? chunk.subarray(d.tailOffset) : null;
      if (header.command === "local") {
        c.decision = "health-check";
        c.reason = "HEALTH_CHECK_TCP";
        c.health = new HealthCheckReader();
        if (!c.enter(State.HealthCheck)) return;
        if (rest !== null) feedHealthCheck(c, rest);
        return;
      }
      if (!c.enter(State.ClientHello)) return;
      if (rest !== null) c.feedHello(rest);
      return;
    }
    case State.ClientHello:
      c.feedHello(chunk);
      return;
    case State.HealthCheck:
      feedHealthCheck(c, chunk);
      return;
    case State.Connecting:
      // Paused, but data already read may still be delivered: keep it for the upstream.
      c.pending.push(chunk);
      return;
    default:
      return;
  }
}

function feedHealthCheck(c: Connection, chunk: Buffer): void {
  const h = c.health as HealthCheckReader;
  if (h.answered) return; // bytes after the request: the answer is on its way, then we close
  const result = h.push(chunk);
  if (result === "need-more") return;
  if (result === "http") {
    c.reason = "HEALTH_CHECK_HTTP";
    // Answered, then closed by the prober, or by the header deadline (still running) if the
    // prober keeps its side open.
    answerHealthCheck(c.client, c.listener.ready());
    h.answered = true;
    return;
  }
  c.reason = "HEALTH_CHECK_TCP";
  c.terminate(null);
}

export function onHeaderDeadline(c: Connection): void {
  // A health check's deadline ends it whether answered or not; other states are dropped.
  c.terminate(c.state === State.HealthCheck ? null : "CONN_HEADER_TIMEOUT");
}

function onClientEnd(this: OwnedSocket): void {
  const c = this[kConnection] as Connection;
  switch (c.state) {
    case State.ProxyHeader:
      c.terminate(c.bytesFromClient === 0 ? "PP_MISSING_HEADER" : "PP_INCOMPLETE");
      return;
    case State.ClientHello:
      c.terminate("TLS_INCOMPLETE");
      return;
    case State.HealthCheck:
      c.terminate(null);
      return;
    case State.Connecting:
      // The client finished sending before the upstream answered: the FIN follows the pending
      // bytes once it is connected (onUpstreamConnect).
      return;
    case State.Relay:
    case State.HalfClosed:
      c.upstream?.end();
      c.halfClose();
      return;
    default:
      return;
  }
}

function onClientError(this: OwnedSocket, error: Error): void {
  (this[kConnection] as Connection).terminate("CONN_CLIENT_ERROR", errnoOf(error));
}

function onClientClose(this: OwnedSocket): void {
  (this[kConnection] as Connection).finish();
}

// ---------------------------------------------------------------------------------------------
// Upstream connect.

export function onConnectDeadline(c: Connection): void {
  c.terminate("UPSTREAM_CONNECT_TIMEOUT");
}

function onUpstreamConnect(this: OwnedSocket): void {
  const c = this[kConnection] as Connection;
  if (c.state !== State.Connecting) return;
  c.deadlineList?.delete(c);
  const d = c.policy as PolicyDecision;
  c.clientFd = descriptorOf(c.client);
  c.upstreamFd = descriptorOf(this);
  // One write: a fresh PROXY v2 header, then the client's bytes exactly as received
  // (ClientHello included), in one buffer, so the upstream usually gets them in one segment.
  const pending = c.pending;
  c.pending = [];
  const routing = (c.decidedBy as CompiledPolicy).config.routing;
  const first =
    routing.upstreamProxyProtocol === "v2"
      ? upstreamProxyHeader(
          {
            header: c.header,
            peerAddress: c.peerAddress,
            peerPort: c.peerPort,
            // Only a `none` listener (no header) needs the local address: skip the getsockname.
            localAddress: c.header === null ? (c.client.localAddress ?? "") : "",
            localPort: c.header === null ? (c.client.localPort ?? 0) : 0,
            sni: c.sni,
            tenant: d.tenant?.id ?? null,
          },
          pending,
        )
      : pending.length === 1
        ? pending[0]
        : Buffer.concat(pending);
  if (!c.enter(State.Relay)) return;
  const client = c.client;
  client.removeListener("data", onClientHeaderData);
  try {
    writeOwned(this, c.upstreamFd, first);
    // Bytes read while the upstream was connecting wait in the paused stream: they go next, and
    // the stream buffer must be empty before reads switch to the shared buffer.
    for (let chunk: Buffer | null = client.read(); chunk !== null; chunk = client.read()) {
      c.bytesFromClient += chunk.length;
      writeOwned(this, c.upstreamFd, chunk);
    }
  } catch (error) {
    c.terminate("UPSTREAM_ERROR", (error as ForwardError).code);
    return;
  }
  if (!readIntoRelayBuffer(client, onClientRead)) client.on("data", onClientData);
  client.on("drain", onClientDrain);
  this.on("drain", onUpstreamDrain);
  this.on("end", onUpstreamEnd);
  c.startRelayClock();
  if (client.readableEnded) {
    this.end();
    c.halfClose();
  } else client.resume();
}

function onUpstreamError(this: OwnedSocket, error: Error): void {
  const c = this[kConnection] as Connection;
  c.terminate(
    c.state === State.Connecting ? "UPSTREAM_CONNECT_FAILED" : "UPSTREAM_ERROR",
    errnoOf(error),
  );
}

function onUpstreamClose(this: OwnedSocket): void {
  const c = this[kConnection] as Connection;
  switch (c.state) {
    case State.Connecting:
      c.terminate("UPSTREAM_CONNECT_FAILED");
      return;
    case State.Relay:
    case State.HalfClosed:
      // Closed after its FIN (onUpstreamEnd ended the client's side): the client closes in
      // turn. Closed without one: the relay cannot go on.
      if (!this.readableEnded) c.terminate("UPSTREAM_ERROR");
      return;
    default:
      return;
  }
}

// ---------------------------------------------------------------------------------------------
// Relay: count, hand over, backpressure, half-close. No allocation unless the receiving socket
// is backed up, no logging, no promise, no timer (see node-socket.ts for the shared buffer).

/** Hands one read to the other socket; pauses the reader when that socket is backed up. */
function relay(
  c: Connection,
  from: OwnedSocket,
  to: OwnedSocket,
  fd: number,
  buf: Buffer,
  n: number,
): void {
  if (c.state !== State.Relay && c.state !== State.HalfClosed) return;
  if (to.destroyed) return;
  c.activeAt = coarseNow();
  let ok: boolean;
  try {
    ok = forward(to, fd, buf, n);
  } catch (error) {
    const errno = (error as ForwardError).code;
    c.terminate(to === c.upstream ? "UPSTREAM_ERROR" : "CONN_CLIENT_ERROR", errno);
    return;
  }
  // pause(), not a false return: Socket.pause/resume stop and restart reading in onread mode.
  if (!ok) from.pause();
}

function onClientRead(this: OwnedSocket, nread: number, buf: Buffer): boolean {
  const c = this[kConnection] as Connection;
  c.bytesFromClient += nread;
  relay(c, this, c.upstream as OwnedSocket, c.upstreamFd, buf, nread);
  return true;
}

function onUpstreamRead(this: OwnedSocket, nread: number, buf: Buffer): boolean {
  const c = this[kConnection] as Connection;
  c.bytesToClient += nread;
  relay(c, this, c.client, c.clientFd, buf, nread);
  return true;
}

/** Where Node.js cannot read accepted sockets into the shared buffer: its own chunks. */
function onClientData(this: OwnedSocket, chunk: Buffer): void {
  const c = this[kConnection] as Connection;
  c.bytesFromClient += chunk.length;
  c.activeAt = coarseNow();
  if (!(c.upstream as OwnedSocket).write(chunk)) this.pause();
}

function onUpstreamDrain(this: OwnedSocket): void {
  (this[kConnection] as Connection).client.resume();
}

function onClientDrain(this: OwnedSocket): void {
  (this[kConnection] as Connection).upstream?.resume();
}

function onUpstreamEnd(this: OwnedSocket): void {
  const c = this[kConnection] as Connection;
  c.client.end();
  c.halfClose();
}

// ---------------------------------------------------------------------------------------------
// The relay deadline: one entry per relayed connection in its listener's relay list, due at the
// earliest of idle (or half-closed) inactivity, lifetime, and the time to turn keepalive on.

function scheduleRelayDeadline(c: Connection, now: number): void {
  const l = c.listener.config;
  let due = c.activeAt + (c.state === State.HalfClosed ? l.finTimeoutMs : l.idleTimeoutMs);
  if (l.maxConnectionLifetimeMs !== null)
    due = Math.min(due, c.relayStartedAt + l.maxConnectionLifetimeMs);
  if (!c.keepAliveSet && l.tcpKeepAliveMs > 0)
    due = Math.min(due, c.relayStartedAt + l.tcpKeepAliveMs);
  c.listener.relayDeadlines.add(c, Math.max(0, due - now));
}

export function onRelayDeadline(c: Connection): void {
  if (c.state !== State.Relay && c.state !== State.HalfClosed) return;
  const l = c.listener.config;
  const now = coarseNow();
  if (l.maxConnectionLifetimeMs !== null && now >= c.relayStartedAt + l.maxConnectionLifetimeMs) {
    c.terminate("CONN_MAX_LIFETIME");
    return;
  }
  const halfClosed = c.state === State.HalfClosed;
  if (now >= c.activeAt + (halfClosed ? l.finTimeoutMs : l.idleTimeoutMs)) {
    c.terminate(halfClosed ? "CONN_FIN_TIMEOUT" : "CONN_IDLE_TIMEOUT");
    return;
  }
  if (!c.keepAliveSet && l.tcpKeepAliveMs > 0 && now >= c.relayStartedAt + l.tcpKeepAliveMs) {
    // Only connections that live this long pay the four system calls per socket.
    c.keepAliveSet = true;
    c.client.setKeepAlive(true, l.tcpKeepAliveMs);
    c.upstream?.setKeepAlive(true, l.tcpKeepAliveMs);
  }
  scheduleRelayDeadline(c, now);
}
