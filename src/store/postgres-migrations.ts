// The PostgreSQL store's schema, as an ordered list of steps (like
// sqlite-migrations.ts). The schema version (telnetlogin_schema.version) is
// the number of steps applied; a later feature adds its tables and indexes by
// appending one entry, never by editing an earlier one. Everything lives in
// the connection's current schema (the first one on its search_path).
import type pg from 'pg';
import { TelnetloginError } from '../errors.ts';
import { backfillPgStats, PG_STATS_SQL } from './postgres-stats.ts';

export interface PgMigration {
  /** What the step adds, for error messages. */
  name: string;
  sql: string;
  /** Fills what `sql` created from the data already stored, in the same transaction. */
  backfill?: (client: pg.ClientBase) => Promise<void>;
}

export const pgMigrations: readonly PgMigration[] = [
  {
    name: 'login events, partitioned by day',
    // Partitioned by `time` (one partition per UTC day, see
    // postgres-partitions.ts), so retention is a DROP TABLE. A unique index of
    // a partitioned table must hold the partition key, hence the key
    // (id, time): an event's time never changes, so a repeated event collides
    // on it exactly as on id alone, and ids stay unique.
    // `id` and `session` sort bytewise (COLLATE "C"), as in SQLite.
    sql: `
      CREATE TABLE events (
        id       text COLLATE "C" NOT NULL,    -- UUIDv7
        time     timestamptz NOT NULL,
        sensor   text        NOT NULL,
        src_ip   inet        NOT NULL,
        src_port integer     NOT NULL,
        dst_ip   inet        NOT NULL,
        dst_port integer     NOT NULL,
        session  text COLLATE "C" NOT NULL,
        attempt  integer     NOT NULL,
        username bytea       NOT NULL,        -- exactly the bytes the client sent
        password bytea       NOT NULL,
        client   text        NOT NULL,        -- ClientInfo as JSON (may hold \\u0000, which jsonb refuses)
        PRIMARY KEY (id, time)
      ) PARTITION BY RANGE (time);
      -- Per-address queries (feed aggregates, API look-ups by client).
      CREATE INDEX events_src_ip_time ON events (src_ip, time);
    `,
  },
  {
    name: 'sensors, heartbeats and rejected messages',
    sql: `
      -- One row per sensor, upserted from its heartbeats.
      CREATE TABLE sensors (
        id         text        PRIMARY KEY,
        addresses  inet[]      NOT NULL,
        version    text        NOT NULL,
        first_seen timestamptz NOT NULL,
        last_seen  timestamptz NOT NULL,
        counters   jsonb       NOT NULL
      );
      -- Heartbeat history, for per-sensor health over time.
      CREATE TABLE heartbeats (
        sensor   text        NOT NULL,
        time     timestamptz NOT NULL,
        counters jsonb       NOT NULL,
        PRIMARY KEY (sensor, time)
      );
      -- Messages the collector could not store (malformed, or an event that
      -- claims another sensor's id), kept byte for byte instead of dropped.
      CREATE TABLE rejected_messages (
        received timestamptz NOT NULL DEFAULT now(),
        subject  text        NOT NULL,
        error    text        NOT NULL,
        payload  bytea       NOT NULL
      );
      CREATE INDEX rejected_messages_received ON rejected_messages (received);
    `,
  },
  {
    name: 'dashboard rollups',
    sql: PG_STATS_SQL,
    backfill: backfillPgStats,
  },
];

export const pgSchemaVersion = pgMigrations.length;

const VERSION_TABLE = 'CREATE TABLE IF NOT EXISTS telnetlogin_schema (version integer NOT NULL)';

async function versionOf(client: pg.ClientBase): Promise<number> {
  const exists = await client.query<{ t: string | null }>(`SELECT to_regclass('telnetlogin_schema')::text AS t`);
  if (exists.rows[0]!.t === null) return 0;
  const r = await client.query<{ version: number }>('SELECT version FROM telnetlogin_schema');
  return r.rows[0]?.version ?? 0;
}

/** Brings the schema up to date; each step commits together with its version number. */
export async function pgMigrate(client: pg.ClientBase, where: string, steps: readonly PgMigration[] = pgMigrations): Promise<void> {
  let version = await pgCheckVersion(client, where, steps.length);
  if (version === steps.length) return;
  // Concurrent CREATE TABLE IF NOT EXISTS can still collide in the catalog
  // (duplicate table, type or key): creators take turns under an advisory lock.
  try {
    await client.query('BEGIN');
    await client.query(`SELECT pg_advisory_xact_lock(hashtext('telnetlogin_schema'))`);
    await client.query(VERSION_TABLE);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  }
  for (; version < steps.length; version = await pgCheckVersion(client, where, steps.length)) {
    try {
      await client.query('BEGIN');
      // Serialises concurrent migrations; a relation lock also makes this
      // transaction see the catalog as the previous holder left it.
      await client.query('LOCK TABLE telnetlogin_schema IN EXCLUSIVE MODE');
      // Re-read under the lock: another process may have migrated meanwhile.
      const current = (await client.query<{ version: number }>('SELECT version FROM telnetlogin_schema')).rows[0]?.version ?? 0;
      if (current === version) {
        await client.query(steps[version]!.sql);
        await steps[version]!.backfill?.(client);
        await client.query('DELETE FROM telnetlogin_schema');
        await client.query('INSERT INTO telnetlogin_schema (version) VALUES ($1)', [version + 1]);
      }
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw new TelnetloginError(
        'TL_STORE_MIGRATION',
        `${where}: schema step ${version + 1} (${steps[version]!.name}) failed: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }
}

/** The schema's version; an error when this telnetlogin cannot use it. */
export async function pgCheckVersion(client: pg.ClientBase, where: string, latest = pgSchemaVersion): Promise<number> {
  const version = await versionOf(client);
  if (version > latest) {
    throw new TelnetloginError(
      'TL_STORE_VERSION',
      `${where} has schema version ${version}, newer than this telnetlogin knows (${latest}); upgrade telnetlogin`,
    );
  }
  return version;
}
