/**
 * Bad input never causes a 500: random methods, paths, queries and bodies (JSON and not) against
 * every route, as an admin and as a tenant. Every answer must also be one its route documents
 * (harness.ts checks the code against the OpenAPI description).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { API_ROUTES } from "../../src/control/routes/index.js";
import { isErrorCode } from "../../src/errors/index.js";
import { GCP, VPCE } from "../store/helpers.js";
import { startApi } from "./harness.js";

const segment = fc.oneof(
  fc.constantFrom(
    "megacorp",
    "filecorp",
    "nobody",
    VPCE,
    GCP,
    "r_0",
    "tok_0",
    "public:10.0.0.0%2F8",
  ),
  fc.string({ maxLength: 20 }).map(encodeURIComponent),
);

const value = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.record(
    {
      id: fc.oneof(fc.constantFrom("megacorp", "fuzzco", "-x", ""), fc.string({ maxLength: 70 })),
      link: fc.oneof(fc.constantFrom(VPCE, GCP, "azure:1", "aws:vpce-x"), fc.string()),
      cidr: fc.oneof(fc.constantFrom("10.0.0.0/8", "10.0.0.1/8", "::/0"), fc.string()),
      hostnames: fc.array(fc.string({ maxLength: 30 }), { maxLength: 3 }),
      upstream: fc.oneof(fc.constant(null), fc.string({ maxLength: 30 })),
      enforcement: fc.constantFrom("enforce", "report-only", "x"),
      expiresAt: fc.oneof(
        fc.constant(null),
        fc.string(),
        fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
      ),
      allow: fc.oneof(fc.constant(null), fc.jsonValue({ maxDepth: 2 })),
      rules: fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 }),
      label: fc.string({ maxLength: 300 }),
    },
    { requiredKeys: [] },
  ),
);

const request = fc.record({
  method: fc.constantFrom("GET", "POST", "PATCH", "PUT", "DELETE"),
  route: fc.constantFrom(...API_ROUTES.map((r) => r.path)),
  segments: fc.array(segment, { minLength: 3, maxLength: 3 }),
  query: fc.oneof(
    fc.constant(""),
    fc.constantFrom("?force=true", "?limit=0", "?limit=5", "?cursor=abc", "?limit=1&limit=2"),
    fc.string({ maxLength: 20 }).map((s) => `?${encodeURIComponent(s)}=${encodeURIComponent(s)}`),
  ),
  body: fc.oneof(
    fc.constant(undefined),
    value,
    fc.string({ maxLength: 50 }).map((raw) => ({ raw })),
  ),
  asTenant: fc.boolean(),
  ifMatch: fc.option(fc.constantFrom('"1"', "*", "garbage")),
});

test("a dot segment is resolved before routing: /v1/tenants/./tokens is no route", async (t) => {
  // Found by the property below (fast-check seed 1152667896): "." is a segment
  // encodeURIComponent leaves as it is, so the request reached another path than its route's.
  const api = await startApi(t, { maxApiBodyBytes: 4096 });
  const response = await api.call("POST", "/v1/tenants/./tokens", { body: {} });
  assert.equal(response.statusCode, 404);
  assert.equal(response.json().error?.code, "NOT_FOUND");
});

test("random requests never get a 500, and every error is a documented code", async (t) => {
  const api = await startApi(t, { maxApiBodyBytes: 4096 });
  await api.ok(201, "POST", "/v1/tenants", {
    body: { id: "megacorp", allow: { rules: [{ link: VPCE }] } },
  });
  const minted = await api.ok<{ token: string }>(201, "POST", "/v1/tenants/megacorp/tokens");
  await fc.assert(
    fc.asyncProperty(request, async (r) => {
      let i = 0;
      const url = r.route.replace(/\{\w+\}/g, () => r.segments[i++]) + r.query;
      const raw = typeof r.body === "object" && r.body !== null && "raw" in r.body;
      const response = await api.call(r.method, url, {
        token: r.asTenant ? minted.token : undefined,
        ...(raw
          ? {
              raw: String((r.body as { raw: string }).raw),
              headers: { "content-type": "application/json" },
            }
          : { body: r.body }),
        ...(r.ifMatch === null ? {} : { headers: { "if-match": r.ifMatch } }),
      });
      assert.ok(
        response.statusCode < 500,
        `${r.method} ${url}: ${response.statusCode} ${response.body}`,
      );
      if (response.statusCode >= 400) {
        const code = response.json().error?.code;
        assert.ok(typeof code === "string" && isErrorCode(code), response.body);
      }
    }),
    { numRuns: 400 },
  );
});
