/**
 * The REST API, route by route: shapes, codes, authentication and tenant isolation, through
 * Fastify's inject. Every answer is also checked against the route's OpenAPI description
 * (harness.ts), and the last test checks that every route and every code was exercised.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { HTTP_STATUS } from "../../src/control/errors.js";
import { API_ROUTES } from "../../src/control/routes/index.js";
import { fileRuleId } from "../../src/store/ids.js";
import type { ObservedIdentity } from "../../src/store/types.js";
import { tenant } from "../helpers/config.js";
import { AZURE, GCP, VPCE, VPCE2 } from "../store/helpers.js";
import { ADMIN_TOKEN, ADMIN_TOKEN_2, type Api, fileConfig, seen, startApi } from "./harness.js";

// biome-ignore lint/suspicious/noExplicitAny: JSON answers are read freely
type Json = Record<string, any>;

const T = "/v1/tenants";

/** Creates an API tenant and returns it. */
async function create(api: Api, body: Json): Promise<Json> {
  return api.ok(201, "POST", T, { body });
}

/** Mints a token for `tenantId` and returns its secret. */
async function tokenFor(api: Api, tenantId: string): Promise<string> {
  const minted = await api.ok<Json>(201, "POST", `${T}/${tenantId}/tokens`, {
    body: { label: "test" },
  });
  return minted.token;
}

function observation(over: Partial<ObservedIdentity>): ObservedIdentity {
  return {
    tenantId: "megacorp",
    identity: VPCE,
    provider: "aws",
    listener: "privatelink",
    lastSource: "10.0.0.1",
    firstSeenAt: Date.UTC(2025, 5, 1, 11),
    lastSeenAt: Date.UTC(2025, 5, 1, 11, 30),
    allowed: 10,
    denied: 0,
    lastReason: "POLICY_LINK_ALLOWED",
    ...over,
  };
}

async function observe(api: Api, ...observed: ObservedIdentity[]): Promise<void> {
  await api.store?.recordActivity({ ruleHits: [], observed });
}

describe("authentication", () => {
  test("no token: 401 AUTH_REQUIRED with WWW-Authenticate; a bad one: 401 AUTH_INVALID", async (t) => {
    const api = await startApi(t);
    const none = await api.call("GET", T, { token: null });
    assert.equal(none.statusCode, 401);
    assert.equal(none.json().error.code, "AUTH_REQUIRED");
    assert.match(String(none.headers["www-authenticate"]), /^Bearer/);
    await api.fails(401, "AUTH_REQUIRED", "GET", T, {
      token: null,
      headers: { authorization: `Basic ${Buffer.from("a:b").toString("base64")}` },
    });
    await api.fails(401, "AUTH_INVALID", "GET", T, { token: "wrong" });
    await api.fails(401, "AUTH_INVALID", "GET", T, { token: `${ADMIN_TOKEN}x` });
    await api.fails(401, "AUTH_INVALID", "GET", T, { token: "lgt_notarealtoken" });
  });

  test("every admin token works (rotation); the audit names which one", async (t) => {
    const api = await startApi(t);
    await create(api, { id: "megacorp" });
    await api.ok(200, "PATCH", `${T}/megacorp`, {
      token: ADMIN_TOKEN_2,
      body: { enforcement: "report-only" },
    });
    const audit = await api.ok<Json>(200, "GET", `${T}/megacorp/audit`);
    const [update, creation] = audit.items;
    assert.match(update.actor, /^admin:[0-9a-f]{8}$/);
    assert.match(creation.actor, /^admin:[0-9a-f]{8}$/);
    assert.notEqual(update.actor, creation.actor);
    assert.ok(!JSON.stringify(audit).includes(ADMIN_TOKEN), "no token in the audit log");
  });

  test("repeated failures from one address: 429 with Retry-After, for any token, until the window ends", async (t) => {
    const api = await startApi(t, {
      authFailures: { maxFailures: 3, windowMs: 60_000, maxAddresses: 100 },
    });
    const from = (remoteAddress: string, token = "guess") =>
      api.call("GET", T, { token, remoteAddress });
    for (let i = 0; i < 3; i++) assert.equal((await from("192.0.2.1")).statusCode, 401);
    const limited = await from("192.0.2.1");
    assert.equal(limited.statusCode, 429);
    assert.equal(limited.json().error.code, "AUTH_RATE_LIMITED");
    assert.equal(limited.headers["retry-after"], "60");
    assert.equal((await from("192.0.2.1", ADMIN_TOKEN)).statusCode, 429, "even a valid token");
    assert.equal((await from("192.0.2.2", ADMIN_TOKEN)).statusCode, 200, "other addresses pass");
    api.clock.at += 45_000;
    assert.equal((await from("192.0.2.1")).headers["retry-after"], "15");
    api.clock.at += 15_000;
    assert.equal((await from("192.0.2.1", ADMIN_TOKEN)).statusCode, 200, "the window ended");
  });

  test("a tenant token sees its tenant only; every other tenant answers like a missing one", async (t) => {
    const api = await startApi(t);
    await create(api, { id: "alpha", allow: { rules: [{ link: VPCE }] } });
    const beta = await create(api, { id: "beta", allow: { rules: [{ link: GCP }] } });
    const alpha = await tokenFor(api, "alpha");
    const betaRule = beta.allow.rules[0].id;
    assert.equal((await api.ok<Json>(200, "GET", `${T}/alpha`, { token: alpha })).id, "alpha");
    const missing = await api.fails(404, "TENANT_NOT_FOUND", "GET", `${T}/nobody`, {
      token: alpha,
    });
    const requests: [string, string, Json?][] = [
      ["GET", `${T}/beta`],
      ["PATCH", `${T}/beta`, { enforcement: "report-only" }],
      ["GET", `${T}/beta/rules`],
      ["POST", `${T}/beta/rules`, { link: AZURE }],
      ["PUT", `${T}/beta/rules`, { rules: [] }],
      ["DELETE", `${T}/beta/rules/${betaRule}`],
      ["GET", `${T}/beta/observed`],
      ["POST", `${T}/beta/observed/${GCP}/allow`],
      ["GET", `${T}/beta/tokens`],
      ["GET", `${T}/beta/audit`],
      ["GET", `${T}/filecorp`],
    ];
    for (const [method, url, body] of requests) {
      const error = await api.fails(404, "TENANT_NOT_FOUND", method, url, { token: alpha, body });
      assert.equal(error.message, String(missing.message).replace("nobody", url.split("/")[3]));
    }
    const untouched = await api.ok<Json>(200, "GET", `${T}/beta`);
    assert.equal(untouched.enforcement, "enforce");
    assert.equal(untouched.allow.rules.length, 1);
  });

  test("admin-only routes answer 403 AUTH_FORBIDDEN to a tenant token", async (t) => {
    const api = await startApi(t);
    await create(api, { id: "alpha" });
    const alpha = await tokenFor(api, "alpha");
    await api.fails(403, "AUTH_FORBIDDEN", "GET", T, { token: alpha });
    await api.fails(403, "AUTH_FORBIDDEN", "POST", T, { token: alpha, body: { id: "x" } });
    await api.fails(403, "AUTH_FORBIDDEN", "DELETE", `${T}/alpha`, { token: alpha });
    await api.fails(403, "AUTH_FORBIDDEN", "POST", `${T}/alpha/tokens`, { token: alpha });
    await api.fails(403, "AUTH_FORBIDDEN", "PATCH", `${T}/alpha`, {
      token: alpha,
      body: { upstream: "10.9.9.9:443" },
    });
    await api.fails(403, "AUTH_FORBIDDEN", "PATCH", `${T}/alpha`, {
      token: alpha,
      body: { hostnames: ["alpha.example.org"] },
    });
    const changed = await api.ok<Json>(200, "PATCH", `${T}/alpha`, {
      token: alpha,
      body: { enforcement: "report-only", allow: { publicInternet: true } },
    });
    assert.equal(changed.enforcement, "report-only");
  });

  test("a revoked token and the token of a deleted tenant get 401", async (t) => {
    const api = await startApi(t);
    await create(api, { id: "alpha" });
    const secret = await tokenFor(api, "alpha");
    const [listed] = (await api.ok<Json>(200, "GET", `${T}/alpha/tokens`)).items;
    await api.ok(200, "GET", `${T}/alpha`, { token: secret });
    await api.ok(204, "DELETE", `${T}/alpha/tokens/${listed.id}`);
    await api.fails(401, "AUTH_INVALID", "GET", `${T}/alpha`, { token: secret });

    const other = await tokenFor(api, "alpha");
    await api.ok(204, "DELETE", `${T}/alpha`);
    await api.fails(401, "AUTH_INVALID", "GET", `${T}/alpha`, { token: other });
  });
});

describe("tenants", () => {
  test("POST creates a tenant: 201, its shape, ETag, Location, enforced before the answer", async (t) => {
    const api = await startApi(t);
    const response = await api.call("POST", T, {
      body: {
        id: "megacorp",
        hostnames: ["api.megacorp.com"],
        upstream: "10.0.9.10:443",
        enforcement: "report-only",
        allow: {
          publicInternet: false,
          rules: [
            { link: VPCE, description: "prod VPC" },
            { cidr: "203.0.113.0/24", expiresAt: "2025-12-31T23:59:59Z" },
          ],
        },
      },
    });
    assert.equal(response.statusCode, 201, response.body);
    const body = response.json();
    assert.equal(response.headers.location, "/v1/tenants/megacorp");
    assert.equal(response.headers.etag, '"1"');
    assert.equal(body.etag, '"1"');
    assert.equal(response.headers["linkgate-version"], "1");
    assert.equal(response.headers["linkgate-enforced"], "true");
    assert.deepEqual(api.port.enforcedVersions, [1]);
    const [vpce, office] = body.allow.rules;
    assert.deepEqual(
      { ...body, allow: { ...body.allow, rules: [] } },
      {
        id: "megacorp",
        hostnames: ["api.megacorp.com"],
        upstream: "10.0.9.10:443",
        enforcement: "report-only",
        allow: { publicInternet: false, rules: [] },
        managedBy: "api",
        createdAt: "2025-06-01T12:00:00.000Z",
        updatedAt: "2025-06-01T12:00:00.000Z",
        etag: '"1"',
      },
    );
    assert.deepEqual(vpce, {
      id: vpce.id,
      link: VPCE,
      cidr: null,
      description: "prod VPC",
      expiresAt: null,
      expired: false,
      createdAt: "2025-06-01T12:00:00.000Z",
      hits: 0,
      lastHitAt: null,
    });
    assert.equal(office.expiresAt, "2025-12-31T23:59:59.000Z");
    assert.deepEqual(await api.ok(200, "GET", `${T}/megacorp`), body);
  });

  test("defaults: enforce, no host names, routing.upstream, no allow list", async (t) => {
    const api = await startApi(t);
    const body = await create(api, { id: "plain" });
    assert.equal(body.enforcement, "enforce");
    assert.deepEqual(body.hostnames, []);
    assert.equal(body.upstream, null);
    assert.equal(body.allow, null);
    const nullAllow = await create(api, { id: "plain2", allow: null });
    assert.equal(nullAllow.allow, null);
    const empty = await create(api, { id: "plain3", allow: {} });
    assert.deepEqual(empty.allow, { publicInternet: false, rules: [] });
  });

  test("refused: existing ids, taken host names, bad values, unknown fields", async (t) => {
    const api = await startApi(t);
    await create(api, { id: "megacorp", hostnames: ["api.megacorp.com"] });
    await api.fails(409, "TENANT_EXISTS", "POST", T, { body: { id: "megacorp" } });
    await api.fails(409, "TENANT_EXISTS", "POST", T, { body: { id: "filecorp" } });
    const taken = [
      ["api.megacorp.com", /tenant "megacorp"/],
      ["api.filecorp.com", /tenant "filecorp"/],
      ["filecorp.api.example.com", /through the host pattern/],
      ["megacorp.api.example.com", /through the host pattern/],
    ] as const;
    for (const [host, message] of taken) {
      const error = await api.fails(409, "HOSTNAME_TAKEN", "POST", T, {
        body: { id: "initech", hostnames: [host] },
      });
      assert.match(String(error.message), message);
    }
    // The id's own pattern host name belongs to someone else's exact host name.
    await create(api, { id: "hoarder", hostnames: ["newco.api.example.com"] });
    await api.fails(409, "HOSTNAME_TAKEN", "POST", T, { body: { id: "newco" } });
    await api.fails(400, "HOSTNAME_INVALID", "POST", T, {
      body: { id: "initech", hostnames: ["API.initech.com"] },
    });
    await api.fails(400, "HOSTNAME_INVALID", "POST", T, {
      body: { id: "initech", hostnames: ["a.initech.com", "a.initech.com"] },
    });
    await api.fails(400, "UPSTREAM_INVALID", "POST", T, {
      body: { id: "initech", upstream: "10.0.0.1" },
    });
    const unknown = await api.fails(400, "UNKNOWN_FIELD", "POST", T, {
      body: { id: "initech", enforcment: "enforce" },
    });
    assert.match(String(unknown.message), /did you mean "enforcement"/);
    assert.deepEqual(unknown.details, [
      { path: "enforcment", code: "UNKNOWN_FIELD", message: unknown.message },
    ]);
    await api.fails(400, "UNKNOWN_FIELD", "POST", T, {
      body: { id: "initech", allow: { rules: [{ lnk: VPCE }] } },
    });
    await api.fails(400, "VALIDATION_FAILED", "POST", T, { body: { id: "Initech" } });
    await api.fails(400, "VALIDATION_FAILED", "POST", T, { body: { id: "-initech" } });
    await api.fails(400, "VALIDATION_FAILED", "POST", T, { body: {} });
    await api.fails(400, "VALIDATION_FAILED", "POST", T, { body: [] });
    await api.fails(400, "VALIDATION_FAILED", "POST", T, {
      body: { id: "initech", enforcement: "strict" },
    });
    await api.fails(400, "VALIDATION_FAILED", "POST", T, { body: { id: "initech", allow: 5 } });
    await api.fails(400, "VALIDATION_FAILED", "POST", T);
    const list = await api.ok<Json>(200, "GET", T);
    assert.deepEqual(
      list.items.map((x: Json) => x.id),
      ["filecorp", "hoarder", "megacorp"],
      "nothing of the refused requests was created",
    );
  });

  test("UPSTREAM_REQUIRED without routing.upstream", async (t) => {
    const base = fileConfig();
    const api = await startApi(t, {
      config: {
        ...base,
        routing: { ...base.routing, upstream: null },
        tenants: [tenant("filecorp", { upstream: { host: "10.0.0.1", port: 443 } })],
      },
    });
    await api.fails(400, "UPSTREAM_REQUIRED", "POST", T, { body: { id: "initech" } });
    await create(api, { id: "initech", upstream: "[2001:DB8::1]:443" });
    const got = await api.ok<Json>(200, "GET", `${T}/initech`);
    assert.equal(got.upstream, "[2001:db8::1]:443", "stored in canonical form");
    await api.fails(400, "UPSTREAM_REQUIRED", "PATCH", `${T}/initech`, {
      body: { upstream: null },
    });
  });

  test("GET /v1/tenants merges file and store tenants by id, page by page", async (t) => {
    const api = await startApi(t);
    for (const id of ["delta", "alpha", "golf", "charlie", "echo"]) await create(api, { id });
    const ids: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const url: string = cursor === null ? `${T}?limit=2` : `${T}?limit=2&cursor=${cursor}`;
      const page: Json = await api.ok(200, "GET", url);
      ids.push(...page.items.map((x: Json) => x.id));
      cursor = page.nextCursor;
      pages++;
    } while (cursor !== null);
    assert.deepEqual(ids, ["alpha", "charlie", "delta", "echo", "filecorp", "golf"]);
    assert.equal(pages, 3);
    const all = await api.ok<Json>(200, "GET", T);
    assert.equal(all.nextCursor, null);
    const file = all.items.find((x: Json) => x.id === "filecorp");
    assert.equal(file.managedBy, "config");
    assert.equal(file.createdAt, null);
    assert.equal(file.allow.rules[0].id, fileRuleId("filecorp", VPCE, null));
    await api.fails(400, "VALIDATION_FAILED", "GET", `${T}?limit=0`);
    await api.fails(400, "VALIDATION_FAILED", "GET", `${T}?limit=1001`);
    await api.fails(400, "VALIDATION_FAILED", "GET", `${T}?limit=ten`);
    await api.fails(400, "VALIDATION_FAILED", "GET", `${T}?limit=1&limit=2`);
    await api.fails(400, "CURSOR_INVALID", "GET", `${T}?cursor=nonsense`);
    const rulesCursor = Buffer.from(JSON.stringify({ l: "rules", k: "x" })).toString("base64url");
    await api.fails(400, "CURSOR_INVALID", "GET", `${T}?cursor=${rulesCursor}`);
    await api.fails(400, "UNKNOWN_FIELD", "GET", `${T}?limt=2`);
  });

  test("GET a file tenant: read-only view with stable rule ids and their hits", async (t) => {
    const api = await startApi(t);
    const ruleId = fileRuleId("filecorp", VPCE, null);
    await api.store?.recordActivity({
      ruleHits: [{ tenantId: "filecorp", ruleId, hits: 4, lastHitAt: Date.UTC(2025, 5, 1) }],
      observed: [],
    });
    const body = await api.ok<Json>(200, "GET", `${T}/filecorp`);
    assert.equal(body.managedBy, "config");
    assert.equal(body.upstream, null);
    assert.deepEqual(body.hostnames, ["api.filecorp.com"]);
    assert.equal(body.allow.rules[0].hits, 4);
    assert.equal(body.allow.rules[0].lastHitAt, "2025-06-01T00:00:00.000Z");
    assert.match(body.etag, /^"c-[0-9a-f]{16}"$/);
    await api.fails(404, "TENANT_NOT_FOUND", "GET", `${T}/nobody`);
  });

  test("PATCH changes settings; allow: null lifts the restriction; If-Match guards it", async (t) => {
    const api = await startApi(t);
    const created = await create(api, { id: "m", allow: { rules: [{ link: VPCE }] } });
    api.clock.at += 1000;
    const patched = await api.call("PATCH", `${T}/m`, {
      body: {
        enforcement: "report-only",
        hostnames: ["m.example.org"],
        upstream: "10.1.1.1:8443",
        allow: { publicInternet: true },
      },
      headers: { "if-match": created.etag },
    });
    assert.equal(patched.statusCode, 200, patched.body);
    const p = patched.json();
    assert.equal(p.enforcement, "report-only");
    assert.deepEqual(p.hostnames, ["m.example.org"]);
    assert.equal(p.upstream, "10.1.1.1:8443");
    assert.equal(p.allow.publicInternet, true);
    assert.equal(p.allow.rules.length, 1);
    assert.equal(p.updatedAt, "2025-06-01T12:00:01.000Z");
    assert.notEqual(p.etag, created.etag);
    assert.equal(patched.headers.etag, p.etag);

    await api.fails(412, "PRECONDITION_FAILED", "PATCH", `${T}/m`, {
      body: { enforcement: "enforce" },
      headers: { "if-match": created.etag },
    });
    await api.fails(412, "PRECONDITION_FAILED", "PATCH", `${T}/m`, {
      body: { enforcement: "enforce" },
      headers: { "if-match": `W/${p.etag}` },
    });
    await api.ok(200, "PATCH", `${T}/m`, { body: {}, headers: { "if-match": `"0", ${p.etag}` } });
    await api.ok(200, "PATCH", `${T}/m`, { body: {}, headers: { "if-match": "*" } });
    const lifted = await api.ok<Json>(200, "PATCH", `${T}/m`, {
      body: { allow: null, upstream: null, hostnames: [] },
    });
    assert.equal(lifted.allow, null);
    assert.equal(lifted.upstream, null);
    await api.fails(400, "UNKNOWN_FIELD", "PATCH", `${T}/m`, {
      body: { allow: { publicInternet: true, rules: [] } },
    });
    await api.fails(404, "TENANT_NOT_FOUND", "PATCH", `${T}/nobody`, { body: {} });
    await create(api, { id: "other", hostnames: ["other.example.org"] });
    await api.fails(409, "HOSTNAME_TAKEN", "PATCH", `${T}/m`, {
      body: { hostnames: ["other.example.org"] },
    });
  });

  test("file tenants are read-only: 409 TENANT_MANAGED_BY_CONFIG for every change", async (t) => {
    const api = await startApi(t);
    const rule = fileRuleId("filecorp", VPCE, null);
    const changes: [string, string, Json?][] = [
      ["PATCH", `${T}/filecorp`, { enforcement: "report-only" }],
      ["DELETE", `${T}/filecorp`],
      ["POST", `${T}/filecorp/rules`, { link: GCP }],
      ["PUT", `${T}/filecorp/rules`, { rules: [] }],
      ["DELETE", `${T}/filecorp/rules/${rule}`],
    ];
    for (const [method, url, body] of changes) {
      await api.fails(409, "TENANT_MANAGED_BY_CONFIG", method, url, { body });
    }
    assert.equal((await api.store?.changesSince(0))?.version, 0, "nothing written");
  });

  test("DELETE removes the tenant; its audit log stays readable by admins", async (t) => {
    const api = await startApi(t);
    const created = await create(api, { id: "gone" });
    await api.fails(412, "PRECONDITION_FAILED", "DELETE", `${T}/gone`, {
      headers: { "if-match": '"99"' },
    });
    const response = await api.call("DELETE", `${T}/gone`, {
      headers: { "if-match": created.etag },
    });
    assert.equal(response.statusCode, 204);
    assert.equal(response.body, "");
    assert.equal(response.headers["linkgate-enforced"], "true");
    await api.fails(404, "TENANT_NOT_FOUND", "GET", `${T}/gone`);
    await api.fails(404, "TENANT_NOT_FOUND", "DELETE", `${T}/gone`);
    const audit = await api.ok<Json>(200, "GET", `${T}/gone/audit`);
    assert.deepEqual(
      audit.items.map((e: Json) => e.action),
      ["tenant.delete", "tenant.create"],
    );
    await api.fails(404, "TENANT_NOT_FOUND", "GET", `${T}/never/audit`);
  });

  test("a change not confirmed in time is still answered, with Linkgate-Enforced: false", async (t) => {
    const api = await startApi(t);
    api.port.enforcement = "timeout";
    const response = await api.call("POST", T, { body: { id: "slow" } });
    assert.equal(response.statusCode, 201);
    assert.equal(response.headers["linkgate-enforced"], "false");
    await api.ok(200, "GET", `${T}/slow`);
  });
});

describe("request bodies", () => {
  test("too large: 413 BODY_TOO_LARGE; not JSON: 400 BODY_INVALID; not JSON media: 415", async (t) => {
    const api = await startApi(t, { maxApiBodyBytes: 2048 });
    await api.fails(413, "BODY_TOO_LARGE", "POST", T, {
      body: { id: "big", hostnames: Array.from({ length: 200 }, (_, i) => `h${i}.example.com`) },
    });
    await api.fails(400, "BODY_INVALID", "POST", T, {
      raw: '{"id": "x",',
      headers: { "content-type": "application/json" },
    });
    await api.fails(400, "BODY_INVALID", "POST", T, {
      raw: '{"id": "x", "__proto__": {"admin": true}}',
      headers: { "content-type": "application/json" },
    });
    await api.fails(400, "BODY_INVALID", "POST", T, {
      raw: "",
      headers: { "content-type": "application/json" },
    });
    await api.fails(415, "UNSUPPORTED_MEDIA_TYPE", "POST", T, {
      raw: "id=x",
      headers: { "content-type": "text/plain" },
    });
    await api.fails(400, "VALIDATION_FAILED", "DELETE", `${T}/filecorp`, {
      raw: "{}",
      headers: { "content-type": "application/json" },
    });
  });
});

describe("rules", () => {
  test("POST adds a rule (201, id, Location); GET lists them; DELETE removes one", async (t) => {
    const api = await startApi(t);
    await create(api, { id: "m", allow: { rules: [{ link: VPCE }] } });
    const response = await api.call("POST", `${T}/m/rules`, {
      body: { link: AZURE, cidr: "10.1.0.0/16", description: "Azure PE" },
    });
    assert.equal(response.statusCode, 201, response.body);
    const rule = response.json();
    assert.match(rule.id, /^r_[0-9a-f]{20}$/);
    assert.equal(response.headers.location, `/v1/tenants/m/rules/${rule.id}`);
    assert.equal(response.headers.etag, '"2"');
    assert.deepEqual(
      { ...rule, id: "" },
      {
        id: "",
        link: AZURE,
        cidr: "10.1.0.0/16",
        description: "Azure PE",
        expiresAt: null,
        expired: false,
        createdAt: "2025-06-01T12:00:00.000Z",
        hits: 0,
        lastHitAt: null,
      },
    );
    const listed = await api.call("GET", `${T}/m/rules`);
    assert.equal(listed.headers.etag, '"2"');
    assert.deepEqual(
      listed.json().items.map((r: Json) => r.link),
      [VPCE, AZURE],
    );
    const del = await api.call("DELETE", `${T}/m/rules/${rule.id}`);
    assert.equal(del.statusCode, 204);
    assert.equal(del.headers["linkgate-version"], "3");
    await api.fails(404, "RULE_NOT_FOUND", "DELETE", `${T}/m/rules/${rule.id}`);
    await api.fails(404, "TENANT_NOT_FOUND", "GET", `${T}/nobody/rules`);
  });

  test("identities in their exact form, CIDRs canonical, duplicates and empty rules refused", async (t) => {
    const api = await startApi(t);
    await create(api, { id: "m", allow: {} });
    const bad: [Json, string, RegExp?][] = [
      [
        { link: "aws:vpce-0123456789ABCDEF0" },
        "RULE_INVALID_LINK",
        /did you mean "aws:vpce-0123456789abcdef0"/,
      ],
      [
        { link: "aws:vpce-0123456789abcdef" },
        "RULE_INVALID_LINK",
        /17 \(or, for older endpoints, 8\)/,
      ],
      [{ link: "aws:vpce-0123456789abcdefg" }, "RULE_INVALID_LINK"],
      [{ link: "vpce-0123456789abcdef0" }, "RULE_INVALID_LINK", /provider/],
      [{ link: "azure:4294967296" }, "RULE_INVALID_LINK", /uint32/],
      [{ link: "azure:0553665985" }, "RULE_INVALID_LINK"],
      [{ link: "gcp:18446744073709551616" }, "RULE_INVALID_LINK", /uint64/],
      [{ link: "" }, "RULE_INVALID_LINK"],
      [{ cidr: "10.0.0.1/8" }, "RULE_INVALID_CIDR", /did you mean "10.0.0.0\/8"/],
      [{ cidr: "10.0.0.1" }, "RULE_INVALID_CIDR", /did you mean "10.0.0.1\/32"/],
      [{ cidr: "10.0.0.0/33" }, "RULE_INVALID_CIDR"],
      [{ description: "nothing else" }, "RULE_EMPTY"],
      [{}, "RULE_EMPTY"],
      [{ link: 5 }, "RULE_INVALID_LINK"],
      [{ link: VPCE, port: 443 }, "UNKNOWN_FIELD"],
      [{ link: VPCE, description: "x".repeat(1025) }, "VALIDATION_FAILED"],
    ];
    for (const [body, code, message] of bad) {
      const error = await api.fails(400, code, "POST", `${T}/m/rules`, { body });
      if (message !== undefined) assert.match(String(error.message), message, JSON.stringify(body));
    }
    await api.ok(201, "POST", `${T}/m/rules`, { body: { link: "aws:vpce-0123abcd" } });
    await api.ok(201, "POST", `${T}/m/rules`, { body: { link: "azure:4294967295" } });
    await api.ok(201, "POST", `${T}/m/rules`, { body: { link: "gcp:18446744073709551615" } });
    const v6 = await api.ok<Json>(201, "POST", `${T}/m/rules`, {
      body: { cidr: "2001:DB8:0:0::/32" },
    });
    assert.equal(v6.cidr, "2001:db8::/32");
    await api.fails(409, "RULE_DUPLICATE", "POST", `${T}/m/rules`, {
      body: { cidr: "2001:db8::/32", description: "same network" },
    });
    await api.ok(201, "POST", `${T}/m/rules`, { body: { link: AZURE } });
    await api.ok(201, "POST", `${T}/m/rules`, { body: { link: AZURE, cidr: "10.0.0.0/8" } });
    await api.fails(409, "RULE_DUPLICATE", "POST", `${T}/m/rules`, {
      body: { link: AZURE, cidr: "10.0.0.0/8" },
    });
  });

  test("expiresAt: in the future, RFC 3339; the rule reads as expired once it passes", async (t) => {
    const api = await startApi(t);
    await create(api, { id: "m", allow: {} });
    await api.fails(400, "RULE_INVALID_EXPIRY", "POST", `${T}/m/rules`, {
      body: { link: VPCE, expiresAt: "2025-06-01T11:59:59Z" },
    });
    await api.fails(400, "RULE_INVALID_EXPIRY", "POST", `${T}/m/rules`, {
      body: { link: VPCE, expiresAt: "2025-06-01T12:00:00Z" },
    });
    await api.fails(400, "RULE_INVALID_EXPIRY", "POST", `${T}/m/rules`, {
      body: { link: VPCE, expiresAt: "2025-02-30T12:00:00Z" },
    });
    for (const expiresAt of ["2025-06-02", "tomorrow", "2025-06-02T12:00:00"]) {
      await api.fails(400, "VALIDATION_FAILED", "POST", `${T}/m/rules`, {
        body: { link: VPCE, expiresAt },
      });
    }
    for (const expiresAt of [
      "2025-06-01T24:00:00Z",
      "2025-06-01T12:00:60Z",
      "2025-06-01T13:00:00+24:00",
    ]) {
      await api.fails(400, "RULE_INVALID_EXPIRY", "POST", `${T}/m/rules`, {
        body: { link: VPCE, expiresAt },
      });
    }
    const rule = await api.ok<Json>(201, "POST", `${T}/m/rules`, {
      body: { link: VPCE, expiresAt: "2025-06-01T16:00:00+02:00" },
    });
    assert.equal(rule.expiresAt, "2025-06-01T14:00:00.000Z", "the same instant, in UTC");
    const later = await api.ok<Json>(201, "POST", `${T}/m/rules`, {
      body: { link: GCP, expiresAt: "2025-06-01T12:00:01.500Z" },
    });
    assert.equal(later.expired, false);
    api.clock.at += 2000;
    const rules = (await api.ok<Json>(200, "GET", `${T}/m/rules`)).items;
    assert.deepEqual(
      rules.map((r: Json) => r.expired),
      [false, true],
    );
  });

  test("a tenant holds at most limits.maxRulesPerTenant rules: 409 RULES_LIMIT", async (t) => {
    const api = await startApi(t, { maxRulesPerTenant: 2 });
    await api.fails(409, "RULES_LIMIT", "POST", T, {
      body: { id: "m", allow: { rules: [{ link: VPCE }, { link: GCP }, { link: AZURE }] } },
    });
    await create(api, { id: "m", allow: { rules: [{ link: VPCE }, { link: GCP }] } });
    await api.fails(409, "RULES_LIMIT", "POST", `${T}/m/rules`, { body: { link: AZURE } });
    await api.fails(409, "RULES_LIMIT", "PUT", `${T}/m/rules`, {
      body: { rules: [{ link: VPCE }, { link: GCP }, { link: AZURE }] },
    });
    await api.ok(200, "PUT", `${T}/m/rules`, { body: { rules: [{ link: AZURE }] } });
  });

  test("PUT replaces the list at once, keeps ids of kept rules, honours If-Match", async (t) => {
    const api = await startApi(t);
    const created = await create(api, {
      id: "m",
      allow: { rules: [{ link: VPCE }, { link: GCP }] },
    });
    const [vpce] = created.allow.rules;
    const put = await api.call("PUT", `${T}/m/rules`, {
      body: { rules: [{ link: AZURE }, { link: VPCE, description: "kept" }] },
      headers: { "if-match": created.etag },
    });
    assert.equal(put.statusCode, 200, put.body);
    const items = put.json().items;
    assert.deepEqual(
      items.map((r: Json) => [r.link, r.description]),
      [
        [AZURE, null],
        [VPCE, "kept"],
      ],
    );
    assert.equal(items[1].id, vpce.id);
    assert.equal(put.json().nextCursor, null);
    await api.fails(412, "PRECONDITION_FAILED", "PUT", `${T}/m/rules`, {
      body: { rules: [] },
      headers: { "if-match": created.etag },
    });
    const dup = await api.fails(409, "RULE_DUPLICATE", "PUT", `${T}/m/rules`, {
      body: { rules: [{ link: GCP }, { link: GCP, description: "again" }] },
    });
    assert.match(String(dup.message), /rules\[1\].*rules\[0\]/);
    const invalid = await api.fails(400, "RULE_INVALID_CIDR", "PUT", `${T}/m/rules`, {
      body: { rules: [{ link: GCP }, { cidr: "300.0.0.0/8" }] },
    });
    assert.equal((invalid.details as Json[])[0].path, "rules[1].cidr");
    const now = await api.ok<Json>(200, "GET", `${T}/m/rules`);
    assert.equal(now.items.length, 2, "refused replacements changed nothing");
    const open = await create(api, { id: "open" });
    assert.equal(open.allow, null);
    const restricted = await api.ok<Json>(200, "PUT", `${T}/open/rules`, {
      body: { rules: [{ link: VPCE }] },
    });
    assert.equal(restricted.items.length, 1);
    assert.deepEqual((await api.ok<Json>(200, "GET", `${T}/open`)).allow.publicInternet, false);
  });

  test("rules page by cursor; a cursor whose rule is gone is refused", async (t) => {
    const api = await startApi(t);
    const links = Array.from({ length: 5 }, (_, i) => `azure:${i + 1}`);
    await create(api, { id: "m", allow: { rules: links.map((link) => ({ link })) } });
    const first = await api.ok<Json>(200, "GET", `${T}/m/rules?limit=2`);
    const second = await api.ok<Json>(
      200,
      "GET",
      `${T}/m/rules?limit=2&cursor=${first.nextCursor}`,
    );
    const third = await api.ok<Json>(
      200,
      "GET",
      `${T}/m/rules?limit=2&cursor=${second.nextCursor}`,
    );
    assert.deepEqual(
      [...first.items, ...second.items, ...third.items].map((r: Json) => r.link),
      links,
    );
    assert.equal(third.nextCursor, null);
    await api.ok(204, "DELETE", `${T}/m/rules/${second.items[1].id}`);
    await api.fails(400, "CURSOR_INVALID", "GET", `${T}/m/rules?cursor=${second.nextCursor}`);
  });

  test("hit counts and last hit per rule come from the store's counters", async (t) => {
    const api = await startApi(t);
    const created = await create(api, { id: "m", allow: { rules: [{ link: VPCE }] } });
    const id = created.allow.rules[0].id;
    await api.store?.recordActivity({
      ruleHits: [{ tenantId: "m", ruleId: id, hits: 41, lastHitAt: Date.UTC(2025, 5, 1, 11) }],
      observed: [],
    });
    const [rule] = (await api.ok<Json>(200, "GET", `${T}/m/rules`)).items;
    assert.equal(rule.hits, 41);
    assert.equal(rule.lastHitAt, "2025-06-01T11:00:00.000Z");
  });
});

describe("lockout guard", () => {
  const recent = Date.UTC(2025, 5, 1, 11, 30);

  test("deleting the rule that carries all the traffic: 409 naming it; ?force=true does it", async (t) => {
    const api = await startApi(t);
    const created = await create(api, { id: "megacorp", allow: { rules: [{ link: VPCE }] } });
    await observe(api, observation({}));
    const url = `${T}/megacorp/rules/${created.allow.rules[0].id}`;
    const error = await api.fails(409, "LOCKOUT_GUARD", "DELETE", url);
    assert.match(String(error.message), /aws:vpce-0123456789abcdef0/);
    assert.match(String(error.message), /force=true/);
    assert.deepEqual(
      (error.wouldCut as Json[]).map((o) => o.identity),
      [VPCE],
    );
    assert.equal((await api.ok<Json>(200, "GET", `${T}/megacorp`)).allow.rules.length, 1);
    await api.ok(204, "DELETE", `${url}?force=true`);
    await api.fails(400, "VALIDATION_FAILED", "DELETE", `${url}?force=yes`);
  });

  test("cutting part of the traffic passes: the rest still works", async (t) => {
    const api = await startApi(t);
    const created = await create(api, {
      id: "megacorp",
      allow: { rules: [{ link: VPCE }, { link: GCP }] },
    });
    await observe(
      api,
      observation({}),
      observation({ identity: GCP, provider: "gcp", lastSeenAt: recent }),
    );
    await api.ok(204, "DELETE", `${T}/megacorp/rules/${created.allow.rules[0].id}`);
    const last = (await api.ok<Json>(200, "GET", `${T}/megacorp/rules`)).items[0].id;
    await api.fails(409, "LOCKOUT_GUARD", "DELETE", `${T}/megacorp/rules/${last}`);
  });

  test("switching to enforce when the rules admit none of the traffic: 409", async (t) => {
    const api = await startApi(t);
    await create(api, {
      id: "megacorp",
      enforcement: "report-only",
      allow: { rules: [{ link: VPCE2 }] },
    });
    await observe(
      api,
      observation({ identity: AZURE, provider: "azure", allowed: 0, denied: 3 }),
      observation({ allowed: 0, denied: 1 }),
    );
    const error = await api.fails(409, "LOCKOUT_GUARD", "PATCH", `${T}/megacorp`, {
      body: { enforcement: "enforce" },
    });
    assert.deepEqual(
      (error.wouldCut as Json[]).map((o) => o.identity).sort(),
      [AZURE, VPCE].sort(),
    );
    await api.ok(201, "POST", `${T}/megacorp/observed/${AZURE}/allow`);
    const enforced = await api.ok<Json>(200, "PATCH", `${T}/megacorp`, {
      body: { enforcement: "enforce" },
    });
    assert.equal(enforced.enforcement, "enforce", "one identity still admitted: allowed");
  });

  test("publicInternet: false, and a PUT that drops what carries the traffic: 409", async (t) => {
    const api = await startApi(t);
    await create(api, {
      id: "megacorp",
      allow: { publicInternet: true, rules: [{ cidr: "203.0.113.0/24" }] },
    });
    await observe(
      api,
      observation({
        identity: "public:198.51.100.0/24",
        provider: "public",
        listener: "public",
        lastSource: "198.51.100.7",
        lastReason: "POLICY_PUBLIC_ALLOWED",
      }),
    );
    await api.fails(409, "LOCKOUT_GUARD", "PATCH", `${T}/megacorp`, {
      body: { allow: { publicInternet: false } },
    });
    await api.ok(200, "PUT", `${T}/megacorp/rules`, {
      body: { rules: [{ cidr: "198.51.100.0/24" }] },
    });
    await api.ok(200, "PATCH", `${T}/megacorp`, { body: { allow: { publicInternet: false } } });
    await api.fails(409, "LOCKOUT_GUARD", "PUT", `${T}/megacorp/rules`, {
      body: { rules: [{ cidr: "203.0.113.0/24" }] },
      headers: { "if-match": (await api.ok<Json>(200, "GET", `${T}/megacorp`)).etag },
    });
    await api.ok(200, "PUT", `${T}/megacorp/rules?force=true`, {
      body: { rules: [{ cidr: "203.0.113.0/24" }] },
    });
  });

  test("a first rule on an unrestricted tenant that admits none of its traffic: 409", async (t) => {
    const api = await startApi(t);
    await create(api, { id: "megacorp" });
    await observe(api, observation({ lastReason: "POLICY_NO_RESTRICTION" }));
    await api.fails(409, "LOCKOUT_GUARD", "POST", `${T}/megacorp/rules`, {
      body: { link: GCP },
    });
    await api.ok(201, "POST", `${T}/megacorp/rules`, { body: { link: VPCE } });
  });

  test("report-only tenants, old traffic, and traffic already denied pass", async (t) => {
    const api = await startApi(t);
    const dry = await create(api, {
      id: "megacorp",
      enforcement: "report-only",
      allow: { rules: [{ link: VPCE }] },
    });
    await observe(api, observation({}));
    await api.ok(204, "DELETE", `${T}/megacorp/rules/${dry.allow.rules[0].id}`);

    const old = await create(api, { id: "oldco", allow: { rules: [{ link: VPCE }] } });
    await observe(
      api,
      observation({ tenantId: "oldco", lastSeenAt: Date.UTC(2025, 4, 31, 11, 59) }),
    );
    await api.ok(204, "DELETE", `${T}/oldco/rules/${old.allow.rules[0].id}`);

    const denied = await create(api, { id: "deniedco", allow: { rules: [{ link: GCP }] } });
    await observe(api, observation({ tenantId: "deniedco", allowed: 0, denied: 5 }));
    await api.ok(204, "DELETE", `${T}/deniedco/rules/${denied.allow.rules[0].id}`);
  });
});

describe("observed identities", () => {
  test("GET lists what reached the tenant; POST …/allow turns one into a rule", async (t) => {
    const api = await startApi(t);
    await create(api, { id: "megacorp", enforcement: "report-only", allow: {} });
    await observe(
      api,
      observation({
        identity: AZURE,
        provider: "azure",
        allowed: 0,
        denied: 2,
        lastReason: "POLICY_LINK_NOT_ALLOWED",
      }),
      observation({
        identity: "public:203.0.113.0/24",
        provider: "public",
        listener: "public",
        lastSource: "203.0.113.9",
      }),
      observation({ tenantId: "other", identity: GCP, provider: "gcp" }),
    );
    const list = await api.ok<Json>(200, "GET", `${T}/megacorp/observed`);
    assert.deepEqual(list.items[0], {
      identity: AZURE,
      provider: "azure",
      listener: "privatelink",
      lastSource: "10.0.0.1",
      firstSeenAt: "2025-06-01T11:00:00.000Z",
      lastSeenAt: "2025-06-01T11:30:00.000Z",
      allowed: 0,
      denied: 2,
      lastReason: "POLICY_LINK_NOT_ALLOWED",
    });
    assert.deepEqual(
      list.items.map((o: Json) => o.identity),
      [AZURE, "public:203.0.113.0/24"],
    );
    const page = await api.ok<Json>(200, "GET", `${T}/megacorp/observed?limit=1`);
    const rest = await api.ok<Json>(200, "GET", `${T}/megacorp/observed?cursor=${page.nextCursor}`);
    assert.deepEqual(
      rest.items.map((o: Json) => o.identity),
      ["public:203.0.113.0/24"],
    );

    const link = await api.ok<Json>(201, "POST", `${T}/megacorp/observed/${AZURE}/allow`, {
      body: { description: "found in the observed feed" },
    });
    assert.deepEqual(
      [link.link, link.cidr, link.description],
      [AZURE, null, "found in the observed feed"],
    );
    const network = await api.ok<Json>(
      201,
      "POST",
      `${T}/megacorp/observed/${encodeURIComponent("public:203.0.113.0/24")}/allow`,
    );
    assert.deepEqual([network.link, network.cidr], [null, "203.0.113.0/24"]);
    await api.fails(409, "RULE_DUPLICATE", "POST", `${T}/megacorp/observed/${AZURE}/allow`);
    await api.fails(404, "OBSERVED_NOT_FOUND", "POST", `${T}/megacorp/observed/${GCP}/allow`);
  });

  test("file tenants are observed too, and stay read-only", async (t) => {
    const api = await startApi(t);
    await observe(api, observation({ tenantId: "filecorp", identity: GCP, provider: "gcp" }));
    const list = await api.ok<Json>(200, "GET", `${T}/filecorp/observed`);
    assert.equal(list.items.length, 1);
    await api.fails(409, "TENANT_MANAGED_BY_CONFIG", "POST", `${T}/filecorp/observed/${GCP}/allow`);
  });
});

describe("tokens", () => {
  test("minted once with its secret, listed without it, revocable by the tenant itself", async (t) => {
    const api = await startApi(t);
    await create(api, { id: "m" });
    const response = await api.call("POST", `${T}/m/tokens`, { body: { label: "ci" } });
    assert.equal(response.statusCode, 201);
    assert.equal(response.headers["cache-control"], "no-store");
    const minted = response.json();
    assert.match(minted.token, /^lgt_[A-Za-z0-9_-]{43}$/);
    assert.equal(minted.tenant, "m");
    assert.equal(minted.label, "ci");
    assert.match(minted.createdBy, /^admin:/);
    const noBody = await api.ok<Json>(201, "POST", `${T}/m/tokens`);
    assert.equal(noBody.label, null);

    const list = await api.ok<Json>(200, "GET", `${T}/m/tokens`, { token: minted.token });
    assert.equal(list.items.length, 2);
    assert.ok(!JSON.stringify(list).includes(minted.token), "no secret in the list");
    assert.ok(list.items.every((x: Json) => !("token" in x)));

    await api.ok(204, "DELETE", `${T}/m/tokens/${noBody.id}`, { token: minted.token });
    await api.fails(404, "TOKEN_NOT_FOUND", "DELETE", `${T}/m/tokens/tok_0000000000000000`);
    await api.fails(401, "AUTH_INVALID", "GET", `${T}/m`, { token: noBody.token });
    const after = await api.ok<Json>(200, "GET", `${T}/m/tokens`);
    const revoked = after.items.find((x: Json) => x.id === noBody.id);
    assert.equal(revoked.revokedAt, "2025-06-01T12:00:00.000Z");
    await api.fails(404, "TENANT_NOT_FOUND", "POST", `${T}/nobody/tokens`);
    await api.fails(400, "UNKNOWN_FIELD", "POST", `${T}/m/tokens`, { body: { name: "x" } });
  });

  test("a file tenant's token reads its tenant; the last use is recorded", async (t) => {
    const api = await startApi(t);
    const secret = await tokenFor(api, "filecorp");
    api.clock.at += 5000;
    const got = await api.ok<Json>(200, "GET", `${T}/filecorp`, { token: secret });
    assert.equal(got.id, "filecorp");
    await api.app.close();
    const [token] =
      (await api.store?.listTokens("filecorp", { limit: 10, after: null }))?.items ?? [];
    assert.equal(token.lastUsedAt, Date.UTC(2025, 5, 1, 12, 0, 5));
  });
});

describe("whoami", () => {
  test("a token says what it is: admin, or which tenant and which token", async (t) => {
    const api = await startApi(t);
    await create(api, { id: "m" });
    assert.deepEqual(await api.ok<Json>(200, "GET", "/v1/whoami"), {
      kind: "admin",
      tenant: null,
      tokenId: null,
    });
    const minted = await api.ok<Json>(201, "POST", `${T}/m/tokens`);
    const response = await api.call("GET", "/v1/whoami", { token: minted.token });
    assert.equal(response.statusCode, 200);
    assert.equal(response.headers["cache-control"], "no-store");
    assert.deepEqual(response.json(), { kind: "tenant", tenant: "m", tokenId: minted.id });
    await api.fails(401, "AUTH_REQUIRED", "GET", "/v1/whoami", { token: null });
    await api.fails(401, "AUTH_INVALID", "GET", "/v1/whoami", { token: "lgt_nope" });
  });
});

describe("audit", () => {
  test("every change, with its actor, before and after", async (t) => {
    const api = await startApi(t);
    await create(api, { id: "m", allow: { rules: [{ link: VPCE }] } });
    const secret = await tokenFor(api, "m");
    const [token] = (await api.ok<Json>(200, "GET", `${T}/m/tokens`)).items;
    await api.ok(201, "POST", `${T}/m/rules`, { token: secret, body: { link: GCP } });
    const audit = await api.ok<Json>(200, "GET", `${T}/m/audit`, { token: secret });
    assert.deepEqual(
      audit.items.map((e: Json) => [e.action, e.actor.split(":")[0]]),
      [
        ["rule.create", "token"],
        ["token.create", "admin"],
        ["tenant.create", "admin"],
      ],
    );
    assert.equal(audit.items[0].actor, `token:${token.id}`);
    assert.equal(audit.items[0].before, null);
    assert.equal(audit.items[0].after.link, GCP);
    assert.equal(audit.items[0].version, 2);
    const page = await api.ok<Json>(200, "GET", `${T}/m/audit?limit=2`);
    assert.equal(page.items.length, 2);
    const rest = await api.ok<Json>(200, "GET", `${T}/m/audit?limit=2&cursor=${page.nextCursor}`);
    assert.deepEqual(
      rest.items.map((e: Json) => e.action),
      ["tenant.create"],
    );
  });
});

describe("without a store", () => {
  test("file tenants are listed and read; every change is 409 STORE_READ_ONLY", async (t) => {
    const api = await startApi(t, { store: false });
    const list = await api.ok<Json>(200, "GET", T);
    assert.deepEqual(
      list.items.map((x: Json) => x.id),
      ["filecorp"],
    );
    const got = await api.ok<Json>(200, "GET", `${T}/filecorp`);
    assert.equal(got.allow.rules[0].hits, 0);
    await api.ok(200, "GET", `${T}/filecorp/rules`);
    await api.fails(409, "STORE_READ_ONLY", "POST", T, { body: { id: "new" } });
    await api.fails(409, "STORE_READ_ONLY", "PATCH", `${T}/filecorp`, { body: {} });
    await api.fails(409, "STORE_READ_ONLY", "POST", `${T}/filecorp/rules`, {
      body: { link: GCP },
    });
    await api.fails(409, "STORE_NOT_CONFIGURED", "GET", `${T}/filecorp/observed`);
    await api.fails(409, "STORE_NOT_CONFIGURED", "GET", `${T}/filecorp/audit`);
    await api.fails(409, "STORE_NOT_CONFIGURED", "POST", `${T}/filecorp/tokens`);
    await api.fails(409, "STORE_NOT_CONFIGURED", "GET", `${T}/filecorp/tokens`);
    await api.fails(409, "STORE_NOT_CONFIGURED", "DELETE", `${T}/filecorp/tokens/tok_1`);
    await api.fails(401, "AUTH_INVALID", "GET", T, { token: "lgt_anything" });
  });
});

describe("failures", () => {
  test("a store that fails answers 503 STORE_UNAVAILABLE; unknown routes 404 NOT_FOUND", async (t) => {
    const api = await startApi(t);
    await create(api, { id: "m" });
    await api.store?.close();
    await api.fails(503, "STORE_UNAVAILABLE", "GET", `${T}/m`);
    await api.fails(503, "STORE_UNAVAILABLE", "POST", T, { body: { id: "n" } });
    const missing = await api.call("GET", "/v1/nope");
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.json().error.code, "NOT_FOUND");
    seen.codes.add("NOT_FOUND");
  });
});

test("every route answered with success, and every code was answered, somewhere above", () => {
  const routes = API_ROUTES.map((r) => `${r.method} ${r.path}`);
  assert.deepEqual(
    routes.filter((r) => !seen.routes.has(r)),
    [],
    "routes never answered with success",
  );
  const untested = Object.keys(HTTP_STATUS).filter(
    (c) => c !== "INTERNAL_ERROR" && !seen.codes.has(c),
  );
  assert.deepEqual(untested, [], "codes never answered");
});
