import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { createLogger } from "../../src/observability/logger.js";
import { Metrics } from "../../src/observability/metrics.js";
import { logConnection, record } from "./fixtures.js";

const doc = readFileSync(new URL("../../docs/observability.md", import.meta.url), "utf8");

/** Names in the first column of the markdown tables: "| `name` |". */
const tableNames = new Set([...doc.matchAll(/^\| `([A-Za-z_]+)`\s+\|/gm)].map((m) => m[1]));

test("docs/observability.md documents every linkgate metric, and no other", async () => {
  const metrics = new Metrics({ defaultMetrics: false });
  metrics.observeStore(() => null); // the store's gauges, which a process with a store has
  const names = (await metrics.registry.getMetricsAsJSON()).map((m) => m.name);
  const documented = [...tableNames].filter((n) => n.startsWith("linkgate_"));
  assert.deepEqual(documented.sort(), names.filter((n) => n.startsWith("linkgate_")).sort());
});

test("docs/observability.md documents every field of the connection line", () => {
  const lines: string[] = [];
  logConnection(
    createLogger({ level: "info" }, { write: (l: string) => void lines.push(l) }),
    record(),
  );
  for (const field of Object.keys(JSON.parse(lines[0]))) {
    assert.ok(tableNames.has(field), `field ${field} is not in a table of the doc`);
  }
});
