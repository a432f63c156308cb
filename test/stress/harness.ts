/**
 * Runs a stress scenario (bench/stress/) at its `ci` size inside `npm test`: linkgate from its
 * build (npm test builds it first), the Node.js load generator (CI machines need no C compiler),
 * everything on 127.0.0.0/8, a few seconds each. The test fails with the scenario's failures.
 */
import assert from "node:assert/strict";
import { readdirSync, statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { killAll } from "../../bench/lib/procs.js";
import { runScenario, type Scenario } from "../../bench/stress/lib/scenario.js";
import { prepareTools, ROOT } from "../../bench/stress/lib/tools.js";

function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

/** linkgate runs from dist/: it must be built from the sources as they are. */
function checkBuild(): void {
  let built = 0;
  try {
    built = statSync(join(ROOT, "dist/cli/main.js")).mtimeMs;
  } catch {
    // not built
  }
  assert.ok(
    built >= newest(join(ROOT, "src")),
    "dist/ is missing or older than src/: run npm run build",
  );
}

export async function runCi(t: TestContext, scenario: Scenario): Promise<void> {
  checkBuild();
  const dir = await mkdtemp(join(tmpdir(), "linkgate-stress-"));
  t.after(async () => {
    killAll();
    await rm(dir, { recursive: true, force: true });
  });
  const tools = prepareTools(dir, true);
  const r = await runScenario(scenario, { size: "ci", tools, quiet: true });
  t.diagnostic(`${r.seconds} s: ${r.summary}`);
  assert.deepEqual(r.failures, [], `${scenario.name}: ${r.summary}`);
}
