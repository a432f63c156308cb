/**
 * The lockout guard: a change that would make an enforcing tenant deny all of the traffic it
 * admitted in the last 24 hours is refused (409 LOCKOUT_GUARD, naming what would be cut),
 * unless the request says `?force=true`.
 *
 * "The traffic it admitted" is every identity observed for the tenant in the last 24 hours
 * that the policy in force still admits (a report-only tenant admits all of it). The change is
 * refused when there is such traffic and the proposed tenant denies every piece of it: an
 * enforcing tenant that would be left with nothing of what works today. A change that cuts
 * some of it and keeps the rest is the purpose of an allow list, and passes; so do report-only
 * tenants (they deny nothing), and tenants that saw no traffic. The decisions are the
 * runtime's (PolicyPort.wouldDeny), against the last source address seen for each identity.
 */
import { tenantConfigOf } from "../store/tenant-config.js";
import type { ObservedIdentity, Store, StoredTenant } from "../store/types.js";
import { ApiError } from "./errors.js";
import type { PolicyPort } from "./port.js";
import { observedView } from "./views.js";

export const LOCKOUT_WINDOW_MS = 24 * 60 * 60 * 1000;

/** Identities seen for `tenantId` since `since`, all pages. */
async function recentObservations(
  store: Store,
  tenantId: string,
  since: number,
): Promise<ObservedIdentity[]> {
  const all: ObservedIdentity[] = [];
  let after: string | null = null;
  do {
    const page = await store.listObserved(tenantId, { limit: 1000, after, since });
    all.push(...page.items);
    after = page.next;
  } while (after !== null);
  return all;
}

/** Throws LOCKOUT_GUARD when `next` would deny all that `current` admitted lately. */
export async function lockoutGuard(
  store: Store,
  port: PolicyPort,
  current: StoredTenant,
  next: StoredTenant,
  now: number,
): Promise<void> {
  const proposed = tenantConfigOf(next, now);
  if (proposed.enforcement !== "enforce") return;
  const seen = await recentObservations(store, current.id, now - LOCKOUT_WINDOW_MS);
  if (seen.length === 0) return;
  const deniedNow = new Set(
    port.wouldDeny(tenantConfigOf(current, now), seen).map((o) => o.identity),
  );
  const admitted = seen.filter((o) => !deniedNow.has(o.identity));
  if (admitted.length === 0) return;
  const cut = new Set(port.wouldDeny(proposed, admitted).map((o) => o.identity));
  if (!admitted.every((o) => cut.has(o.identity))) return;
  const names = admitted.map((o) => o.identity);
  const shown =
    names.slice(0, 5).join(", ") + (names.length > 5 ? ` and ${names.length - 5} more` : "");
  throw new ApiError(
    "LOCKOUT_GUARD",
    `this change would deny all the traffic tenant "${current.id}" admitted in the last 24 hours (${shown}); add a rule for it first, or repeat the request with ?force=true`,
    { extra: { wouldCut: admitted.map(observedView) } },
  );
}
