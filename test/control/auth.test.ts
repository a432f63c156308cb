/** Admin tokens from the environment, their comparison, bearer parsing, the failure counter. */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import {
  AdminTokens,
  AuthFailures,
  adminTokensFromEnv,
  bearerToken,
  principalOf,
} from "../../src/control/auth.js";
import { LinkgateError } from "../../src/errors/index.js";
import { tokenHash } from "../../src/store/ids.js";
import { ADMIN, openTempStore, tempDir, tenantInput } from "../store/helpers.js";

const LONG = "x".repeat(32);

describe("adminTokensFromEnv", () => {
  test("LINKGATE_ADMIN_TOKEN and the lines of LINKGATE_ADMIN_TOKEN_FILE", async (t) => {
    const file = join(tempDir(t), "tokens");
    writeFileSync(
      file,
      `# rotation: old, then new\n\n  ${"a".repeat(40)}  \r\n${"b".repeat(64)}\n`,
    );
    assert.deepEqual(
      await adminTokensFromEnv({
        LINKGATE_ADMIN_TOKEN: ` ${LONG}\n`,
        LINKGATE_ADMIN_TOKEN_FILE: file,
      }),
      [LONG, "a".repeat(40), "b".repeat(64)],
    );
    assert.deepEqual(await adminTokensFromEnv({}), []);
    assert.deepEqual(await adminTokensFromEnv({ LINKGATE_ADMIN_TOKEN: "  " }), []);
  });

  test("a short token or an unreadable file is CONFIG_ADMIN_TOKEN, naming where", async (t) => {
    const file = join(tempDir(t), "tokens");
    writeFileSync(file, `${LONG}\nshort\n`);
    const rejects = (env: NodeJS.ProcessEnv, message: RegExp) =>
      assert.rejects(adminTokensFromEnv(env), (e: unknown) => {
        assert.ok(e instanceof LinkgateError);
        assert.equal(e.code, "CONFIG_ADMIN_TOKEN");
        assert.match(e.message, message);
        return true;
      });
    await rejects({ LINKGATE_ADMIN_TOKEN: "secret" }, /LINKGATE_ADMIN_TOKEN has 6 characters/);
    await rejects({ LINKGATE_ADMIN_TOKEN_FILE: file }, /line 2 has 5 characters/);
    await rejects({ LINKGATE_ADMIN_TOKEN_FILE: join(file, "nope") }, /cannot be read/);
  });
});

describe("AdminTokens", () => {
  test("matches any of its tokens, names it by a fingerprint, refuses the rest", () => {
    const tokens = new AdminTokens([LONG, `${LONG}2`]);
    const first = tokens.match(LONG);
    const second = tokens.match(`${LONG}2`);
    assert.match(first ?? "", /^admin:[0-9a-f]{8}$/);
    assert.match(second ?? "", /^admin:[0-9a-f]{8}$/);
    assert.notEqual(first, second);
    for (const wrong of ["", LONG.slice(1), `${LONG}3`, LONG.toUpperCase()]) {
      assert.equal(tokens.match(wrong), null, wrong);
    }
    assert.equal(new AdminTokens([]).match(LONG), null);
  });
});

describe("bearerToken", () => {
  test("the token of a Bearer header, or null", () => {
    assert.equal(bearerToken("Bearer abc"), "abc");
    assert.equal(bearerToken("bearer  abc "), "abc");
    assert.equal(bearerToken(undefined), null);
    assert.equal(bearerToken("Basic abc"), null);
    assert.equal(bearerToken("Bearer"), null);
    assert.equal(bearerToken("Bearer a b"), null);
  });
});

describe("AuthFailures", () => {
  test("blocks an address past the limit until its window ends", () => {
    const f = new AuthFailures({ maxFailures: 2, windowMs: 1000, maxAddresses: 10 });
    f.failed("a", 0);
    assert.equal(f.blockedFor("a", 10), 0);
    f.failed("a", 10);
    assert.equal(f.blockedFor("a", 10), 990);
    assert.equal(f.blockedFor("b", 10), 0);
    assert.equal(f.blockedFor("a", 1000), 0, "the window ended");
    f.failed("c", 0);
    f.succeeded("c");
    assert.equal(f.size, 0);
  });

  test("holds at most maxAddresses, dropping the oldest", () => {
    const f = new AuthFailures({ maxFailures: 1, windowMs: 1000, maxAddresses: 3 });
    for (const a of ["a", "b", "c", "d", "e"]) f.failed(a, 0);
    assert.equal(f.size, 3);
    assert.equal(f.blockedFor("a", 1), 0, "forgotten");
    assert.equal(f.blockedFor("e", 1), 999);
  });
});

describe("principalOf", () => {
  test("admin tokens, live tenant tokens; not revoked or unknown ones", async (t) => {
    const { store } = openTempStore(t);
    await store.createTenant(tenantInput("m"), ADMIN);
    const token = await store.createToken(
      { tenantId: "m", label: null, hash: tokenHash("lgt_live") },
      "admin:x",
    );
    const admins = new AdminTokens([LONG]);
    assert.equal((await principalOf(LONG, admins, store))?.kind, "admin");
    assert.deepEqual(await principalOf("lgt_live", admins, store), {
      kind: "tenant",
      tenantId: "m",
      tokenId: token.id,
      actor: `token:${token.id}`,
    });
    assert.equal(await principalOf("lgt_live", admins, null), null);
    assert.equal(await principalOf("lgt_other", admins, store), null);
    assert.equal(await principalOf("live", admins, store), null);
    await store.revokeToken("m", token.id, "admin:x");
    assert.equal(await principalOf("lgt_live", admins, store), null);
  });
});
