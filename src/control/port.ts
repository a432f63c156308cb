/**
 * What the control plane needs from the runtime, and nothing more. The control plane is HTTP
 * only: it writes to the store, and it never compiles a policy or touches a client socket. The
 * runtime (src/runtime) implements this port over its policy pipeline:
 *
 *   config file ─┐
 *                ├─► compile (per tenant) ─► swap ─► re-check live connections
 *   store ───────┘        ▲
 *                         └── store.onChange / changesSince(version), in version order
 *
 * What the runtime must do to implement it:
 *
 * - `file()`: return the configuration file's side of the policy as it is in force now (after
 *   the last successful reload): its tenants (TenantConfig, resolved), its host patterns, and
 *   whether `routing.upstream` is set. The control plane uses it to serve file tenants
 *   read-only, to refuse API tenants whose id or host names collide with them, and to require
 *   an upstream when there is no default. Cheap: it is called on every request.
 *
 * - `wouldDeny(tenant, observations)`: decide each observation against `tenant` exactly as the
 *   data plane would (same compiler, same `decide`), with the SNI one of the tenant's own host
 *   names, the link identity `observation.identity` (none when `provider` is "public"), the
 *   source `observation.lastSource` and the listener `observation.listener`, and return those
 *   whose verdict is "deny" (never "would-deny": a report-only tenant denies nothing). `tenant`
 *   is a draft, in force nowhere; compile it alone, with the file's routing. Synchronous and
 *   side-effect free: it backs the lockout guard, which runs before a change is written.
 *
 * - `enforced(version)`: resolve once the store change `version` (and every change before it)
 *   is applied by every process that decides connections: the tenant recompiled and swapped
 *   in each worker, and, with `revocation: close`, the live connections it no longer admits
 *   closed (POLICY_REVOKED). Reject if that has not happened within the runtime's deadline
 *   (100 ms is the target); the control plane then answers with `Linkgate-Enforced: false`
 *   (the change is committed and will be enforced, but was not confirmed in time). Apply
 *   changes in version order, and apply one tenant's change without recompiling the others
 *   (a million loaded rules must not slow one rule's change). The runtime also owns what is
 *   not a request's business: following the feed (store.onChange, store.changesSince after
 *   a restart or a missed event), recompiling a tenant when one of its rules expires
 *   (nextRuleExpiry), counting rule hits and observed identities into an ActivityBuffer
 *   (rule ids: StoredRule.id for store tenants, fileRuleId() for file tenants) flushed with
 *   flushActivity, and preferring the file's tenant if a reload brings an id the store has.
 *
 * - `enforcedTenants()`: the store's tenants as this process enforces them (the last it read
 *   from the store, or from its snapshot file), or null without a store. While the store is
 *   down, the API answers reads of tenants and rules from it, marked `Linkgate-Stale: true`.
 */
import type { TenantConfig } from "../config/types.js";
import type { ObservedIdentity, Page, PageRequest, StoredTenant } from "../store/types.js";

/** The configuration file's side of the policy. */
export interface FilePolicy {
  /** The file's tenants, by id: read-only over the API. */
  readonly tenants: ReadonlyMap<string, TenantConfig>;
  /** routing.hostPatterns, such as "{tenant}.api.example.com". */
  readonly hostPatterns: readonly string[];
  /** Whether routing.upstream is set (otherwise every tenant needs its own). */
  readonly defaultUpstream: boolean;
}

export interface PolicyPort {
  /** The configuration file's tenants and routing, as in force now. */
  file(): FilePolicy;
  /** The observations that `tenant` (a draft, in force nowhere) would deny. */
  wouldDeny(tenant: TenantConfig, observations: readonly ObservedIdentity[]): ObservedIdentity[];
  /** Resolves when store change `version` is enforced everywhere; rejects after a deadline. */
  enforced(version: number): Promise<void>;
  /** The store's tenants as in force here, for reads while the store is down; null: no store. */
  enforcedTenants(): EnforcedTenants | null;
}

/** The store's tenants as a process enforces them. */
export interface EnforcedTenants {
  get(id: string): StoredTenant | undefined;
  /** By id, as Store.listTenants pages them. */
  page(request: PageRequest): Page<StoredTenant>;
}
