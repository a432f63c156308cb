/**
 * One client connection through the L4 (TLS passthrough) data plane.
 *
 *   accept -> [trusted peer?] -> PROXY header -> ClientHello -> decide -> connect upstream
 *          -> fresh PROXY v2 header + the client's bytes exactly as received -> relay
 *
 * Nothing is sent upstream, and no upstream is dialled, before the decision. The sockets come
 * from the runtime's engine (engine.ts: node:net on Node.js, Bun's own sockets on Bun) and
 * report to their Connection (a SocketOwner): no closure is allocated per connection, and the
 * relay does nothing per chunk but count, hand over and apply backpressure.
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
 * One way out: `terminate(code, errno)` marks the connection Closed, records why, clears its
 * deadline and destroys both sockets; nothing else closes a connection. The record is reported once,
 * when the client socket has closed (`finish`). Each live state has one typed deadline, kept
 * in its listener's list for that kind (deadlines.ts): header (PROXY header + ClientHello, or
 * a health check's request), connect, relay (idle, lifetime, keepalive) and half-closed (the FIN
 * timeout, lifetime, keepalive).
 */
import { performance } from "node:perf_hooks";
import type { ErrorCode } from "../errors/index.js";
import { parseIpInto } from "../ip/address.js";
import type { ConnectionRecord, Decision, Endpoint } from "../observability/types.js";
import type {
  CompiledPolicy,
  DecisionInput,
  PolicyDecision,
  RegistryItem,
  TenantConnections,
} from "../policy/index.js";
import {
  type LinkIdentity,
  DONE as PP_DONE,
  INVALID as PP_INVALID,
  type ProxyHeader,
  ProxyHeaderDecoder,
  type SocketAddress,
} from "../proxy-protocol/index.js";
import { ClientHelloDecoder, DONE as HELLO_DONE, INVALID as HELLO_INVALID } from "../tls/index.js";
import { coarseNow, type DeadlineItem, type DeadlineList } from "./deadlines.js";
import { type EngineSocket, type SocketOwner, sharedWriteBuffer } from "./engine.js";
import { answerHealthCheck, HealthCheckReader } from "./health-check.js";
import type { ListenerRuntime } from "./listener.js";
import type { LiveItem } from "./live-connections.js";
import { type UpstreamHeaderInput, writeUpstreamProxyHeader } from "./upstream-header.js";

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

/**
 * What a client may send while its upstream connects before its reading is paused. A TLS
 * client normally sends nothing then (it waits for the ServerHello; 0-RTT data is the
 * exception): not pausing saves each connection a pause and a resume, which cost system calls
 * and a wake-up on Bun (engine.ts).
 */
export const CONNECTING_READ_AHEAD_BYTES = 64 * 1024;

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

// The upstream header's input, filled for each connection's first upstream write (synchronous).
const headerInputScratch: UpstreamHeaderInput = {
  header: null,
  peerAddress: "",
  peerPort: 0,
  localAddress: "",
  localPort: 0,
  sni: null,
  tenant: null,
};

export class Connection implements DeadlineItem, LiveItem, RegistryItem, SocketOwner {
  readonly listener: ListenerRuntime;
  readonly client: EngineSocket;
  upstream: EngineSocket | null = null;
  state: State;
  readonly acceptedAt: number;
  readonly peerAddress: string;
  readonly peerPort: number;

  proxyDecoder: ProxyHeaderDecoder | null = null;
  helloDecoder: ClientHelloDecoder | null = null;
  /** Client bytes after the PROXY header, kept until they are written upstream. */
  pending: Buffer[] = [];
  /** Bytes the client sent while the upstream connects; over the read-ahead, it is paused. */
  connectingBytes = 0;
  clientPausedConnecting = false;
  /**
   * The decoded PROXY header, until the upstream has its bytes: it is a view of the client's
   * first chunk (usually with the ClientHello in it), which a long-lived connection must not
   * keep. What the connection needs of it afterwards is taken when it is decoded (below).
   */
  header: ProxyHeader | null = null;
  /** From the PROXY header (null without one): the record's link and the policy's input. */
  link: LinkIdentity | null = null;
  proxySource: Endpoint | null = null;
  proxyDestination: Endpoint | null = null;
  health: HealthCheckReader | null = null;

  sni: string | null = null;
  decision: Decision = "drop";
  reason: ErrorCode = "CONN_CLIENT_ERROR";
  /** The decision, and the policy that made it: routing settings come from that policy. */
  policy: PolicyDecision | null = null;
  decidedBy: CompiledPolicy | null = null;
  upstreamError: ErrorCode | null = null;
  closedBy: ErrorCode | null = null;
  /** The errno code of the socket error that ended the connection (ECONNREFUSED, ...), if any. */
  errno: string | null = null;
  decidedAt = -1;
  bytesFromClient = 0;
  bytesToClient = 0;
  /** The FIN of each side arrived (the client's may come while the upstream is connecting). */
  clientEnded = false;
  upstreamEnded = false;
  /** Relay bookkeeping, in coarse wall-clock ms (deadlines.ts): last byte, start, keepalive. */
  activeAt = 0;
  relayStartedAt = 0;
  keepAliveSet = false;
  // The one deadline of the current state (see deadlines.ts).
  deadlineAt = 0;
  deadlinePrev: DeadlineItem | null = null;
  deadlineNext: DeadlineItem | null = null;
  deadlineList: DeadlineList<DeadlineItem> | null = null;
  // The listener's list of live connections (live-connections.ts).
  liveListed = false;
  livePrev: LiveItem | null = null;
  liveNext: LiveItem | null = null;
  // Its tenant's list in the gateway's registry (tenant id, or NO_TENANT), while registered
  // (policy/registry.ts).
  registryList: TenantConnections | null = null;
  registryPrev: RegistryItem | null = null;
  registryNext: RegistryItem | null = null;
  finished = false;

  constructor(listener: ListenerRuntime, client: EngineSocket) {
    this.listener = listener;
    this.client = client;
    this.acceptedAt = performance.now();
    this.peerAddress = client.remoteAddress;
    this.peerPort = client.remotePort;
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

  /** The client socket is ready: the listener's limits and role, then the header deadline. */
  start(): void {
    const l = this.listener;
    // The runtime could not tell the peer's address: it reset or closed before we got here.
    // Not an untrusted peer (nor a source address to decide on): a client error.
    if (this.peerAddress === "") {
      this.terminate("CONN_CLIENT_ERROR", "ENOTCONN");
      return;
    }
    const max = l.config.maxConnections;
    if (max !== null && l.live.size > max) {
      this.terminate("CONN_AT_CAPACITY");
      return;
    }
    if (l.overDescriptorBudget()) {
      this.terminate("CONN_AT_FD_LIMIT");
      return;
    }
    if (l.config.proxyProtocol === "required") {
      if (!l.isTrustedPeer(this.peerAddress)) {
        this.terminate("PP_UNTRUSTED_PEER");
        return;
      }
      this.proxyDecoder = new ProxyHeaderDecoder(l.proxyOptions);
    }
    l.headerDeadlines.add(this, l.config.headerTimeoutMs);
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
    this.pending.length = 0; // lets go of the chunks; no new array
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
    // Registered from now on, while still connecting: a revocation must find it too.
    this.listener.register(d.tenant?.id ?? NO_TENANT, this);
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
    // At the decision, a v2 header's address bytes; later (a reload rechecking a live
    // connection, the header let go), the source address it gave.
    if (h !== null && h.version === 2) family = h.sourceIp(sourceScratch);
    else if (this.listener.config.proxyProtocol === "none")
      family = parseIpInto(this.peerAddress, sourceScratch);
    else
      family = this.proxySource === null ? 0 : parseIpInto(this.proxySource.address, sourceScratch);
    decisionScratch.sni = this.sni;
    decisionScratch.link = this.link?.id ?? null;
    decisionScratch.sourceFamily = family;
    return decisionScratch;
  }

  connectUpstream(d: PolicyDecision, policy: CompiledPolicy): void {
    if (!this.enter(State.Connecting)) return;
    const target = d.upstream as { host: string; port: number };
    // The client reads on while connecting: what it sends is kept, up to the read-ahead.
    this.upstream = this.listener.engine.connect(target.host, target.port, this);
    // A connect that failed at once has terminated the connection already.
    if (this.state === State.Connecting)
      this.listener.connectDeadlines.add(this, policy.config.routing.connectTimeoutMs);
  }

  /** Not yet terminated (a check after calls that may terminate it). */
  isOpen(): boolean {
    return this.state !== State.Closed;
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
    const d = this.policy;
    const tenant = d?.tenant ?? null;
    const ruleIndex = d?.ruleIndex ?? -1;
    return {
      listener: this.listener.name,
      peer: { address: this.peerAddress, port: this.peerPort },
      proxySource: this.proxySource,
      proxyDestination: this.proxyDestination,
      link: this.link?.id ?? null,
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

  // -------------------------------------------------------------------------------------------
  // Socket events (engine.ts). The relay does nothing per chunk but count, hand over and apply
  // backpressure: no allocation (unless the receiving socket is backed up and the engine must
  // keep a copy), no logging, no promise, no timer.

  onOpen(socket: EngineSocket): void {
    if (socket === this.client) this.start();
    else this.upstreamConnected();
  }

  onData(socket: EngineSocket, buffer: Buffer, length: number): void {
    const state = this.state;
    if (socket === this.client) {
      this.bytesFromClient += length;
      if (state === State.Relay || state === State.HalfClosed) {
        this.activeAt = coarseNow();
        if (!(this.upstream as EngineSocket).write(buffer, length)) socket.pause();
      } else this.headerData(buffer);
    } else if (state === State.Relay || state === State.HalfClosed) {
      this.bytesToClient += length;
      this.activeAt = coarseNow();
      if (!this.client.write(buffer, length)) socket.pause();
    }
  }

  onEnd(socket: EngineSocket): void {
    if (socket === this.client) {
      this.clientEnded = true;
      switch (this.state) {
        case State.ProxyHeader:
          this.terminate(this.bytesFromClient === 0 ? "PP_MISSING_HEADER" : "PP_INCOMPLETE");
          return;
        case State.ClientHello:
          this.terminate("TLS_INCOMPLETE");
          return;
        case State.HealthCheck:
          this.terminate(null);
          return;
        case State.Relay:
        case State.HalfClosed:
          (this.upstream as EngineSocket).shutdown();
          this.halfClose();
          return;
        default:
          // Connecting: the FIN follows the pending bytes once connected (upstreamConnected).
          return;
      }
    }
    this.upstreamEnded = true;
    if (this.state === State.Relay || this.state === State.HalfClosed) {
      this.client.shutdown();
      this.halfClose();
    }
  }

  onDrain(socket: EngineSocket): void {
    if (this.state !== State.Relay && this.state !== State.HalfClosed) return;
    if (socket === this.client) this.upstream?.resume();
    else this.client.resume();
  }

  onError(socket: EngineSocket, errno: string | null): void {
    if (socket === this.client) this.terminate("CONN_CLIENT_ERROR", errno);
    else
      this.terminate(
        this.state === State.Connecting ? "UPSTREAM_CONNECT_FAILED" : "UPSTREAM_ERROR",
        errno,
      );
  }

  onClose(socket: EngineSocket): void {
    if (socket === this.client) {
      this.finish();
      return;
    }
    switch (this.state) {
      case State.Connecting:
        this.terminate("UPSTREAM_CONNECT_FAILED");
        return;
      case State.Relay:
      case State.HalfClosed:
        // Closed after its FIN (onEnd ended the client's side): the client closes in turn.
        // Closed without one: the relay cannot go on.
        if (!this.upstreamEnded) this.terminate("UPSTREAM_ERROR");
        return;
      default:
        return;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Header phase: PROXY header, ClientHello, LOCAL health checks. Chunks are the connection's
  // to keep until the relay starts (engine.ts).

  headerData(chunk: Buffer): void {
    switch (this.state) {
      case State.ProxyHeader: {
        const d = this.proxyDecoder as ProxyHeaderDecoder;
        const status = d.push(chunk);
        if (status === PP_INVALID) {
          this.terminate(d.error?.code ?? "PP_MISSING_HEADER");
          return;
        }
        if (status !== PP_DONE) return;
        const header = d.header as ProxyHeader;
        this.header = header;
        // Taken now, for the record and for rechecks after the header is let go: every
        // connection's record has them, so this formats nothing the record would not.
        this.link = header.link;
        this.proxySource = portedAddress(header.source);
        this.proxyDestination = portedAddress(header.destination);
        this.proxyDecoder = null;
        const rest = d.tailOffset < chunk.length ? chunk.subarray(d.tailOffset) : null;
        if (header.command === "local") {
          this.decision = "health-check";
          this.reason = "HEALTH_CHECK_TCP";
          this.health = new HealthCheckReader();
          if (!this.enter(State.HealthCheck)) return;
          if (rest !== null) this.feedHealthCheck(rest);
          return;
        }
        if (!this.enter(State.ClientHello)) return;
        if (rest !== null) this.feedHello(rest);
        return;
      }
      case State.ClientHello:
        this.feedHello(chunk);
        return;
      case State.HealthCheck:
        this.feedHealthCheck(chunk);
        return;
      case State.Connecting:
        this.pending.push(chunk);
        this.connectingBytes += chunk.length;
        if (this.connectingBytes > CONNECTING_READ_AHEAD_BYTES && !this.clientPausedConnecting) {
          this.clientPausedConnecting = true;
          this.client.pause();
        }
        return;
      default:
        return;
    }
  }

  feedHealthCheck(chunk: Buffer): void {
    const h = this.health as HealthCheckReader;
    if (h.answered) return; // bytes after the request: the answer is on its way, then we close
    const result = h.push(chunk);
    if (result === "need-more") return;
    if (result === "http") {
      this.reason = "HEALTH_CHECK_HTTP";
      // Answered, then closed by the prober, or by the header deadline (still running) if the
      // prober keeps its side open.
      answerHealthCheck(this.client, this.listener.ready());
      h.answered = true;
      return;
    }
    this.reason = "HEALTH_CHECK_TCP";
    this.terminate(null);
  }

  // -------------------------------------------------------------------------------------------
  // Upstream connected: one write of a fresh PROXY v2 header and the client's bytes, then relay.

  upstreamConnected(): void {
    if (this.state !== State.Connecting) return;
    this.deadlineList?.delete(this);
    const upstream = this.upstream as EngineSocket;
    const client = this.client;
    const d = this.policy as PolicyDecision;
    // One write: a fresh PROXY v2 header, then the client's bytes exactly as received
    // (ClientHello included), in one buffer, so the upstream usually gets them in one segment.
    const pending = this.pending;
    const routing = (this.decidedBy as CompiledPolicy).config.routing;
    let local: { address: string; port: number } | null = null;
    // Only a `none` listener (no header) needs the local address: skip the getsockname.
    if (this.header === null && routing.upstreamProxyProtocol === "v2")
      local = client.localAddress();
    let first: Buffer;
    let firstLength: number;
    if (routing.upstreamProxyProtocol === "v2") {
      const input = headerInputScratch;
      input.header = this.header;
      input.peerAddress = this.peerAddress;
      input.peerPort = this.peerPort;
      input.localAddress = local?.address ?? "";
      input.localPort = local?.port ?? 0;
      input.sni = this.sni;
      input.tenant = d.tenant?.id ?? null;
      // Into the shared buffer (the engine copies what the kernel does not take): no
      // allocation, unless the client's first bytes do not fit.
      first = sharedWriteBuffer;
      firstLength = writeUpstreamProxyHeader(first, input, pending);
      if (firstLength < 0) {
        first = Buffer.allocUnsafe(-firstLength);
        firstLength = writeUpstreamProxyHeader(first, input, pending);
      }
      input.header = null; // the scratch keeps no connection's header alive
    } else {
      first = pending.length === 1 ? pending[0] : Buffer.concat(pending);
      firstLength = first.length;
    }
    // The bytes are in `first` now: the list is emptied, not replaced (no new array).
    pending.length = 0;
    if (!this.enter(State.Relay)) return;
    // Written: the header (and the chunk it is a view of) is not needed any more.
    this.header = null;
    const sent = upstream.write(first, firstLength);
    // Bytes the engine read while the upstream was connecting go next (relayed as they come).
    if (this.isOpen()) client.relayReads();
    if (!this.isOpen()) return; // a write failed
    this.startRelayClock();
    if (this.clientEnded) {
      upstream.shutdown();
      this.halfClose();
    } else if (!sent) {
      // The upstream did not take it all: no more client bytes until it drains (onDrain).
      if (!this.clientPausedConnecting) client.pause();
    } else if (this.clientPausedConnecting) client.resume();
    this.clientPausedConnecting = false;
  }
}

/**
 * An address with a port (IP families), as the record has it; null for none or UNIX. The
 * header's own object: both types are read-only, so the record and the header can share it.
 */
function portedAddress(a: SocketAddress | null): Endpoint | null {
  return a === null || a.port === null ? null : (a as Endpoint);
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

export function onHeaderDeadline(c: Connection): void {
  // A health check's deadline ends it whether answered or not; other states are dropped.
  c.terminate(c.state === State.HealthCheck ? null : "CONN_HEADER_TIMEOUT");
}

export function onConnectDeadline(c: Connection): void {
  c.terminate("UPSTREAM_CONNECT_TIMEOUT");
}

// ---------------------------------------------------------------------------------------------
// The relay deadline: one entry per relayed connection in its listener's relay list (or, once
// half-closed, its half-closed list), due at the earliest of idle (or half-closed) inactivity,
// lifetime, and the time to turn keepalive on.

function scheduleRelayDeadline(c: Connection, now: number): void {
  const l = c.listener.config;
  let due = c.activeAt + (c.state === State.HalfClosed ? l.finTimeoutMs : l.idleTimeoutMs);
  if (l.maxConnectionLifetimeMs !== null)
    due = Math.min(due, c.relayStartedAt + l.maxConnectionLifetimeMs);
  if (!c.keepAliveSet && l.tcpKeepAliveMs > 0)
    due = Math.min(due, c.relayStartedAt + l.tcpKeepAliveMs);
  const list =
    c.state === State.HalfClosed ? c.listener.halfClosedDeadlines : c.listener.relayDeadlines;
  list.add(c, Math.max(0, due - now));
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
    // Only connections that live this long pay the system calls per socket.
    c.keepAliveSet = true;
    c.client.setKeepAlive(l.tcpKeepAliveMs);
    c.upstream?.setKeepAlive(l.tcpKeepAliveMs);
  }
  scheduleRelayDeadline(c, now);
}
