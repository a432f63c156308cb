/**
 * A listener: one TCP server (from the runtime's engine) with its role (PROXY header required
 * or forbidden), its limits, its live connections and the options its decoders share.
 */
import type { ListenerConfig, RoutingConfig } from "../config/types.js";
import { parseIpInto } from "../ip/address.js";
import type { ConnectionRecord } from "../observability/types.js";
import type { CidrSet, ConnectionRegistry, PolicyDecision, PolicyHolder } from "../policy/index.js";
import { type ResolvedOptions, resolveOptions } from "../proxy-protocol/options.js";
import { type ResolvedClientHelloOptions, resolveClientHelloOptions } from "../tls/index.js";
import { Connection, onConnectDeadline, onHeaderDeadline, onRelayDeadline } from "./connection.js";
import { DeadlineList } from "./deadlines.js";
import type { Engine, EngineServer, EngineSocket } from "./engine.js";
import { LiveConnections } from "./live-connections.js";

/** Receives what the data plane reports; implemented by logs, metrics and the control plane. */
export interface ConnectionObserver {
  opened(listener: string): void;
  /**
   * A connection reached a decision (before its upstream is dialled): its identity, or null for
   * public traffic, and its source address (the PROXY header's, else the TCP peer's). For
   * counters only: called on the connection path, it must not block or allocate much.
   */
  decided?(listener: string, decision: PolicyDecision, link: string | null, source: string): void;
  closed(record: ConnectionRecord): void;
}

export interface ListenerContext {
  engine: Engine;
  holder: PolicyHolder;
  observer: ConnectionObserver;
  registry: ConnectionRegistry<Connection>;
  /** Whether the gateway is ready (false while starting and draining). */
  ready(): boolean;
  /** Whether the process holds more connections than its descriptor budget allows. */
  overDescriptorBudget(): boolean;
  /** A connection of this listener was reported (drain waits on these). */
  finished(): void;
}

const peerScratch = new Uint8Array(16);

export class ListenerRuntime {
  readonly name: string;
  readonly holder: PolicyHolder;
  readonly engine: Engine;
  server: EngineServer | null = null;
  readonly live = new LiveConnections<Connection>();
  /**
   * One coarse timer per kind of deadline for all connections: header and connect (50 ms
   * ticks), relay (idle, lifetime, keepalive; 250 ms ticks) and half-closed (the FIN timeout,
   * lifetime, keepalive; 250 ms). Half-closed connections have a list of their own because
   * their deadline is usually earlier than a relaying one's: in one list, each FIN walked back
   * past every relaying connection to keep it sorted (deadlines.ts appends in O(1) only when
   * the new deadline is the latest).
   */
  readonly headerDeadlines = new DeadlineList<Connection>(onHeaderDeadline);
  readonly connectDeadlines = new DeadlineList<Connection>(onConnectDeadline);
  readonly relayDeadlines = new DeadlineList<Connection>(onRelayDeadline, 250);
  readonly halfClosedDeadlines = new DeadlineList<Connection>(onRelayDeadline, 250);
  readonly #context: ListenerContext;
  // Peer address -> trusted, for the current policy: load balancer nodes are few and connect
  // again and again, so each address is parsed and matched once.
  #trusted = new Map<string, boolean>();
  // Settings derived from the listener's configuration in the current policy; a reload that
  // changes headerTimeout, caps or trustedProxies applies to the next connection.
  #config: ListenerConfig;
  #proxyOptions: ResolvedOptions;
  #helloOptions: ResolvedClientHelloOptions;
  #trustedProxies: CidrSet;
  #generation = -1;

  constructor(config: ListenerConfig, context: ListenerContext) {
    this.name = config.name;
    this.holder = context.holder;
    this.engine = context.engine;
    this.#context = context;
    this.#config = config;
    this.#proxyOptions = resolveOptions();
    this.#helloOptions = resolveClientHelloOptions();
    this.#trustedProxies = this.#refresh();
  }

  #refresh(): CidrSet {
    if (this.#generation === this.holder.generation) return this.#trustedProxies;
    const compiled = this.holder.current.listeners.get(this.name);
    if (compiled === undefined) throw new Error(`listener ${this.name} is not in the policy`);
    const config = compiled.config;
    this.#config = config;
    this.#proxyOptions = resolveOptions({
      maxHeaderSize: config.maxProxyHeaderBytes,
      requireCrc32c: config.requireCrc32c,
    });
    this.#helloOptions = resolveClientHelloOptions({ maxHelloSize: config.maxClientHelloBytes });
    this.#trustedProxies = compiled.trustedProxies;
    this.#trusted = new Map();
    this.#generation = this.holder.generation;
    return this.#trustedProxies;
  }

  get config(): ListenerConfig {
    this.#refresh();
    return this.#config;
  }

  get proxyOptions(): ResolvedOptions {
    this.#refresh();
    return this.#proxyOptions;
  }

  get helloOptions(): ResolvedClientHelloOptions {
    this.#refresh();
    return this.#helloOptions;
  }

  get trustedProxies(): CidrSet {
    return this.#refresh();
  }

  /** Whether `address` (the TCP peer) may send a PROXY header on this listener. */
  isTrustedPeer(address: string): boolean {
    const set = this.#refresh();
    let trusted = this.#trusted.get(address);
    if (trusted === undefined) {
      const family = parseIpInto(address, peerScratch);
      trusted = family !== 0 && set.match(family, peerScratch) >= 0;
      if (this.#trusted.size >= 4096) this.#trusted.clear(); // bounded, whatever the peers
      this.#trusted.set(address, trusted);
    }
    return trusted;
  }

  routing(): RoutingConfig {
    return this.holder.current.config.routing;
  }

  ready(): boolean {
    return this.#context.ready();
  }

  overDescriptorBudget(): boolean {
    return this.#context.overDescriptorBudget();
  }

  get observer(): ConnectionObserver {
    return this.#context.observer;
  }

  /** A new client socket: its Connection starts when the engine opens it (Connection.start). */
  #accept(socket: EngineSocket): Connection {
    const c = new Connection(this, socket);
    this.live.add(c);
    this.#context.observer.opened(this.name);
    return c;
  }

  /** Registers an admitted connection under its tenant id (or NO_TENANT). */
  register(key: string, c: Connection): void {
    this.#context.registry.add(key, c);
  }

  connectionFinished(c: Connection): void {
    this.live.delete(c);
    this.#context.registry.remove(c);
    this.#context.observer.closed(c.record());
    this.#context.finished();
  }

  async listen(): Promise<{ host: string; port: number }> {
    const { host, port } = this.#config.bind;
    try {
      this.server = await this.engine.listen({ host, port }, (socket) => this.#accept(socket));
    } catch (error) {
      throw new Error(
        `listener ${this.name} cannot bind ${host}:${port}: ${(error as Error).message}`,
      );
    }
    return { host: this.server.host, port: this.server.port };
  }

  /** Stops accepting; live connections carry on. */
  stopAccepting(): void {
    this.server?.stopAccepting();
  }
}
