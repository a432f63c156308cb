/** Loading: positions of every kind of error, YAML and JSON input, files on disk. */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import {
  configFromValue,
  formatConfigError,
  formatConfigErrors,
  loadConfigFile,
  MAX_CONFIG_BYTES,
  parseConfigText,
  validateConfigValue,
} from "../../src/config/index.js";
import { LinkgateError } from "../../src/errors/index.js";
import { baseDoc, positions, yamlOf } from "./helpers.js";

const lines = (...l: string[]) => `${l.join("\n")}\n`;

describe("positions of schema errors", () => {
  test("an unknown key points at the key; a missing key at its mapping", () => {
    const text = lines(
      "listeners:",
      "  - name: a",
      "    bind: 127.0.0.1:1",
      "    proxyProtocl: none",
      "routing:",
      "  upstream: 10.0.0.1:443",
    );
    assert.deepEqual(positions(text), [
      "2:5 listeners[0].proxyProtocol CONFIG_SCHEMA",
      "4:5 listeners[0].proxyProtocl CONFIG_UNKNOWN_KEY",
    ]);
    const r = parseConfigText(text, "t.yaml");
    assert.equal(r.ok, false);
    if (r.ok) return;
    assert.equal(
      formatConfigError(r.errors[1]),
      't.yaml:4:5: listeners[0].proxyProtocl: unknown key "proxyProtocl"; did you mean "proxyProtocol"? [CONFIG_UNKNOWN_KEY]',
    );
  });

  test("a bad value points at the value", () => {
    const text = lines(
      "listeners:",
      "  - name: a",
      "    bind: 127.0.0.1:1",
      "    proxyProtocol: maybe",
      "    maxConnections: 0",
      "routing: { upstream: 10.0.0.1:443, connectTimeout: 1.5s }",
    );
    assert.deepEqual(positions(text), [
      "4:20 listeners[0].proxyProtocol CONFIG_SCHEMA",
      "5:21 listeners[0].maxConnections CONFIG_SCHEMA",
      "6:52 routing.connectTimeout CONFIG_BAD_DURATION",
    ]);
  });

  test("a missing key of a nested mapping points at the mapping's key", () => {
    const text = lines(
      "listeners:",
      "  - { name: a, bind: 127.0.0.1:1, proxyProtocol: none }",
      "routing:",
      "  upstream: 10.0.0.1:443",
      "api: {}",
    );
    assert.deepEqual(positions(text), ["5:1 api.bind CONFIG_SCHEMA"]);
  });

  test("unknown keys at every depth, including a typo of a top-level key", () => {
    const text = lines(
      "listeners:",
      "  - { name: a, bind: 127.0.0.1:1, proxyProtocol: none }",
      "routing:",
      "  upstream: 10.0.0.1:443",
      "  fallbackUpstrem: 10.0.0.2:443",
      "tenant:",
      "  - id: a",
      "tenants:",
      "  - id: b",
      "    allow:",
      "      rules:",
      "        - { lnk: aws:vpce-1 }",
    );
    assert.deepEqual(positions(text), [
      "5:3 routing.fallbackUpstrem CONFIG_UNKNOWN_KEY",
      "6:1 tenant CONFIG_UNKNOWN_KEY",
      "12:11 tenants[0].allow.rules[0] CONFIG_EMPTY_RULE",
      "12:13 tenants[0].allow.rules[0].lnk CONFIG_UNKNOWN_KEY",
    ]);
  });
});

describe("positions of semantic errors", () => {
  test("a list item in a flow sequence", () => {
    const text = lines(
      "listeners:",
      "  - name: a",
      "    bind: 127.0.0.1:1",
      "    proxyProtocol: required",
      "    trustedProxies: [10.0.0.0/8, 10.0.0.1/8]",
      "routing:",
      "  upstream: 10.0.0.1:443",
    );
    assert.deepEqual(positions(text), ["5:34 listeners[0].trustedProxies[1] CONFIG_BAD_CIDR"]);
    const r = parseConfigText(text, "t.yaml");
    assert.ok(!r.ok);
    assert.equal(r.errors[0].message, '"10.0.0.1/8" has host bits set: did you mean "10.0.0.0/8"?');
  });

  test("a missing trustedProxies points at proxyProtocol: required", () => {
    const text = lines(
      "listeners:",
      "  - name: a",
      "    bind: 127.0.0.1:1",
      "    proxyProtocol: required",
      "routing:",
      "  upstream: 10.0.0.1:443",
    );
    assert.deepEqual(positions(text), ["4:20 listeners[0].trustedProxies CONFIG_PROXY_TRUST"]);
  });

  test("trustedProxies on a none listener points at the key", () => {
    const text = lines(
      "listeners:",
      "  - name: a",
      "    bind: 127.0.0.1:1",
      "    proxyProtocol: none",
      "    trustedProxies:",
      "      - 10.0.0.0/8",
      "routing:",
      "  upstream: 10.0.0.1:443",
    );
    assert.deepEqual(positions(text), ["5:5 listeners[0].trustedProxies CONFIG_PROXY_TRUST"]);
  });

  test("a tenant without an upstream points at the tenant; duplicates name the first", () => {
    const text = lines(
      "listeners:",
      "  - { name: a, bind: 127.0.0.1:1, proxyProtocol: none }",
      "routing:",
      "  hostPatterns: ['{tenant}.example.com']",
      "tenants:",
      "  - id: a",
      "    upstream: 10.0.0.1:443",
      "  - id: a",
    );
    assert.deepEqual(positions(text), [
      "8:5 tenants[1].upstream CONFIG_NO_UPSTREAM",
      "8:9 tenants[1].id CONFIG_DUPLICATE",
    ]);
    const r = parseConfigText(text, "t.yaml");
    assert.ok(!r.ok);
    assert.equal(
      r.errors[1].message,
      'the tenant id "a" is used twice (first at tenants[0].id, line 6)',
    );
  });

  test("a value reached through an alias points at the anchored node", () => {
    const text = lines(
      "listeners:",
      "  - name: a",
      "    bind: 127.0.0.1:1",
      "    proxyProtocol: required",
      "    trustedProxies: &lb [10.0.0.1/8]",
      "  - name: b",
      "    bind: 127.0.0.1:2",
      "    proxyProtocol: required",
      "    trustedProxies: *lb",
      "routing: { upstream: 10.0.0.1:443 }",
    );
    assert.deepEqual(positions(text), [
      "5:26 listeners[0].trustedProxies[0] CONFIG_BAD_CIDR",
      "5:26 listeners[1].trustedProxies[0] CONFIG_BAD_CIDR",
    ]);
  });
});

describe("YAML syntax errors", () => {
  test("are reported with their position and no key", () => {
    const quote = parseConfigText(lines("listeners:", '  - name: "a', "routing: {}"), "q.yaml");
    assert.ok(!quote.ok);
    assert.equal(
      formatConfigErrors(quote.errors),
      'q.yaml:2:11: this quoted string has no closing " [CONFIG_SYNTAX]\n',
    );
    const r = parseConfigText(lines("a: [1, 2", "b: 3"), "s.yaml");
    assert.ok(!r.ok);
    assert.ok(r.errors.every((e) => e.code === "CONFIG_SYNTAX" && e.key === "" && e.line > 0));
    assert.match(formatConfigErrors(r.errors), /^s\.yaml:\d+:\d+: [^[]+ \[CONFIG_SYNTAX\]\n/);
  });

  test("tab indentation", () => {
    const r = parseConfigText("listeners:\n\t- name: a\n", "t.yaml");
    assert.ok(!r.ok);
    assert.equal(r.errors[0].code, "CONFIG_SYNTAX");
    assert.equal(r.errors[0].line, 2);
    assert.equal(r.errors[0].column, 1);
  });

  test("a duplicate key is CONFIG_DUPLICATE at the second occurrence", () => {
    const r = parseConfigText(lines("listeners: []", "routing: {}", "listeners: []"), "t.yaml");
    assert.ok(!r.ok);
    assert.deepEqual(r.errors, [
      {
        file: "t.yaml",
        line: 3,
        column: 1,
        key: "",
        code: "CONFIG_DUPLICATE",
        message: 'the key "listeners" appears twice in one mapping',
      },
    ]);
  });

  test("an unquoted {tenant} pattern or [IPv6]:port gets a hint", () => {
    const pattern = parseConfigText(
      lines("routing:", "  hostPatterns:", "    - {tenant}.api.example.com"),
      "t.yaml",
    );
    assert.ok(!pattern.ok);
    assert.equal(pattern.errors[0].line, 3);
    assert.match(pattern.errors[0].message, /quote host patterns/);
    const v6 = parseConfigText(lines("api:", "  bind: [::1]:9090"), "t.yaml");
    assert.ok(!v6.ok);
    assert.equal(v6.errors[0].line, 2);
    assert.match(v6.errors[0].message, /quote IPv6 addresses/);
  });

  test("several documents in one file are an error", () => {
    const r = parseConfigText("a: 1\n---\nb: 2\n", "t.yaml");
    assert.ok(!r.ok);
    assert.equal(r.errors[0].code, "CONFIG_SYNTAX");
    assert.equal(r.errors[0].line, 2);
    assert.match(r.errors[0].message, /more than one YAML document/);
  });

  test("an empty file, a comment-only file, a scalar and a list are errors", () => {
    for (const text of ["", "# nothing\n", "\n\n"]) {
      assert.deepEqual(positions(text), ["1:1  CONFIG_SCHEMA"], JSON.stringify(text));
    }
    assert.deepEqual(positions("hello\n"), ["1:1  CONFIG_SCHEMA"]);
    const r = parseConfigText("- a\n", "t.yaml");
    assert.ok(!r.ok);
    assert.match(r.errors[0].message, /must be a mapping \(key: value\) \(got a list\)/);
  });

  test("YAML 1.2: yes/no are strings, so a boolean key rejects them", () => {
    const text = yamlOf().replace(
      "proxyProtocol: required",
      "proxyProtocol: required\n    requireCrc32c: yes",
    );
    assert.deepEqual(positions(text), [
      `${text.split("\n").findIndex((l) => l.includes("requireCrc32c")) + 1}:20 listeners[0].requireCrc32c CONFIG_SCHEMA`,
    ]);
  });

  test("a byte-order mark is ignored; CRLF line ends count as one", () => {
    assert.equal(parseConfigText(`\ufeff${yamlOf()}`, "t.yaml").ok, true);
    const crlf = lines(
      "listeners:",
      "  - name: a",
      "    bind: nope",
      "    proxyProtocol: none",
      "routing: {}",
    ).replace(/\n/g, "\r\n");
    assert.deepEqual(positions(crlf), ["3:11 listeners[0].bind CONFIG_BAD_ADDRESS"]);
  });
});

describe("JSON input", () => {
  test("a JSON file is YAML: it loads, with positions", () => {
    const json = JSON.stringify(baseDoc(), null, 2);
    const ok = parseConfigText(json, "c.json");
    assert.ok(ok.ok);
    assert.equal(ok.config.tenants[0].id, "megacorp");
    const text = [
      "{",
      '  "listeners": [',
      '    { "name": "a", "bind": "127.0.0.1:1", "proxyProtocol": "none", "extra": 1 }',
      "  ],",
      '  "routing": { "upstream": "10.0.0.1:443", "connectTimeout": "1h" }',
      "}",
    ].join("\n");
    assert.deepEqual(positions(text, "c.json"), [
      "3:68 listeners[0].extra CONFIG_UNKNOWN_KEY",
      "5:62 routing.connectTimeout CONFIG_BAD_DURATION",
    ]);
  });

  test("tabs in JSON are whitespace, not indentation", () => {
    const json = JSON.stringify(baseDoc(), null, "\t");
    assert.equal(parseConfigText(json, "c.json").ok, true);
  });

  test("a duplicate key in JSON is named without its quotes", () => {
    const r = parseConfigText('{\n  "listeners": [],\n  "listeners": []\n}\n', "c.json");
    assert.ok(!r.ok);
    assert.deepEqual(
      r.errors.map((e) => [e.line, e.column, e.code, e.message]),
      [[3, 3, "CONFIG_DUPLICATE", 'the key "listeners" appears twice in one mapping']],
    );
  });

  test("JSON syntax errors have positions", () => {
    const r = parseConfigText('{\n  "listeners": [,\n}\n', "c.json");
    assert.ok(!r.ok);
    assert.equal(r.errors[0].code, "CONFIG_SYNTAX");
    assert.equal(r.errors[0].line, 2);
  });
});

describe("errors are complete and sorted", () => {
  test("schema and semantic errors together, by line then column", () => {
    const text = lines(
      "listeners:",
      "  - name: A",
      "    bind: localhost:1",
      "    proxyProtocol: required",
      "    trustedProxies: [10.0.0.1/8]",
      "    headerTimeout: 10m",
      "routing:",
      "  hostPatterns: ['x.{tenant}.com', '{tenant}']",
      "tenants:",
      "  - id: a",
      "    allow: { rules: [{ link: 'azure:x' }, {}] }",
    );
    assert.deepEqual(positions(text), [
      "2:11 listeners[0].name CONFIG_SCHEMA",
      "3:11 listeners[0].bind CONFIG_BAD_ADDRESS",
      "5:22 listeners[0].trustedProxies[0] CONFIG_BAD_CIDR",
      "6:20 listeners[0].headerTimeout CONFIG_BAD_DURATION",
      "8:36 routing.hostPatterns[1] CONFIG_BAD_PATTERN",
      "10:5 tenants[0].upstream CONFIG_NO_UPSTREAM",
      "11:30 tenants[0].allow.rules[0].link CONFIG_BAD_IDENTITY",
      "11:43 tenants[0].allow.rules[1] CONFIG_EMPTY_RULE",
    ]);
  });

  test("formatConfigErrors: one line each, FILE:LINE:COLUMN: KEY: message [CODE]", () => {
    const r = parseConfigText(
      yamlOf((d) => (d.listeners[0].bind = "x")),
      "f.yaml",
    );
    assert.ok(!r.ok);
    const out = formatConfigErrors(r.errors);
    assert.equal(
      out,
      'f.yaml:3:11: listeners[0].bind: "x" has no port: write "x:PORT" [CONFIG_BAD_ADDRESS]\n',
    );
  });
});

describe("files", () => {
  const dir = mkdtempSync(join(tmpdir(), "linkgate-config-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("loadConfigFile reads YAML and JSON files", async () => {
    const y = join(dir, "c.yaml");
    writeFileSync(y, yamlOf());
    const r = await loadConfigFile(y);
    assert.ok(r.ok);
    const j = join(dir, "c.json");
    writeFileSync(j, JSON.stringify(baseDoc()));
    const rj = await loadConfigFile(j);
    assert.ok(rj.ok);
    assert.deepEqual(rj.config, r.config);
  });

  test("errors carry the path given", async () => {
    const y = join(dir, "bad.yaml");
    writeFileSync(
      y,
      yamlOf((d) => (d.routing.upstream = "nope")),
    );
    const r = await loadConfigFile(y);
    assert.ok(!r.ok);
    assert.equal(r.errors[0].file, y);
  });

  test("missing, a directory, not UTF-8, too large: CONFIG_UNREADABLE without position", async () => {
    const big = join(dir, "big.yaml");
    writeFileSync(big, "");
    truncateSync(big, MAX_CONFIG_BYTES + 1);
    const binary = join(dir, "bin.yaml");
    writeFileSync(binary, Buffer.from([0x61, 0x3a, 0x20, 0xff, 0xfe, 0x0a]));
    for (const [path, message] of [
      [join(dir, "missing.yaml"), /no such file/],
      [dir, /directory/],
      [binary, /not UTF-8/],
      [big, /at most/],
    ] as const) {
      const r = await loadConfigFile(path);
      assert.ok(!r.ok, path);
      assert.equal(r.errors.length, 1);
      assert.equal(r.errors[0].code, "CONFIG_UNREADABLE");
      assert.equal(r.errors[0].line, 0);
      assert.match(r.errors[0].message, message);
      assert.match(formatConfigErrors(r.errors), /^\S+: .* \[CONFIG_UNREADABLE\]\n$/);
    }
  });
});

describe("values built in code", () => {
  test("validateConfigValue: errors without positions", () => {
    const r = validateConfigValue({ listeners: [] });
    assert.ok(!r.ok);
    assert.deepEqual(
      r.errors.map((e) => [e.line, e.column, e.key, e.code]),
      [
        [0, 0, "routing", "CONFIG_SCHEMA"],
        [0, 0, "listeners", "CONFIG_SCHEMA"],
      ],
    );
    assert.ok(validateConfigValue(baseDoc()).ok);
  });

  test("configFromValue: the config, or a LinkgateError with the first code", () => {
    assert.equal(configFromValue(baseDoc()).listeners.length, 2);
    const doc = baseDoc();
    doc.tenants[0].allow.rules[0].link = "aws:nope";
    assert.throws(
      () => configFromValue(doc),
      (e: unknown) => e instanceof LinkgateError && e.code === "CONFIG_BAD_IDENTITY",
    );
  });
});
