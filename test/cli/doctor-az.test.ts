/**
 * `linkgate doctor az`: common AZ IDs between a provider's and a consumer's AWS accounts.
 *
 * The fixtures are SYNTHETIC: written by hand in the shape the AWS CLI prints for
 * `aws ec2 describe-availability-zones --region us-east-1 --output json` and
 * `aws ec2 describe-subnets --output json` (fields from the EC2 API reference, AvailabilityZone
 * and Subnet). The name-to-ID mappings are invented, as AWS shuffles them per account.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { compareZones, parseZoneList } from "../../src/cli/doctor-az.js";
import { runCli } from "../helpers/cli.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const BIN = `${ROOT}bin/linkgate.js`;

/** One zone as describe-availability-zones prints it (SYNTHETIC). */
function zone(name: string, id: string, state = "available", region = "us-east-1") {
  return {
    State: state,
    OptInStatus: "opt-in-not-required",
    Messages: [],
    RegionName: region,
    ZoneName: name,
    ZoneId: id,
    GroupName: region,
    NetworkBorderGroup: region,
    ZoneType: "availability-zone",
  };
}

/** The provider's account: us-east-1a is use1-az4 there (SYNTHETIC mapping). */
const PROVIDER = {
  AvailabilityZones: [
    zone("us-east-1a", "use1-az4"),
    zone("us-east-1b", "use1-az6"),
    zone("us-east-1c", "use1-az1"),
    zone("us-east-1d", "use1-az2"),
    zone("us-east-1e", "use1-az3"),
    zone("us-east-1f", "use1-az5"),
  ],
};

/** The consumer's account, with another mapping and one impaired zone (SYNTHETIC). */
const CONSUMER = {
  AvailabilityZones: [
    zone("us-east-1a", "use1-az1"),
    zone("us-east-1b", "use1-az2", "impaired"),
    zone("us-east-1c", "use1-az4"),
  ],
};

/** The provider's NLB subnets and the consumer's endpoint subnets (describe-subnets, SYNTHETIC). */
function subnet(id: string, az: string, azId: string, account = "111122223333") {
  return {
    AvailabilityZone: az,
    AvailabilityZoneId: azId,
    AvailableIpAddressCount: 4091,
    CidrBlock: "10.0.16.0/20",
    DefaultForAz: false,
    MapPublicIpOnLaunch: false,
    State: "available",
    SubnetId: id,
    VpcId: "vpc-0a1b2c3d4e5f60718",
    OwnerId: account,
    AssignIpv6AddressOnCreation: false,
    Ipv6CidrBlockAssociationSet: [],
    SubnetArn: `arn:aws:ec2:us-east-1:${account}:subnet/${id}`,
  };
}

describe("linkgate doctor az", () => {
  const dir = mkdtempSync(join(tmpdir(), "linkgate-doctor-az-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, value: unknown) => {
    const path = join(dir, name);
    writeFileSync(path, typeof value === "string" ? value : JSON.stringify(value, null, 4));
    return path;
  };
  const provider = write("provider.json", PROVIDER);
  const consumer = write("consumer.json", CONSUMER);

  test("common zones by AZ ID, with each account's name for them: exit 0", async () => {
    const r = await runCli(["doctor", "az", "--provider", provider, "--consumer", consumer]);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.err, "");
    const row = (id: string) => r.out.split("\n").find((l) => l.startsWith(`${id} `)) ?? "";
    // use1-az4 is us-east-1a for the provider and us-east-1c for the consumer.
    assert.match(row("use1-az4"), /^use1-az4 +us-east-1a +us-east-1c +common$/);
    assert.match(row("use1-az1"), /^use1-az1 +us-east-1c +us-east-1a +common$/);
    assert.match(row("use1-az2"), /^use1-az2 +us-east-1d +us-east-1b +common, consumer: impaired$/);
    assert.match(row("use1-az6"), /^use1-az6 +us-east-1b +- *$/);
    assert.match(
      r.out,
      /^OK: 3 common Availability Zones: use1-az1 \(provider us-east-1c, consumer us-east-1a\), use1-az2 .*, use1-az4 \(provider us-east-1a, consumer us-east-1c\)\. PrivateLink can connect in them; not available now on one side: use1-az2\.$/m,
    );
    assert.match(r.out, /describe-subnets/, "says the accounts' zones are not the service's zones");
  });

  test("--json: the comparison for machines", async () => {
    const r = await runCli([
      "doctor",
      "az",
      "--provider",
      provider,
      "--consumer",
      consumer,
      "--json",
    ]);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.equal(j.ok, true);
    assert.equal(j.code, null);
    assert.deepEqual(j.common, ["use1-az1", "use1-az2", "use1-az4"]);
    assert.deepEqual(j.region, { provider: "us-east-1", consumer: "us-east-1", same: true });
    assert.equal(j.provider.source, "describe-availability-zones");
    assert.equal(j.provider.zones, 6);
    const az2 = j.zones.find((z: { zoneId: string }) => z.zoneId === "use1-az2");
    assert.deepEqual(az2, {
      zoneId: "use1-az2",
      common: true,
      provider: {
        zoneName: "us-east-1d",
        state: "available",
        zoneType: "availability-zone",
        subnets: [],
      },
      consumer: {
        zoneName: "us-east-1b",
        state: "impaired",
        zoneType: "availability-zone",
        subnets: [],
      },
    });
    assert.deepEqual(
      j.zones.map((z: { zoneId: string }) => z.zoneId),
      ["use1-az1", "use1-az2", "use1-az3", "use1-az4", "use1-az5", "use1-az6"],
    );
  });

  test("the same letters but no common AZ ID: exit 1, PrivateLink cannot connect", async () => {
    // Both accounts have us-east-1a and us-east-1b, yet they are different physical zones.
    const p = write("p-disjoint.json", {
      AvailabilityZones: [zone("us-east-1a", "use1-az1"), zone("us-east-1b", "use1-az2")],
    });
    const c = write("c-disjoint.json", {
      AvailabilityZones: [zone("us-east-1a", "use1-az4"), zone("us-east-1b", "use1-az6")],
    });
    const r = await runCli(["doctor", "az", "--provider", p, "--consumer", c]);
    assert.equal(r.code, 1);
    assert.match(
      r.out,
      /^NOT OK \(DOCTOR_AZ_NO_COMMON_ZONE\): no AZ ID is on both sides, so PrivateLink cannot connect/m,
    );
    assert.match(r.out, /The provider has use1-az1, use1-az2; the consumer has use1-az4, use1-az6/);
    const j = JSON.parse(
      (await runCli(["doctor", "az", "--provider", p, "--consumer", c, "--json"])).out,
    );
    assert.equal(j.ok, false);
    assert.equal(j.code, "DOCTOR_AZ_NO_COMMON_ZONE");
    assert.deepEqual(j.common, []);
    assert.match(j.explanation, /PrivateLink cannot connect/);
  });

  test("different regions: said clearly, exit 1", async () => {
    const eu = write("eu.json", {
      AvailabilityZones: [
        zone("eu-west-1a", "euw1-az2", "available", "eu-west-1"),
        zone("eu-west-1b", "euw1-az1", "available", "eu-west-1"),
      ],
    });
    const r = await runCli(["doctor", "az", "--provider", provider, "--consumer", eu]);
    assert.equal(r.code, 1);
    assert.match(
      r.out,
      /NOT OK \(DOCTOR_AZ_REGION_MISMATCH\): the provider's zones are in us-east-1, the consumer's in eu-west-1/,
    );
    assert.match(r.out, /cross-Region access/);
  });

  test("describe-subnets on both sides: the load balancer's and the endpoint's zones", async () => {
    const nlb = write("nlb-subnets.json", {
      Subnets: [
        subnet("subnet-0aaa1111bbbb2222c", "us-east-1a", "use1-az4"),
        subnet("subnet-0ddd3333eeee4444f", "us-east-1b", "use1-az6"),
      ],
    });
    const endpoint = write("endpoint-subnets.json", {
      Subnets: [subnet("subnet-0123456789abcdef0", "us-east-1c", "use1-az4", "444455556666")],
    });
    const r = await runCli(["doctor", "az", "--provider", nlb, "--consumer", endpoint, "--json"]);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.deepEqual(j.common, ["use1-az4"]);
    assert.equal(j.consumer.source, "describe-subnets");
    assert.equal(j.consumer.region, "us-east-1", "from SubnetArn");
    assert.deepEqual(j.zones[0].provider.subnets, ["subnet-0aaa1111bbbb2222c"]);
    const text = await runCli(["doctor", "az", "--provider", nlb, "--consumer", endpoint]);
    assert.match(
      text.out,
      /^use1-az4 +us-east-1a \(subnet-0aaa1111bbbb2222c\) +us-east-1c \(subnet-0123456789abcdef0\) +common$/m,
    );
    assert.doesNotMatch(text.out, /compared the accounts' zones/, "subnets are the exact answer");
  });

  test("AZ ID prefixes tell the region when the files do not", () => {
    const p = parseZoneList(
      "provider",
      "p",
      JSON.stringify({
        Subnets: [{ AvailabilityZone: "us-east-1a", AvailabilityZoneId: "use1-az4" }],
      }),
    );
    const c = parseZoneList(
      "consumer",
      "c",
      JSON.stringify({
        Subnets: [{ AvailabilityZone: "eu-west-1a", AvailabilityZoneId: "euw1-az1" }],
      }),
    );
    assert.equal(p.region, null);
    const r = compareZones(p, c);
    assert.equal(r.code, "DOCTOR_AZ_REGION_MISMATCH");
    assert.match(r.message, /the region of use1, the consumer's in the region of euw1/);
  });

  test("one side on standard input with -", async () => {
    const r = await runCli(
      ["doctor", "az", "--provider", provider, "--consumer", "-", "--json"],
      Buffer.from(JSON.stringify(CONSUMER)),
    );
    assert.equal(r.code, 0, r.err);
    assert.equal(JSON.parse(r.out).consumer.file, "-");
    const both = await runCli(["doctor", "az", "--provider", "-", "--consumer", "-"]);
    assert.equal(both.code, 2);
    assert.match(both.err, /cannot both be -/);
  });

  test("bad input: exit 2, naming the flag, the file and what is wrong", async () => {
    const cases: [string, unknown, RegExp][] = [
      [
        "text.json",
        "AVAILABILITYZONES\tus-east-1\tus-east-1a\tuse1-az4",
        /is not JSON \(it looks like --output text or table: use --output json\)/,
      ],
      [
        "empty.json",
        "",
        /is empty; expected the JSON output of `aws ec2 describe-availability-zones`/,
      ],
      ["array.json", [{ ZoneName: "us-east-1a" }], /is JSON but not an object/],
      [
        "other.json",
        { Reservations: [] },
        /has no AvailabilityZones or Subnets list \(its keys: Reservations\)/,
      ],
      [
        "noid.json",
        { AvailabilityZones: [{ ZoneName: "us-east-1a" }] },
        /AvailabilityZones\[0\] has no ZoneId/,
      ],
      [
        "noname.json",
        { AvailabilityZones: [{ ZoneId: "use1-az1" }] },
        /AvailabilityZones\[0\] has no ZoneName/,
      ],
      ["none.json", { AvailabilityZones: [] }, /lists no zone/],
      [
        "twice.json",
        { AvailabilityZones: [zone("us-east-1a", "use1-az1"), zone("us-east-1b", "use1-az1")] },
        /the ZoneId use1-az1 appears twice/,
      ],
      [
        "mixed.json",
        {
          AvailabilityZones: [
            zone("us-east-1a", "use1-az1"),
            zone("eu-west-1a", "euw1-az1", "available", "eu-west-1"),
          ],
        },
        /holds zones of several regions \(eu-west-1, us-east-1\)/,
      ],
    ];
    for (const [name, content, message] of cases) {
      const path = write(name, content);
      const r = await runCli(["doctor", "az", "--provider", provider, "--consumer", path]);
      assert.equal(r.code, 2, name);
      assert.equal(r.out, "", name);
      assert.ok(r.err.startsWith(`linkgate: --consumer ${path}: `), `${name}: ${r.err}`);
      assert.match(r.err, message, name);
      assert.match(r.err, /\[DOCTOR_BAD_INPUT\]\n$/, name);
    }
    const missing = await runCli([
      "doctor",
      "az",
      "--provider",
      join(dir, "nope.json"),
      "--consumer",
      consumer,
    ]);
    assert.equal(missing.code, 2);
    assert.match(missing.err, /--provider .*nope\.json: cannot be read: no such file/);
    const json = await runCli([
      "doctor",
      "az",
      "--provider",
      join(dir, "nope.json"),
      "--consumer",
      consumer,
      "--json",
    ]);
    assert.equal(json.code, 2);
    assert.equal(JSON.parse(json.out).error.code, "DOCTOR_BAD_INPUT");
    const usage = await runCli(["doctor", "az", "--provider", provider]);
    assert.equal(usage.code, 2, "--consumer is required");
  });

  test("as a real process: --help, stdin, exit codes", () => {
    const run = (args: string[], input?: string) =>
      spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", input, timeout: 20_000 });
    const help = run(["doctor", "az", "--help"]);
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /--provider <file\|->/);
    assert.match(help.stdout, /AZ IDs \(use1-az1\) are not/);
    const doctorHelp = run(["doctor", "--help"]);
    assert.equal(doctorHelp.status, 0);
    assert.match(doctorHelp.stdout, /az \[options\]/);
    assert.match(doctorHelp.stdout, /dns \[options\] <host\.\.\.>/);
    const ok = run(
      ["doctor", "az", "--provider", "-", "--consumer", consumer],
      JSON.stringify(PROVIDER),
    );
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /^OK: 3 common/m);
    const bad = run(["doctor", "az", "--provider", "-", "--consumer", consumer], "{");
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /^linkgate: --provider standard input: is not JSON/);
    const noSub = run(["doctor"]);
    assert.equal(noSub.status, 2, "doctor without a subcommand is a usage error");
  });
});
