import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CompiledPolicy } from "../../src/policy/index.js";
import { runCli } from "../helpers/cli.js";
import { config, listener, tenant } from "../helpers/config.js";
import { startGateway, startOrigin, testCertificate } from "../helpers/gateway.js";
import { waitFor } from "../helpers/programs.js";

const run = runCli;

describe("linkgate simulate", () => {
  test("accepted (exit 0) and dropped (exit 1), as the gateway decides", {
    timeout: 20_000,
  }, async (t) => {
    const cert = await testCertificate(t);
    if (cert === null) return;
    const origin = await startOrigin(t, cert, { proxyProtocol: true });
    const base = config({
      listeners: [
        listener({ name: "privatelink", trustedProxies: ["127.0.0.1/32"] }),
        listener({ name: "public", proxyProtocol: "none", trustedProxies: [] }),
      ],
      tenants: [tenant("megacorp", { allow: { rules: [{ link: "gcp:18446744072646845442" }] } })],
    });
    const gw = await startGateway(t, {
      ...base,
      routing: { ...base.routing, upstream: { host: origin.host, port: origin.port } },
    });
    const pl = `127.0.0.1:${gw.address("privatelink").port}`;
    const ok = await run([
      "simulate",
      "--to",
      pl,
      "--host",
      "megacorp.api.example.com",
      "--gcp-psc",
      "18446744072646845442",
      "--compact",
    ]);
    assert.equal(ok.code, 0, ok.out + ok.err);
    const j = JSON.parse(ok.out);
    assert.equal(j.result, "accepted");
    assert.equal(j.link, "gcp:18446744072646845442");
    assert.equal(origin.connections[0].header?.link?.id, "gcp:18446744072646845442");
    assert.equal(origin.connections[0].header?.source?.address, "198.51.100.10");
    assert.equal((await gw.next()).decision, "allow");

    const denied = await run([
      "simulate",
      "--to",
      pl,
      "--host",
      "megacorp.api.example.com",
      "--azure-link",
      "1",
    ]);
    assert.equal(denied.code, 1);
    assert.equal(JSON.parse(denied.out).result, "dropped");
    assert.equal((await gw.next()).reason, "POLICY_LINK_NOT_ALLOWED");

    const pub = await run([
      "simulate",
      "--to",
      `127.0.0.1:${gw.address("public").port}`,
      "--no-proxy",
      "--host",
      "megacorp.api.example.com",
    ]);
    assert.equal(pub.code, 1);
    assert.equal((await gw.next()).reason, "POLICY_PUBLIC_NOT_ALLOWED");
    assert.equal(origin.connections.length, 1);
  });

  test("--hold: a session held open is reported held, or cut when a revocation closes it", {
    timeout: 20_000,
  }, async (t) => {
    const cert = await testCertificate(t);
    if (cert === null) return;
    const origin = await startOrigin(t, cert, { proxyProtocol: true });
    const base = config({
      listeners: [listener({ name: "privatelink", trustedProxies: ["127.0.0.1/32"] })],
      tenants: [tenant("megacorp", { allow: { rules: [{ link: "azure:553665985" }] } })],
    });
    const cfg = {
      ...base,
      routing: { ...base.routing, upstream: { host: origin.host, port: origin.port } },
    };
    const gw = await startGateway(t, cfg);
    const args = [
      "simulate",
      "--to",
      `127.0.0.1:${gw.address("privatelink").port}`,
      "--host",
      "megacorp.api.example.com",
      "--azure-link",
      "553665985",
      "--compact",
      "--hold",
    ];
    const held = JSON.parse((await run([...args, "300"])).out);
    assert.deepEqual([held.result, held.hold], ["accepted", "held"]);

    const running = run([...args, "10000"]);
    await gw.record(0);
    await waitFor(() => gw.gateway.registry.size === 1, { what: "the held session, live" });
    gw.gateway.reload(
      new CompiledPolicy({ ...cfg, tenants: [tenant("megacorp", { allow: { rules: [] } })] }),
    );
    const cut = await running;
    assert.equal(cut.code, 0, "it was accepted");
    assert.deepEqual([JSON.parse(cut.out).result, JSON.parse(cut.out).hold], ["accepted", "cut"]);
    assert.equal((await gw.record(1)).closedBy, "POLICY_REVOKED");
  });

  test("usage errors exit 2", async () => {
    for (const args of [
      ["simulate", "--host", "x.example.com"],
      ["simulate", "--to", "127.0.0.1", "--host", "x.example.com"],
      ["simulate", "--to", "127.0.0.1:1", "--host", "x", "--no-proxy", "--gcp-psc", "1"],
      ["simulate", "--to", "127.0.0.1:1", "--host", "x", "--aws-vpce", "vpce-1", "--gcp-psc", "1"],
      ["simulate", "--to", "127.0.0.1:1", "--host", "x", "--source", "[::1]:1"],
    ]) {
      assert.equal((await run(args)).code, 2, args.join(" "));
    }
  });
});
