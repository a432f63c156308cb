/** The shipped examples pass `check`, and the YAML and JSON demos are the same configuration. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { parse } from "yaml";
import { formatConfigErrors, loadConfigFile } from "../../src/config/index.js";

const ROOT = new URL("../../", import.meta.url);
const path = (p: string) => new URL(p, ROOT).pathname;

for (const file of ["examples/demo.yaml", "examples/demo.json", "examples/linkgate.yaml"]) {
  test(`${file} passes check`, async () => {
    const r = await loadConfigFile(path(file));
    assert.ok(r.ok, r.ok ? "" : formatConfigErrors(r.errors));
  });
}

test("examples/demo.json is examples/demo.yaml in JSON", async () => {
  const yaml = parse(readFileSync(path("examples/demo.yaml"), "utf8"));
  const json = JSON.parse(readFileSync(path("examples/demo.json"), "utf8"));
  assert.deepEqual(json, yaml);
});

test("the demo: the listeners, routing and tenants the README promises", async () => {
  const r = await loadConfigFile(path("examples/demo.yaml"));
  assert.ok(r.ok);
  const c = r.config;
  assert.deepEqual(
    c.listeners.map((l) => [
      l.name,
      `${l.bind.host}:${l.bind.port}`,
      l.proxyProtocol,
      l.trustedProxies,
    ]),
    [
      ["privatelink", "127.0.0.1:8443", "required", ["127.0.0.0/8"]],
      ["public", "127.0.0.1:8444", "none", []],
    ],
  );
  assert.deepEqual(c.routing.hostPatterns, [
    "{tenant}.api.example.com",
    "{tenant}.privatelink.example.com",
  ]);
  assert.deepEqual(c.routing.upstream, { host: "127.0.0.1", port: 9443 });
  assert.equal(c.routing.upstreamProxyProtocol, "v2");
  assert.deepEqual(c.api, { bind: { host: "127.0.0.1", port: 9090 } });
  const [megacorp, initech, open] = c.tenants;
  assert.equal(megacorp.id, "megacorp");
  assert.equal(megacorp.enforcement, "enforce");
  assert.deepEqual(megacorp.allow, {
    publicInternet: false,
    rules: [
      { link: "aws:vpce-0123456789abcdef0", cidr: null, description: "prod VPC" },
      { link: "gcp:18446744072646845442", cidr: null, description: null },
      { link: null, cidr: "203.0.113.0/24", description: "office" },
      { link: "azure:553665985", cidr: "10.1.0.0/16", description: null },
    ],
  });
  assert.equal(initech.enforcement, "report-only");
  assert.equal(open.allow, null);
});
