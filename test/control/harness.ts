/**
 * The REST API in-process for tests: the admin app with the control plane, a SQLite store in a
 * temporary directory, and a PolicyPort built on the project's real policy compiler, so that
 * the lockout guard is judged by real decisions. Every answer is checked against the route's
 * OpenAPI description: its schema, and, for errors, that the route documents the code.
 */
import assert from "node:assert/strict";
import type { TestContext } from "node:test";
import type { LightMyRequestResponse } from "fastify";
import type { LinkgateConfig, TenantConfig } from "../../src/config/types.js";
import { schemaIssuesFor } from "../../src/config/validate.js";
import { buildAdminApp } from "../../src/control/admin-server.js";
import { registerControlPlane } from "../../src/control/control-plane.js";
import { HTTP_STATUS } from "../../src/control/errors.js";
import type { EnforcedTenants, FilePolicy, PolicyPort } from "../../src/control/port.js";
import { type RouteSpec, routeErrors } from "../../src/control/route.js";
import { API_ROUTES } from "../../src/control/routes/index.js";
import { ErrorView } from "../../src/control/schemas.js";
import { parseIp } from "../../src/ip/address.js";
import { Health } from "../../src/observability/health.js";
import { Metrics } from "../../src/observability/metrics.js";
import { CompiledPolicy } from "../../src/policy/index.js";
import type { SqliteStore } from "../../src/store/sqlite/store.js";
import type { ObservedIdentity } from "../../src/store/types.js";
import { config, tenant } from "../helpers/config.js";
import { manualClock, openTempStore } from "../store/helpers.js";

export const ADMIN_TOKEN = "admin-token-0123456789abcdef0123456789abcdef";
export const ADMIN_TOKEN_2 = "admin-token-second-0123456789abcdef012345678";

/**
 * The runtime's side for tests. wouldDeny compiles the draft tenant alone with the real
 * compiler and decides each observation with the real `decide`; enforced records versions and
 * can be made to time out.
 */
export class TestPort implements PolicyPort {
  config: LinkgateConfig;
  readonly enforcedVersions: number[] = [];
  enforcement: "confirmed" | "timeout" = "confirmed";

  constructor(cfg: LinkgateConfig) {
    this.config = cfg;
  }

  file(): FilePolicy {
    return {
      tenants: new Map(this.config.tenants.map((t) => [t.id, t])),
      hostPatterns: this.config.routing.hostPatterns,
      defaultUpstream: this.config.routing.upstream !== null,
    };
  }

  wouldDeny(draft: TenantConfig, observations: readonly ObservedIdentity[]): ObservedIdentity[] {
    const host = "lockout-guard.test";
    const policy = new CompiledPolicy({
      ...this.config,
      routing: {
        ...this.config.routing,
        hostPatterns: [],
        upstream: this.config.routing.upstream ?? { host: "127.0.0.1", port: 9 },
      },
      tenants: [{ ...draft, hostnames: [host] }],
    });
    return observations.filter((o) => {
      const ip = o.lastSource === null ? null : parseIp(o.lastSource);
      const bytes = new Uint8Array(16);
      if (ip !== null) bytes.set(ip.bytes);
      const decision = policy.decide({
        sni: host,
        link: o.provider === "public" ? null : o.identity,
        sourceFamily: ip?.family ?? 0,
        sourceBytes: bytes,
      });
      return decision.verdict === "deny";
    });
  }

  enforced(version: number): Promise<void> {
    this.enforcedVersions.push(version);
    return this.enforcement === "confirmed"
      ? Promise.resolve()
      : Promise.reject(new Error("not confirmed within 100 ms"));
  }

  /** None: these tests read the store (stale reads are tested on a running linkgate). */
  enforcedTenants(): EnforcedTenants | null {
    return null;
  }
}

/** The configuration file of the tests: one file tenant, a host pattern, a default upstream. */
export function fileConfig(over: Partial<LinkgateConfig> = {}): LinkgateConfig {
  const base = config({
    tenants: [
      tenant("filecorp", {
        hostnames: ["api.filecorp.com"],
        allow: { rules: [{ link: "aws:vpce-0123456789abcdef0", description: "file rule" }] },
      }),
    ],
  });
  return {
    ...base,
    routing: { ...base.routing, hostPatterns: ["{tenant}.api.example.com"] },
    ...over,
  };
}

/** Which routes answered which statuses and codes, over a test file. */
export const seen = { routes: new Set<string>(), codes: new Set<string>() };

function routeOf(method: string, url: string): RouteSpec | undefined {
  // The path as the request will carry it: the URL parser resolves "." and ".." segments
  // ("/v1/tenants/./tokens" is "/v1/tenants/tokens", which no route serves).
  const path = new URL(url, "http://linkgate.invalid").pathname;
  return API_ROUTES.find((r) => {
    if (r.method !== method) return false;
    const pattern = new RegExp(`^${r.path.replace(/\{\w+\}/g, "[^/]+")}$`);
    return pattern.test(path);
  });
}

/** Asserts that an answer is what the route's OpenAPI description says it may be. */
function conforms(method: string, url: string, response: LightMyRequestResponse): void {
  const spec = routeOf(method, url);
  if (spec === undefined) return;
  const body = response.body === "" ? undefined : response.json();
  if (response.statusCode < 400) {
    const documented = spec.responses[response.statusCode];
    assert.ok(documented, `${method} ${spec.path} does not document ${response.statusCode}`);
    if (documented.schema !== undefined) {
      assert.deepEqual(schemaIssuesFor(documented.schema, body), [], `${method} ${spec.path}`);
    } else {
      assert.equal(body, undefined, `${method} ${spec.path} answers no body`);
    }
    if (documented.etag) assert.ok(response.headers.etag, "ETag header");
    if (documented.enforcement)
      assert.ok(response.headers["linkgate-enforced"], "Linkgate-Enforced");
    seen.routes.add(`${method} ${spec.path}`);
    return;
  }
  // Only the error itself: extra fields (details, wouldCut) are allowed.
  const { error } = body as { error: { code: string; message: string } };
  assert.deepEqual(
    schemaIssuesFor(ErrorView, { error: { code: error.code, message: error.message } }),
    [],
  );
  assert.equal(
    HTTP_STATUS[error.code as keyof typeof HTTP_STATUS],
    response.statusCode,
    `${error.code} has status ${response.statusCode}`,
  );
  assert.ok(
    routeErrors(spec).includes(error.code as never),
    `${method} ${spec.path} answered ${error.code}, which it does not document`,
  );
  seen.codes.add(error.code);
}

export interface CallOptions {
  token?: string | null;
  body?: unknown;
  /** Sent as is (a string) instead of JSON. */
  raw?: string;
  headers?: Record<string, string>;
  remoteAddress?: string;
}

export interface Api {
  app: ReturnType<typeof buildAdminApp>;
  store: SqliteStore | null;
  port: TestPort;
  clock: ReturnType<typeof manualClock>;
  call(method: string, url: string, options?: CallOptions): Promise<LightMyRequestResponse>;
  /** The JSON body of a call that must answer `status`. */
  ok<T = Record<string, unknown>>(
    status: number,
    method: string,
    url: string,
    options?: CallOptions,
  ): Promise<T>;
  /** Asserts a call answers `status` with error `code`; returns the error. */
  fails(
    status: number,
    code: string,
    method: string,
    url: string,
    options?: CallOptions,
  ): Promise<Record<string, unknown>>;
}

export async function startApi(
  t: TestContext,
  options: {
    store?: boolean;
    config?: LinkgateConfig;
    maxRulesPerTenant?: number;
    maxApiBodyBytes?: number;
    authFailures?: { maxFailures: number; windowMs: number; maxAddresses: number };
  } = {},
): Promise<Api> {
  const clock = manualClock(Date.UTC(2025, 5, 1, 12));
  const store = options.store === false ? null : openTempStore(t, { now: clock.now }).store;
  const port = new TestPort(options.config ?? fileConfig());
  const app = buildAdminApp({
    metrics: new Metrics({ defaultMetrics: false }),
    health: new Health(),
  });
  registerControlPlane(app, {
    store,
    port,
    adminTokens: [ADMIN_TOKEN, ADMIN_TOKEN_2],
    limits: {
      maxRulesPerTenant: options.maxRulesPerTenant ?? 1000,
      maxApiBodyBytes: options.maxApiBodyBytes ?? 1_048_576,
    },
    authFailures: options.authFailures,
    version: "0.0.0-test",
    now: clock.now,
  });
  await app.ready();
  t.after(() => app.close());

  const call = async (method: string, url: string, o: CallOptions = {}) => {
    const token = o.token === undefined ? ADMIN_TOKEN : o.token;
    const headers: Record<string, string> = { ...(o.headers ?? {}) };
    if (token !== null) headers.authorization = `Bearer ${token}`;
    let payload: string | undefined;
    if (o.raw !== undefined) payload = o.raw;
    else if (o.body !== undefined) {
      payload = JSON.stringify(o.body);
      headers["content-type"] ??= "application/json";
    }
    const response = await app.inject({
      method: method as "GET",
      url,
      headers,
      payload,
      remoteAddress: o.remoteAddress,
    });
    conforms(method, url, response);
    return response;
  };
  const ok = async <T>(status: number, method: string, url: string, o?: CallOptions) => {
    const response = await call(method, url, o);
    assert.equal(response.statusCode, status, `${method} ${url}: ${response.body}`);
    return (response.body === "" ? undefined : response.json()) as T;
  };
  const fails = async (
    status: number,
    code: string,
    method: string,
    url: string,
    o?: CallOptions,
  ) => {
    const response = await call(method, url, o);
    assert.equal(response.statusCode, status, `${method} ${url}: ${response.body}`);
    const body = response.json() as { error: Record<string, unknown> };
    assert.equal(body.error.code, code, String(body.error.message));
    return body.error;
  };
  return { app, store, port, clock, call, ok, fails };
}
