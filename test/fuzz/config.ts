/**
 * Fuzz target for the configuration loader (`parseConfigText`): valid configurations with values
 * replaced, keys removed or added and list items repeated, written as JSON or YAML, then
 * sometimes mutated as text; arbitrary JSON documents; and YAML made of the syntax's own pieces
 * (anchors, aliases, tags, flow collections, directives, several documents, tabs, a BOM).
 *
 * `checkConfigInput` is the oracle. It throws (an assertion) when the loader:
 * - throws, or takes more than CONFIG_PARSE_LIMIT_MS on one document;
 * - reports an error without the file name, a line and column inside the file, a key (only
 *   syntax errors and a document that is not a mapping at all may have none), a configuration
 *   code of the catalogue and a message;
 * - accepts a configuration whose one-line summary cannot be made;
 * - decides differently on a document than on the same value given directly
 *   (`validateConfigValue`), when the text is that value written as JSON or YAML: the same
 *   verdict, and the same errors (code and key) when it is refused.
 */
import assert from "node:assert/strict";
import { performance } from "node:perf_hooks";
import fc from "fast-check";
import { stringify } from "yaml";
import {
  type ConfigError,
  formatConfigError,
  parseConfigText,
  summarizeConfig,
  validateConfigValue,
} from "../../src/config/index.js";
import { isErrorCode } from "../../src/errors/index.js";
import { mutate, mutations } from "./bytes.js";

export interface ConfigFuzzInput {
  text: string;
  /** The value the text was written from, when it is exactly that value (no text mutation). */
  value?: unknown;
}

/** One document must be decided within this; a slower one is reported as a defect. */
export const CONFIG_PARSE_LIMIT_MS = 5000;

const FILE = "fuzz.yaml";

// ---------------------------------------------------------------------------------------------
// Valid configurations to start from

const BASES: unknown[] = [
  {
    listeners: [
      {
        name: "pl",
        bind: "127.0.0.1:8443",
        proxyProtocol: "required",
        trustedProxies: ["10.0.0.0/8"],
      },
    ],
    routing: { hostPatterns: ["{tenant}.api.example.com"], upstream: "127.0.0.1:9443" },
    tenants: [{ id: "megacorp", allow: { rules: [{ link: "aws:vpce-0123456789abcdef0" }] } }],
  },
  {
    listeners: [
      {
        name: "privatelink",
        bind: "0.0.0.0:8443",
        proxyProtocol: "required",
        trustedProxies: ["10.0.0.0/16", "fd00::/8"],
        mode: "tls-passthrough",
        headerTimeout: "5s",
        idleTimeout: "1h",
        finTimeout: "30s",
        tcpKeepAlive: "60s",
        maxConnectionLifetime: "24h",
        maxConnections: 20000,
        requireCrc32c: false,
        maxProxyHeaderBytes: 4096,
        maxClientHelloBytes: 16384,
      },
      { name: "public", bind: "[::]:443", proxyProtocol: "none" },
    ],
    routing: {
      hostPatterns: ["{tenant}.api.example.com", "{tenant}.privatelink.example.com"],
      upstream: "10.0.9.9:443",
      upstreamProxyProtocol: "v2",
      connectTimeout: "5s",
      fallbackUpstream: "10.0.9.10:443",
    },
    api: { bind: "127.0.0.1:9090" },
    log: { level: "info", deniedLinesPerSecond: 100 },
    shutdown: { drainTimeout: "30s" },
    store: { type: "sqlite", path: "./linkgate.db" },
    limits: { maxRulesPerTenant: 1000, maxApiBodyBytes: 1048576 },
    revocation: "close",
    tenants: [
      {
        id: "megacorp",
        hostnames: ["api.megacorp.com"],
        enforcement: "enforce",
        allow: {
          publicInternet: false,
          rules: [
            { link: "aws:vpce-0123456789abcdef0", description: "prod VPC" },
            { link: "gcp:18446744072646845442" },
            { cidr: "203.0.113.0/24", description: "office" },
            { link: "azure:553665985", cidr: "10.1.0.0/16" },
          ],
        },
      },
      {
        id: "initech",
        upstream: "initech.backend.internal:443",
        enforcement: "report-only",
        allow: { rules: [{ link: "azure:553665986" }] },
      },
      { id: "globex" },
    ],
  },
];

/** Values that sit on a boundary of some key's rules, or break them. */
const interesting = fc.oneof(
  fc.constantFrom<unknown>(
    "127.0.0.1:0",
    "[::1]:80",
    "::1:80",
    "host:99999",
    "example.com:443",
    "10.0.0.0/8",
    "10.0.0.1/8",
    "::/0",
    "0.0.0.0/0",
    "300.0.0.0/8",
    "5s",
    "0ms",
    "-1s",
    "99999h",
    "1.5s",
    "aws:vpce-0123456789abcdef0",
    "aws:vpce-",
    "azure:4294967296",
    "gcp:18446744073709551616",
    "gcp:007",
    "{tenant}.a.b",
    "{tenant}",
    "{tenant}.{tenant}.x",
    "*.a.b",
    "required",
    "none",
    "v2",
    "report-only",
    "",
    " ",
    "__proto__",
    "constructor",
    "\u0000",
    "\ud800",
    "é",
    0,
    -1,
    1.5,
    65536,
    2 ** 53 + 1,
    1e21,
    true,
    false,
    null,
    [],
    {},
  ),
  fc.jsonValue({ maxDepth: 2 }),
);

type Edit =
  | { kind: "set"; path: number; value: unknown }
  | { kind: "delete"; path: number }
  | { kind: "add"; path: number; key: string; value: unknown }
  | { kind: "repeat"; path: number };

const edit: fc.Arbitrary<Edit> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant("set" as const), path: fc.nat(), value: interesting }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("delete" as const), path: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("add" as const),
      path: fc.nat(),
      key: fc.oneof(
        fc.constantFrom("bind", "id", "name", "rules", "__proto__", "toString", "lsiteners"),
        fc.string({ maxLength: 12 }),
      ),
      value: interesting,
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("repeat" as const), path: fc.nat() }) },
);

type Container = Record<string, unknown> | unknown[];

/** Every container in `value` with each of its keys: the places an edit can apply to. */
function places(
  value: unknown,
  out: [Container, string | number][] = [],
): [Container, string | number][] {
  if (Array.isArray(value)) {
    value.forEach((v, i) => {
      out.push([value, i]);
      places(v, out);
    });
  } else if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      out.push([value as Record<string, unknown>, k]);
      places(v, out);
    }
  }
  return out;
}

function containers(value: unknown): Container[] {
  const out: Container[] = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v)) {
      out.push(v);
      v.forEach(walk);
    } else if (v !== null && typeof v === "object") {
      out.push(v as Record<string, unknown>);
      Object.values(v).forEach(walk);
    }
  };
  walk(value);
  return out;
}

function applyEdit(doc: unknown, e: Edit): void {
  if (e.kind === "add" || e.kind === "repeat") {
    const all = containers(doc);
    const c = all[e.path % all.length];
    if (e.kind === "repeat") {
      if (Array.isArray(c) && c.length > 0) c.push(structuredClone(c[e.path % c.length]));
    } else if (Array.isArray(c)) c.push(structuredClone(e.value));
    else
      Object.defineProperty(c, e.key, {
        value: structuredClone(e.value),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    return;
  }
  const all = places(doc);
  if (all.length === 0) return;
  const [c, k] = all[e.path % all.length];
  if (e.kind === "delete") {
    if (Array.isArray(c)) c.splice(k as number, 1);
    else delete c[k as string];
  } else if (Array.isArray(c)) c[k as number] = structuredClone(e.value);
  else
    Object.defineProperty(c, k, {
      value: structuredClone(e.value),
      enumerable: true,
      writable: true,
      configurable: true,
    });
}

const editedConfig = fc
  .record({ base: fc.nat({ max: BASES.length - 1 }), edits: fc.array(edit, { maxLength: 4 }) })
  .map(({ base, edits }) => {
    const doc = structuredClone(BASES[base]);
    for (const e of edits) applyEdit(doc, e);
    return doc;
  });

// ---------------------------------------------------------------------------------------------
// Documents

/** Pieces of YAML syntax, strung together at random. */
const yamlSoup = fc
  .array(
    fc.oneof(
      fc.constantFrom(
        "listeners:",
        "routing:",
        "tenants:",
        "- ",
        ": ",
        "\n",
        "\n  ",
        "\n    ",
        "\t",
        "{",
        "}",
        "[",
        "]",
        ",",
        "&a ",
        "*a",
        "&b ",
        "*b",
        "<<: *a",
        "!!str ",
        "!!int ",
        "!!binary ",
        "!custom ",
        "? ",
        "---\n",
        "...\n",
        "%YAML 1.2\n",
        "%TAG ! tag:x,2000:\n",
        "#",
        "|\n  ",
        ">-\n  ",
        '"',
        "'",
        "\\",
        "\ufeff",
        "\r\n",
        "name: a",
        "bind: 127.0.0.1:1",
        "id: t",
        "{tenant}.a.b",
        "1e400",
        "0x1f",
        "0o17",
        ".nan",
        "~",
      ),
      fc.string({ maxLength: 8 }),
    ),
    { maxLength: 40 },
  )
  .map((parts) => parts.join(""));

export const configInput: fc.Arbitrary<ConfigFuzzInput> = fc.oneof(
  {
    weight: 4,
    arbitrary: editedConfig.map((value) => ({ text: JSON.stringify(value, null, 1), value })),
  },
  { weight: 4, arbitrary: editedConfig.map((value) => ({ text: stringify(value), value })) },
  {
    weight: 3,
    arbitrary: fc.tuple(editedConfig, fc.boolean(), mutations).map(([value, json, m]) => ({
      text: mutate(Buffer.from(json ? JSON.stringify(value) : stringify(value)), m).toString(
        "utf8",
      ),
    })),
  },
  {
    weight: 1,
    arbitrary: fc
      .jsonValue({ maxDepth: 4 })
      .map((value) => ({ text: JSON.stringify(value), value })),
  },
  { weight: 2, arbitrary: yamlSoup.map((text) => ({ text })) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 200 }).map((text) => ({ text })) },
);

// ---------------------------------------------------------------------------------------------
// The oracle

function lineCount(text: string): number {
  let n = 1;
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) n++;
  // YAML also breaks lines at a lone CR.
  for (let i = text.indexOf("\r"); i >= 0; i = text.indexOf("\r", i + 1))
    if (text[i + 1] !== "\n") n++;
  return n;
}

function checkError(e: ConfigError, lines: number, count: number): void {
  assert.equal(e.file, FILE, "the error names the file");
  assert.ok(
    Number.isInteger(e.line) && e.line >= 1 && e.line <= lines,
    `line ${e.line} outside 1..${lines}`,
  );
  assert.ok(Number.isInteger(e.column) && e.column >= 1, `column ${e.column}`);
  assert.ok(
    isErrorCode(e.code) && e.code.startsWith("CONFIG_"),
    `not a configuration code: ${e.code}`,
  );
  assert.equal(typeof e.key, "string");
  if (e.key === "") {
    // Only syntax errors, and a document that is not a mapping at all, concern no key.
    assert.ok(
      e.code === "CONFIG_SYNTAX" ||
        e.code === "CONFIG_DUPLICATE" ||
        (e.code === "CONFIG_SCHEMA" && count === 1),
      `${e.code} without a key: ${e.message}`,
    );
  }
  assert.ok(typeof e.message === "string" && e.message.length > 0);
  formatConfigError(e);
}

const codeAndKey = (e: { code: string; key: string }) => `${e.code} ${e.key}`;

export function checkConfigInput(input: ConfigFuzzInput): void {
  const started = performance.now();
  const result = parseConfigText(input.text, FILE);
  const ms = performance.now() - started;
  assert.ok(ms < CONFIG_PARSE_LIMIT_MS, `took ${Math.round(ms)} ms`);
  if (result.ok) summarizeConfig(result.config);
  else {
    assert.ok(result.errors.length > 0, "refused without an error");
    const lines = lineCount(input.text);
    for (const e of result.errors) checkError(e, lines, result.errors.length);
  }
  if (input.value === undefined) return;
  const direct = validateConfigValue(input.value, FILE);
  assert.equal(result.ok, direct.ok, "the text and its value are decided alike");
  if (!result.ok && !direct.ok) {
    assert.deepEqual(
      result.errors.map(codeAndKey).sort(),
      direct.errors.map(codeAndKey).sort(),
      "the same errors",
    );
  }
}
