/** /v1/whoami: what the bearer token is (the console signs a tenant in with its token alone). */
import type { RouteSpec } from "../route.js";
import { WhoamiView } from "../schemas.js";

const whoami: RouteSpec = {
  method: "GET",
  path: "/v1/whoami",
  summary: "What the bearer token is",
  description:
    'An admin token answers {"kind":"admin"}; a tenant token answers its tenant and its own id, so that a client holding only the token knows which tenant to read.',
  auth: "tenant",
  responses: { 200: { description: "The token's kind and tenant.", schema: WhoamiView } },
  errors: [],
  async handle(_ctx, request) {
    const p = request.principal;
    const body =
      p.kind === "admin"
        ? { kind: "admin", tenant: null, tokenId: null }
        : { kind: "tenant", tenant: p.tenantId, tokenId: p.tokenId };
    return { status: 200, body, headers: { "cache-control": "no-store" } };
  },
};

export const WHOAMI_ROUTES: readonly RouteSpec[] = [whoami];
