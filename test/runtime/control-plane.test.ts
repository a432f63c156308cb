/**
 * The control plane in a running linkgate, over real sockets: a SQLite store, the REST API on
 * the admin endpoint, and connections through the data plane (PROXY v2 + TLS to a real origin).
 * What the issue asks to see work: a rule added over the API admits the next connection; a rule
 * deleted closes the live connection it carried; an expiring rule; the observed feed after
 * allowed and denied connections; one-click allow; the lockout guard; tenant isolation; a
 * restart keeps everything; file tenants are read-only.
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import { describe, test } from "node:test";
import tls from "node:tls";
import { connectThrough } from "../helpers/gateway.js";
import { waitFor } from "../helpers/programs.js";
import { ADMIN, env, type Json, pp2, type Running, start } from "../helpers/runtime.js";
import { serveStarted, spawnServe } from "../helpers/serve.js";

const VPCE = "aws:vpce-0123456789abcdef0";
const OTHER = "aws:vpce-0fedcba9876543210";
const HOST = "megacorp.api.example.com";

/** A TLS session through linkgate, held open; `closed` resolves when linkgate cuts it. */
async function hold(r: Running, link: string | null) {
  const raw = net.connect(r.listener);
  await new Promise((res) => raw.once("connect", res));
  raw.write(pp2(link));
  const s = tls.connect({ socket: raw, servername: HOST, rejectUnauthorized: false });
  s.on("error", () => {});
  await new Promise((res, rej) => {
    s.once("secureConnect", res);
    s.once("close", () => rej(new Error("closed before the handshake: not admitted")));
  });
  const closed = new Promise<void>((res) => s.once("close", () => res()));
  return { socket: s, closed };
}

const through = (r: Running, link: string | null) =>
  connectThrough({ ...r.listener, preamble: pp2(link), servername: HOST });

describe("control plane in a running linkgate", () => {
  test("a rule added over the API admits the next connection; deleting it closes the live one", {
    timeout: 30_000,
  }, async (t) => {
    const e = await env(t);
    if (e === null) return;
    const r = await start(t, e);
    assert.equal(
      (
        await r.api("POST", "/v1/tenants", {
          id: "megacorp",
          allow: { publicInternet: false, rules: [] },
        })
      ).status,
      201,
    );
    assert.equal((await through(r, VPCE)).ok, false, "no rule: denied");

    const added = await r.api("POST", "/v1/tenants/megacorp/rules", {
      link: VPCE,
      description: "prod VPC",
    });
    assert.equal(added.status, 201);
    assert.equal(added.headers.get("linkgate-enforced"), "true", "in force before the answer");
    assert.equal((await through(r, VPCE)).ok, true, "the next connection is admitted");
    assert.equal((await through(r, OTHER)).ok, false, "another endpoint is not");

    const live = await hold(r, VPCE);
    const deleted = await r.api("DELETE", `/v1/tenants/megacorp/rules/${added.json.id}?force=true`);
    assert.equal(deleted.status, 204);
    await live.closed; // POLICY_REVOKED
    assert.equal((await through(r, VPCE)).ok, false);
  });

  test("an expiring rule stops admitting, and cuts its live connections, at its instant", {
    timeout: 30_000,
  }, async (t) => {
    const e = await env(t);
    if (e === null) return;
    const r = await start(t, e);
    await r.api("POST", "/v1/tenants", {
      id: "megacorp",
      allow: { publicInternet: false, rules: [] },
    });
    const expiresAt = new Date(Date.now() + 1500).toISOString();
    assert.equal(
      (await r.api("POST", "/v1/tenants/megacorp/rules", { link: VPCE, expiresAt })).status,
      201,
    );
    const live = await hold(r, VPCE);
    assert.equal((await through(r, VPCE)).ok, true);
    await live.closed;
    const late = Date.now() - Date.parse(expiresAt);
    assert.ok(late > -50 && late < 1000, `cut ${late} ms after expiresAt`);
    assert.equal((await through(r, VPCE)).ok, false);
  });

  test("the observed feed, rule hits, one-click allow", { timeout: 30_000 }, async (t) => {
    const e = await env(t);
    if (e === null) return;
    const r = await start(t, e);
    await r.api("POST", "/v1/tenants", {
      id: "megacorp",
      allow: { publicInternet: false, rules: [{ link: VPCE }] },
    });
    assert.equal((await through(r, VPCE)).ok, true);
    assert.equal((await through(r, VPCE)).ok, true);
    assert.equal((await through(r, OTHER)).ok, false);
    const observed = await waitFor(
      async () => {
        const o = await r.api("GET", "/v1/tenants/megacorp/observed");
        return o.json.items.length === 2 ? o.json.items : undefined;
      },
      { timeoutMs: 5000, what: "both identities in the observed feed (flushed once a second)" },
    );
    const by = new Map<string, Json>(observed.map((o: Json) => [o.identity, o]));
    assert.equal(by.get(VPCE).allowed, 2);
    assert.equal(by.get(OTHER).denied, 1);
    assert.equal(by.get(OTHER).lastReason, "POLICY_LINK_NOT_ALLOWED");
    assert.equal(by.get(OTHER).lastSource, "10.1.2.3");
    const rules = await r.api("GET", "/v1/tenants/megacorp/rules");
    assert.equal(rules.json.items[0].hits, 2);

    const allowed = await r.api(
      "POST",
      `/v1/tenants/megacorp/observed/${encodeURIComponent(OTHER)}/allow`,
    );
    assert.equal(allowed.status, 201);
    assert.equal((await through(r, OTHER)).ok, true, "one click, and the endpoint is admitted");
  });

  test("the lockout guard refuses to cut all of an enforcing tenant's traffic, unless forced", {
    timeout: 30_000,
  }, async (t) => {
    const e = await env(t);
    if (e === null) return;
    const r = await start(t, e);
    const created = await r.api("POST", "/v1/tenants", {
      id: "megacorp",
      allow: { publicInternet: false, rules: [{ link: VPCE }] },
    });
    assert.equal((await through(r, VPCE)).ok, true);
    await waitFor(
      async () => (await r.api("GET", "/v1/tenants/megacorp/observed")).json.items.length === 1,
      { timeoutMs: 5000, what: "the connection in the observed feed" },
    );
    const ruleId = created.json.allow.rules[0].id;
    const refused = await r.api("DELETE", `/v1/tenants/megacorp/rules/${ruleId}`);
    assert.equal(refused.status, 409);
    assert.equal(refused.json.error.code, "LOCKOUT_GUARD");
    assert.match(refused.json.error.message, /aws:vpce-0123456789abcdef0/);
    assert.equal((await through(r, VPCE)).ok, true, "nothing changed");
    assert.equal(
      (await r.api("DELETE", `/v1/tenants/megacorp/rules/${ruleId}?force=true`)).status,
      204,
    );
    assert.equal((await through(r, VPCE)).ok, false);
  });

  test("tenant tokens see their tenant only; file tenants are read-only; a restart keeps everything", {
    timeout: 30_000,
  }, async (t) => {
    const e = await env(t);
    if (e === null) return;
    let r = await start(t, e);
    await r.api("POST", "/v1/tenants", {
      id: "megacorp",
      allow: { publicInternet: false, rules: [{ link: VPCE }] },
    });
    await r.api("POST", "/v1/tenants", { id: "initech" });
    const minted = await r.api("POST", "/v1/tenants/megacorp/tokens", { label: "ci" });
    assert.equal(minted.status, 201);
    const token = minted.json.token as string;
    assert.match(token, /^lgt_/);
    assert.equal((await r.api("GET", "/v1/tenants/megacorp", undefined, token)).status, 200);
    assert.equal((await r.api("GET", "/v1/tenants/initech", undefined, token)).status, 404);
    assert.equal((await r.api("GET", "/v1/tenants/initech/rules", undefined, token)).status, 404);
    const fileTenant = await r.api("PATCH", "/v1/tenants/filecorp", { enforcement: "report-only" });
    assert.equal(fileTenant.status, 409);
    assert.equal(fileTenant.json.error.code, "TENANT_MANAGED_BY_CONFIG");

    await r.stop();
    r = await start(t, e);
    assert.equal(
      (await r.api("GET", "/v1/tenants/megacorp", undefined, token)).status,
      200,
      "the token survives",
    );
    assert.equal((await through(r, VPCE)).ok, true, "the rule survives");
    assert.equal((await through(r, OTHER)).ok, false);
  });

  test("--workers 2: the primary owns the store and the API; every worker enforces each change", {
    timeout: 60_000,
  }, async (t) => {
    const e = await env(t);
    if (e === null) return;
    // The helper reads the log lines ("listening", "connection").
    writeFileSync(e.file, readFileSync(e.file, "utf8").replace("level: silent", "level: info"));
    const previous = process.env.LINKGATE_ADMIN_TOKEN;
    process.env.LINKGATE_ADMIN_TOKEN = ADMIN;
    const s = spawnServe(t, ["-c", e.file, "--workers", "2", "--no-watch"]);
    if (previous === undefined) delete process.env.LINKGATE_ADMIN_TOKEN;
    else process.env.LINKGATE_ADMIN_TOKEN = previous;
    await serveStarted(s);
    const listener = { host: "127.0.0.1", port: s.port("privatelink") };
    const api = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`http://127.0.0.1:${s.port("admin")}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${ADMIN}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const json: Json = await res.json().catch(() => null);
      return { status: res.status, headers: res.headers, json };
    };
    const connect = (link: string) =>
      connectThrough({ ...listener, preamble: pp2(link), servername: HOST });
    /** `n` connections: how many got through, and which workers served them. */
    const batch = async (link: string, n: number) => {
      const results = await Promise.all(Array.from({ length: n }, () => connect(link)));
      return results.filter((r) => r.ok).length;
    };

    assert.equal(
      (
        await api("POST", "/v1/tenants", {
          id: "megacorp",
          allow: { publicInternet: false, rules: [] },
        })
      ).status,
      201,
    );
    assert.equal(await batch(VPCE, 20), 0, "no rule: denied by every worker");
    const added = await api("POST", "/v1/tenants/megacorp/rules", { link: VPCE });
    assert.equal(added.status, 201);
    assert.equal(added.headers.get("linkgate-enforced"), "true", "applied by both workers first");
    // Batches until both workers have admitted some (the kernel picks the worker), all admitted.
    const allowedBy = () =>
      new Set(
        s
          .find("connection")
          .filter((l) => l.decision === "allow")
          .map((l) => l.worker),
      );
    let admitted = 0;
    do {
      assert.equal(await batch(VPCE, 20), 20, "admitted, whichever worker took it");
      admitted += 20;
    } while (allowedBy().size < 2 && admitted < 200);
    assert.deepEqual([...allowedBy()].sort(), [1, 2], "both workers enforce the new rule");

    // What the workers saw reaches the store through the primary.
    const observed = await waitFor(
      async () => {
        const o = await api("GET", "/v1/tenants/megacorp/observed");
        const vpce = o.json.items.find((x: { identity: string }) => x.identity === VPCE);
        return vpce !== undefined && vpce.allowed === admitted && vpce.denied === 20
          ? vpce
          : undefined;
      },
      { timeoutMs: 6000, what: "the workers' counts in the observed feed" },
    );
    assert.equal(observed.lastReason, "POLICY_LINK_ALLOWED");

    assert.equal(
      (await api("DELETE", `/v1/tenants/megacorp/rules/${added.json.id}?force=true`)).status,
      204,
    );
    assert.equal(await batch(VPCE, 20), 0, "denied again by every worker");
  });
});
