/** /openapi.json describes every route the server has, and the docs describe the API. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { OPENAPI_PATH, renderOpenApi } from "../../scripts/gen-openapi.js";
import { buildAdminApp } from "../../src/control/admin-server.js";
import { registerControlPlane } from "../../src/control/control-plane.js";
import { HTTP_STATUS } from "../../src/control/errors.js";
import { API_ROUTES } from "../../src/control/routes/index.js";
import { Health } from "../../src/observability/health.js";
import { Metrics } from "../../src/observability/metrics.js";
import { fileConfig, startApi, TestPort } from "./harness.js";

type Json = Record<string, unknown>;

test("GET /openapi.json: OpenAPI 3.1, without a token, every route with its codes", async (t) => {
  const api = await startApi(t);
  const response = await api.call("GET", "/openapi.json", { token: null });
  assert.equal(response.statusCode, 200);
  const doc = response.json();
  assert.equal(doc.openapi, "3.1.0");
  const paths = doc.paths as Record<string, Record<string, Json>>;
  for (const route of API_ROUTES) {
    const op = paths[route.path]?.[route.method.toLowerCase()];
    assert.ok(op, `${route.method} ${route.path}`);
    const documented = Object.values(op.responses as Record<string, Json>).flatMap(
      (r) => (r["x-error-codes"] as string[] | undefined) ?? [],
    );
    assert.ok(documented.includes("AUTH_REQUIRED"), `${route.path}: auth errors`);
    for (const code of route.errors) assert.ok(documented.includes(code), `${route.path}: ${code}`);
  }

  // Every $ref points at a component, and every component is used.
  const text = JSON.stringify(doc);
  const refs = new Set(
    [...text.matchAll(/"\$ref":"#\/components\/schemas\/(\w+)"/g)].map((m) => m[1]),
  );
  const components = Object.keys(doc.components.schemas);
  for (const ref of refs) assert.ok(components.includes(ref), ref);
  for (const name of components) assert.ok(refs.has(name), `${name} is never used`);
  assert.ok(!text.includes("~kind"), "no TypeBox internals");
});

test("the server has exactly the routes the document lists", async () => {
  const app = buildAdminApp({
    metrics: new Metrics({ defaultMetrics: false }),
    health: new Health(),
  });
  const routes: string[] = [];
  app.addHook("onRoute", (r) => {
    const methods = Array.isArray(r.method) ? r.method : [r.method];
    for (const m of methods)
      if (m !== "HEAD" && r.url.startsWith("/v1")) routes.push(`${m} ${r.url}`);
  });
  registerControlPlane(app, {
    store: null,
    port: new TestPort(fileConfig()),
    adminTokens: [],
    limits: { maxRulesPerTenant: 10, maxApiBodyBytes: 4096 },
    version: "test",
  });
  await app.ready();
  await app.close();
  const documented = API_ROUTES.map((r) => `${r.method} ${r.path.replace(/\{(\w+)\}/g, ":$1")}`);
  assert.deepEqual(routes.sort(), documented.sort());
});

test("docs/openapi.json is up to date (run `npm run docs:api`)", () => {
  assert.ok(
    readFileSync(OPENAPI_PATH, "utf8") === renderOpenApi(),
    "docs/openapi.json is out of date with src/control: run `npm run docs:api`",
  );
});

test("docs/api.md describes every route, every code and both admin token variables", () => {
  const doc = readFileSync(new URL("../../docs/api.md", import.meta.url), "utf8");
  for (const route of API_ROUTES) {
    assert.ok(doc.includes(`${route.method} ${route.path}`), `${route.method} ${route.path}`);
  }
  for (const [code, status] of Object.entries(HTTP_STATUS)) {
    assert.match(doc, new RegExp(`\\| \`${code}\` +\\| ${status} +\\|`), code);
  }
  for (const text of [
    "LINKGATE_ADMIN_TOKEN_FILE",
    "LINKGATE_ADMIN_TOKEN",
    "LOCKOUT_GUARD",
    "?force=true",
    "If-Match",
  ]) {
    assert.ok(doc.includes(text), text);
  }
});
