/**
 * The admin HTTP endpoint (`api.bind`): GET /metrics, /healthz and /readyz, on Fastify. The
 * control-plane REST API (src/control/control-plane.ts) lives on the same server: Fastify accepts
 * routes only until it listens, so they are added through `routes` (called before `listen`), or
 * by building the app with `buildAdminApp`, adding to it, then listening on it.
 */
import type { AddressInfo } from "node:net";
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from "fastify";
import type { HostPort } from "../config/types.js";
import type { Health } from "../observability/health.js";
import { type Logger, logListening } from "../observability/logger.js";
import type { Metrics } from "../observability/metrics.js";
import { sendError } from "./errors.js";

export interface AdminAppOptions {
  /** What /metrics serves: a Metrics, or the sum over the workers of a cluster. */
  metrics: Pick<Metrics, "metricsText" | "contentType">;
  health: Health;
  /** What /healthz reports besides `status` (the store's state), read on each request. */
  liveness?: () => Record<string, unknown>;
  /** Fastify logs through a child `{component: "admin"}`; per-request lines only at debug. */
  logger?: Logger;
}

export interface AdminServerOptions extends AdminAppOptions {
  /** Where to listen; port 0 picks a free port (tests). */
  bind: HostPort;
  /** Adds routes and plugins (the control-plane API) before the server starts listening. */
  routes?: (app: FastifyInstance) => void | Promise<void>;
}

export interface AdminServer {
  /** The bound address (the real port when `bind.port` was 0). */
  address: HostPort;
  /** The Fastify instance: `inject()`, decorators, hooks. It no longer accepts routes. */
  app: FastifyInstance;
  /** Stops listening, closes idle keep-alive connections and waits for requests in flight. */
  close(): Promise<void>;
}

/**
 * Fastify logs every request at info by default: a Prometheus scrape every 15 s and LB health
 * probes every few seconds would drown the connection lines. They go to debug; request errors
 * stay at error.
 */
class QuietRequests extends LogController {
  override incomingRequest(request: FastifyRequest): void {
    request.log.debug({ method: request.method, url: request.url }, "incoming request");
  }

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    if (error) {
      reply.log.error(
        { url: request.url, statusCode: reply.statusCode, err: error },
        "request errored",
      );
    } else {
      reply.log.debug(
        { url: request.url, statusCode: reply.statusCode, responseTime: reply.elapsedTime },
        "request completed",
      );
    }
  }
}

/**
 * Fastify's logger: a child `{component: "admin"}`. Below debug it is held at warn: Fastify's
 * own info lines ("Server listening at …" once per interface, 4xx notes) would duplicate or
 * drown linkgate's; its errors still come through. At debug and trace it follows the parent.
 */
function fastifyLogger(logger: Logger): FastifyBaseLogger {
  const verbose = logger.isLevelEnabled("debug") || !logger.isLevelEnabled("warn");
  return logger.child({ component: "admin" }, { level: verbose ? logger.level : "warn" });
}

/** The admin app with its routes, not listening: add routes, then `listen` (or `inject`). */
export function buildAdminApp(options: AdminAppOptions): FastifyInstance {
  const { metrics, health, logger, liveness } = options;
  const app: FastifyInstance = Fastify({
    ...(logger ? { loggerInstance: fastifyLogger(logger) } : { logger: false }),
    logController: new QuietRequests(),
    // Scrapes and probes are small GETs; the REST API can raise this per route.
    bodyLimit: 1 << 20,
  });

  app.get("/metrics", async (_request, reply) => {
    const text = await metrics.metricsText();
    return reply.type(metrics.contentType).header("cache-control", "no-store").send(text);
  });

  // Live while the process runs and the event loop answers; a store that is down is shown, but
  // changes neither this nor readiness: the data plane goes on with the policy in force.
  app.get("/healthz", async () => ({ status: "ok", ...liveness?.() }));

  app.get("/readyz", async (_request, reply) => {
    const { ready, reason } = health.status();
    if (ready) return { status: "ready" };
    return reply.code(503).send({ status: "not ready", reason });
  });

  // Every error in one format, {"error": {"code", "message"}}: the REST API's routes, and
  // requests that match no route but fail before the 404 (a body that is not JSON).
  app.setErrorHandler((error, request, reply) => sendError(request, reply, error));

  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send({
      error: { code: "NOT_FOUND", message: `no route ${request.method} ${request.url}` },
    });
  });

  return app;
}

/** Builds the admin app, lets `routes` add to it, and listens on `bind`. */
export async function startAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  const app = buildAdminApp(options);
  if (options.routes) await options.routes(app);
  await app.listen({ host: options.bind.host, port: options.bind.port });
  const bound = app.server.address() as AddressInfo;
  const address: HostPort = { host: bound.address, port: bound.port };
  if (options.logger) logListening(options.logger, "admin", address);

  let closing: Promise<void> | null = null;
  return {
    address,
    app,
    close() {
      closing ??= app.close();
      return closing;
    },
  };
}
