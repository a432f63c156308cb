/**
 * What a start from the policy snapshot rests on, without a database server: the snapshot file
 * (written whole or not at all, read back exactly, refused with a reason), its writer (changes
 * coalesced), the store's tenants started from a snapshot and caught up once the store answers
 * (a store behind the snapshot is reloaded whole), and the store opened in the background.
 * The same path end to end, on PostgreSQL, is in test/fleet/fleet.test.ts.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Writable } from "node:stream";
import { describe, test } from "node:test";
import type { TenantConfig } from "../../src/config/types.js";
import { LinkgateError } from "../../src/errors/index.js";
import { createLogger } from "../../src/observability/index.js";
import { DeferredStore } from "../../src/runtime/deferred-store.js";
import { readSnapshot, SnapshotWriter, writeSnapshot } from "../../src/runtime/snapshot.js";
import { StoreTenants } from "../../src/runtime/store-tenants.js";
import type { Store, StoredTenant, StoreSnapshot } from "../../src/store/index.js";
import { waitFor } from "../helpers/programs.js";
import {
  ADMIN,
  GCP,
  openTempStore,
  rule,
  tempDir,
  tenantInput,
  VPCE,
  VPCE2,
} from "../store/helpers.js";

/** A logger whose lines are kept (parsed) in `lines`. */
function capture() {
  const lines: { level: string; msg: string }[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split("\n")) if (line !== "") lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: createLogger({ level: "info" }, stream as never), lines };
}

function storedTenant(id: string, links: string[], expiresAt: number | null = null): StoredTenant {
  return {
    id,
    hostnames: [`${id}.example.com`],
    upstream: "10.0.0.1:443",
    enforcement: "enforce",
    allow: {
      publicInternet: false,
      rules: links.map((link, i) => ({
        id: `r_${id}${i}`,
        link,
        cidr: null,
        description: i === 0 ? 'first "rule"' : null,
        expiresAt,
        createdAt: 1000,
      })),
    },
    createdAt: 1000,
    updatedAt: 2000,
    revision: 7,
  };
}

/** A change target that records what it is told. */
function recorder() {
  const applied: Map<string, TenantConfig | null>[] = [];
  return {
    applied,
    async applyTenants(changes: ReadonlyMap<string, TenantConfig | null>) {
      applied.push(new Map(changes));
    },
  };
}

const linksOf = (t: TenantConfig | null | undefined) => t?.allow?.rules.map((r) => r.link) ?? [];

describe("the policy snapshot file", () => {
  test("is read back exactly as written, and written whole (no temporary file left)", async (t) => {
    const dir = tempDir(t);
    const path = join(dir, "snapshot.json");
    const snapshot: StoreSnapshot = {
      version: 42,
      tenants: [
        storedTenant("a", [VPCE, GCP]),
        storedTenant("b", []),
        { ...storedTenant("c", []), allow: null },
      ],
    };
    await writeSnapshot(path, snapshot);
    const read = await readSnapshot(path);
    assert.equal(read.version, 42);
    assert.deepEqual(read.tenants, snapshot.tenants);
    assert.ok(Math.abs(read.writtenAt - Date.now()) < 10_000);
    assert.deepEqual(readdirSync(dir), ["snapshot.json"]);
    // One tenant per line: an operator can grep and diff it.
    assert.equal(readFileSync(path, "utf8").trimEnd().split("\n").length, 3 + 2);

    // A second write replaces it.
    await writeSnapshot(path, { version: 43, tenants: [] });
    assert.deepEqual(await readSnapshot(path), {
      version: 43,
      tenants: [],
      writtenAt: (await readSnapshot(path)).writtenAt,
    });
  });

  test("is refused, with the reason, when missing, cut short or not a snapshot", async (t) => {
    const dir = tempDir(t);
    const path = join(dir, "snapshot.json");
    const refused = async (content: string | null, reason: RegExp) => {
      if (content !== null) writeFileSync(path, content);
      await assert.rejects(readSnapshot(path), (error: LinkgateError) => {
        assert.equal(error.code, "SNAPSHOT_UNREADABLE");
        assert.match(error.message, reason);
        assert.ok(error.message.includes(path));
        return true;
      });
    };
    await refused(null, /does not exist/);
    await writeSnapshot(path, { version: 1, tenants: [storedTenant("a", [VPCE])] });
    const whole = readFileSync(path, "utf8");
    await refused(whole.slice(0, whole.length - 10), /is not JSON/);
    await refused(JSON.stringify({ version: 1, tenants: [] }), /not a linkgate policy snapshot/);
    await refused(JSON.stringify({ linkgateSnapshot: 1, tenants: [] }), /lacks its version/);
    await refused(
      JSON.stringify({
        linkgateSnapshot: 1,
        version: 1,
        writtenAt: new Date().toISOString(),
        tenants: [{ id: "a" }],
      }),
      /a tenant without id, hostnames or allow \("a"\)/,
    );
  });

  test("its writer coalesces changes, and close() writes what is pending", async (t) => {
    const path = join(tempDir(t), "snapshot.json");
    let version = 0;
    let reads = 0;
    const source = () => {
      reads++;
      return { version, tenants: [storedTenant("a", [VPCE])] };
    };
    const { logger } = capture();
    const writer = new SnapshotWriter(path, source, logger);
    for (let i = 0; i < 20; i++) {
      version++;
      writer.changed();
    }
    // Twenty changes in a row: one write, of the last.
    await waitFor(async () => (await readSnapshot(path).catch(() => null))?.version, {
      what: "the first write",
    });
    assert.equal((await readSnapshot(path)).version, 20);
    assert.equal(reads, 1);
    // The next change waits for the gap after that write; close() writes it at once.
    version++;
    writer.changed();
    await writer.close();
    assert.equal(reads, 2, "one more write, of the latest version, at close");
    assert.equal((await readSnapshot(path)).version, 21);
  });
});

describe("the store's tenants started from a snapshot", () => {
  test("are enforced as the snapshot has them, then caught up with the store's changes since", async (t) => {
    const { store } = openTempStore(t);
    await store.createTenant(tenantInput("a", { allow: { rules: [rule({ link: VPCE })] } }), ADMIN);
    const snapshot = await store.loadAll();
    await store.addRule("a", rule({ link: VPCE2 }), ADMIN);
    await store.createTenant(tenantInput("b"), ADMIN);

    const tenants = StoreTenants.fromSnapshot(store, snapshot, capture().logger);
    t.after(() => tenants.close());
    assert.deepEqual(
      tenants.configs().map((c) => [c.id, linksOf(c)]),
      [["a", [VPCE]]],
    );
    const target = recorder();
    tenants.follow(target);
    await waitFor(() => target.applied.length === 1, { what: "the catch-up" });
    assert.deepEqual([...target.applied[0].keys()].sort(), ["a", "b"]);
    assert.deepEqual(linksOf(target.applied[0].get("a")), [VPCE, VPCE2]);
    assert.equal(tenants.version, (await store.changesSince(0)).version);
  });

  test("a store behind the snapshot (restored from an older backup) is reloaded whole", async (t) => {
    const { store } = openTempStore(t);
    await store.createTenant(tenantInput("a", { allow: { rules: [rule({ link: GCP })] } }), ADMIN);
    const older = (await store.loadAll()).version;
    // The snapshot comes from a database that had gone further: tenant z, and a's other rule.
    const snapshot = {
      version: older + 10,
      tenants: [storedTenant("a", [VPCE]), storedTenant("z", [VPCE])],
    };
    const { logger, lines } = capture();
    const tenants = StoreTenants.fromSnapshot(store, snapshot, logger);
    t.after(() => tenants.close());
    const target = recorder();
    tenants.follow(target);
    await waitFor(() => target.applied.length === 1, { what: "the reload" });
    const said = lines.filter((l) => l.msg.includes("the database is behind the policy in force"));
    assert.equal(said.length, 1, "said once, as a warning");
    assert.equal(said[0].level, "warn");
    assert.deepEqual(linksOf(target.applied[0].get("a")), [GCP], "the database wins");
    assert.equal(target.applied[0].get("z"), null, "a tenant it does not have is removed");
    assert.equal(tenants.version, older, "the database's version is followed from now on");

    // And changes are followed from there (not ignored as older than the snapshot).
    await store.addRule("a", rule({ link: VPCE2 }), ADMIN);
    await waitFor(() => target.applied.length === 2, { what: "the next change" });
    assert.deepEqual(linksOf(target.applied[1].get("a")), [GCP, VPCE2]);
  });

  test("an expiring rule of the snapshot expires on time while the store cannot be read", async (t) => {
    const expiresAt = Date.now() + 300;
    const snapshot = { version: 5, tenants: [storedTenant("a", [VPCE], expiresAt)] };
    const { logger, lines } = capture();
    const store = new DeferredStore({
      open: () => Promise.reject(new LinkgateError("STORE_UNAVAILABLE", "connection refused")),
      firstError: new Error("connection refused"),
      intervalMs: 100,
      onOpen: () => {},
      onError: () => {},
    });
    t.after(() => store.close());
    const tenants = StoreTenants.fromSnapshot(store, snapshot, logger);
    t.after(() => tenants.close());
    const target = recorder();
    tenants.follow(target);
    await waitFor(() => target.applied.length === 1, { what: "the expiry", timeoutMs: 3000 });
    assert.ok(Date.now() >= expiresAt);
    assert.deepEqual(linksOf(target.applied[0].get("a")), []);
    assert.equal(tenants.version, 5);
    // The feed could not be read: said once, however many retries.
    await new Promise((resolve) => setTimeout(resolve, 2200));
    const failures = lines.filter((l) => l.msg.startsWith("store change feed: cannot read it"));
    assert.equal(failures.length, 1);
  });
});

describe("the store opened in the background", () => {
  test("fails at once while not open, then is the store; early listeners hear its changes", async (t) => {
    const { store: real } = openTempStore(t);
    let attempts = 0;
    let opened: Store | null = null;
    const errors: unknown[] = [];
    const store = new DeferredStore({
      open: async () => {
        attempts++;
        if (attempts === 1) throw new LinkgateError("STORE_UNSUPPORTED", "schema too new");
        if (attempts < 3) throw new LinkgateError("STORE_UNAVAILABLE", `refused ${attempts}`);
        return real;
      },
      firstError: new Error("refused at start"),
      intervalMs: 50,
      onOpen: (s) => {
        opened = s;
      },
      onError: (error) => errors.push(error),
    });
    t.after(() => store.close());
    const heard: number[] = [];
    store.onChange((c) => heard.push(c.version));
    const health = store.health();
    assert.equal(health.state, "down");
    assert.equal(health.lastError, "refused at start");
    await assert.rejects(store.getTenant("a"), (e: LinkgateError) => {
      assert.equal(e.code, "STORE_UNAVAILABLE");
      assert.match(e.message, /not been reached since linkgate started.*refused at start/);
      return true;
    });

    await waitFor(() => opened !== null, { what: "the store to open" });
    assert.equal(attempts, 3);
    assert.deepEqual(
      errors.map((e) => (e as LinkgateError).code),
      ["STORE_UNSUPPORTED"],
      "only what is not an outage is reported",
    );
    assert.equal(store.health().state, "up");
    const { version } = await store.createTenant(tenantInput("a"), ADMIN);
    assert.equal((await store.getTenant("a"))?.id, "a");
    assert.deepEqual(heard, [version]);
  });
});
