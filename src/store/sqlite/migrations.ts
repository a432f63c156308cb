/**
 * The SQLite schema, as numbered migrations. Each runs once, in its own transaction, and is
 * recorded in `schema_migrations`; opening a database applies the ones it lacks, in order. A
 * migration is never edited once released: a change of schema is a new migration.
 */
import type { DatabaseSync } from "node:sqlite";
import { type Migration, schemaTooNew } from "../shared.js";

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "tenants, rules, tokens, audit, counters, observed identities, change feed",
    sql: `
      CREATE TABLE tenants (
        id TEXT PRIMARY KEY,
        enforcement TEXT NOT NULL CHECK (enforcement IN ('enforce', 'report-only')),
        upstream TEXT,
        -- 0: no allow list (every connection admitted); then public_internet and rules are unused
        restricted INTEGER NOT NULL CHECK (restricted IN (0, 1)),
        public_internet INTEGER NOT NULL CHECK (public_internet IN (0, 1)),
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        revision INTEGER NOT NULL
      ) WITHOUT ROWID;

      CREATE TABLE tenant_hostnames (
        hostname TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
        position INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX tenant_hostnames_by_tenant ON tenant_hostnames (tenant_id, position);

      -- Clustered by tenant and position: loading every rule is one ordered scan.
      CREATE TABLE rules (
        tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        id TEXT NOT NULL UNIQUE,
        -- link and cidr in one value: UNIQUE treats NULLs as distinct, this key does not
        rule_key TEXT NOT NULL,
        link TEXT,
        cidr TEXT,
        description TEXT,
        expires_at INTEGER,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (tenant_id, position),
        UNIQUE (tenant_id, rule_key)
      ) WITHOUT ROWID;

      -- Keyed by rule id without a foreign key: configuration-file rules are counted too.
      CREATE TABLE rule_stats (
        tenant_id TEXT NOT NULL,
        rule_id TEXT NOT NULL,
        hits INTEGER NOT NULL,
        last_hit_at INTEGER,
        PRIMARY KEY (tenant_id, rule_id)
      ) WITHOUT ROWID;

      -- tenant_id without a foreign key: configuration-file tenants get tokens too.
      CREATE TABLE tokens (
        id TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL,
        hash BLOB NOT NULL UNIQUE,
        label TEXT,
        created_at INTEGER NOT NULL,
        created_by TEXT NOT NULL,
        last_used_at INTEGER,
        revoked_at INTEGER
      ) WITHOUT ROWID;
      CREATE INDEX tokens_by_tenant ON tokens (tenant_id, id);

      CREATE TABLE audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        tenant_id TEXT NOT NULL,
        at INTEGER NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        before_json TEXT,
        after_json TEXT,
        version INTEGER
      );
      CREATE INDEX audit_by_tenant ON audit (tenant_id, id);

      CREATE TABLE observed (
        tenant_id TEXT NOT NULL,
        identity TEXT NOT NULL,
        provider TEXT NOT NULL,
        listener TEXT NOT NULL,
        last_source TEXT,
        first_seen_at INTEGER NOT NULL,
        last_seen_at INTEGER NOT NULL,
        allowed INTEGER NOT NULL,
        denied INTEGER NOT NULL,
        last_reason TEXT NOT NULL,
        PRIMARY KEY (tenant_id, identity)
      ) WITHOUT ROWID;

      -- The change feed: AUTOINCREMENT never reuses a version, even after pruning.
      CREATE TABLE changes (
        version INTEGER PRIMARY KEY AUTOINCREMENT,
        tenant_id TEXT NOT NULL,
        at INTEGER NOT NULL
      );

      CREATE TABLE store_meta (
        key TEXT PRIMARY KEY,
        value INTEGER NOT NULL
      ) WITHOUT ROWID;
      -- Versions up to this one have been pruned from the change feed.
      INSERT INTO store_meta (key, value) VALUES ('feed_floor', 0);
    `,
  },
];

/**
 * Brings the database to the latest schema and returns the versions it applied. Refuses a
 * database written by a newer linkgate (a migration it does not know), rather than running
 * against a schema it cannot read.
 */
export function migrate(
  db: DatabaseSync,
  now: number,
  migrations: readonly Migration[] = MIGRATIONS,
): number[] {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at INTEGER NOT NULL
  )`);
  const applied = new Set(
    db
      .prepare("SELECT version FROM schema_migrations")
      .all()
      .map((row) => Number(row.version)),
  );
  const latest = migrations[migrations.length - 1].version;
  const unknown = [...applied].filter((v) => v > latest);
  if (unknown.length > 0) schemaTooNew(Math.max(...unknown), latest);
  const ran: number[] = [];
  for (const m of migrations) {
    if (applied.has(m.version)) continue;
    db.exec("BEGIN IMMEDIATE");
    try {
      db.exec(m.sql);
      db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)").run(
        m.version,
        m.name,
        now,
      );
      db.exec("COMMIT");
    } catch (error) {
      db.exec("ROLLBACK");
      throw error;
    }
    ran.push(m.version);
  }
  return ran;
}
