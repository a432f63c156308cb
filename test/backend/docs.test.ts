/**
 * docs/backend.md lists every BACKEND_ code with its catalogue text, and what docs/security.md
 * and docs/backend.md name (error codes, configuration keys, metrics) exists.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { ERROR_CATALOGUE, isErrorCode } from "../../src/errors/index.js";

function doc(name: string): string {
  return readFileSync(new URL(`../../docs/${name}`, import.meta.url), "utf8");
}

test("docs/backend.md lists every BACKEND_ code with its catalogue text", () => {
  const text = doc("backend.md");
  const section = text.slice(
    text.indexOf("<!-- backend-codes:start -->"),
    text.indexOf("<!-- backend-codes:end -->"),
  );
  const documented = new Map(
    [...section.matchAll(/^\| `([A-Z0-9_]+)`\s*\| (.+?)\s*\|$/gm)].map((m) => [m[1], m[2]]),
  );
  const codes = Object.keys(ERROR_CATALOGUE).filter((c) => c.startsWith("BACKEND_"));
  assert.ok(codes.length > 0);
  for (const code of codes) {
    assert.equal(documented.get(code), ERROR_CATALOGUE[code as keyof typeof ERROR_CATALOGUE], code);
  }
  assert.deepEqual([...documented.keys()].sort(), [...codes].sort());
});

test("the codes, configuration keys and metrics the security docs name exist", () => {
  // docs/config.md is generated from the schema: one heading per key.
  const keys = new Set([...doc("config.md").matchAll(/^#+ `([^`]+)`$/gm)].map((m) => m[1]));
  const metrics = new Set(
    [...doc("observability.md").matchAll(/^\| `(linkgate_[a-z_]+)`/gm)].map((m) => m[1]),
  );
  for (const name of ["security.md", "backend.md"]) {
    const text = doc(name);
    let seen = 0;
    for (const [, token] of text.matchAll(/`([^`\n]+)`/g)) {
      const code = /^[A-Z][A-Z0-9]*_[A-Z0-9_]+$/.exec(token);
      if (code !== null) {
        assert.ok(isErrorCode(token), `${name}: ${token} is not in the error catalogue`);
        seen++;
      }
      const key =
        /^((?:listeners|routing|tenants|api|log|shutdown)(?:\[\])?(?:\.[A-Za-z0-9]+(?:\[\])?)+)/.exec(
          token,
        );
      if (key !== null) {
        assert.ok(keys.has(key[1]), `${name}: ${key[1]} is not a configuration key`);
        seen++;
      }
    }
    for (const [, metric] of text.matchAll(/\b(linkgate_[a-z_]+)\{/g)) {
      assert.ok(metrics.has(metric), `${name}: ${metric} is not a linkgate metric`);
      seen++;
    }
    assert.ok(seen > 10, `${name}: only ${seen} names checked`);
  }
});
