/** docs/config.md is generated from the schema, and the schema documents every key. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { DOCS_PATH, renderConfigDocs } from "../../scripts/gen-config-docs.js";
import { ConfigFileSchema, RuleSchema, TenantSchema } from "../../src/config/index.js";
import { ERROR_CATALOGUE } from "../../src/errors/index.js";

type Schema = Record<string, unknown>;

/** Every property of the schema, with its path: ["listeners[].bind", schema], ... */
function walk(schema: Schema, prefix = ""): [string, Schema][] {
  const out: [string, Schema][] = [];
  for (const [key, prop] of Object.entries((schema.properties as Record<string, Schema>) ?? {})) {
    const path = prefix === "" ? key : `${prefix}.${key}`;
    out.push([path, prop]);
    if (prop.type === "object") out.push(...walk(prop, path));
    if (prop.type === "array" && (prop.items as Schema).type === "object") {
      out.push(...walk(prop.items as Schema, `${path}[]`));
    }
    for (const branch of (prop.anyOf as Schema[] | undefined) ?? []) {
      if (branch.type === "object") out.push(...walk(branch, path));
    }
  }
  return out;
}

test("docs/config.md is up to date with the schema (run `npm run docs:config`)", () => {
  const current = readFileSync(DOCS_PATH, "utf8");
  assert.ok(
    current === renderConfigDocs(),
    "docs/config.md is out of date with src/config/schema.ts, examples/linkgate.yaml or the error catalogue: run `npm run docs:config`",
  );
});

test("every key has a description, and every value key an example", () => {
  const keys = walk(ConfigFileSchema as unknown as Schema);
  assert.ok(keys.length > 35, `${keys.length} keys`);
  for (const [path, schema] of keys) {
    assert.ok(
      typeof schema.description === "string" && schema.description.length > 0,
      `${path}: description`,
    );
    const container =
      schema.type === "object" ||
      (schema.type === "array" && (schema.items as Schema).type === "object") ||
      schema.const !== undefined ||
      (Array.isArray(schema.anyOf) && (schema.anyOf as Schema[]).every((b) => b.type === "object"));
    if (!container) {
      assert.ok(Array.isArray(schema.examples) && schema.examples.length > 0, `${path}: examples`);
    }
  }
});

test("every key is in docs/config.md, and every CONFIG_ code with its text", () => {
  const doc = readFileSync(DOCS_PATH, "utf8");
  for (const [path] of walk(ConfigFileSchema as unknown as Schema)) {
    assert.ok(doc.includes(`\`${path}\``) || doc.includes(`\`${path}[]\``), path);
  }
  for (const [code, text] of Object.entries(ERROR_CATALOGUE)) {
    if (!code.startsWith("CONFIG_")) continue;
    const escaped = text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    assert.match(doc, new RegExp(`^\\| \`${code}\` +\\| ${escaped} +\\|$`, "m"), code);
  }
  assert.match(doc, /## Decision semantics/);
  assert.match(doc, /a cidr-only rule never admits Private Link traffic/);
  assert.match(doc, /LINKGATE_ADMIN_TOKEN_FILE/);
});

test("the tenant and rule schemas are exported on their own, as plain JSON Schema", () => {
  const tenant = JSON.parse(JSON.stringify(TenantSchema));
  assert.equal(tenant.type, "object");
  assert.equal(tenant.additionalProperties, false);
  assert.deepEqual(tenant.required, ["id"]);
  assert.equal(tenant.properties.allow.properties.rules.items.properties.link.type, "string");
  assert.deepEqual(Object.keys(JSON.parse(JSON.stringify(RuleSchema)).properties), [
    "link",
    "cidr",
    "description",
  ]);
});
