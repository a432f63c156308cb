/**
 * A route of the REST API as data: method, path, who may call it, the schemas of its input and
 * output, the error codes it answers with, and its handler. The same description registers the
 * route on Fastify and writes /openapi.json, so the document cannot drift from the code.
 *
 * Every request goes the same way: authenticate (before the body is read), check the role,
 * check the query and body against their schemas, then the handler; any error becomes
 * `{"error": {"code", "message"}}` with its status.
 */
import type { IncomingHttpHeaders } from "node:http";
import type { FastifyInstance, FastifyRequest } from "fastify";
import Type, { type TSchema } from "typebox";
import type { Principal } from "./auth.js";
import type { ControlContext } from "./context.js";
import { ApiError, type ApiErrorCode } from "./errors.js";
import { checkSchema } from "./input.js";

export type Method = "GET" | "POST" | "PATCH" | "PUT" | "DELETE";

export interface ApiRequest {
  principal: Principal;
  params: Record<string, string>;
  /** As the route's query schema describes it (numbers and booleans converted). */
  query: Record<string, unknown>;
  /** As the route's body schema describes it; {} when an optional body was omitted. */
  body: unknown;
  headers: IncomingHttpHeaders;
}

export interface ApiResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface ResponseSpec {
  description: string;
  schema?: TSchema;
  /** The response carries an ETag header. */
  etag?: boolean;
  /** The response carries Linkgate-Version and Linkgate-Enforced (a policy change). */
  enforcement?: boolean;
}

export interface RouteSpec {
  method: Method;
  /** In OpenAPI form: "/v1/tenants/{id}". */
  path: string;
  summary: string;
  description: string;
  /** admin: admin tokens only; tenant: admin tokens, and the tenant's own tokens. */
  auth: "admin" | "tenant";
  params?: TSchema;
  query?: TSchema;
  body?: TSchema;
  /** The body may be omitted (it is then {}). */
  bodyOptional?: boolean;
  /** The route honours If-Match. */
  ifMatch?: boolean;
  responses: Record<number, ResponseSpec>;
  /** The codes the route answers with, besides those every route may (COMMON_ERRORS). */
  errors: readonly ApiErrorCode[];
  handle(ctx: ControlContext, request: ApiRequest): Promise<ApiResponse>;
}

/** Codes any authenticated route may answer with. */
export const COMMON_ERRORS: readonly ApiErrorCode[] = [
  "AUTH_REQUIRED",
  "AUTH_INVALID",
  "AUTH_RATE_LIMITED",
  "VALIDATION_FAILED",
  "UNKNOWN_FIELD",
  "STORE_UNAVAILABLE",
];

/** Codes of routes whose method has a body (Fastify reads it even where none is expected). */
export const BODY_ERRORS: readonly ApiErrorCode[] = [
  "BODY_TOO_LARGE",
  "BODY_INVALID",
  "UNSUPPORTED_MEDIA_TYPE",
];

/** Every code `spec` may answer with. */
export function routeErrors(spec: RouteSpec): ApiErrorCode[] {
  const codes = [...COMMON_ERRORS, ...(spec.method !== "GET" ? BODY_ERRORS : []), ...spec.errors];
  if (spec.auth === "admin") codes.push("AUTH_FORBIDDEN");
  return [...new Set(codes)];
}

const NO_QUERY = Type.Object({}, { additionalProperties: false });

/** Query strings are text: turn the values the schema wants as integers or booleans into them. */
function coerceQuery(schema: TSchema, query: unknown): unknown {
  if (typeof query !== "object" || query === null) return query;
  const properties = (schema as { properties?: Record<string, { type?: string }> }).properties;
  const out: Record<string, unknown> = { ...(query as Record<string, unknown>) };
  for (const [key, value] of Object.entries(out)) {
    const type = properties?.[key]?.type;
    if (typeof value !== "string") continue;
    if (type === "integer" && /^-?[0-9]{1,15}$/.test(value)) out[key] = Number(value);
    else if (type === "boolean" && (value === "true" || value === "false")) {
      out[key] = value === "true";
    }
  }
  return out;
}

/** "/v1/tenants/{id}" -> "/v1/tenants/:id". */
export function fastifyPath(path: string): string {
  return path.replace(/\{(\w+)\}/g, ":$1");
}

/** Registers `specs` on `app`; errors go to the admin app's handler (src/control/errors.ts). */
export function registerRoutes(
  app: FastifyInstance,
  ctx: ControlContext,
  specs: readonly RouteSpec[],
  bodyLimit: number,
): void {
  const principals = new WeakMap<FastifyRequest, Principal>();
  for (const spec of specs) {
    app.route({
      method: spec.method,
      url: fastifyPath(spec.path),
      bodyLimit,
      // Before the body is read: an unauthenticated client cannot make the server parse it.
      onRequest: async (request) => {
        const principal = await ctx.authenticate(request);
        if (spec.auth === "admin" && principal.kind !== "admin") {
          throw new ApiError("AUTH_FORBIDDEN", "this needs an admin token");
        }
        principals.set(request, principal);
      },
      handler: async (request, reply) => {
        const query = checkSchema<Record<string, unknown>>(
          spec.query ?? NO_QUERY,
          coerceQuery(spec.query ?? NO_QUERY, request.query),
          "query",
        );
        let body: unknown = request.body;
        if (spec.body === undefined) {
          if (body !== undefined) {
            throw new ApiError("VALIDATION_FAILED", "body: this request takes no body");
          }
        } else {
          if (body === undefined && spec.bodyOptional) body = {};
          if (body === undefined) {
            throw new ApiError(
              "VALIDATION_FAILED",
              "body: a JSON body is required (Content-Type: application/json)",
            );
          }
          body = checkSchema(spec.body, body, "body");
        }
        // Down at either end of the request: what it read may come from the enforced copy.
        const stale = spec.method === "GET" && ctx.readsStale();
        const response = await spec.handle(ctx, {
          principal: principals.get(request) as Principal,
          params: request.params as Record<string, string>,
          query,
          body,
          headers: request.headers,
        });
        reply.code(response.status).headers(response.headers ?? {});
        if (stale || (spec.method === "GET" && ctx.readsStale())) {
          reply.header("linkgate-stale", "true");
        }
        return response.body === undefined ? reply.send() : reply.send(response.body);
      },
    });
  }
}
