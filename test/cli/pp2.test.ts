import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { runCli } from "../helpers/cli.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const BIN = `${ROOT}bin/linkgate.js`;

const run = runCli;

const AWS_PRIVATELINK =
  "0d0a0d0a000d0a515549540a21110054ac1f0771ac1f0a1fc8f20050030004e8d6892dea001701767063652d3038643262663135666163353030316339040024000000000000000000000000000000000000000000000000000000000000000000000000";

describe("linkgate pp2 decode", () => {
  test("prints the header as JSON: the AWS PrivateLink capture", async () => {
    const r = await run(["pp2", "decode", AWS_PRIVATELINK]);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.equal(j.version, 2);
    assert.equal(j.command, "proxy");
    assert.equal(j.family, "tcp4");
    assert.deepEqual(j.source, { address: "172.31.7.113", port: 51442 });
    assert.deepEqual(j.destination, { address: "172.31.10.31", port: 80 });
    assert.deepEqual(j.link, { provider: "aws", id: "aws:vpce-08d2bf15fac5001c9" });
    assert.equal(j.crc32c, "valid");
    assert.equal(j.headerLength, 100);
    assert.equal(j.trailingBytes, 0);
    assert.deepEqual(
      j.tlvs.map((t: { name: string }) => t.name),
      ["CRC32C", "AWS", "NOOP"],
    );
    assert.equal(j.tlvs[1].vpceId, "vpce-08d2bf15fac5001c9");
    assert.equal(j.tlvs[0].value, "e8d6892d");
  });

  test("spaces, colons and a 0x prefix in the hex are ignored; trailing bytes are counted", async () => {
    const r = await run(["pp2", "decode", `0x${"0d:0a:0d:0a 000d0a51 5549540a"}21000000 474554`]);
    assert.equal(r.code, 0, r.out);
    assert.equal(JSON.parse(r.out).trailingBytes, 3);
  });

  test("GCP identity above 2^53 is an exact string", async () => {
    const r = await run([
      "pp2",
      "decode",
      "--compact",
      "0d0a0d0a000d0a515549540a211100170a0000010a000002c35001bbe00008ffffffffc0a86402",
    ]);
    assert.equal(r.code, 0);
    assert.equal(r.out.trim().split("\n").length, 1, "--compact prints one line");
    assert.equal(JSON.parse(r.out).link.id, "gcp:18446744072646845442");
    assert.equal(JSON.parse(r.out).tlvs[0].pscConnectionId, "18446744072646845442");
  });

  test("raw bytes on stdin with -", async () => {
    const r = await run(
      ["pp2", "decode", "-"],
      Buffer.from("PROXY TCP6 2001:DB8::1 ::1 56324 443\r\nhello"),
    );
    assert.equal(r.code, 0);
    const j = JSON.parse(r.out);
    assert.equal(j.version, 1);
    assert.deepEqual(j.source, { address: "2001:db8::1", port: 56324 });
    assert.equal(j.trailingBytes, 5);
  });

  test("invalid header: exit 1 and a coded error on stdout", async () => {
    const r = await run(["pp2", "decode", "0d0a0d0a000d0a515549540a21120000"]);
    assert.equal(r.code, 1);
    const j = JSON.parse(r.out);
    assert.equal(j.error.code, "PP2_ADDRESS_TRUNCATED");
    assert.match(j.error.message, /address block/);
  });

  test("bad CRC, duplicate identity, truncation and bad hex are coded errors", async () => {
    const cases: [string, string][] = [
      [
        "0d0a0d0a000d0a515549540a21110040c0a80a64c0a80b5aa55c1f90030004e51886f8ea001701767063652d32336438657a6a6b3338626368696c6d3404001000000000000000000000000000000000",
        "PP2_BAD_CRC32C",
      ],
      [
        "0d0a0d0a000d0a515549540a2111002c0a0000010a000002123401bbea000d01767063652d61616161616161ea000d01767063652d62626262626262",
        "PP2_DUPLICATE_IDENTITY",
      ],
      ["0d0a0d0a000d0a515549540a2111", "PP_INCOMPLETE"],
      ["0d0a0g", "CLI_BAD_INPUT"],
      ["0d0", "CLI_BAD_INPUT"],
      ["", "PP_INCOMPLETE"],
    ];
    for (const [input, code] of cases) {
      const r = await run(["pp2", "decode", input]);
      assert.equal(r.code, 1, input);
      assert.equal(JSON.parse(r.out).error.code, code, input);
    }
  });
});

describe("linkgate pp2 encode", () => {
  test("reproduces the AWS PrivateLink capture byte for byte", async () => {
    const r = await run([
      "pp2",
      "encode",
      "--source",
      "172.31.7.113:51442",
      "--destination",
      "172.31.10.31:80",
      "--aws-vpce",
      "vpce-08d2bf15fac5001c9",
      "--crc32c",
      "--pad-to",
      "100",
    ]);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out.trim(), AWS_PRIVATELINK);
  });

  test("encode | decode round trip with each cloud identity", async () => {
    for (const [flag, value, id] of [
      ["--azure-link", "553665985", "azure:553665985"],
      ["--gcp-psc", "18446744072646845442", "gcp:18446744072646845442"],
      ["--link", "aws:vpce-0123456789abcdef0", "aws:vpce-0123456789abcdef0"],
    ]) {
      const e = await run([
        "pp2",
        "encode",
        "--source",
        "[2001:db8::1]:1",
        "--destination",
        "[2001:db8::2]:443",
        flag,
        value,
        "--authority",
        "megacorp.privatelink.example.com",
        "--crc32c",
      ]);
      assert.equal(e.code, 0, e.err);
      const d = await run(["pp2", "decode", e.out.trim()]);
      const j = JSON.parse(d.out);
      assert.equal(j.link.id, id);
      assert.equal(j.family, "tcp6");
      assert.equal(j.crc32c, "valid");
      assert.equal(
        j.tlvs.find((t: { name: string }) => t.name === "AUTHORITY").text,
        "megacorp.privatelink.example.com",
      );
    }
  });

  test("--v1, --local and --raw", async () => {
    const v1 = await run([
      "pp2",
      "encode",
      "--v1",
      "--source",
      "192.0.2.1:56324",
      "--destination",
      "198.51.100.1:443",
    ]);
    assert.equal(
      Buffer.from(v1.out.trim(), "hex").toString("latin1"),
      "PROXY TCP4 192.0.2.1 198.51.100.1 56324 443\r\n",
    );
    const raw = await run([
      "pp2",
      "encode",
      "--v1",
      "--raw",
      "--source",
      "192.0.2.1:1",
      "--destination",
      "192.0.2.2:2",
    ]);
    assert.equal(raw.out, "PROXY TCP4 192.0.2.1 192.0.2.2 1 2\r\n");
    const local = await run(["pp2", "encode", "--local", "--crc32c"]);
    const j = JSON.parse((await run(["pp2", "decode", local.out.trim()])).out);
    assert.equal(j.command, "local");
    assert.equal(j.crc32c, "valid");
  });

  test("usage errors exit 2 with a message on stderr", async () => {
    const cases = [
      ["pp2", "encode", "--source", "10.0.0.1:1"],
      ["pp2", "encode", "--source", "10.0.0.1", "--destination", "10.0.0.2:1"],
      ["pp2", "encode", "--source", "10.0.0.1:1", "--destination", "[::1]:1"],
      [
        "pp2",
        "encode",
        "--source",
        "10.0.0.1:1",
        "--destination",
        "10.0.0.2:1",
        "--aws-vpce",
        "vpce-1",
        "--gcp-psc",
        "1",
      ],
      [
        "pp2",
        "encode",
        "--source",
        "10.0.0.1:1",
        "--destination",
        "10.0.0.2:1",
        "--aws-vpce",
        "VPCE-X",
      ],
      [
        "pp2",
        "encode",
        "--source",
        "10.0.0.1:1",
        "--destination",
        "10.0.0.2:1",
        "--azure-link",
        "4294967296",
      ],
      [
        "pp2",
        "encode",
        "--v1",
        "--source",
        "10.0.0.1:1",
        "--destination",
        "10.0.0.2:1",
        "--crc32c",
      ],
      ["pp2", "encode", "--pad-to", "x", "--local"],
      ["pp2", "decode"],
      ["pp2", "frobnicate"],
      ["frobnicate"],
      ["pp2", "decode", "00", "--no-such-flag"],
    ];
    for (const args of cases) {
      const r = await run(args);
      assert.equal(r.code, 2, args.join(" "));
      assert.ok(r.err.length > 0, `a message for ${args.join(" ")}`);
    }
  });
});

describe("the linkgate executable", () => {
  const built = existsSync(`${ROOT}dist/cli/main.js`);

  test("--version, --help, exit codes and stdin through a real process", (t) => {
    if (!built) {
      if (process.env.LINKGATE_REQUIRE_ALL === "1")
        assert.fail("dist/ is missing: run npm run build");
      t.skip("dist/ is missing: run `npm run build` (npm test does)");
      return;
    }
    const version = spawnSync(process.execPath, [BIN, "--version"], { encoding: "utf8" });
    assert.equal(version.status, 0);
    assert.match(version.stdout, /^\d+\.\d+\.\d+/);
    const help = spawnSync(process.execPath, [BIN, "--help"], { encoding: "utf8" });
    assert.equal(help.status, 0);
    assert.match(help.stdout, /pp2/);
    const bad = spawnSync(process.execPath, [BIN, "nope"], { encoding: "utf8" });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /unknown command/);
    const invalid = spawnSync(process.execPath, [BIN, "pp2", "decode", "-"], {
      input: "GET / HTTP/1.1\r\n",
      encoding: "utf8",
    });
    assert.equal(invalid.status, 1);
    assert.equal(JSON.parse(invalid.stdout).error.code, "PP_MISSING_HEADER");
    const good = spawnSync(process.execPath, [BIN, "pp2", "decode", "-"], {
      input: Buffer.from(AWS_PRIVATELINK, "hex"),
    });
    assert.equal(good.status, 0);
    assert.equal(JSON.parse(good.stdout.toString()).link.id, "aws:vpce-08d2bf15fac5001c9");
  });
});
