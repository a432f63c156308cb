/** TenantHosts: host names to tenants, exactly as the gateway maps the SNI. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { hostName } from "../../src/backend/hosts.js";
import { LinkgateError, TenantHosts } from "../../src/backend/index.js";
import { CompiledPolicy } from "../../src/policy/index.js";
import { config, tenant } from "../helpers/config.js";
import { HOST_PATTERNS } from "./helpers.js";

const hosts = new TenantHosts({
  hostPatterns: HOST_PATTERNS,
  hostnames: { megacorp: ["api.megacorp.com"], initech: ["initech.example.org"] },
});

describe("TenantHosts", () => {
  test("maps pattern hosts and exact host names to their tenant", () => {
    assert.equal(hosts.tenantOf("megacorp.api.example.com"), "megacorp");
    assert.equal(hosts.tenantOf("megacorp.privatelink.example.com"), "megacorp");
    assert.equal(hosts.tenantOf("api.megacorp.com"), "megacorp");
    assert.equal(hosts.tenantOf("initech.example.org"), "initech");
    assert.equal(hosts.hostBelongsToTenant("megacorp.api.example.com", "megacorp"), true);
    assert.equal(hosts.hostBelongsToTenant("initech.api.example.com", "megacorp"), false);
    assert.equal(hosts.hostBelongsToTenant("initech.example.org", "megacorp"), false);
  });

  test("reads names as Host headers write them: port, upper case, one trailing dot", () => {
    for (const host of [
      "megacorp.api.example.com:443",
      "MegaCorp.API.Example.com",
      "megacorp.api.example.com.",
      "megacorp.api.example.com.:8443",
    ]) {
      assert.equal(hosts.tenantOf(host), "megacorp", host);
    }
  });

  test("{tenant} is exactly one label, and other names belong to no tenant", () => {
    for (const host of [
      "a.megacorp.api.example.com", // two labels where {tenant} is one
      ".api.example.com",
      "api.example.com",
      "megacorp.api.example.com.evil.test",
      "megacorp.api.example.co",
      "megacorp_.api.example.com",
      "megacorp.api.example.com..",
      "megacorp.api.example.com:",
      "megacorp.api.example.com:http",
      "megacorp.api.example.com:123456",
      "[::1]:443",
      "127.0.0.1",
      "",
      "mega corp.api.example.com",
    ]) {
      assert.equal(hosts.tenantOf(host), null, host);
    }
  });

  test("agrees with the gateway's own host resolution", () => {
    const policy = new CompiledPolicy(
      config({
        tenants: [
          tenant("megacorp", { hostnames: ["api.megacorp.com"] }),
          tenant("initech", { hostnames: ["initech.example.org"] }),
          tenant("globex"),
        ],
      }),
    );
    for (const host of [
      "megacorp.api.example.com",
      "initech.privatelink.example.com",
      "globex.api.example.com",
      "api.megacorp.com",
      "initech.example.org",
      "x.globex.api.example.com",
      "api.example.com",
      "example.com",
    ]) {
      const gateway = policy.tenantForHost(host)?.id ?? null;
      assert.equal(hosts.tenantOf(host), gateway, host);
    }
  });

  test("hostName normalises or refuses", () => {
    assert.equal(hostName("A.Example.COM.:443"), "a.example.com");
    assert.equal(hostName("10.0.0.1"), null);
    assert.equal(hostName("[2001:db8::1]"), null);
    assert.equal(hostName("a..b"), null);
  });

  test("rejects what linkgate's configuration rejects, with BACKEND_BAD_OPTION", () => {
    const bad = (options: ConstructorParameters<typeof TenantHosts>[0], pattern: RegExp) =>
      assert.throws(
        () => new TenantHosts(options),
        (e: unknown) =>
          e instanceof LinkgateError && e.code === "BACKEND_BAD_OPTION" && pattern.test(e.message),
      );
    bad({ hostPatterns: ["api.example.com"] }, /no \{tenant\} placeholder/);
    bad({ hostPatterns: ["{tenant}-x.example.com"] }, /whole label/);
    bad({ hostPatterns: ["{tenant}.API.example.com"] }, /lower case/);
    bad({ hostPatterns: ["{tenant}.example.com", "api.{tenant}.com"] }, /api\.example\.com/);
    bad({ hostnames: { megacorp: ["API.megacorp.com"] } }, /lower-case DNS host name/);
    bad({ hostnames: { megacorp: ["a.com"], initech: ["a.com"] } }, /both megacorp and initech/);
    bad({ hostnames: { "-x": ["a.com"] } }, /tenant id/);
    bad({}, /needs hostPatterns or hostnames/);
  });
});
