/** /v1/tenants: list, create, read, change, delete. */
import type { StoredTenant, TenantSettings } from "../../store/types.js";
import { ApiError } from "../errors.js";
import { hostnamesInput, ruleInputs, upstreamInput } from "../input.js";
import { listBody, pageParams } from "../pagination.js";
import type { RouteSpec } from "../route.js";
import {
  CreateTenantBody,
  type CreateTenantValue,
  ForceQuery,
  PageQuery,
  PatchTenantBody,
  type PatchTenantValue,
  TenantList,
  TenantParams,
  TenantView,
} from "../schemas.js";
import { type FoundTenant, tenantView } from "../views.js";
import { etagHeader, forced, ifMatchOf, ruleStats } from "./common.js";

/** `tenant` with `settings` applied, as the store will write it. */
function applySettings(tenant: StoredTenant, settings: TenantSettings): StoredTenant {
  const allow =
    settings.allow === undefined
      ? tenant.allow
      : settings.allow === null
        ? null
        : { publicInternet: settings.allow.publicInternet, rules: tenant.allow?.rules ?? [] };
  return {
    ...tenant,
    hostnames: settings.hostnames ?? tenant.hostnames,
    upstream: settings.upstream === undefined ? tenant.upstream : settings.upstream,
    enforcement: settings.enforcement ?? tenant.enforcement,
    allow,
  };
}

const list: RouteSpec = {
  method: "GET",
  path: "/v1/tenants",
  summary: "List tenants",
  description:
    "Every tenant, of the configuration file and of the store, by id, with its rules and counters.",
  auth: "admin",
  query: PageQuery,
  responses: { 200: { description: "A page of tenants.", schema: TenantList } },
  errors: ["CURSOR_INVALID"],
  async handle(ctx, request) {
    const { limit, after } = pageParams("tenants", request.query);
    const file = ctx.port.file().tenants;
    const found: FoundTenant[] = [...file.values()]
      .filter((t) => after === null || t.id > after)
      .map((config) => ({ managedBy: "config", config }));
    const stored = ctx.store === null ? null : await ctx.store.listTenants({ limit, after });
    for (const t of stored?.items ?? []) {
      // A file tenant shadows a store tenant of the same id, as in the policy.
      if (!file.has(t.id)) found.push({ managedBy: "api", stored: t });
    }
    const idOf = (f: FoundTenant) => (f.managedBy === "config" ? f.config.id : f.stored.id);
    found.sort((a, b) => (idOf(a) < idOf(b) ? -1 : 1));
    const page = found.slice(0, limit);
    const more = found.length > limit || (stored?.next ?? null) !== null;
    const now = ctx.now();
    const items = [];
    for (const f of page) items.push(tenantView(f, await ruleStats(ctx, idOf(f)), now));
    const last = page.at(-1);
    return {
      status: 200,
      body: listBody("tenants", items, more && last !== undefined ? idOf(last) : null),
    };
  },
};

const create: RouteSpec = {
  method: "POST",
  path: "/v1/tenants",
  summary: "Create a tenant",
  description:
    "A tenant as in the configuration file. Its id and host names must not collide with another tenant's, exactly or through a host pattern.",
  auth: "admin",
  body: CreateTenantBody,
  responses: {
    201: {
      description: "The tenant, enforced (Location: its URL).",
      schema: TenantView,
      etag: true,
      enforcement: true,
    },
  },
  errors: [
    "STORE_READ_ONLY",
    "TENANT_EXISTS",
    "HOSTNAME_INVALID",
    "HOSTNAME_TAKEN",
    "UPSTREAM_INVALID",
    "UPSTREAM_REQUIRED",
    "RULE_EMPTY",
    "RULE_INVALID_LINK",
    "RULE_INVALID_CIDR",
    "RULE_INVALID_EXPIRY",
    "RULE_DUPLICATE",
    "RULES_LIMIT",
  ],
  async handle(ctx, request) {
    const body = request.body as CreateTenantValue;
    const store = ctx.writableStore();
    if (body.id.startsWith("-") || body.id.endsWith("-")) {
      throw new ApiError(
        "VALIDATION_FAILED",
        `id: "${body.id}" starts or ends with "-": a tenant id is a DNS label in host names`,
      );
    }
    const now = ctx.now();
    const hostnames = hostnamesInput(body.hostnames ?? []);
    const upstream = body.upstream === undefined ? null : upstreamInput(body.upstream);
    const allow = body.allow ?? null;
    const rules = ruleInputs(allow?.rules ?? [], ["allow", "rules"], now);
    ctx.checkRuleCount(body.id, rules.length);
    ctx.checkUpstream(upstream);
    await ctx.checkNewTenant(body.id);
    await ctx.checkHostnames(body.id, hostnames);
    const written = await store.createTenant(
      {
        id: body.id,
        hostnames,
        upstream,
        enforcement: body.enforcement ?? "enforce",
        allow: allow === null ? null : { publicInternet: allow.publicInternet ?? false, rules },
      },
      { actor: request.principal.actor },
    );
    const found: FoundTenant = { managedBy: "api", stored: written.tenant };
    return {
      status: 201,
      body: tenantView(found, new Map(), now),
      headers: {
        ...etagHeader(found),
        location: `/v1/tenants/${written.tenant.id}`,
        ...(await ctx.enforced(written.version)),
      },
    };
  },
};

const read: RouteSpec = {
  method: "GET",
  path: "/v1/tenants/{id}",
  summary: "Read a tenant",
  description: "The tenant, its allow list, and each rule's hit count.",
  auth: "tenant",
  params: TenantParams,
  responses: { 200: { description: "The tenant.", schema: TenantView, etag: true } },
  errors: ["TENANT_NOT_FOUND"],
  async handle(ctx, request) {
    const found = await ctx.find(request.principal, request.params.id);
    return {
      status: 200,
      body: tenantView(found, await ruleStats(ctx, request.params.id), ctx.now()),
      headers: etagHeader(found),
    };
  },
};

const update: RouteSpec = {
  method: "PATCH",
  path: "/v1/tenants/{id}",
  summary: "Change a tenant's settings",
  description:
    "enforcement, allow.publicInternet, hostnames and upstream; `allow: null` lifts every restriction. Host names and upstream need an admin token. Subject to the lockout guard.",
  auth: "tenant",
  params: TenantParams,
  query: ForceQuery,
  body: PatchTenantBody,
  ifMatch: true,
  responses: {
    200: {
      description: "The tenant, enforced.",
      schema: TenantView,
      etag: true,
      enforcement: true,
    },
  },
  errors: [
    "TENANT_NOT_FOUND",
    "TENANT_MANAGED_BY_CONFIG",
    "STORE_READ_ONLY",
    "AUTH_FORBIDDEN",
    "HOSTNAME_INVALID",
    "HOSTNAME_TAKEN",
    "UPSTREAM_INVALID",
    "UPSTREAM_REQUIRED",
    "PRECONDITION_FAILED",
    "LOCKOUT_GUARD",
  ],
  async handle(ctx, request) {
    const body = request.body as PatchTenantValue;
    const id = request.params.id;
    if (
      request.principal.kind === "tenant" &&
      (body.hostnames !== undefined || body.upstream !== undefined)
    ) {
      // Where a tenant's traffic goes, and which names it takes, is the operator's call.
      throw new ApiError("AUTH_FORBIDDEN", "hostnames and upstream need an admin token");
    }
    const hostnames = body.hostnames === undefined ? undefined : hostnamesInput(body.hostnames);
    const upstream =
      body.upstream === undefined || body.upstream === null
        ? body.upstream
        : upstreamInput(body.upstream);
    const settings: TenantSettings = {
      hostnames,
      upstream,
      enforcement: body.enforcement,
      allow:
        body.allow === undefined || body.allow === null
          ? body.allow
          : { publicInternet: body.allow.publicInternet ?? false },
    };
    const { result, headers } = await ctx.change(
      request.principal,
      id,
      ifMatchOf(request.headers),
      async (store, current, meta) => {
        if (hostnames !== undefined) await ctx.checkHostnames(id, hostnames);
        if (upstream !== undefined) ctx.checkUpstream(upstream);
        await ctx.guard(current, applySettings(current, settings), forced(request.query));
        return store.updateTenant(id, settings, meta);
      },
    );
    const found: FoundTenant = { managedBy: "api", stored: result.tenant };
    return {
      status: 200,
      body: tenantView(found, await ruleStats(ctx, id), ctx.now()),
      headers: { ...etagHeader(found), ...headers },
    };
  },
};

const remove: RouteSpec = {
  method: "DELETE",
  path: "/v1/tenants/{id}",
  summary: "Delete a tenant",
  description:
    "The tenant, its rules, tokens, counters and observed identities; its audit log stays (admins can still read it). Not subject to the lockout guard.",
  auth: "admin",
  params: TenantParams,
  ifMatch: true,
  responses: { 204: { description: "Deleted, and enforced.", enforcement: true } },
  errors: [
    "TENANT_NOT_FOUND",
    "TENANT_MANAGED_BY_CONFIG",
    "STORE_READ_ONLY",
    "PRECONDITION_FAILED",
  ],
  async handle(ctx, request) {
    const id = request.params.id;
    const { headers } = await ctx.change(
      request.principal,
      id,
      ifMatchOf(request.headers),
      (store, _current, meta) => store.deleteTenant(id, meta),
    );
    return { status: 204, headers };
  },
};

export const TENANT_ROUTES: readonly RouteSpec[] = [list, create, read, update, remove];
