/**
 * The control plane on the admin HTTP server: the REST API under /v1, /openapi.json, and the
 * tenant console at /console/ (src/control/console/), a page that calls that API.
 *
 *   const runtimePort: PolicyPort = …;  // src/control/port.ts says what it must do
 *   await startAdminServer({
 *     bind, metrics, health, logger,
 *     routes: (app) => registerControlPlane(app, {
 *       store, port: runtimePort, adminTokens: await adminTokensFromEnv(), limits: config.limits,
 *       version,
 *     }),
 *   });
 */
import type { FastifyInstance } from "fastify";
import { registerConsole } from "./console/serve.js";
import { ControlContext, type ControlPlaneOptions } from "./context.js";
import { openApiDocument } from "./openapi.js";
import { registerRoutes } from "./route.js";
import { API_ROUTES } from "./routes/index.js";

export type { ControlPlaneOptions } from "./context.js";

/** The OpenAPI document of the API for linkgate `version` (what GET /openapi.json answers). */
export function controlPlaneOpenApi(version: string): Record<string, unknown> {
  return openApiDocument(API_ROUTES, version);
}

/** Adds the REST API, /openapi.json and the console to `app` (call before it listens). */
export function registerControlPlane(app: FastifyInstance, options: ControlPlaneOptions): void {
  const ctx = new ControlContext(options);
  const document = controlPlaneOpenApi(options.version);
  app.get("/openapi.json", async () => document);
  app.register(async (api) => {
    // JSON only: Fastify's text/plain parser would hand the routes strings.
    api.removeContentTypeParser("text/plain");
    registerRoutes(api, ctx, API_ROUTES, options.limits.maxApiBodyBytes);
  });
  registerConsole(app);
  app.addHook("onReady", async () => ctx.start(app.log));
  app.addHook("onClose", async () => ctx.stop());
}
