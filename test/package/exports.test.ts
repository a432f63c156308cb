/**
 * The package's entry points, as a user installs them: every `exports` path of package.json
 * points at files the build made, and each name the documentation imports from `linkgate/...`
 * is exported there. Imported by the package's own name (Node.js resolves a package's
 * self-reference through `exports`), from dist/: `npm test` builds first.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { test } from "node:test";

const root = new URL("../../", import.meta.url);
const pkg = JSON.parse(readFileSync(new URL("package.json", root), "utf8")) as {
  name: string;
  exports: Record<string, string | { types: string; default: string }>;
};

test("every exports path resolves to files the build made", () => {
  const paths = Object.entries(pkg.exports).filter(([key]) => key !== "./package.json");
  assert.ok(paths.length > 0);
  for (const [key, target] of paths) {
    const files = typeof target === "string" ? [target] : [target.types, target.default];
    for (const file of files) {
      assert.ok(existsSync(new URL(file, root)), `${key}: ${file} does not exist`);
    }
  }
});

test("what the documentation imports from linkgate/... is exported there", async () => {
  const docs = readdirSync(new URL("docs/", root)).filter((f) => f.endsWith(".md"));
  const imports = new Map<string, Set<string>>();
  for (const doc of ["README.md", ...docs.map((f) => `docs/${f}`)]) {
    const text = readFileSync(new URL(doc, root), "utf8");
    for (const m of text.matchAll(/import\s*\{([^}]*)\}\s*from\s*"(linkgate[^"]*)"/g)) {
      const names = imports.get(m[2]) ?? new Set<string>();
      for (const part of m[1].split(",")) {
        const name = part.trim();
        if (name !== "" && !name.startsWith("type ")) names.add(name.split(/\s+as\s+/)[0]);
      }
      imports.set(m[2], names);
    }
  }
  assert.ok(imports.size >= 2, `documented entry points: ${[...imports.keys()].join(", ")}`);
  for (const [specifier, names] of imports) {
    const subpath = `.${specifier.slice(pkg.name.length)}`;
    assert.ok(subpath in pkg.exports, `${specifier} is documented but not in package.json exports`);
    const module = (await import(specifier)) as Record<string, unknown>;
    for (const name of names) {
      assert.notEqual(module[name], undefined, `${specifier} does not export ${name}`);
    }
  }
});
