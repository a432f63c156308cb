import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { ERROR_CATALOGUE } from "../../src/errors/index.js";

test("docs/proxy-protocol.md lists every PROXY protocol error code with its catalogue text", () => {
  const doc = readFileSync(new URL("../../docs/proxy-protocol.md", import.meta.url), "utf8");
  const section = doc.slice(
    doc.indexOf("<!-- pp-codes:start -->"),
    doc.indexOf("<!-- pp-codes:end -->"),
  );
  const documented = new Map(
    [...section.matchAll(/^\| `([A-Z0-9_]+)`\s*\| (.+?)\s*\|$/gm)].map((m) => [m[1], m[2]]),
  );
  const codes = Object.keys(ERROR_CATALOGUE).filter((c) => /^(PP|PP1|PP2|PP_ENCODE|LINK)_/.test(c));
  for (const code of codes) {
    assert.equal(documented.get(code), ERROR_CATALOGUE[code as keyof typeof ERROR_CATALOGUE], code);
  }
  assert.deepEqual([...documented.keys()].sort(), [...codes].sort());
});
