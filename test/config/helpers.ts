/** Shared by the configuration tests: a valid base configuration and ways to break it. */
import assert from "node:assert/strict";
import { stringify } from "yaml";
import { type ConfigError, type LinkgateConfig, parseConfigText } from "../../src/config/index.js";

// biome-ignore lint/suspicious/noExplicitAny: tests edit arbitrary parts of the document
export type Doc = Record<string, any>;

/** A small valid configuration, as the parsed file. */
export function baseDoc(): Doc {
  return {
    listeners: [
      {
        name: "privatelink",
        bind: "127.0.0.1:8443",
        proxyProtocol: "required",
        trustedProxies: ["10.0.0.0/8"],
      },
      { name: "public", bind: "127.0.0.1:8444", proxyProtocol: "none" },
    ],
    routing: { hostPatterns: ["{tenant}.api.example.com"], upstream: "10.0.9.9:443" },
    tenants: [{ id: "megacorp", allow: { rules: [{ link: "aws:vpce-0123456789abcdef0" }] } }],
  };
}

/** The base document changed by `edit`, as YAML text. */
export function yamlOf(edit: (d: Doc) => void = () => {}): string {
  const d = baseDoc();
  edit(d);
  return stringify(d);
}

export function parse(edit: (d: Doc) => void = () => {}) {
  return parseConfigText(yamlOf(edit), "test.yaml");
}

/** Asserts the edited base is valid and returns the resolved configuration. */
export function valid(edit: (d: Doc) => void = () => {}): LinkgateConfig {
  const r = parse(edit);
  if (!r.ok)
    assert.fail(`expected valid, got:\n${r.errors.map((e) => JSON.stringify(e)).join("\n")}`);
  return r.config;
}

/** Asserts the edited base is invalid with (at least) an error at `key` with `code`. */
export function invalid(
  edit: (d: Doc) => void,
  key: string,
  code: string,
  message?: RegExp,
): ConfigError {
  const r = parse(edit);
  assert.equal(r.ok, false, `expected an error at ${key}`);
  if (r.ok) throw new Error("unreachable");
  const found = r.errors.find((e) => e.key === key && e.code === code);
  assert.ok(
    found !== undefined,
    `expected ${code} at ${key}; got:\n${r.errors.map((e) => `${e.key} ${e.code} ${e.message}`).join("\n")}`,
  );
  if (message !== undefined) assert.match(found.message, message);
  return found;
}

/** The errors of a text, as "LINE:COLUMN KEY CODE". */
export function positions(text: string, file = "t.yaml"): string[] {
  const r = parseConfigText(text, file);
  if (r.ok) return [];
  return r.errors.map((e) => `${e.line}:${e.column} ${e.key} ${e.code}`);
}
