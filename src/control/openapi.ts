/**
 * /openapi.json: the OpenAPI 3.1 document of the REST API, written from the route
 * descriptions (src/control/routes) and their TypeBox schemas, the same objects that validate
 * requests. Schemas named in NAMED_SCHEMAS become components; the others are inlined.
 */
import type { TSchema } from "typebox";
import { HTTP_STATUS } from "./errors.js";
import { type RouteSpec, routeErrors } from "./route.js";
import { NAMED_SCHEMAS } from "./schemas.js";

type Json = Record<string, unknown>;

const NAME_OF = new Map<object, string>(
  Object.entries(NAMED_SCHEMAS).map(([name, schema]) => [schema, name]),
);

/** A plain JSON copy of `schema`, with named schemas inside it as $refs. */
function inline(schema: unknown, top = true): unknown {
  if (Array.isArray(schema)) return schema.map((s) => inline(s, false));
  if (typeof schema !== "object" || schema === null) return schema;
  const name = NAME_OF.get(schema);
  if (name !== undefined && !top) return { $ref: `#/components/schemas/${name}` };
  const out: Json = {};
  for (const [key, value] of Object.entries(schema)) out[key] = inline(value, false);
  return out;
}

/** `schema` where a schema is expected: a $ref when it is named. */
function ref(schema: TSchema): unknown {
  return inline(schema, false);
}

function capitalized(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** "GET /v1/tenants/{id}/rules" -> "getTenantsByIdRules". */
function operationId(spec: RouteSpec): string {
  const parts = spec.path
    .split("/")
    .filter((p) => p !== "" && p !== "v1")
    .map((p) => (p.startsWith("{") ? `By${capitalized(p.slice(1, -1))}` : capitalized(p)));
  return `${spec.method.toLowerCase()}${parts.join("")}`;
}

const HEADERS = {
  ETag: {
    description: "The tenant's version: send it back as If-Match to change it safely.",
    schema: { type: "string" },
  },
  "Linkgate-Version": {
    description: "The store version of this change.",
    schema: { type: "string" },
  },
  "Linkgate-Enforced": {
    description:
      "true: every worker enforces the change. false: it is committed, but was not confirmed within the deadline (it will be enforced).",
    schema: { type: "string", enum: ["true", "false"] },
  },
  "Linkgate-Stale": {
    description:
      "Present (true) when the store's database is unreachable: tenants and rules are answered as this instance enforces them, which may be out of date, and rule hit counts are not known (0).",
    schema: { type: "string", enum: ["true"] },
  },
} as const;

function parameters(spec: RouteSpec): Json[] {
  const out: Json[] = [];
  const params = (spec.params as { properties?: Record<string, TSchema> } | undefined)?.properties;
  for (const [name, schema] of Object.entries(params ?? {})) {
    out.push({ name, in: "path", required: true, schema: inline(schema, false) });
  }
  const query = (spec.query as { properties?: Record<string, TSchema> } | undefined)?.properties;
  for (const [name, schema] of Object.entries(query ?? {})) {
    out.push({ name, in: "query", required: false, schema: inline(schema, false) });
  }
  if (spec.ifMatch) {
    out.push({
      name: "If-Match",
      in: "header",
      required: false,
      description: "The ETag the change was made from; a stale one is refused (412).",
      schema: { type: "string" },
    });
  }
  return out;
}

function responses(spec: RouteSpec): Json {
  const out: Json = {};
  for (const [status, r] of Object.entries(spec.responses)) {
    const headers: Json = {};
    if (r.etag) headers.ETag = HEADERS.ETag;
    if (r.enforcement) {
      headers["Linkgate-Version"] = HEADERS["Linkgate-Version"];
      headers["Linkgate-Enforced"] = HEADERS["Linkgate-Enforced"];
    }
    if (spec.method === "GET") headers["Linkgate-Stale"] = HEADERS["Linkgate-Stale"];
    out[status] = {
      description: r.description,
      ...(Object.keys(headers).length > 0 ? { headers } : {}),
      ...(r.schema ? { content: { "application/json": { schema: ref(r.schema) } } } : {}),
    };
  }
  const byStatus = new Map<number, string[]>();
  for (const code of routeErrors(spec)) {
    const status = HTTP_STATUS[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  for (const [status, codes] of [...byStatus].sort((a, b) => a[0] - b[0])) {
    out[String(status)] = {
      description: codes.map((c) => `\`${c}\``).join(", "),
      "x-error-codes": codes,
      ...(status === 429 ? { headers: { "Retry-After": { schema: { type: "string" } } } } : {}),
      content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
    };
  }
  return out;
}

/** The whole document. */
export function openApiDocument(specs: readonly RouteSpec[], version: string): Json {
  const paths: Record<string, Json> = {};
  for (const spec of specs) {
    const operation: Json = {
      operationId: operationId(spec),
      summary: spec.summary,
      description: `${spec.description}\n\nToken: ${spec.auth === "admin" ? "admin" : "admin, or the tenant's own"}.`,
      tags: [spec.path.split("/")[4] ?? "tenants"],
      security: [{ bearer: [] }],
      parameters: parameters(spec),
      ...(spec.body
        ? {
            requestBody: {
              required: !spec.bodyOptional,
              content: { "application/json": { schema: ref(spec.body) } },
            },
          }
        : {}),
      responses: responses(spec),
    };
    paths[spec.path] ??= {};
    paths[spec.path][spec.method.toLowerCase()] = operation;
  }
  const schemas: Json = {};
  for (const [name, schema] of Object.entries(NAMED_SCHEMAS)) schemas[name] = inline(schema);
  return {
    openapi: "3.1.0",
    info: {
      title: "linkgate control plane",
      version,
      description:
        "Tenants, their allow rules, tokens, observed identities and audit log. See docs/api.md.",
    },
    paths,
    components: {
      securitySchemes: {
        bearer: {
          type: "http",
          scheme: "bearer",
          description:
            "An admin token (LINKGATE_ADMIN_TOKEN, LINKGATE_ADMIN_TOKEN_FILE) or a tenant token (lgt_…).",
        },
      },
      schemas,
    },
  };
}
