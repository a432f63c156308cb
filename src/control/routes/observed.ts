/**
 * /v1/tenants/{id}/observed: every identity (for public traffic, source network) that reached
 * the tenant's host names, allowed or not, and turning one into a rule. This is how an Azure
 * customer, who knows a private endpoint by its name and not by its LinkID, finds the number
 * to allow: connect once, look here, allow it.
 */
import { ApiError } from "../errors.js";
import { ruleInput } from "../input.js";
import { listBody, pageParams } from "../pagination.js";
import type { RouteSpec } from "../route.js";
import {
  AllowObservedBody,
  ForceQuery,
  ObservedList,
  ObservedParams,
  PageQuery,
  RuleView,
  TenantParams,
} from "../schemas.js";
import { observedView } from "../views.js";
import { addRule } from "./common.js";

const PUBLIC_PREFIX = "public:";

const list: RouteSpec = {
  method: "GET",
  path: "/v1/tenants/{id}/observed",
  summary: "List observed identities",
  description:
    "Every Private Link endpoint, and every public source network (a /24 or /64), seen connecting to the tenant's host names, with counts of what its rules allowed and denied. Updated about once a second.",
  auth: "tenant",
  params: TenantParams,
  query: PageQuery,
  responses: { 200: { description: "A page of observed identities.", schema: ObservedList } },
  errors: ["TENANT_NOT_FOUND", "STORE_NOT_CONFIGURED", "CURSOR_INVALID"],
  async handle(ctx, request) {
    const { limit, after } = pageParams("observed", request.query);
    await ctx.find(request.principal, request.params.id);
    const page = await ctx.requireStore().listObserved(request.params.id, { limit, after });
    return { status: 200, body: listBody("observed", page.items.map(observedView), page.next) };
  },
};

const allow: RouteSpec = {
  method: "POST",
  path: "/v1/tenants/{id}/observed/{identity}/allow",
  summary: "Allow an observed identity",
  description:
    'Adds the rule that admits it: `{link: identity}` for an endpoint, `{cidr: network}` for a "public:" network. Like POST /rules otherwise (the lockout guard, RULE_DUPLICATE when a rule admits it already).',
  auth: "tenant",
  params: ObservedParams,
  query: ForceQuery,
  body: AllowObservedBody,
  bodyOptional: true,
  ifMatch: true,
  responses: {
    201: { description: "The rule, enforced.", schema: RuleView, etag: true, enforcement: true },
  },
  errors: [
    "TENANT_NOT_FOUND",
    "TENANT_MANAGED_BY_CONFIG",
    "STORE_READ_ONLY",
    "OBSERVED_NOT_FOUND",
    "RULE_INVALID_LINK",
    "RULE_INVALID_CIDR",
    "RULE_INVALID_EXPIRY",
    "RULE_DUPLICATE",
    "RULES_LIMIT",
    "PRECONDITION_FAILED",
    "LOCKOUT_GUARD",
  ],
  async handle(ctx, request) {
    const { id, identity } = request.params;
    const body = request.body as { description?: string; expiresAt?: string | null };
    return addRule(ctx, request, async (store, now) => {
      if ((await store.getObserved(id, identity)) === null) {
        throw new ApiError(
          "OBSERVED_NOT_FOUND",
          `"${identity}" has not been seen reaching tenant "${id}"`,
        );
      }
      const target = identity.startsWith(PUBLIC_PREFIX)
        ? { cidr: identity.slice(PUBLIC_PREFIX.length) }
        : { link: identity };
      return ruleInput({ ...target, ...body }, [], now);
    });
  },
};

export const OBSERVED_ROUTES: readonly RouteSpec[] = [list, allow];
