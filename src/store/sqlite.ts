// The embedded store: LoginEvents in one SQLite file (WAL mode), written with
// group commit. A writer (`telnetlogin run`) and any number of read-only
// openings (`telnetlogin events`, other processes) may use the file at once.
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import type { LoginEvent } from '../events/login-event.ts';
import { TelnetloginError } from '../errors.ts';
import { GroupCommit } from './group-commit.ts';
import { openFeedSnapshot, SqliteFeedTables } from './sqlite-feed.ts';
import { DeferredFold } from './sqlite-fold.ts';
import { checkVersion, migrate, schemaVersion } from './sqlite-migrations.ts';
import { SqliteStats, SqliteStatsTables } from './sqlite-stats.ts';
import { COLUMNS, rowToEvent, type Row } from './sqlite-rows.ts';
import type { StatsReader } from './stats.ts';
import type { EventQuery, EventReader, FeedSnapshot, FeedSource, SensorRecord, Store } from './store.ts';

export const STORE_FILE = 'telnetlogin.sqlite';

/** Where the store lives: `dataDir/telnetlogin.sqlite`, or a file named directly (`--db sqlite:PATH`). */
export type SqliteLocation = { dataDir: string } | { file: string };

export interface SqliteStoreOptions {
  /** How long to wait for another connection's lock before failing (ms). */
  busyTimeoutMs?: number;
  /** Told how long each commit of the events took (ms) and how many it held. */
  onCommit?: (ms: number, events: number) => void;
  /** Commit at once when this many events are pending. */
  maxBatch?: number;
  /** Under load, commits (each an fsync, ~0.15 ms of CPU here) start at most this often. */
  commitIntervalMs?: number;
  /** Told when folding stored events into the derived tables failed (they are folded later; default: a process warning). */
  onFoldError?: (err: Error) => void;
  /** Told how long each fold into the derived tables took (ms) and how many events it folded in. */
  onFold?: (ms: number, events: number) => void;
  /** How long recorded events wait before being folded into the derived tables (default FOLD_INTERVAL_MS). */
  foldIntervalMs?: number;
}

/** 10 ms: at most 100 fsyncs a second however busy the sensor is; an idle sensor commits at once (and see commitSoon). */
const COMMIT_INTERVAL_MS = 10;

const PAGE = 1000; // rows per query while streaming `events`

// A connection's attempts share one ClientInfo until the client reveals more
// (src/sensor/session.ts): its JSON is made once for all of them.
const clientJsonOf = new WeakMap<LoginEvent['client'], string>();
function clientJson(client: LoginEvent['client']): string {
  let json = clientJsonOf.get(client);
  if (json === undefined) clientJsonOf.set(client, (json = JSON.stringify(client)));
  return json;
}

export function storeFile(location: SqliteLocation): string {
  return 'file' in location ? location.file : join(location.dataDir, STORE_FILE);
}

/**
 * Opens (creating the directory, file and schema as needed) the store for
 * writing, or with `readonly: true` an existing store for reading only, which
 * works while a writer is running.
 */
export function openSqliteStore(location: SqliteLocation & SqliteStoreOptions & { readonly: true }): EventReader & FeedSource;
export function openSqliteStore(location: SqliteLocation & SqliteStoreOptions & { readonly?: false }): SqliteStore;
export function openSqliteStore(
  location: SqliteLocation & SqliteStoreOptions & { readonly?: boolean },
): SqliteStore | (EventReader & FeedSource) {
  const file = storeFile(location);
  const busyTimeoutMs = location.busyTimeoutMs ?? 5000;
  let db: Database.Database | undefined;
  try {
    if (location.readonly) {
      if (!existsSync(file)) throw new TelnetloginError('TL_STORE_NOT_FOUND', `${file} does not exist`);
      db = new Database(file, { readonly: true, fileMustExist: true, timeout: busyTimeoutMs });
      const version = checkVersion(db, file);
      if (version !== schemaVersion) {
        throw new TelnetloginError(
          'TL_STORE_VERSION',
          version === 0
            ? `${file} is not a telnetlogin store (schema version 0)`
            : `${file} has schema version ${version}, this telnetlogin reads ${schemaVersion}; open it once for writing (telnetlogin run) to upgrade it`,
        );
      }
    } else {
      mkdirSync(dirname(file), { recursive: true });
      db = new Database(file, { timeout: busyTimeoutMs });
      // WAL lets readers (`telnetlogin events`, other processes) work while this writes.
      const mode = db.pragma('journal_mode = WAL', { simple: true });
      if (mode !== 'wal') throw new TelnetloginError('TL_STORE_OPEN', `${file}: cannot use WAL mode (journal mode is ${mode})`);
      // In WAL mode FULL syncs the log at every commit: committed means on disk.
      db.pragma('synchronous = FULL');
      // The feed's per-address summaries are updated at random places: a page
      // cache of 64 MiB (not SQLite's 2 MiB) keeps most of their b-trees in memory.
      db.pragma('cache_size = -65536');
      migrate(db, file);
    }
    return new SqliteStore(db, file, location);
  } catch (err) {
    db?.close();
    if (err instanceof TelnetloginError) throw err;
    throw new TelnetloginError('TL_STORE_OPEN', `cannot open ${file}: ${(err as Error).message}`, { cause: err });
  }
}

export class SqliteStore implements Store, FeedSource {
  readonly file: string;
  readonly #db: Database.Database;
  readonly #busyTimeoutMs: number;
  readonly #feed: SqliteFeedTables;
  /** Undefined on a read-only opening. */
  readonly #fold: DeferredFold | undefined;
  readonly #batcher: GroupCommit<LoginEvent>;
  readonly #insert: Database.Statement | undefined;
  readonly #firstIdSince: Database.Statement<[number], string | null>;
  readonly #pageFrom: Database.Statement<[string, number, number], Row>;
  readonly #pageAfter: Database.Statement<[string, number, number], Row>;
  #closing: Promise<void> | undefined;

  /** Use openSqliteStore. */
  constructor(db: Database.Database, file: string, options: SqliteStoreOptions) {
    this.#db = db;
    this.file = file;
    this.#busyTimeoutMs = options.busyTimeoutMs ?? 5000;
    this.#feed = new SqliteFeedTables(db);
    if (!db.readonly) {
      const stats = new SqliteStatsTables(db);
      this.#fold = new DeferredFold(
        db,
        (events) => {
          this.#feed.add(events);
          stats.add(events);
        },
        { onError: options.onFoldError ?? ((err) => process.emitWarning(err)), onFold: options.onFold, intervalMs: options.foldIntervalMs },
      );
    }
    // Ids are unique; recording an id that is already stored is a no-op, so
    // retries and imports are idempotent.
    this.#insert = db.readonly
      ? undefined
      : db.prepare(`INSERT INTO events (${COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (id) DO NOTHING`);
    const transaction = db.transaction(this.#insertBatch).immediate;
    this.#batcher = new GroupCommit(
      (events) => {
        const started = performance.now();
        try {
          const { errors, inserted, batch } = transaction(events);
          options.onCommit?.(performance.now() - started, events.length);
          if (batch !== undefined) this.#fold!.committed(batch, inserted);
          return errors;
        } catch (err) {
          const message = `${file}: ${events.length} events not committed: ${(err as Error).message}`;
          throw new TelnetloginError('TL_STORE_COMMIT', message, { cause: err });
        }
      },
      { maxBatch: options.maxBatch, minIntervalMs: options.commitIntervalMs ?? COMMIT_INTERVAL_MS },
    );
    // Without INDEXED BY, SQLite answers min(id) by walking the primary key
    // until the first match: the whole table when `since` is recent.
    this.#firstIdSince = db.prepare<[number], string | null>('SELECT min(id) FROM events INDEXED BY events_time WHERE time >= ?').pluck();
    // Keyset pages on the primary key; `+time` keeps the planner off the time
    // index, whose order would need a sort of every matching row.
    const page = (op: string): string =>
      `SELECT ${COLUMNS} FROM events WHERE id ${op} ? AND +time >= ? ORDER BY id LIMIT ?`;
    this.#pageFrom = db.prepare<[string, number, number], Row>(page('>=')).raw();
    this.#pageAfter = db.prepare<[string, number, number], Row>(page('>')).raw();
  }

  /** Transactions run to record events so far (each commits a batch, or fails as a whole). */
  get commits(): number {
    return this.#batcher.batches;
  }

  /** Resolves once the transaction holding `event` has committed (and so is on disk). */
  record(event: LoginEvent): Promise<void> {
    if (this.#closing) return Promise.reject(new TelnetloginError('TL_STORE_CLOSED', `${this.file} is closed`));
    if (!this.#insert) return Promise.reject(new TelnetloginError('TL_STORE_READONLY', `${this.file} is open read-only`));
    return this.#batcher.add(event);
  }

  commitSoon(): void {
    this.#batcher.hurry();
  }

  // Runs inside one IMMEDIATE transaction per batch. An event SQLite refuses
  // (a wrong type, say) only keeps itself out; an error that rolls back the
  // whole transaction (disk full, I/O), or a failing COMMIT, fails the batch.
  readonly #insertBatch = (events: LoginEvent[]): { errors?: Array<Error | undefined>; inserted: LoginEvent[]; batch?: number } => {
    const insert = this.#insert!;
    const fold = this.#fold!;
    let errors: Array<Error | undefined> | undefined;
    const inserted: LoginEvent[] = []; // not those already stored: the derived tables count each event once
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!;
      try {
        const { changes } = insert.run(
          e.id, e.time, e.sensor, e.src_ip, e.src_port, e.dst_ip, e.dst_port, e.session, e.attempt,
          e.username, e.password, clientJson(e.client),
        );
        if (changes > 0) inserted.push(e);
      } catch (err) {
        // Errors like SQLITE_FULL roll the whole transaction back: fail the batch.
        if (!this.#db.inTransaction) throw err;
        errors ??= [];
        errors[i] = new TelnetloginError('TL_STORE_EVENT', `event ${e.id} not stored: ${(err as Error).message}`, {
          cause: err,
        });
      }
    }
    // The batch listing them for the fold; none when every event was already stored.
    return { errors, inserted, batch: inserted.length > 0 ? fold.list(inserted) : undefined };
  };

  /** Records addresses this sensor knows are its own (never listed in the feed). */
  addSensorAddresses(sensor: string, addresses: readonly string[], time = Date.now()): void {
    this.#db.transaction(() => this.#feed.addSensorAddresses(sensor, addresses, time)).immediate();
  }

  /** A consistent view for a feed build, on a read-only connection of its own. */
  async feedSnapshot(): Promise<FeedSnapshot> {
    this.#fold?.fold();
    return openFeedSnapshot(this.file, this.#busyTimeoutMs);
  }

  /** The dashboard's rollups and per-address reads; null on an older read-only store without them. */
  stats(): StatsReader | null {
    if (!SqliteStats.available(this.#db)) return null;
    return new SqliteStats(this.#db, (query) => this.events(query), () => this.#fold?.fold());
  }

  async sensors(): Promise<SensorRecord[]> {
    this.#fold?.fold();
    return this.#feed.sensors();
  }

  /**
   * Events in id order, read a page at a time along the primary key: no
   * query stays open between pages, so iterating never blocks commits on the
   * same connection, and events committed meanwhile with a later id than the
   * last page read are included.
   */
  async *events(query: EventQuery = {}): AsyncGenerator<LoginEvent> {
    const since = query.since ?? Number.MIN_SAFE_INTEGER;
    let remaining = query.limit ?? Infinity;
    if (!Number.isFinite(since)) throw new RangeError(`since must be a finite number of ms, not ${since}`);
    if (!(remaining >= 0 && (Number.isInteger(remaining) || remaining === Infinity))) {
      throw new RangeError(`limit must be a whole number, not ${remaining}`);
    }
    // Start at the first matching id, found on the time index, rather than
    // walking the table from its start to the first recent event.
    const first = query.since === undefined ? '' : this.#firstIdSince.get(since);
    if (first === null || first === undefined) return;
    let rows = this.#pageFrom.all(first, since, Math.min(remaining, PAGE));
    while (rows.length > 0) {
      for (const row of rows) yield rowToEvent(row);
      remaining -= rows.length;
      if (rows.length < PAGE || remaining <= 0) return;
      rows = this.#pageAfter.all(rows[rows.length - 1]![0], since, Math.min(remaining, PAGE));
    }
  }

  /** Commits what is pending, then closes the file. */
  close(): Promise<void> {
    this.#closing ??= this.#batcher.drain().finally(() => {
      this.#fold?.stop();
      this.#db.close();
    });
    return this.#closing;
  }
}
