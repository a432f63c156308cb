/** Pieces shared by the route handlers. */
import type { IncomingHttpHeaders } from "node:http";
import type { RuleInput, RuleStats, Store, StoredRule, StoredTenant } from "../../store/types.js";
import type { ControlContext } from "../context.js";
import type { ApiRequest, ApiResponse } from "../route.js";
import { etagOf, type FoundTenant, storedRuleView } from "../views.js";

/** The hit counters of a tenant's rules; none without a store. */
export async function ruleStats(
  ctx: ControlContext,
  tenantId: string,
): Promise<Map<string, RuleStats>> {
  return ctx.store === null ? new Map() : ctx.store.ruleStats(tenantId);
}

export function etagHeader(found: FoundTenant): Record<string, string> {
  return { etag: etagOf(found) };
}

export function ifMatchOf(headers: IncomingHttpHeaders): string | undefined {
  const value = headers["if-match"];
  return Array.isArray(value) ? value.join(", ") : value;
}

export function forced(query: Record<string, unknown>): boolean {
  return query.force === true;
}

/** A rule not written yet, as the lockout guard judges it. */
export function draftRule(input: RuleInput, now: number): StoredRule {
  return { id: "(new)", ...input, createdAt: now };
}

/** `tenant` with `rules` as its allow list (turned on if it was off). */
export function withRules(tenant: StoredTenant, rules: readonly StoredRule[]): StoredTenant {
  return { ...tenant, allow: { publicInternet: tenant.allow?.publicInternet ?? false, rules } };
}

/**
 * Adds the rule `ruleOf` makes to API tenant `request.params.id` (POST …/rules and
 * POST …/observed/{identity}/allow): the cap, the lockout guard, then the store; 201.
 */
export async function addRule(
  ctx: ControlContext,
  request: ApiRequest,
  ruleOf: (store: Store, now: number) => Promise<RuleInput>,
): Promise<ApiResponse> {
  const id = request.params.id;
  const now = ctx.now();
  const { result, headers } = await ctx.change(
    request.principal,
    id,
    ifMatchOf(request.headers),
    async (store, current, meta) => {
      const input = await ruleOf(store, now);
      const rules = current.allow?.rules ?? [];
      ctx.checkRuleCount(id, rules.length + 1);
      const draft = withRules(current, [...rules, draftRule(input, now)]);
      await ctx.guard(current, draft, forced(request.query));
      return store.addRule(id, input, meta);
    },
  );
  const found: FoundTenant = { managedBy: "api", stored: result.tenant };
  return {
    status: 201,
    body: storedRuleView(result.rule, undefined, ctx.now()),
    headers: {
      ...etagHeader(found),
      location: `/v1/tenants/${id}/rules/${result.rule.id}`,
      ...headers,
    },
  };
}
