/**
 * The PostgreSQL schema, as numbered migrations, like SQLite's: each runs once, in its own
 * transaction, and is recorded in `schema_migrations`. A migration is never edited once
 * released: a change of schema is a new migration.
 *
 * Several instances of a fleet start together on one database: each migration's transaction
 * first takes an advisory lock (pg_advisory_xact_lock, released at commit or rollback, so that
 * it also works through a pooler that pins nothing), then reads what is applied. The first
 * instance applies a migration; the others wait for its commit, see it applied, and go on.
 *
 * Identifiers and keys are `COLLATE "C"` (byte order): pages follow the same order as with
 * SQLite, and the order of keys does not depend on the server's locale.
 */
import type { Sql } from "postgres";
import { type Migration, schemaTooNew } from "../shared.js";

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "tenants, rules, tokens, audit, counters, observed identities, change feed",
    sql: `
      -- One row: the change feed's counter. Every policy write locks it first and bumps it in
      -- its transaction, so writers take versions one at a time, in commit order, with no gap.
      CREATE TABLE store_state (
        singleton BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),
        version BIGINT NOT NULL,
        -- Versions up to this one have been pruned from the change feed.
        feed_floor BIGINT NOT NULL
      );
      INSERT INTO store_state (version, feed_floor) VALUES (0, 0);

      CREATE TABLE tenants (
        id TEXT COLLATE "C" PRIMARY KEY,
        enforcement TEXT NOT NULL CHECK (enforcement IN ('enforce', 'report-only')),
        upstream TEXT,
        -- false: no allow list (every connection admitted); then public_internet and rules are unused
        restricted BOOLEAN NOT NULL,
        public_internet BOOLEAN NOT NULL,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        revision BIGINT NOT NULL
      );

      CREATE TABLE tenant_hostnames (
        hostname TEXT COLLATE "C" PRIMARY KEY,
        tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
        position INTEGER NOT NULL
      );
      CREATE INDEX tenant_hostnames_by_tenant ON tenant_hostnames (tenant_id, position);

      CREATE TABLE rules (
        tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        id TEXT COLLATE "C" NOT NULL UNIQUE,
        -- link and cidr in one value: UNIQUE treats NULLs as distinct, this key does not
        rule_key TEXT COLLATE "C" NOT NULL,
        link TEXT,
        cidr TEXT,
        description TEXT,
        expires_at BIGINT,
        created_at BIGINT NOT NULL,
        PRIMARY KEY (tenant_id, position),
        UNIQUE (tenant_id, rule_key)
      );

      -- Keyed by rule id without a foreign key: configuration-file rules are counted too.
      CREATE TABLE rule_stats (
        tenant_id TEXT COLLATE "C" NOT NULL,
        rule_id TEXT COLLATE "C" NOT NULL,
        hits BIGINT NOT NULL,
        last_hit_at BIGINT,
        PRIMARY KEY (tenant_id, rule_id)
      );

      -- tenant_id without a foreign key: configuration-file tenants get tokens too.
      CREATE TABLE tokens (
        id TEXT COLLATE "C" PRIMARY KEY,
        tenant_id TEXT COLLATE "C" NOT NULL,
        hash BYTEA NOT NULL UNIQUE,
        label TEXT,
        created_at BIGINT NOT NULL,
        created_by TEXT NOT NULL,
        last_used_at BIGINT,
        revoked_at BIGINT
      );
      CREATE INDEX tokens_by_tenant ON tokens (tenant_id, id);

      -- JSON, not JSONB: an entry reads back with its keys in the order they were written.
      CREATE TABLE audit (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        tenant_id TEXT COLLATE "C" NOT NULL,
        at BIGINT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        before_json JSON,
        after_json JSON,
        version BIGINT
      );
      CREATE INDEX audit_by_tenant ON audit (tenant_id, id);

      CREATE TABLE observed (
        tenant_id TEXT COLLATE "C" NOT NULL,
        identity TEXT COLLATE "C" NOT NULL,
        provider TEXT NOT NULL,
        listener TEXT NOT NULL,
        last_source TEXT,
        first_seen_at BIGINT NOT NULL,
        last_seen_at BIGINT NOT NULL,
        allowed BIGINT NOT NULL,
        denied BIGINT NOT NULL,
        last_reason TEXT NOT NULL,
        PRIMARY KEY (tenant_id, identity)
      );

      -- The change feed: one row per version. write_version is the version of the write the
      -- change belongs to (an import of many tenants is one write: its last version), so that
      -- listeners hear one change per write, as they do with SQLite.
      CREATE TABLE changes (
        version BIGINT PRIMARY KEY,
        write_version BIGINT NOT NULL,
        tenant_id TEXT COLLATE "C" NOT NULL,
        at BIGINT NOT NULL
      );
    `,
  },
];

/** The advisory lock of migrations: "linkgate" in ASCII, a key no other program picks. */
const MIGRATION_LOCK = "7811882245209649253";

/**
 * Brings the database to the latest schema and returns the versions this call applied (none
 * when another instance did). Refuses a database written by a newer linkgate (a migration it
 * does not know), rather than running against a schema it cannot read.
 */
export async function migrate(
  sql: Sql,
  now: number,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<number[]> {
  const latest = migrations[migrations.length - 1].version;
  const ran: number[] = [];
  for (const m of migrations) {
    const applied = await sql.begin(async (tx) => {
      await tx`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`;
      await tx`CREATE TABLE IF NOT EXISTS schema_migrations (
        version INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        applied_at BIGINT NOT NULL
      )`;
      const versions = (await tx<{ version: number }[]>`SELECT version FROM schema_migrations`).map(
        (row) => row.version,
      );
      const newest = Math.max(0, ...versions);
      if (newest > latest) schemaTooNew(newest, latest);
      if (versions.includes(m.version)) return false;
      await tx.unsafe(m.sql);
      await tx`INSERT INTO schema_migrations (version, name, applied_at)
        VALUES (${m.version}, ${m.name}, ${now})`;
      return true;
    });
    if (applied) ran.push(m.version);
  }
  return ran;
}
