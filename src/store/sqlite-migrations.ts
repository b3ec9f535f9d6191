// The SQLite store's schema, as an ordered list of steps. The schema version
// (PRAGMA user_version) is the number of steps applied; a later feature adds
// its tables by appending one entry, never by editing an earlier one.
import type { Database } from 'better-sqlite3';
import { TelnetloginError } from '../errors.ts';
import { backfillFeedTables, FEED_TABLES_SQL } from './sqlite-feed.ts';
import { FOLD_BATCHES_SQL } from './sqlite-fold.ts';
import { ADDRESS_EVENTS_SQL, backfillAddressEvents, backfillStatsTables, STATS_TABLES_SQL } from './sqlite-stats.ts';

export interface Migration {
  /** What the step adds, for error messages. */
  name: string;
  sql: string;
  /** Fills what `sql` created from the data already stored, in the same transaction. */
  backfill?: (db: Database) => void;
}

export const migrations: readonly Migration[] = [
  {
    name: 'login events',
    // STRICT: a wrongly typed value is an error, never silently converted.
    // WITHOUT ROWID: rows are clustered by their time-ordered id, so appends
    // touch the end of one b-tree and `events` reads in id order directly.
    sql: `
      CREATE TABLE events (
        id       TEXT    NOT NULL PRIMARY KEY,  -- UUIDv7
        time     INTEGER NOT NULL,              -- ms since the epoch, UTC
        sensor   TEXT    NOT NULL,
        src_ip   TEXT    NOT NULL,
        src_port INTEGER NOT NULL,
        dst_ip   TEXT    NOT NULL,
        dst_port INTEGER NOT NULL,
        session  TEXT    NOT NULL,
        attempt  INTEGER NOT NULL,
        username BLOB    NOT NULL,              -- exactly the bytes the client sent
        password BLOB    NOT NULL,
        client   TEXT    NOT NULL               -- ClientInfo as JSON
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX events_time ON events (time); -- in fact (time, id): it holds the primary key
    `,
  },
  {
    name: 'feed summaries and sensor addresses',
    sql: FEED_TABLES_SQL,
    backfill: backfillFeedTables,
  },
  {
    name: 'dashboard rollups',
    sql: STATS_TABLES_SQL,
    backfill: backfillStatsTables,
  },
  {
    name: 'events waiting to be folded into the derived tables',
    sql: 'CREATE TABLE fold_pending (id TEXT PRIMARY KEY) STRICT, WITHOUT ROWID;',
  },
  {
    name: "an address's events by hour",
    sql: `DROP INDEX IF EXISTS events_src_ip; ${ADDRESS_EVENTS_SQL}`,
    backfill: backfillAddressEvents,
  },
  {
    name: 'events waiting to be folded, listed by commit',
    sql: FOLD_BATCHES_SQL,
  },
];

export const schemaVersion = migrations.length;

function versionOf(db: Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/** Brings the schema up to date; each step commits with its version number. */
export function migrate(db: Database, file: string, steps: readonly Migration[] = migrations): void {
  const step = db.transaction((version: number) => {
    // Re-read under the write lock: another process may have migrated meanwhile.
    if (versionOf(db) !== version) return;
    db.exec(steps[version]!.sql);
    steps[version]!.backfill?.(db);
    db.pragma(`user_version = ${version + 1}`);
  });
  for (let version = checkVersion(db, file, steps.length); version < steps.length; version = versionOf(db)) {
    try {
      step.immediate(version);
    } catch (err) {
      throw new TelnetloginError(
        'TL_STORE_MIGRATION',
        `${file}: schema step ${version + 1} (${steps[version]!.name}) failed: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }
}

/** The file's schema version; an error when this telnetlogin cannot use it. */
export function checkVersion(db: Database, file: string, latest = schemaVersion): number {
  const version = versionOf(db);
  if (version > latest) {
    throw new TelnetloginError(
      'TL_STORE_VERSION',
      `${file} has schema version ${version}, newer than this telnetlogin knows (${latest}); upgrade telnetlogin`,
    );
  }
  return version;
}
