/**
 * One client connection through the L4 (TLS passthrough) data plane.
 *
 *   accept -> [trusted peer?] -> PROXY header -> ClientHello -> decide -> connect upstream
 *          -> fresh PROXY v2 header + the client's bytes exactly as received -> relay
 *
 * Nothing is sent upstream, and no upstream is dialled, before the decision. Socket events are
 * handled by module-level functions that find their Connection through a symbol on the socket
 * (as undici does): no closure is allocated per connection, and the relay handlers do nothing
 * per chunk but count, write and apply backpressure.
 */
import net from "node:net";
import { performance } from "node:perf_hooks";
import type { ErrorCode } from "../errors/index.js";
import { parseIpInto } from "../ip/address.js";
import type { ConnectionRecord, Decision } from "../observability/types.js";
import type { DecisionInput, PolicyDecision } from "../policy/index.js";
import {
  DONE as PP_DONE,
  INVALID as PP_INVALID,
  type ProxyHeader,
  ProxyHeaderDecoder,
} from "../proxy-protocol/index.js";
import { ClientHelloDecoder, DONE as HELLO_DONE, INVALID as HELLO_INVALID } from "../tls/index.js";
import type { DeadlineItem, DeadlineList } from "./deadlines.js";
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

enum State {
  ProxyHeader = 0,
  ClientHello = 1,
  HealthCheck = 2,
  Connecting = 3,
  Relay = 4,
  Closed = 5,
}

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
  policy: PolicyDecision | null = null;
  upstreamError: ErrorCode | null = null;
  closedBy: ErrorCode | null = null;
  decidedAt = -1;
  bytesFromClient = 0;
  bytesToClient = 0;
  /** Descriptors for the relay's direct writes (node-socket.ts), -1 until the relay starts. */
  clientFd = -1;
  upstreamFd = -1;
  /** The errno code of the socket error that ended the connection (ECONNREFUSED, ...), if any. */
  errno: string | null = null;
  // The header deadline, then the connect deadline (see deadlines.ts).
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
        this.drop("PP_UNTRUSTED_PEER");
        return;
      }
      this.proxyDecoder = new ProxyHeaderDecoder(l.proxyOptions);
    }
    l.headerDeadlines.add(this, l.config.headerTimeoutMs);
    client.on("data", onClientHeaderData);
  }

  /** Refuses the connection before any decision: nothing was or will be sent upstream. */
  drop(reason: ErrorCode): void {
    this.decision = "drop";
    this.reason = reason;
    this.close();
  }

  close(): void {
    if (this.state === State.Closed) return;
    this.state = State.Closed;
    this.clearTimer();
    this.client.destroy();
    this.upstream?.destroy();
  }

  clearTimer(): void {
    this.deadlineList?.delete(this);
  }

  /** Feeds client bytes that follow the PROXY header to the ClientHello decoder. */
  feedHello(chunk: Buffer): void {
    this.pending.push(chunk);
    // Made on the first byte after the PROXY header: a connection dropped at the header (a
    // flood of bad ones, say) never pays for it.
    this.helloDecoder ??= new ClientHelloDecoder(this.listener.helloOptions);
    const status = this.helloDecoder.push(chunk);
    if (status === HELLO_INVALID) {
      this.drop(this.helloDecoder.error?.code ?? "TLS_BAD_HELLO");
    } else if (status === HELLO_DONE) {
      this.decide();
    }
  }

  decide(): void {
    this.clearTimer();
    this.decidedAt = performance.now();
    const hello = (this.helloDecoder as ClientHelloDecoder).hello;
    this.sni = hello?.sni ?? null;
    this.helloDecoder = null;
    const header = this.header;
    const d = this.listener.holder.current.decide(this.decisionInput());
    this.policy = d;
    this.reason = d.reason;
    if (d.verdict === "deny" || d.upstream === null) {
      this.decision = "deny";
      this.close();
      return;
    }
    this.decision = d.verdict;
    // The connection may live for hours: keep only the header's own bytes, not the chunk that
    // also held the ClientHello.
    if (header !== null) this.header = header.compact();
    this.connectUpstream(d);
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

  connectUpstream(d: PolicyDecision): void {
    const target = d.upstream as { host: string; port: number };
    this.state = State.Connecting;
    this.client.pause();
    const upstream = net.connect({
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
    upstream.once("connect", onUpstreamConnect);
    this.listener.connectDeadlines.add(this, this.listener.routing().connectTimeoutMs);
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
    this.state = State.Closed;
    this.clearTimer();
    this.pending = [];
    this.upstream?.destroy();
    this.listener.connectionFinished(this);
  }
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
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
        c.drop(d.error?.code ?? "PP_MISSING_HEADER");
        return;
      }
      if (status !== PP_DONE) return;
      const header = d.header as ProxyHeader;
      c.header = header;
      c.proxyDecoder = null;
      const rest = d.tailOffset < chunk.length ? chunk.subarray(d.tailOffset) : null;
      if (header.command === "local") {
        c.state = State.HealthCheck;
        c.decision = "health-check";
        c.reason = "HEALTH_CHECK_TCP";
        c.health = new HealthCheckReader();
        if (rest !== null) feedHealthCheck(c, rest);
        return;
      }
      c.state = State.ClientHello;
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
  const result = h.push(chunk);
  if (result === "need-more") return;
  c.clearTimer();
  if (result === "http") {
    c.reason = "HEALTH_CHECK_HTTP";
    answerHealthCheck(c.client, c.listener.ready());
    c.state = State.Closed;
    return;
  }
  c.reason = "HEALTH_CHECK_TCP";
  c.close();
}

export function onHeaderDeadline(c: Connection): void {
  if (c.state === State.HealthCheck) {
    c.reason = "HEALTH_CHECK_TCP";
    c.close();
    return;
  }
  c.drop("CONN_HEADER_TIMEOUT");
}

function onClientEnd(this: OwnedSocket): void {
  const c = this[kConnection] as Connection;
  switch (c.state) {
    case State.ProxyHeader:
      c.drop(c.bytesFromClient === 0 ? "PP_MISSING_HEADER" : "PP_INCOMPLETE");
      return;
    case State.ClientHello:
      c.drop("TLS_INCOMPLETE");
      return;
    case State.HealthCheck:
      c.reason = "HEALTH_CHECK_TCP";
      c.close();
      return;
    case State.Connecting:
      // The client finished sending before the upstream answered: forward the FIN after the
      // pending bytes (half-close), see onUpstreamConnect.
      return;
    case State.Relay:
      c.upstream?.end();
      return;
    default:
      return;
  }
}

function onClientError(this: OwnedSocket, _error: Error): void {
  const c = this[kConnection] as Connection;
  if (c.state === State.Closed) return; // linkgate closed it itself
  if (c.decidedAt >= 0) c.closedBy ??= "CONN_CLIENT_ERROR";
  else if (c.decision !== "health-check") c.reason = "CONN_CLIENT_ERROR";
  c.close();
}

function onClientClose(this: OwnedSocket): void {
  (this[kConnection] as Connection).finish();
}

// ---------------------------------------------------------------------------------------------
// Upstream connect.

export function onConnectDeadline(c: Connection): void {
  c.upstreamError = "UPSTREAM_CONNECT_TIMEOUT";
  c.close();
}

function onUpstreamConnect(this: OwnedSocket): void {
  const c = this[kConnection] as Connection;
  c.clearTimer();
  if (c.state !== State.Connecting) return;
  const d = c.policy as PolicyDecision;
  c.clientFd = descriptorOf(c.client);
  c.upstreamFd = descriptorOf(this);
  // One write: a fresh PROXY v2 header, then the client's bytes exactly as received
  // (ClientHello included), in one buffer, so the upstream usually gets them in one segment.
  const pending = c.pending;
  c.pending = [];
  const first =
    c.listener.routing().upstreamProxyProtocol === "v2"
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
  c.state = State.Relay;
  if (d.tenant !== null) c.listener.register(d.tenant.id, c);
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
    c.errno = (error as ForwardError).code;
    c.upstreamError = "UPSTREAM_ERROR";
    c.close();
    return;
  }
  if (!readIntoRelayBuffer(client, onClientRead)) client.on("data", onClientData);
  client.on("drain", onClientDrain);
  this.on("drain", onUpstreamDrain);
  this.on("end", onUpstreamEnd);
  if (client.readableEnded) this.end();
  else client.resume();
}

function onUpstreamError(this: OwnedSocket, _error: Error): void {
  const c = this[kConnection] as Connection;
  if (c.state === State.Connecting) c.upstreamError = "UPSTREAM_CONNECT_FAILED";
  else if (c.state === State.Relay) c.upstreamError ??= "UPSTREAM_ERROR";
  c.close();
}

function onUpstreamClose(this: OwnedSocket): void {
  const c = this[kConnection] as Connection;
  // The upstream closed while the client is still open: end the client once it has what the
  // upstream sent (a clean close after a half-close arrives here too).
  if (c.state === State.Connecting) {
    c.upstreamError ??= "UPSTREAM_CONNECT_FAILED";
    c.close();
    return;
  }
  if (c.state === State.Relay && !c.client.destroyed) {
    if (this.readableEnded) c.client.end();
    else c.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Relay: count, hand over, backpressure, half-close. No allocation unless the receiving socket
// is backed up, no logging, no promise (see node-socket.ts for the shared read buffer).

/** Hands one read to the other socket; pauses the reader when that socket is backed up. */
function relay(
  c: Connection,
  from: OwnedSocket,
  to: OwnedSocket,
  fd: number,
  buf: Buffer,
  n: number,
) {
  if (c.state !== State.Relay || to.destroyed) return;
  let ok: boolean;
  try {
    ok = forward(to, fd, buf, n);
  } catch (error) {
    c.errno = (error as ForwardError).code;
    if (to === c.upstream) c.upstreamError ??= "UPSTREAM_ERROR";
    else c.closedBy ??= "CONN_CLIENT_ERROR";
    c.close();
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
  if (!(c.upstream as OwnedSocket).write(chunk)) this.pause();
}

function onUpstreamDrain(this: OwnedSocket): void {
  (this[kConnection] as Connection).client.resume();
}

function onClientDrain(this: OwnedSocket): void {
  (this[kConnection] as Connection).upstream?.resume();
}

function onUpstreamEnd(this: OwnedSocket): void {
  (this[kConnection] as Connection).client.end();
}
