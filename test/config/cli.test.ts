/** `linkgate check`, in process through main(argv, io), and once as a real process. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { runCli } from "../helpers/cli.js";
import { yamlOf } from "./helpers.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

const run = runCli;

const LINE = /^(\S+):(\d+):(\d+): (\S+: )?.+ \[CONFIG_[A-Z_]+\]$/;

describe("linkgate check", () => {
  const dir = mkdtempSync(join(tmpdir(), "linkgate-check-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  test("a valid file: a one-line summary on stdout, exit 0 (--config and -c)", async () => {
    const demo = `${ROOT}examples/demo.yaml`;
    for (const flag of ["--config", "-c"]) {
      const r = await run(["check", flag, demo]);
      assert.equal(r.code, 0, r.err);
      assert.equal(r.out, `${demo}: ok — 2 listeners, 3 tenants, 5 rules\n`);
      assert.equal(r.err, "");
    }
    const one = write(
      "one.yaml",
      yamlOf((d) => (d.listeners = [d.listeners[1]])),
    );
    assert.equal(
      (await run(["check", "-c", one])).out,
      `${one}: ok — 1 listener, 1 tenant, 1 rule\n`,
    );
  });

  test("an invalid file: every error on stderr, one per line, exit 1", async () => {
    const bad = write(
      "bad.yaml",
      yamlOf((d) => {
        d.listeners[0].bind = "localhost:1";
        d.listeners[1].proxyProtocl = "none";
        d.tenants[0].allow.rules.push({ cidr: "10.0.0.1/8" });
      }),
    );
    const r = await run(["check", "--config", bad]);
    assert.equal(r.code, 1);
    assert.equal(r.out, "");
    const lines = r.err.trimEnd().split("\n");
    assert.equal(lines.length, 3, r.err);
    for (const line of lines) {
      const m = LINE.exec(line);
      assert.ok(m !== null, line);
      assert.equal(m[1], bad);
    }
    assert.match(
      lines[0],
      /:3:11: listeners\[0\]\.bind: "localhost" is not an IP address .* \[CONFIG_BAD_ADDRESS\]$/,
    );
    assert.match(
      lines[1],
      /listeners\[1\]\.proxyProtocl: unknown key "proxyProtocl"; did you mean "proxyProtocol"\? \[CONFIG_UNKNOWN_KEY\]$/,
    );
    assert.match(
      lines[2],
      /tenants\[0\]\.allow\.rules\[1\]\.cidr: .*did you mean "10\.0\.0\.0\/8"\? \[CONFIG_BAD_CIDR\]$/,
    );
  });

  test("a syntax error: file, line and column, exit 1", async () => {
    const bad = write("syntax.yaml", "listeners:\n  - name: 'a\n");
    const r = await run(["check", "-c", bad]);
    assert.equal(r.code, 1);
    assert.equal(r.err, `${bad}:2:11: this quoted string has no closing ' [CONFIG_SYNTAX]\n`);
  });

  test("a missing file: exit 1, CONFIG_UNREADABLE", async () => {
    const missing = join(dir, "missing.yaml");
    const r = await run(["check", "-c", missing]);
    assert.equal(r.code, 1);
    assert.equal(r.err, `${missing}: no such file [CONFIG_UNREADABLE]\n`);
  });

  test("a warning: ::/0 trusted on a dual-stack listener does not trust IPv4 peers (exit 0)", async () => {
    const yaml = (trusted: string) =>
      write(
        `dual-${trusted.length}.yaml`,
        `listeners:
  - { name: privatelink, bind: "[::]:8443", proxyProtocol: required, trustedProxies: ${trusted} }
routing: { hostPatterns: ["{tenant}.api.example.com"], upstream: 10.0.9.9:443 }
`,
      );
    const warned = await run(["check", "-c", yaml('["::/0"]')]);
    assert.equal(warned.code, 0);
    assert.match(
      warned.err,
      /warning: listeners\[0\]\.trustedProxies: ::\/0 covers IPv4-mapped addresses .* \[CONFIG_TRUST_MAPPED_IPV4\]\n$/,
    );
    assert.match(warned.out, /: ok — 1 listener/);
    const json = JSON.parse((await run(["check", "-c", yaml('["::/0"]'), "--json"])).out);
    assert.equal(json.warnings[0].code, "CONFIG_TRUST_MAPPED_IPV4");
    // With an IPv4 range too, or IPv6 ranges that hold no mapped address: nothing to say.
    for (const trusted of ['["::/0", "0.0.0.0/0"]', '["2001:db8::/32"]', '["10.0.0.0/8"]']) {
      assert.equal((await run(["check", "-c", yaml(trusted)])).err, "", trusted);
    }
  });

  test("--json: {ok, file, errors[]} on stdout, same exit codes", async () => {
    const good = await run(["check", "-c", `${ROOT}examples/demo.json`, "--json"]);
    assert.equal(good.code, 0);
    assert.deepEqual(JSON.parse(good.out), {
      ok: true,
      file: `${ROOT}examples/demo.json`,
      errors: [],
      warnings: [],
      summary: { listeners: 2, tenants: 3, rules: 5 },
    });
    const bad = write(
      "bad.json",
      JSON.stringify({ listeners: [], routing: { upstream: "x" } }, null, 2),
    );
    const r = await run(["check", "--json", "--config", bad]);
    assert.equal(r.code, 1);
    assert.equal(r.err, "");
    const j = JSON.parse(r.out);
    assert.equal(j.ok, false);
    assert.deepEqual(j.errors, [
      {
        file: bad,
        line: 2,
        column: 16,
        key: "listeners",
        code: "CONFIG_SCHEMA",
        message: "must have at least 1 item",
      },
      {
        file: bad,
        line: 4,
        column: 17,
        key: "routing.upstream",
        code: "CONFIG_BAD_ADDRESS",
        message: '"x" has no port: write "x:PORT"',
      },
    ]);
    const missing = await run(["check", "--json", "-c", join(dir, "nope.yaml")]);
    assert.equal(missing.code, 1);
    assert.equal(JSON.parse(missing.out).errors[0].code, "CONFIG_UNREADABLE");
  });

  test("a bad command line: exit 2", async () => {
    for (const args of [
      ["check"],
      ["check", "-c"],
      ["check", "-c", "x", "--frob"],
      ["check", "x"],
    ]) {
      const r = await run(args);
      assert.equal(r.code, 2, args.join(" "));
      assert.ok(r.err.length > 0);
    }
  });

  test("as a real process: the exit codes and streams", () => {
    const cli = (args: string[]) =>
      spawnSync(process.execPath, ["--import", "tsx", `${ROOT}src/cli/main.ts`, ...args], {
        encoding: "utf8",
        cwd: ROOT,
      });
    const ok = cli(["check", "-c", "examples/demo.yaml"]);
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(ok.stdout, "examples/demo.yaml: ok — 2 listeners, 3 tenants, 5 rules\n");
    const bad = cli(["check", "-c", write("p.yaml", "listeners: 1\n")]);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /listeners: must be a list/);
    assert.equal(cli(["check"]).status, 2);
  });
});
