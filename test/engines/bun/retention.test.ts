/**
 * Ended connections die young on Bun: nothing long-lived keeps them reachable through a
 * young-generation collection. The registry's Set per tenant did (a long-lived Set with one
 * add and one delete per connection): every ended connection's sockets, and all they point to,
 * survived each eden collection until a full one, which under load cost 2.5 µs of collection
 * per connection and a full collection every few seconds (src/policy/registry.ts). Run by
 * `bun test` (npm test); the fixture runs in a process of its own, so that only linkgate's
 * objects are on its heap.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const fixture = fileURLToPath(new URL("./fixtures/ended-connections.ts", import.meta.url));

test("1,500 ended connections leave their sockets to a young-generation collection", () => {
  const run = spawnSync(process.execPath, [fixture, "1500"], {
    encoding: "utf8",
    timeout: 60_000,
  });
  assert.equal(run.status, 0, run.stderr);
  const result = JSON.parse(run.stdout.trim()) as {
    connections: number;
    tcpSockets: number;
    held: number;
  };
  assert.equal(result.connections, 1500, "every connection ended and was reported");
  assert.equal(result.held, 1, "the held connection is still registered");
  // Each connection had three Bun sockets here (client, accepted, upstream): with the Set,
  // 1,748 and 1,777 survived in two runs; with the lists, 46.
  assert.ok(
    result.tcpSockets < 300,
    `${result.tcpSockets} Bun sockets survived an eden collection after 1,500 ended connections`,
  );
});
