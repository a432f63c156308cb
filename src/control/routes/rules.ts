/** /v1/tenants/{id}/rules: list, add one, replace all, delete one. */
import { ApiError } from "../errors.js";
import { ruleInput, ruleInputs } from "../input.js";
import { listBody, pageParams } from "../pagination.js";
import type { RouteSpec } from "../route.js";
import {
  ForceQuery,
  PageQuery,
  ReplaceRulesBody,
  RuleBody,
  type RuleBodyValue,
  RuleList,
  RuleParams,
  RuleView,
  TenantParams,
} from "../schemas.js";
import { type FoundTenant, rulesView } from "../views.js";
import {
  addRule,
  draftRule,
  etagHeader,
  forced,
  ifMatchOf,
  ruleStats,
  withRules,
} from "./common.js";

/** The rules of an ordered list after the one with id `after` (a cursor); all without one. */
function rulesAfter<T extends { id: string }>(rules: T[], after: string | null): T[] {
  if (after === null) return rules;
  const index = rules.findIndex((r) => r.id === after);
  if (index < 0) {
    throw new ApiError(
      "CURSOR_INVALID",
      "cursor: the rule list changed since the previous page; start again",
    );
  }
  return rules.slice(index + 1);
}

const RULE_WRITE_ERRORS = [
  "TENANT_NOT_FOUND",
  "TENANT_MANAGED_BY_CONFIG",
  "STORE_READ_ONLY",
  "PRECONDITION_FAILED",
  "LOCKOUT_GUARD",
] as const;

const RULE_INPUT_ERRORS = [
  "RULE_EMPTY",
  "RULE_INVALID_LINK",
  "RULE_INVALID_CIDR",
  "RULE_INVALID_EXPIRY",
  "RULE_DUPLICATE",
  "RULES_LIMIT",
] as const;

const list: RouteSpec = {
  method: "GET",
  path: "/v1/tenants/{id}/rules",
  summary: "List a tenant's rules",
  description:
    "In order, with hit counts. The ETag is the tenant's: send it as If-Match with PUT to replace the list safely.",
  auth: "tenant",
  params: TenantParams,
  query: PageQuery,
  responses: { 200: { description: "A page of rules.", schema: RuleList, etag: true } },
  errors: ["TENANT_NOT_FOUND", "CURSOR_INVALID"],
  async handle(ctx, request) {
    const { limit, after } = pageParams("rules", request.query);
    const found = await ctx.find(request.principal, request.params.id);
    const rules = rulesView(found, await ruleStats(ctx, request.params.id), ctx.now());
    const rest = rulesAfter(rules, after);
    const page = rest.slice(0, limit);
    const next = rest.length > limit ? (page.at(-1)?.id ?? null) : null;
    return { status: 200, body: listBody("rules", page, next), headers: etagHeader(found) };
  },
};

const add: RouteSpec = {
  method: "POST",
  path: "/v1/tenants/{id}/rules",
  summary: "Add a rule",
  description:
    "Appends one rule. On a tenant without an allow list, it turns the list on (then only what it admits is allowed): subject to the lockout guard.",
  auth: "tenant",
  params: TenantParams,
  query: ForceQuery,
  body: RuleBody,
  ifMatch: true,
  responses: {
    201: { description: "The rule, enforced.", schema: RuleView, etag: true, enforcement: true },
  },
  errors: [...RULE_WRITE_ERRORS, ...RULE_INPUT_ERRORS],
  async handle(ctx, request) {
    // Checked before the tenant is looked up: a bad rule is a 400 whatever the tenant.
    const input = ruleInput(request.body as RuleBodyValue, [], ctx.now());
    return addRule(ctx, request, async () => input);
  },
};

const replace: RouteSpec = {
  method: "PUT",
  path: "/v1/tenants/{id}/rules",
  summary: "Replace the rule list",
  description:
    "In one transaction. Rules with the link and cidr of a current rule keep its id and counters. Send If-Match with the ETag of the list you edited: a stale one is refused (412). Subject to the lockout guard.",
  auth: "tenant",
  params: TenantParams,
  query: ForceQuery,
  body: ReplaceRulesBody,
  ifMatch: true,
  responses: {
    200: {
      description: "The new list, enforced.",
      schema: RuleList,
      etag: true,
      enforcement: true,
    },
  },
  errors: [...RULE_WRITE_ERRORS, ...RULE_INPUT_ERRORS],
  async handle(ctx, request) {
    const id = request.params.id;
    const now = ctx.now();
    const inputs = ruleInputs((request.body as { rules: RuleBodyValue[] }).rules, ["rules"], now);
    ctx.checkRuleCount(id, inputs.length);
    const { result, headers } = await ctx.change(
      request.principal,
      id,
      ifMatchOf(request.headers),
      async (store, current, meta) => {
        const draft = withRules(
          current,
          inputs.map((r) => draftRule(r, now)),
        );
        await ctx.guard(current, draft, forced(request.query));
        return store.replaceRules(id, inputs, meta);
      },
    );
    const found: FoundTenant = { managedBy: "api", stored: result.tenant };
    const rules = rulesView(found, await ruleStats(ctx, id), ctx.now());
    return {
      status: 200,
      body: listBody("rules", rules, null),
      headers: { ...etagHeader(found), ...headers },
    };
  },
};

const remove: RouteSpec = {
  method: "DELETE",
  path: "/v1/tenants/{id}/rules/{ruleId}",
  summary: "Delete a rule",
  description:
    "Live connections it admitted, and no other rule admits, are closed (revocation: close). Subject to the lockout guard.",
  auth: "tenant",
  params: RuleParams,
  query: ForceQuery,
  ifMatch: true,
  responses: { 204: { description: "Deleted, and enforced.", enforcement: true } },
  errors: [...RULE_WRITE_ERRORS, "RULE_NOT_FOUND"],
  async handle(ctx, request) {
    const { id, ruleId } = request.params;
    const { headers } = await ctx.change(
      request.principal,
      id,
      ifMatchOf(request.headers),
      async (store, current, meta) => {
        const rules = current.allow?.rules ?? [];
        if (!rules.some((r) => r.id === ruleId)) {
          throw new ApiError("RULE_NOT_FOUND", `tenant "${id}" has no rule ${ruleId}`);
        }
        const draft = withRules(
          current,
          rules.filter((r) => r.id !== ruleId),
        );
        await ctx.guard(current, draft, forced(request.query));
        return store.deleteRule(id, ruleId, meta);
      },
    );
    return { status: 204, headers };
  },
};

export const RULE_ROUTES: readonly RouteSpec[] = [list, add, replace, remove];
