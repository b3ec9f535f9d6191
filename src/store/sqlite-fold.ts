// The derived tables (feed summaries, sensor addresses, dashboard rollups) are
// brought up to date in a transaction of their own, every FOLD_INTERVAL_MS, not
// in the durable transaction of every group commit: a commit then writes the
// events and a few pages, not every summary and rollup page its events touch
// (measured: 14 page writes per login attempt at 4,000 attempts/s before).
// They are derived data, so they only lag; nothing is lost in a crash: each
// commit lists the ids of the events it stored as one row of `fold_batches`,
// in the same transaction, until they have been folded in, and opening the
// store for writing folds what a crash left there. A fold takes a batch's row
// off the list in the transaction that folds it, and folds only batches it
// took: with two writers on one file (an import beside `run`), each event is
// folded once, by whichever gets to it first. Readers in this process fold
// first (SqliteStore does); other processes reading the file see the tables
// as of the last fold, at most FOLD_INTERVAL_MS behind.
import type Database from 'better-sqlite3';
import type { LoginEvent } from '../events/login-event.ts';
import { COLUMNS, rowToEvent, type Row } from './sqlite-rows.ts';

/**
 * Schema step that lists waiting events by commit (see sqlite-migrations.ts):
 * a row per commit rather than per event (which cost about 8% of the sensor's
 * CPU per login attempt at c=200, bench:sensor, in an insert and a delete per
 * event). AUTOINCREMENT: a batch number is never reused, so a writer never
 * takes another's later batch for one a second writer already folded.
 */
export const FOLD_BATCHES_SQL = `
  CREATE TABLE fold_batches (batch INTEGER PRIMARY KEY AUTOINCREMENT, ids TEXT NOT NULL) STRICT; -- ids: a JSON array
  INSERT INTO fold_batches (ids) -- what a crash left listed, in batches of 512 as a commit makes them
    SELECT json_group_array(id) FROM (SELECT id, (row_number() OVER (ORDER BY id) - 1) / 512 AS n FROM fold_pending) GROUP BY n;
  DROP TABLE fold_pending;
`;

export const FOLD_INTERVAL_MS = 250;
/** Fold at once when this many events wait (bounds the memory they hold, e.g. during an import). */
export const FOLD_MAX_PENDING = 20_000;

/** Folds events into derived tables; runs inside the fold's transaction. */
export type FoldTarget = (events: readonly LoginEvent[]) => void;

export interface FoldOptions {
  /** Told when a fold failed (its events stay listed and are folded later). */
  onError: (err: Error) => void;
  /** Told how long each fold took (ms) and how many events it folded in. */
  onFold?: (ms: number, events: number) => void;
  /** How long recorded events wait before being folded (default FOLD_INTERVAL_MS). */
  intervalMs?: number;
}

/** The events one commit stored, and their row in fold_batches. */
interface Batch {
  batch: number;
  events: readonly LoginEvent[];
}

export class DeferredFold {
  readonly #db: Database.Database;
  readonly #target: FoldTarget;
  readonly #onError: (err: Error) => void;
  readonly #onFold: FoldOptions['onFold'];
  readonly #intervalMs: number;
  readonly #note: Database.Statement<[string]>;
  /** Folds the batches still listed (taking them off the list), in one transaction. */
  readonly #transaction: (batches: readonly Batch[]) => void;
  #pending: Batch[] = [];
  #pendingEvents = 0;
  #timer: NodeJS.Timeout | undefined;
  /** After a failed fold, the next try waits for the timer even when many events wait. */
  #failing = false;

  constructor(db: Database.Database, target: FoldTarget, options: FoldOptions) {
    this.#db = db;
    this.#intervalMs = options.intervalMs ?? FOLD_INTERVAL_MS;
    this.#target = target;
    this.#onError = options.onError;
    this.#onFold = options.onFold;
    this.#note = db.prepare('INSERT INTO fold_batches (ids) VALUES (?)');
    const take = db.prepare<[number]>('DELETE FROM fold_batches WHERE batch = ?');
    const transaction = db.transaction((batches: readonly Batch[]) => {
      const events: LoginEvent[] = [];
      for (const b of batches) if (take.run(b.batch).changes > 0) for (const e of b.events) events.push(e);
      this.#target(events);
    }).immediate;
    // Derived data need not be on disk at commit: a crash keeps the fold and
    // their rows in fold_batches together (one transaction), and the next
    // durable commit syncs the log with both.
    this.#transaction = (batches) => {
      db.pragma('synchronous = NORMAL');
      try {
        transaction(batches);
      } finally {
        db.pragma('synchronous = FULL');
      }
    };
    this.#recover();
  }

  /** Lists newly stored events for folding; call inside the transaction that stores them. Returns their batch. */
  list(events: readonly LoginEvent[]): number {
    return Number(this.#note.run(JSON.stringify(events.map((e) => e.id))).lastInsertRowid);
  }

  /** After the transaction that listed `events` as `batch` committed: fold them soon, or now when many wait. */
  committed(batch: number, events: readonly LoginEvent[]): void {
    this.#pending.push({ batch, events });
    this.#pendingEvents += events.length;
    this.#schedule();
  }

  /**
   * Folds every waiting event in now. It never throws: a failed fold (the
   * file locked by another process, say) is reported, the events stay listed
   * and waiting, and the fold is tried again a little later.
   */
  readonly fold = (): void => {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#pending.length === 0) return;
    try {
      const started = performance.now();
      this.#transaction(this.#pending);
      this.#onFold?.(performance.now() - started, this.#pendingEvents);
      this.#pending = [];
      this.#pendingEvents = 0;
      this.#failing = false;
    } catch (err) {
      this.#failing = true;
      this.#onError(err as Error);
      this.#schedule();
    }
  };

  /** Folds what is waiting and stops the timer (before the connection closes). */
  stop(): void {
    this.fold();
    clearTimeout(this.#timer); // what failed stays in fold_batches: the next opening folds it
  }

  #schedule(): void {
    if (this.#pendingEvents >= FOLD_MAX_PENDING && !this.#failing) this.fold();
    else if (this.#pending.length > 0 && !this.#timer) {
      this.#timer = setTimeout(this.fold, this.#intervalMs);
      this.#timer.unref(); // close() folds what is left
    }
  }

  // Batches a crash left listed, folded in transactions of about
  // FOLD_MAX_PENDING events (what is folded is off the list with it).
  #recover(): void {
    const listed = this.#db.prepare<[number], [number, string]>('SELECT batch, ids FROM fold_batches WHERE batch > ? ORDER BY batch LIMIT 64').raw();
    const stored = this.#db.prepare<[string], Row>(`SELECT ${COLUMNS} FROM events WHERE id IN (SELECT value FROM json_each(?))`).raw();
    let batches: Batch[] = [];
    let events = 0;
    for (let rows = listed.all(0); rows.length > 0; rows = listed.all(rows[rows.length - 1]![0])) {
      for (const [batch, ids] of rows) {
        const b = { batch, events: stored.all(ids).map(rowToEvent) };
        batches.push(b);
        events += b.events.length;
        if (events < FOLD_MAX_PENDING) continue;
        this.#transaction(batches);
        batches = [];
        events = 0;
      }
    }
    if (batches.length > 0) this.#transaction(batches);
  }
}
