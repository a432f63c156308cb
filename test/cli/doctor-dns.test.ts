/**
 * `linkgate doctor dns`: private-link names must resolve to private endpoint addresses.
 *
 * Every query goes to a DNS server this test starts on 127.0.0.1 (doctor-dns-responder.ts), so
 * nothing leaves the machine. The names and addresses are SYNTHETIC; the "public" ones are
 * addresses of the shape a public load balancer has, only ever returned in a DNS answer here.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { classifyAddress } from "../../src/cli/doctor-address.js";
import { checkHost, type HostReport } from "../../src/cli/doctor-dns.js";
import { runCli } from "../helpers/cli.js";
import { type Responder, startResponder } from "./doctor-dns-responder.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const BIN = `${ROOT}bin/linkgate.js`;
const DEMO = `${ROOT}examples/demo.yaml`;
const run = promisify(execFile);

const PL = "privatelink.example.com";

describe("linkgate doctor dns", () => {
  let dns: Responder;
  const dir = mkdtempSync(join(tmpdir(), "linkgate-doctor-dns-"));
  before(async () => {
    dns = await startResponder({
      // The customer created the private record: the endpoint's address in their VPC.
      [`megacorp.${PL}`]: { a: ["10.1.2.3"] },
      // The customer forgot it: the public zone answers with the public load balancer.
      [`forgot.${PL}`]: { a: ["52.94.236.248", "10.9.9.9"] },
      [`dual.${PL}`]: { a: ["10.1.2.4"], aaaa: ["2600:1f18:1234:5600::10"] },
      [`v6only.${PL}`]: { aaaa: ["2600:1f18:1234:5600::11"] },
      [`cgnat.${PL}`]: { a: ["100.64.1.2"] },
      [`ula.${PL}`]: { aaaa: ["fd12:3456:789a::1"] },
      [`hosts.${PL}`]: { a: ["127.0.0.1"] },
      [`broken.${PL}`]: "servfail",
      [`slow.${PL}`]: "silence",
      [`empty.${PL}`]: {},
      "megacorp.api.example.com": { a: ["52.94.236.248"] },
      "other.example.org": { a: ["52.94.236.249"] },
    });
  });
  after(async () => {
    await dns.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const doctor = async (...args: string[]) => {
    const r = await runCli(["doctor", "dns", "--resolver", dns.address, ...args]);
    return r;
  };
  const report = async (host: string, ...args: string[]): Promise<HostReport> => {
    const r = await doctor(host, "--json", "--private-domain", PL, "--timeout", "400", ...args);
    assert.ok(r.code === 0 || r.code === 1, r.err);
    const j = JSON.parse(r.out);
    assert.equal(j.ok, r.code === 0, "ok and the exit code agree");
    return j.hosts[0];
  };
  const codes = (r: HostReport) => r.problems.map((p) => p.code);

  test("a private-link name with its private record: fine, exit 0", async () => {
    const r = await doctor(`megacorp.${PL}`, "--private-domain", PL);
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(
      r.out,
      /^megacorp\.privatelink\.example\.com: private-link name \(--private-domain privatelink\.example\.com\)$/m,
    );
    assert.match(r.out, /^ {2}A {5}10\.1\.2\.3 +private \(10\.0\.0\.0\/8, RFC 1918\)$/m);
    assert.match(r.out, /^ {2}AAAA {2}no record$/m);
    assert.match(r.out, /ok: resolves to private addresses only/);
    assert.ok(
      dns.queries.includes(`megacorp.${PL} A`) && dns.queries.includes(`megacorp.${PL} AAAA`),
    );
  });

  test("the forgotten private record: a public address, the seed's explanation, exit 1", async () => {
    const r = await doctor(`forgot.${PL}`, "--private-domain", PL);
    assert.equal(r.code, 1);
    assert.match(r.out, /^ {2}A {5}52\.94\.236\.248 +public$/m);
    assert.match(
      r.out,
      /WARNING DOCTOR_DNS_PUBLIC_ADDRESS: resolves to the public address 52\.94\.236\.248, not a private endpoint: the private DNS record for this name is missing/,
    );
    assert.match(
      r.out,
      /reach linkgate's public listener over the internet, where a tenant that admits only its private endpoints denies the connection/,
    );
    assert.match(r.out, /1 name \(1 private-link\), 1 with warnings/);
    const j = await report(`forgot.${PL}`);
    assert.deepEqual(codes(j), ["DOCTOR_DNS_PUBLIC_ADDRESS"]);
    assert.deepEqual(
      j.addresses.map((a) => [a.address, a.kind]),
      [
        ["52.94.236.248", "public"],
        ["10.9.9.9", "private"],
      ],
    );
  });

  test("NXDOMAIN, no address, SERVFAIL and a timeout are each reported, exit 1", async () => {
    const nx = await report(`missing.${PL}`);
    assert.deepEqual(codes(nx), ["DOCTOR_DNS_NXDOMAIN"]);
    assert.match(
      nx.problems[0].message,
      /does not exist \(NXDOMAIN\): the private DNS record for this name is missing/,
    );
    assert.equal(nx.a.outcome, "nxdomain");
    assert.deepEqual(codes(await report(`empty.${PL}`)), ["DOCTOR_DNS_NO_ADDRESS"]);
    const fail = await report(`broken.${PL}`);
    assert.deepEqual(codes(fail), ["DOCTOR_DNS_FAILED"]);
    assert.match(fail.problems[0].message, /A: ESERVFAIL, AAAA: ESERVFAIL/);
    const started = performance.now();
    const slow = await report(`slow.${PL}`);
    assert.deepEqual(codes(slow), ["DOCTOR_DNS_TIMEOUT"]);
    assert.match(slow.problems[0].message, /did not answer within 400 ms/);
    assert.ok(performance.now() - started < 3000, "bounded by --timeout");
    const text = await doctor(`missing.${PL}`);
    assert.equal(text.code, 1, "NXDOMAIN is a warning even for a name without expectation");
    assert.match(text.out, /^ {2}A {5}NXDOMAIN \(no such name\)$/m);
  });

  test("the kinds of private endpoint address, and the addresses that are not", async () => {
    const dual = await report(`dual.${PL}`);
    assert.deepEqual(codes(dual), [], "a dual-stack endpoint: global IPv6 beside private IPv4");
    assert.match(dual.notes[0], /dual-stack endpoint/);
    assert.deepEqual(codes(await report(`v6only.${PL}`)), ["DOCTOR_DNS_PUBLIC_ADDRESS"]);
    const cgnat = await report(`cgnat.${PL}`);
    assert.deepEqual(codes(cgnat), []);
    assert.equal(cgnat.addresses[0].kind, "shared");
    assert.deepEqual(codes(await report(`ula.${PL}`)), []);
    const loop = await report(`hosts.${PL}`);
    assert.deepEqual(codes(loop), ["DOCTOR_DNS_NOT_PRIVATE"]);
    assert.match(loop.problems[0].message, /127\.0\.0\.1 \(loopback\)/);
  });

  test("a name outside the private-link domain may be public; the exit code covers every name", async () => {
    const fine = await doctor("megacorp.api.example.com", `megacorp.${PL}`, "--private-domain", PL);
    assert.equal(fine.code, 0, fine.out);
    assert.match(fine.out, /^megacorp\.api\.example\.com: not a private-link name$/m);
    assert.match(fine.out, /2 names \(1 private-link\), 0 with warnings/);
    const mixed = await doctor(
      "megacorp.api.example.com",
      `forgot.${PL}`,
      "--private-domain",
      PL,
      "--json",
    );
    assert.equal(mixed.code, 1);
    const j = JSON.parse(mixed.out);
    assert.equal(j.ok, false);
    assert.deepEqual(
      j.hosts.map((h: HostReport) => [h.host, h.privateLink, h.problems.length]),
      [
        ["megacorp.api.example.com", false, 0],
        [`forgot.${PL}`, true, 1],
      ],
    );
    const none = await doctor("megacorp.api.example.com");
    assert.equal(none.code, 0);
    assert.match(none.out, /No name was checked against a private-link expectation/);
  });

  test("--config: the privatelink host pattern marks private-link names; every name needs a tenant", async () => {
    const r = await doctor(
      `MegaCorp.${PL}.`,
      `forgot.${PL}`,
      "megacorp.api.example.com",
      "other.example.org",
      "--config",
      DEMO,
      "--json",
    );
    assert.equal(r.code, 1, r.err);
    const [megacorp, forgot, api, other] = JSON.parse(r.out).hosts as HostReport[];
    assert.equal(megacorp.host, `megacorp.${PL}`, "lower-cased, trailing dot dropped");
    assert.equal(megacorp.privateBecause, "host pattern {tenant}.privatelink.example.com");
    assert.deepEqual(megacorp.route, {
      tenant: "megacorp",
      via: "{tenant}.privatelink.example.com",
    });
    assert.deepEqual(codes(megacorp), []);
    assert.deepEqual(codes(forgot), ["DOCTOR_DNS_PUBLIC_ADDRESS"]);
    assert.equal(api.privateLink, false, "{tenant}.api.example.com is the public pattern");
    assert.deepEqual(codes(api), []);
    assert.deepEqual(codes(other), ["DOCTOR_DNS_NO_TENANT"]);
    const bad = join(dir, "bad.yaml");
    writeFileSync(bad, "listeners: []\n");
    const invalid = await doctor(`megacorp.${PL}`, "--config", bad);
    assert.equal(invalid.code, 1);
    assert.match(invalid.err, /bad\.yaml:\d+:\d+: .*\[CONFIG_/);
    assert.match(invalid.err, /--config .*bad\.yaml is not a valid configuration/);
  });

  test("usage errors exit 2", async () => {
    for (const args of [
      ["10.1.2.3"],
      ["under_score.example.com"],
      [`megacorp.${PL}`, "--private-domain", "*.privatelink.example.com"],
      [`megacorp.${PL}`, "--timeout", "0"],
      [`megacorp.${PL}`, "--resolver", "dns.example.com"],
      [`megacorp.${PL}`, "--resolver", "127.0.0.1:99999"],
      [`megacorp.${PL}`, "--resolver", "[::1]"],
    ]) {
      const r = await runCli(["doctor", "dns", ...args]);
      assert.equal(r.code, 2, args.join(" "));
      assert.equal(r.out, "", args.join(" "));
    }
    assert.equal((await runCli(["doctor", "dns"])).code, 2, "a host is required");
    const ip = await runCli(["doctor", "dns", "10.1.2.3"]);
    assert.match(
      ip.err,
      /host "10\.1\.2\.3" is an IP address: give the host name that clients use/,
    );
  });

  test("a lookup that never settles is cut by the backstop", async () => {
    const started = performance.now();
    const r = await checkHost("hang.example.com", {
      privateDomains: [],
      routing: null,
      timeoutMs: 50,
      lookup: { resolve4: () => new Promise(() => {}), resolve6: async () => [] },
    });
    assert.equal(r.a.outcome, "timeout");
    assert.equal(r.aaaa.outcome, "no-record");
    assert.deepEqual(codes(r), ["DOCTOR_DNS_TIMEOUT"]);
    assert.ok(performance.now() - started < 2500);
  });

  test("as a real process: --help, the warning and the exit codes", async () => {
    const bin = (args: string[]) =>
      run(process.execPath, [BIN, ...args], { timeout: 20_000 }).then(
        (r) => ({ code: 0, ...r }),
        (e: { code: number; stdout: string; stderr: string }) => e,
      );
    const help = await bin(["doctor", "dns", "--help"]);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /Usage: linkgate doctor dns \[options\] <host\.\.\.>/);
    assert.match(help.stdout, /--private-domain <suffix>/);
    assert.match(help.stdout, /--resolver <ip\[:port\]>/);
    const ok = await bin([
      "doctor",
      "dns",
      `megacorp.${PL}`,
      "--private-domain",
      PL,
      "--resolver",
      dns.address,
    ]);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    const warn = await bin([
      "doctor",
      "dns",
      `forgot.${PL}`,
      "--config",
      DEMO,
      "--resolver",
      dns.address,
    ]);
    assert.equal(warn.code, 1);
    assert.match(warn.stdout, /WARNING DOCTOR_DNS_PUBLIC_ADDRESS/);
    const usage = await bin(["doctor", "dns", "--resolver", "nope", `megacorp.${PL}`]);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /^linkgate: --resolver "nope" is not an IP address/);
  });
});

test("classifyAddress: the special-purpose ranges", () => {
  const cases: [string, string][] = [
    ["10.0.0.1", "private"],
    ["172.16.0.1", "private"],
    ["172.31.255.255", "private"],
    ["172.32.0.1", "public"],
    ["192.168.1.1", "private"],
    ["100.64.0.1", "shared"],
    ["100.127.255.255", "shared"],
    ["100.128.0.1", "public"],
    ["127.0.0.53", "loopback"],
    ["169.254.169.254", "link-local"],
    ["0.0.0.0", "unspecified"],
    ["192.0.2.1", "documentation"],
    ["198.51.100.7", "documentation"],
    ["203.0.113.9", "documentation"],
    ["224.0.0.251", "multicast"],
    ["255.255.255.255", "reserved"],
    ["8.8.8.8", "public"],
    ["::", "unspecified"],
    ["::1", "loopback"],
    ["fd00::1", "unique-local"],
    ["fc00::1", "unique-local"],
    ["fe80::1", "link-local"],
    ["febf::1", "link-local"],
    ["fec0::1", "public"],
    ["ff02::1", "multicast"],
    ["2001:db8::1", "documentation"],
    ["2600:1f18::1", "public"],
    ["::ffff:10.1.2.3", "private"],
    ["::ffff:52.94.236.248", "public"],
  ];
  for (const [address, kind] of cases) assert.equal(classifyAddress(address)?.kind, kind, address);
  assert.equal(classifyAddress("10.1.2.3")?.range, "10.0.0.0/8, RFC 1918");
  assert.equal(classifyAddress("not an address"), null);
});
