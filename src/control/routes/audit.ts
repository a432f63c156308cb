/** /v1/tenants/{id}/audit: every change of a tenant, who made it, before and after. */
import { ApiError } from "../errors.js";
import { listBody, pageParams } from "../pagination.js";
import type { RouteSpec } from "../route.js";
import { AuditList, PageQuery, TenantParams } from "../schemas.js";
import { auditView } from "../views.js";

const list: RouteSpec = {
  method: "GET",
  path: "/v1/tenants/{id}/audit",
  summary: "Read a tenant's audit log",
  description:
    "Newest first: time, actor (an admin token's fingerprint or a tenant token's id), action, before and after. The log of a deleted tenant stays readable by admins.",
  auth: "tenant",
  params: TenantParams,
  query: PageQuery,
  responses: { 200: { description: "A page of the audit log.", schema: AuditList } },
  errors: ["TENANT_NOT_FOUND", "STORE_NOT_CONFIGURED", "CURSOR_INVALID"],
  async handle(ctx, request) {
    const id = request.params.id;
    const { limit, after } = pageParams("audit", request.query);
    let exists = true;
    try {
      await ctx.find(request.principal, id);
    } catch (error) {
      if (request.principal.kind !== "admin") throw error;
      exists = false;
    }
    const page = await ctx.requireStore().listAudit(id, { limit, after });
    if (!exists && page.items.length === 0 && after === null) {
      throw new ApiError("TENANT_NOT_FOUND", `no tenant "${id}", and no audit log for it`);
    }
    return { status: 200, body: listBody("audit", page.items.map(auditView), page.next) };
  },
};

export const AUDIT_ROUTES: readonly RouteSpec[] = [list];
