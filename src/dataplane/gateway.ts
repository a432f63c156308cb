/**
 * The L4 gateway: its listeners, the current policy, the live connections, reloads and drain.
 *
 * On a policy swap, the live connections of every tenant whose configuration changed are
 * decided again against the new policy; those it no longer admits are closed (POLICY_REVOKED).
 * On stop, the gateway stops accepting, gives live connections a grace period, then closes
 * what is left (CONN_SHUTDOWN).
 */
import type { LinkgateConfig } from "../config/types.js";
import { type CompiledPolicy, ConnectionRegistry, PolicyHolder } from "../policy/index.js";
import type { Connection } from "./connection.js";
import { type ConnectionObserver, ListenerRuntime } from "./listener.js";

export interface GatewayOptions {
  policy: CompiledPolicy;
  observer: ConnectionObserver;
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

  constructor(options: GatewayOptions) {
    this.holder = new PolicyHolder(options.policy);
    const context = {
      holder: this.holder,
      observer: options.observer,
      registry: this.registry,
      ready: () => this.#ready,
    };
    this.listeners = options.policy.config.listeners.map((l) => new ListenerRuntime(l, context));
    this.holder.onSwap((next, previous) => this.#recheck(next, previous));
  }

  get ready(): boolean {
    return this.#ready;
  }

  /** Binds every listener; rejects (closing what was bound) if one cannot bind. */
  async start(): Promise<BoundListener[]> {
    const bound: BoundListener[] = [];
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
    for (const tenantId of [...this.registry.tenants()]) {
      const before = previous.tenants.get(tenantId);
      const after = next.tenants.get(tenantId);
      if (after !== undefined && before?.fingerprint === after.fingerprint) continue;
      for (const c of this.registry.forTenant(tenantId)) {
        // Still the same tenant for its host name, and still admitted?
        const d = next.decide(c.decisionInput());
        if (d.verdict === "deny" || d.tenant?.id !== tenantId) {
          c.closedBy = "POLICY_REVOKED";
          c.close();
        }
      }
    }
  }

  /** Stops accepting, waits up to `drainMs` for live connections, then closes the rest. */
  async stop(drainMs: number): Promise<{ closed: number }> {
    if (this.#stopping) return { closed: 0 };
    this.#stopping = true;
    this.#ready = false;
    for (const l of this.listeners) l.stopAccepting();
    const deadline = Date.now() + drainMs;
    while (this.activeConnections > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, Math.min(50, Math.max(1, deadline - Date.now()))));
    }
    let closed = 0;
    for (const l of this.listeners) {
      for (const c of [...l.live]) {
        c.closedBy ??= "CONN_SHUTDOWN";
        c.close();
        closed++;
      }
    }
    // Let the close events report the connections.
    while (this.activeConnections > 0) await new Promise((r) => setImmediate(r));
    return { closed };
  }
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
