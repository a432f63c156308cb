/**
 * How `serve` writes its stdout: in one process, batches of up to 64 KiB whatever stdout is
 * (nothing else writes to it); in a worker of `serve --workers N`, which shares stdout with the
 * other workers and the primary, PIPE_BUF batches on a pipe, so that lines never interleave.
 * Under `node --test` this process's stdout is a pipe, the case where the two differ.
 */
import assert from "node:assert/strict";
import { fstatSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { lineOutputOf } from "../../src/observability/logger.js";
import { LinkgateRuntime } from "../../src/runtime/linkgate.js";
import { tempDir } from "../helpers/programs.js";
import { serveConfigYaml } from "../helpers/serve.js";

test("one process writes its stdout in 64 KiB batches, a worker in PIPE_BUF ones on a pipe", async (t) => {
  const stdout = fstatSync(1);
  const pipe = stdout.isFIFO() || stdout.isSocket();
  const file = join(await tempDir(t), "linkgate.yaml");
  const rule = `        - { link: "aws:vpce-0123456789abcdef0", description: "one" }`;
  writeFileSync(file, serveConfigYaml(9, rule, "log:\n  level: silent\n"));

  const single = await LinkgateRuntime.start({ configFile: file, version: "test" });
  t.after(() => single.stop());
  assert.equal(lineOutputOf(single.logger)?.batchBytes, 65_536);

  const worker = await LinkgateRuntime.start({
    configFile: file,
    version: "test",
    worker: { id: 1, config: single.config },
  });
  t.after(() => worker.stop());
  assert.equal(lineOutputOf(worker.logger)?.batchBytes, pipe ? 4096 : 65_536);
  assert.ok(pipe, "stdout of a test under node --test is a pipe: the worker's case was checked");
});
