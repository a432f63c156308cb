/** `linkgate explain` against the demo configuration: decisions as JSON, no network. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { runCli } from "../helpers/cli.js";

const DEMO = fileURLToPath(new URL("../../examples/demo.yaml", import.meta.url));

async function explain(...args: string[]) {
  const r = await runCli(["explain", "-c", DEMO, "--compact", ...args]);
  return { ...r, json: r.code === 0 ? JSON.parse(r.out) : null };
}

describe("linkgate explain", () => {
  test("allowed by a rule: the rule, the reason and the upstream", async () => {
    const r = await explain(
      "--host",
      "MegaCorp.privatelink.example.com.",
      "--link",
      "aws:vpce-0123456789abcdef0",
    );
    assert.equal(r.code, 0, r.err);
    assert.equal(
      r.json.input.host,
      "megacorp.privatelink.example.com",
      "lower-cased, trailing dot dropped",
    );
    assert.equal(r.json.decision, "allow");
    assert.equal(r.json.forwarded, true);
    assert.equal(r.json.reason, "POLICY_LINK_ALLOWED");
    assert.equal(r.json.tenant, "megacorp");
    assert.deepEqual(r.json.rule, {
      index: 0,
      link: "aws:vpce-0123456789abcdef0",
      cidr: null,
      description: "prod VPC",
    });
    assert.equal(r.json.upstream, "127.0.0.1:9443");
    assert.equal(r.json.upstreamProxyProtocol, "v2");
  });

  test("link + cidr needs the source; report-only says would-deny; unknown hosts are denied", async () => {
    const inside = await explain(
      "--host",
      "megacorp.api.example.com",
      "--link",
      "azure:553665985",
      "--source",
      "10.1.2.3",
    );
    assert.equal(inside.json.reason, "POLICY_LINK_CIDR_ALLOWED");
    const outside = await explain(
      "--host",
      "megacorp.api.example.com",
      "--link",
      "azure:553665985",
      "--source",
      "10.2.0.1",
    );
    assert.equal(outside.json.decision, "deny");
    assert.equal(outside.json.reason, "POLICY_LINK_SOURCE_NOT_ALLOWED");
    assert.equal(outside.json.upstream, null);
    const dry = await explain("--host", "initech.api.example.com", "--link", "gcp:1");
    assert.equal(dry.json.decision, "would-deny");
    assert.equal(dry.json.forwarded, true);
    assert.equal(dry.json.enforcement, "report-only");
    const unknown = await explain("--host", "nobody.api.example.com");
    assert.equal(unknown.json.reason, "POLICY_UNKNOWN_HOST");
    assert.match(unknown.json.explanation, /maps to no tenant/);
  });

  test("bad input: usage errors exit 2; an invalid configuration exits 1 with its errors", async () => {
    for (const args of [
      ["--host", "x.api.example.com", "--link", "aws:VPCE"],
      ["--host", "x.api.example.com", "--source", "10.0.0.300"],
      ["--host", "x.api.example.com", "--listener", "nope"],
      ["--host", "x.api.example.com", "--listener", "public", "--link", "gcp:1"],
    ]) {
      const r = await explain(...args);
      assert.equal(r.code, 2, args.join(" "));
      assert.ok(r.err.length > 0);
    }
    const missing = await runCli(["explain", "-c", "/nonexistent.yaml", "--host", "x"]);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /CONFIG_UNREADABLE/);
  });
});
