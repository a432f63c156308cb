/** /v1/tenants/{id}/tokens: mint (admin), list and revoke tenant tokens. */
import { newTokenSecret, tokenHash } from "../../store/ids.js";
import { ApiError } from "../errors.js";
import { listBody, pageParams } from "../pagination.js";
import type { RouteSpec } from "../route.js";
import {
  CreateTokenBody,
  NewTokenView,
  PageQuery,
  TenantParams,
  TokenList,
  TokenParams,
} from "../schemas.js";
import { tokenView } from "../views.js";

const mint: RouteSpec = {
  method: "POST",
  path: "/v1/tenants/{id}/tokens",
  summary: "Mint a tenant token",
  description:
    "A bearer token that sees and changes this tenant only. The secret is in this response and nowhere else: linkgate keeps its SHA-256.",
  auth: "admin",
  params: TenantParams,
  body: CreateTokenBody,
  bodyOptional: true,
  responses: { 201: { description: "The token and its secret.", schema: NewTokenView } },
  errors: ["TENANT_NOT_FOUND", "STORE_NOT_CONFIGURED"],
  async handle(ctx, request) {
    const id = request.params.id;
    await ctx.find(request.principal, id);
    const store = ctx.requireStore();
    const secret = newTokenSecret();
    const label = (request.body as { label?: string }).label ?? null;
    const token = await store.createToken(
      { tenantId: id, label, hash: tokenHash(secret) },
      request.principal.actor,
    );
    return {
      status: 201,
      body: { ...tokenView(token), token: secret },
      headers: { "cache-control": "no-store" },
    };
  },
};

const list: RouteSpec = {
  method: "GET",
  path: "/v1/tenants/{id}/tokens",
  summary: "List a tenant's tokens",
  description: "Without their secrets; revoked tokens included.",
  auth: "tenant",
  params: TenantParams,
  query: PageQuery,
  responses: { 200: { description: "A page of tokens.", schema: TokenList } },
  errors: ["TENANT_NOT_FOUND", "STORE_NOT_CONFIGURED", "CURSOR_INVALID"],
  async handle(ctx, request) {
    const { limit, after } = pageParams("tokens", request.query);
    await ctx.find(request.principal, request.params.id);
    const page = await ctx.requireStore().listTokens(request.params.id, { limit, after });
    return { status: 200, body: listBody("tokens", page.items.map(tokenView), page.next) };
  },
};

const revoke: RouteSpec = {
  method: "DELETE",
  path: "/v1/tenants/{id}/tokens/{tokenId}",
  summary: "Revoke a tenant token",
  description:
    "From the next request on, the token is refused (401). It stays listed, with revokedAt.",
  auth: "tenant",
  params: TokenParams,
  responses: { 204: { description: "Revoked." } },
  errors: ["TENANT_NOT_FOUND", "STORE_NOT_CONFIGURED", "TOKEN_NOT_FOUND"],
  async handle(ctx, request) {
    const { id, tokenId } = request.params;
    await ctx.find(request.principal, id);
    const revoked = await ctx.requireStore().revokeToken(id, tokenId, request.principal.actor);
    if (revoked === null)
      throw new ApiError("TOKEN_NOT_FOUND", `tenant "${id}" has no token ${tokenId}`);
    return { status: 204 };
  },
};

export const TOKEN_ROUTES: readonly RouteSpec[] = [mint, list, revoke];
