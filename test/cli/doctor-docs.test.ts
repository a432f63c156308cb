/**
 * The quickstart and the cloud guides: their configuration snippets pass `linkgate check`, their
 * `doctor` examples are what the commands print, the doctor codes are documented with the
 * catalogue's text, and their links lead somewhere.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { formatConfigErrors, parseConfigText } from "../../src/config/index.js";
import { ERROR_CATALOGUE } from "../../src/errors/index.js";
import { runCli } from "../helpers/cli.js";
import { startResponder } from "./doctor-dns-responder.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const CLOUDS = join(ROOT, "docs/clouds");
const GUIDES = [
  join(ROOT, "docs/quickstart.md"),
  ...readdirSync(CLOUDS)
    .filter((f) => f.endsWith(".md"))
    .map((f) => join(CLOUDS, f)),
];
const read = (path: string) => readFileSync(path, "utf8");

/** The fenced blocks of a Markdown text, with their language and the text just before them. */
function blocks(markdown: string): { lang: string; body: string; before: string }[] {
  const out: { lang: string; body: string; before: string }[] = [];
  const re = /^```(\w*)\n([\s\S]*?)^```$/gm;
  for (let m = re.exec(markdown); m !== null; m = re.exec(markdown)) {
    out.push({
      lang: m[1],
      body: m[2],
      before: markdown.slice(Math.max(0, m.index - 400), m.index),
    });
  }
  return out;
}

/** GitHub's anchor for a heading. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9 _-]/g, "")
    .replace(/ /g, "-");
}

test("the guides exist: a quickstart and one page per cloud, plus DNS", () => {
  for (const name of ["aws.md", "azure.md", "gcp.md", "dns.md"]) {
    assert.ok(existsSync(join(CLOUDS, name)), name);
  }
  assert.ok(existsSync(join(ROOT, "docs/quickstart.md")));
});

test("every YAML snippet in the guides passes linkgate check", () => {
  let count = 0;
  for (const file of GUIDES) {
    for (const [i, b] of blocks(read(file)).entries()) {
      if (b.lang !== "yaml") continue;
      count++;
      const r = parseConfigText(b.body, `${file}#yaml${i}`);
      assert.ok(r.ok, r.ok ? "" : formatConfigErrors(r.errors));
    }
  }
  assert.ok(count >= 4, `${count} YAML snippets`);
});

test("each cloud's snippet requires the PROXY header from its load balancer's addresses only", () => {
  const expect: Record<string, string[]> = {
    "aws.md": ["10.20.0.0/24", "10.20.1.0/24", "10.20.2.0/24"],
    "azure.md": ["10.30.5.0/28", "168.63.129.16/32"],
    "gcp.md": ["10.40.8.0/24"],
  };
  for (const [name, trusted] of Object.entries(expect)) {
    const yaml = blocks(read(join(CLOUDS, name))).find((b) => b.lang === "yaml");
    assert.ok(yaml, name);
    const r = parseConfigText(yaml.body, name);
    assert.ok(r.ok, name);
    const [privatelink, pub] = r.config.listeners;
    assert.equal(privatelink.proxyProtocol, "required", name);
    assert.deepEqual(privatelink.trustedProxies, trusted, name);
    assert.equal(pub.proxyProtocol, "none", name);
  }
});

test("every doctor code is documented with the catalogue's text", () => {
  const pages: Record<string, string> = { AZ: "aws.md", BAD: "aws.md", DNS: "dns.md" };
  const codes = Object.entries(ERROR_CATALOGUE).filter(([code]) => code.startsWith("DOCTOR_"));
  assert.ok(codes.length >= 9);
  for (const [code, text] of codes) {
    const page = pages[code.split("_")[1]];
    assert.ok(page, code);
    const escaped = text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    assert.match(
      read(join(CLOUDS, page)),
      new RegExp(`^\\| \`${code}\` +\\| ${escaped} +\\|$`, "m"),
      `${code} in ${page}`,
    );
  }
});

test("relative links lead to files, and their anchors to headings", () => {
  for (const file of GUIDES) {
    const text = read(file);
    for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = m[1];
      if (/^https?:/.test(target)) continue;
      const [path, anchor] = target.split("#");
      const resolved = path === "" ? file : resolve(dirname(file), path);
      assert.ok(existsSync(resolved), `${file}: ${target}`);
      if (anchor === undefined || !resolved.endsWith(".md")) continue;
      const headings = read(resolved)
        .split("\n")
        .filter((l) => /^#{1,6} /.test(l))
        .map((l) => slug(l.replace(/^#+ /, "")));
      assert.ok(headings.includes(anchor), `${file}: ${target} (headings: ${headings.join(", ")})`);
    }
  }
});

test("each cloud guide cites its sources and says what was not verified", () => {
  for (const name of ["aws.md", "azure.md", "gcp.md", "dns.md"]) {
    const text = read(join(CLOUDS, name));
    const links = [...text.matchAll(/\]\((https:\/\/[^)]+)\)/g)].length;
    assert.ok(links >= 4, `${name}: ${links} sources`);
    assert.match(text, /^## Sources, and what could not be verified$/m, name);
    assert.match(text, /Not verified/, name);
  }
});

describe("the doctor examples are what the commands print", () => {
  const dir = mkdtempSync(join(tmpdir(), "linkgate-doctor-docs-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("aws.md: doctor az", async () => {
    // The example's mapping (SYNTHETIC, as the guide says).
    const zone = (name: string, id: string) => ({
      State: "available",
      OptInStatus: "opt-in-not-required",
      Messages: [],
      RegionName: "us-east-1",
      ZoneName: name,
      ZoneId: id,
      GroupName: "us-east-1",
      NetworkBorderGroup: "us-east-1",
      ZoneType: "availability-zone",
    });
    const provider = [
      ["a", 4],
      ["b", 6],
      ["c", 1],
      ["d", 2],
      ["e", 3],
      ["f", 5],
    ] as const;
    const consumer = [
      ["a", 1],
      ["b", 2],
      ["c", 4],
    ] as const;
    const write = (name: string, zones: readonly (readonly [string, number])[]) =>
      writeFileSync(
        join(dir, name),
        JSON.stringify({
          AvailabilityZones: zones.map(([l, n]) => zone(`us-east-1${l}`, `use1-az${n}`)),
        }),
      );
    write("provider-azs.json", provider);
    write("consumer-azs.json", consumer);
    const page = read(join(CLOUDS, "aws.md"));
    const example = blocks(page).find(
      (b) => b.lang === "" && b.body.startsWith("Provider: provider-azs.json"),
    );
    assert.ok(example, "the example output is in aws.md");
    assert.match(
      example.before,
      /linkgate doctor az --provider provider-azs\.json --consumer consumer-azs\.json/,
    );
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const r = await runCli([
        "doctor",
        "az",
        "--provider",
        "provider-azs.json",
        "--consumer",
        "consumer-azs.json",
      ]);
      assert.equal(r.code, 0, r.err);
      assert.equal(r.out, example.body);
    } finally {
      process.chdir(cwd);
    }
  });

  test("dns.md: doctor dns", async () => {
    const dns = await startResponder({
      "megacorp.privatelink.example.com": { a: ["10.1.2.3"] },
      "initech.privatelink.example.com": { a: ["52.94.236.248"] },
    });
    try {
      const page = read(join(CLOUDS, "dns.md"));
      const example = blocks(page).find(
        (b) => b.lang === "" && b.body.startsWith("megacorp.privatelink"),
      );
      assert.ok(example, "the example output is in dns.md");
      const command = blocks(page).find(
        (b) => b.lang === "sh" && b.body.includes("linkgate doctor dns"),
      );
      assert.ok(command);
      const args = command.body.replace(/\\\n/g, " ").trim().split(/\s+/).slice(1);
      const r = await runCli([...args, "--resolver", dns.address]);
      assert.equal(r.code, 1, "the example has warnings");
      const expected = example.body.replace("resolver: the system's", `resolver: ${dns.address}`);
      assert.equal(r.out, expected);
    } finally {
      await dns.close();
    }
  });
});
