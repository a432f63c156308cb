/** ControlContext.change: concurrent changes of one tenant are retried, unless If-Match says not to. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ControlContext } from "../../src/control/context.js";
import { LinkgateError } from "../../src/errors/index.js";
import type { Store } from "../../src/store/types.js";
import { ADMIN, openTempStore, tenantInput } from "../store/helpers.js";
import { fileConfig, TestPort } from "./harness.js";

function contextWith(store: Store): ControlContext {
  return new ControlContext({
    store,
    port: new TestPort(fileConfig()),
    adminTokens: [],
    limits: { maxRulesPerTenant: 10, maxApiBodyBytes: 4096 },
    version: "test",
  });
}

const admin = { kind: "admin", actor: "admin:test" } as const;

describe("ControlContext.change", () => {
  test("a change that raced another is computed again from the new state", async (t) => {
    const { store } = openTempStore(t);
    await store.createTenant(tenantInput("m"), ADMIN);
    const ctx = contextWith(store);
    const revisions: number[] = [];
    const { result, headers } = await ctx.change(
      admin,
      "m",
      undefined,
      async (s, current, meta) => {
        revisions.push(current.revision);
        // Another request changes the tenant between this one's read and its write.
        if (revisions.length === 1)
          await s.updateTenant("m", { enforcement: "report-only" }, ADMIN);
        return s.updateTenant("m", { hostnames: ["m.example.org"] }, meta);
      },
    );
    assert.deepEqual(revisions, [1, 2]);
    assert.equal(result.tenant.enforcement, "report-only", "the other change is kept");
    assert.deepEqual(result.tenant.hostnames, ["m.example.org"]);
    assert.equal(headers["linkgate-version"], "3");
  });

  test("with If-Match, a race is a 412, not a retry", async (t) => {
    const { store } = openTempStore(t);
    await store.createTenant(tenantInput("m"), ADMIN);
    const ctx = contextWith(store);
    let calls = 0;
    await assert.rejects(
      ctx.change(admin, "m", '"1"', async (s, _current, meta) => {
        calls++;
        await s.updateTenant("m", { enforcement: "report-only" }, ADMIN);
        return s.updateTenant("m", { hostnames: [] }, meta);
      }),
      (e: unknown) => e instanceof LinkgateError && e.code === "PRECONDITION_FAILED",
    );
    assert.equal(calls, 1);
  });

  test("gives up after three races", async (t) => {
    const { store } = openTempStore(t);
    await store.createTenant(tenantInput("m"), ADMIN);
    const ctx = contextWith(store);
    let calls = 0;
    await assert.rejects(
      ctx.change(admin, "m", undefined, async (s, _current, meta) => {
        calls++;
        await s.updateTenant("m", {}, ADMIN);
        return s.updateTenant("m", {}, meta);
      }),
      (e: unknown) => e instanceof LinkgateError && e.code === "PRECONDITION_FAILED",
    );
    assert.equal(calls, 3);
  });
});
