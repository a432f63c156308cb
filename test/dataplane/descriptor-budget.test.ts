import assert from "node:assert/strict";
import { test } from "node:test";
import { budgetFor, parseOpenFilesLimit } from "../../src/dataplane/descriptor-budget.js";

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            1024                 524288               files
Max locked memory         8388608              8388608              bytes
`;

test("parseOpenFilesLimit reads the soft limit of /proc/self/limits", () => {
  assert.equal(parseOpenFilesLimit(LIMITS), 1024);
  assert.equal(parseOpenFilesLimit(LIMITS.replace("1024 ", "unlimited ")), null);
  assert.equal(parseOpenFilesLimit("Max processes 10 10 processes\n"), null);
  assert.equal(parseOpenFilesLimit("Max open files  0  0  files\n"), null);
});

test("budgetFor: two descriptors a connection, after those in use and a reserve", () => {
  assert.equal(budgetFor(null, 10), null);
  // 1024: reserve 64; (1024 - 30 - 64) / 2
  assert.equal(budgetFor(1024, 30), 465);
  // small limits keep a reserve of 16; large ones 64
  assert.equal(budgetFor(128, 30), 41);
  assert.equal(budgetFor(20_000, 30), 9953);
  assert.equal(budgetFor(1_048_576, 40), 524_236);
  // never below one connection, even when the limit is already spent
  assert.equal(budgetFor(64, 100), 1);
});
