/**
 * The L4 gateway: its listeners, the current policy, the live connections, reloads and drain.
 *
 * On a policy swap, admitted connections (connecting or relaying) are decided again against
 * the new policy: those of every tenant whose configuration changed, or all of them when host
 * patterns, the fallback upstream or a listener's trustedProxies changed. Those the new policy
 * no longer admits for the same tenant are closed (POLICY_REVOKED). On stop, the gateway stops
 * accepting, gives live connections a grace period, then closes what is left (CONN_SHUTDOWN).
 */
import type { LinkgateConfig } from "../config/types.js";
import { parseIpInto } from "../ip/address.js";
import {
  type CidrSet,
  type CompiledPolicy,
  ConnectionRegistry,
  PolicyHolder,
} from "../policy/index.js";
import { type Connection, NO_TENANT } from "./connection.js";
import { processDescriptorBudget } from "./descriptor-budget.js";
import type { Engine } from "./engine.js";
import { runtimeEngine } from "./engines/index.js";
import { type ConnectionObserver, ListenerRuntime } from "./listener.js";

export interface GatewayOptions {
  policy: CompiledPolicy;
  observer: ConnectionObserver;
  /** The socket layer; default: the runtime's own (engines/index.ts). */
  engine?: Engine;
  /**
   * Connections the process may hold at once before new ones are closed with CONN_AT_FD_LIMIT
   * (descriptor-budget.ts); default: derived from RLIMIT_NOFILE at start; null: no budget.
   */
  descriptorBudget?: number | null;
}

export interface BoundListener {
  name: string;
  host: string;
  port: number;
}

export class Gateway {
  readonly holder: PolicyHolder;
  readonly registry = new ConnectionRegistry<Connection>();
  readonly listeners: ListenerRuntime[];
  #ready = false;
  #stopping = false;
  /** See GatewayOptions.descriptorBudget; settled by start(), once other descriptors are open. */
  #budgetOption: number | null | undefined;
  descriptorBudget: number | null = null;
  /** Called when the last live connection has been reported (drain waits on it). */
  #onIdle: (() => void) | null = null;

  constructor(options: GatewayOptions) {
    this.holder = new PolicyHolder(options.policy);
    const context = {
      engine: options.engine ?? runtimeEngine,
      holder: this.holder,
      observer: options.observer,
      registry: this.registry,
      ready: () => this.#ready,
      overDescriptorBudget: () =>
        this.descriptorBudget !== null && this.activeConnections > this.descriptorBudget,
      finished: () => {
        if (this.#onIdle !== null && this.activeConnections === 0) this.#onIdle();
      },
    };
    this.#budgetOption = options.descriptorBudget;
    this.listeners = options.policy.config.listeners.map((l) => new ListenerRuntime(l, context));
    this.holder.onSwap((next, previous) => this.#recheck(next, previous));
  }

  get ready(): boolean {
    return this.#ready;
  }

  /** Binds every listener; rejects (closing what was bound) if one cannot bind. */
  async start(): Promise<BoundListener[]> {
    const bound: BoundListener[] = [];
    this.descriptorBudget =
      this.#budgetOption === undefined ? processDescriptorBudget() : this.#budgetOption;
    try {
      for (const l of this.listeners) bound.push({ name: l.name, ...(await l.listen()) });
    } catch (error) {
      for (const l of this.listeners) l.stopAccepting();
      throw error;
    }
    this.#ready = true;
    return bound;
  }

  get activeConnections(): number {
    let n = 0;
    for (const l of this.listeners) n += l.live.size;
    return n;
  }

  /**
   * Replaces the policy. Listener sockets are fixed at start: a new configuration whose
   * listeners differ in name, bind or role is refused with the list of differences (restart to
   * apply them); every other change applies at once.
   */
  reload(next: CompiledPolicy): { applied: boolean; needsRestart: string[] } {
    const needsRestart = listenerDifferences(this.holder.current.config, next.config);
    if (needsRestart.length > 0) return { applied: false, needsRestart };
    this.holder.swap(next);
    return { applied: true, needsRestart };
  }

  #recheck(next: CompiledPolicy, previous: CompiledPolicy): void {
    // revocation: keep: a policy change applies to new connections only.
    if (next.config.revocation === "keep") return;
    const everything = next.routingFingerprint !== previous.routingFingerprint;
    for (const key of [...this.registry.tenants()]) {
      if (!everything && key !== NO_TENANT) {
        const before = previous.tenants.get(key);
        const after = next.tenants.get(key);
        if (after !== undefined && before?.fingerprint === after.fingerprint) continue;
      }
      for (const c of this.registry.forTenant(key)) {
        if (!stillAdmitted(c, next, key)) c.terminate("POLICY_REVOKED");
      }
    }
  }

  /** Resolves when no connection is live, or after `ms`, whichever comes first. */
  #idle(ms: number): Promise<void> {
    if (this.activeConnections === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#onIdle = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#onIdle = done;
    });
  }

  /** Stops accepting, waits up to `drainMs` for live connections, then closes the rest. */
  async stop(drainMs: number): Promise<{ closed: number }> {
    if (this.#stopping) return { closed: 0 };
    this.#stopping = true;
    this.#ready = false;
    for (const l of this.listeners) l.stopAccepting();
    await this.#idle(drainMs);
    let closed = 0;
    for (const l of this.listeners) {
      for (const c of [...l.live]) {
        c.terminate("CONN_SHUTDOWN");
        closed++;
      }
    }
    // Destroyed sockets report their connections when their close events come.
    await this.#idle(10_000);
    return { closed };
  }
}

const peerScratch = new Uint8Array(16);

/**
 * Whether `next` still admits a live connection registered under `key`: its listener still
 * trusts the peer that sent its PROXY header, and its host name still maps to the same tenant
 * (or still to the fallback), which still allows it (report-only counts as allowed).
 */
function stillAdmitted(c: Connection, next: CompiledPolicy, key: string): boolean {
  if (c.listener.config.proxyProtocol === "required") {
    const trusted: CidrSet | undefined = next.listeners.get(c.listener.name)?.trustedProxies;
    const family = parseIpInto(c.peerAddress, peerScratch);
    if (trusted === undefined || family === 0 || trusted.match(family, peerScratch) < 0) {
      return false;
    }
  }
  const d = next.decide(c.decisionInput());
  return d.verdict !== "deny" && (d.tenant?.id ?? NO_TENANT) === key;
}

/**
 * What differs between two configurations' listeners (name, bind, role): changes a reload
 * cannot apply. Exported for the primary of `serve --workers N`, which checks reloads once.
 */
export function listenerDifferences(a: LinkgateConfig, b: LinkgateConfig): string[] {
  const key = (l: LinkgateConfig["listeners"][number]) =>
    `${l.bind.host}:${l.bind.port} ${l.proxyProtocol} ${l.mode}`;
  const before = new Map(a.listeners.map((l) => [l.name, key(l)]));
  const after = new Map(b.listeners.map((l) => [l.name, key(l)]));
  const out: string[] = [];
  for (const [name, k] of before) {
    if (!after.has(name)) out.push(`listener ${name} removed`);
    else if (after.get(name) !== k)
      out.push(`listener ${name} changed (${k} -> ${after.get(name)})`);
  }
  for (const name of after.keys()) if (!before.has(name)) out.push(`listener ${name} added`);
  return out;
}
