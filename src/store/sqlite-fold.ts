// The derived tables (feed summaries, sensor addresses, dashboard rollups) are
// brought up to date in a transaction of their own, every FOLD_INTERVAL_MS, not
// in the durable transaction of every group commit: a commit then writes the
// events and a few pages, not every summary and rollup page its events touch
// (measured: 14 page writes per login attempt at 4,000 attempts/s before).
// They are derived data, so they only lag; nothing is lost in a crash:
// every stored event is also listed in `fold_pending`, in the same
// transaction, until it has been folded in, and opening the store for
// writing folds what a crash left there. A fold takes an event's row off the
// list in the transaction that folds it, and folds only events it took: with
// two writers on one file (an import beside `run`), each event is folded
// once, by whichever gets to it first. Readers in this process fold first
// (SqliteStore does); other processes reading the file see the tables as
// of the last fold, at most FOLD_INTERVAL_MS behind.
import type Database from 'better-sqlite3';
import type { LoginEvent } from '../events/login-event.ts';
import { COLUMNS, rowToEvent, type Row } from './sqlite-rows.ts';

/** Schema step that adds the list (see sqlite-migrations.ts); ids are appended in order, so it costs a page or two per commit. */
export const FOLD_PENDING_SQL = 'CREATE TABLE fold_pending (id TEXT PRIMARY KEY) STRICT, WITHOUT ROWID;';

export const FOLD_INTERVAL_MS = 250;
/** Fold at once when this many events wait (bounds the memory they hold, e.g. during an import). */
export const FOLD_MAX_PENDING = 20_000;

/** Folds events into derived tables; runs inside the fold's transaction. */
export type FoldTarget = (events: readonly LoginEvent[]) => void;

export class DeferredFold {
  readonly #db: Database.Database;
  readonly #target: FoldTarget;
  readonly #onError: (err: Error) => void;
  readonly #intervalMs: number;
  readonly #note: Database.Statement<[string]>;
  /** Folds the events still listed (taking them off the list), in one transaction. */
  readonly #transaction: (events: readonly LoginEvent[]) => void;
  #pending: LoginEvent[] = [];
  #timer: NodeJS.Timeout | undefined;
  /** After a failed fold, the next try waits for the timer even when many events wait. */
  #failing = false;

  constructor(db: Database.Database, target: FoldTarget, onError: (err: Error) => void, intervalMs = FOLD_INTERVAL_MS) {
    this.#db = db;
    this.#intervalMs = intervalMs;
    this.#target = target;
    this.#onError = onError;
    this.#note = db.prepare('INSERT INTO fold_pending (id) VALUES (?)');
    const take = db.prepare<[string]>('DELETE FROM fold_pending WHERE id = ?');
    const transaction = db.transaction((events: readonly LoginEvent[]) => {
      this.#target(events.filter((e) => take.run(e.id).changes > 0));
    }).immediate;
    // Derived data need not be on disk at commit: a crash keeps the fold and
    // its events' fold_pending rows together (one transaction), and the next
    // durable commit syncs the log with both.
    this.#transaction = (events) => {
      db.pragma('synchronous = NORMAL');
      try {
        transaction(events);
      } finally {
        db.pragma('synchronous = FULL');
      }
    };
    this.#recover();
  }

  /** Lists a newly stored event for folding; call inside the transaction that stores it. */
  list(event: LoginEvent): void {
    this.#note.run(event.id);
  }

  /** After the transaction that listed `events` committed: fold them soon, or now when many wait. */
  committed(events: readonly LoginEvent[]): void {
    for (const e of events) this.#pending.push(e);
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
      this.#transaction(this.#pending);
      this.#pending = [];
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
    clearTimeout(this.#timer); // what failed stays in fold_pending: the next opening folds it
  }

  #schedule(): void {
    if (this.#pending.length >= FOLD_MAX_PENDING && !this.#failing) this.fold();
    else if (this.#pending.length > 0 && !this.#timer) {
      this.#timer = setTimeout(this.fold, this.#intervalMs);
      this.#timer.unref(); // close() folds what is left
    }
  }

  // Events a crash left listed, a page at a time (each page in a fold
  // transaction of its own: what is folded is off the list with it).
  #recover(): void {
    const page = this.#db
      .prepare<[string], Row>(`SELECT ${COLUMNS} FROM fold_pending JOIN events USING (id) WHERE id > ? ORDER BY id LIMIT ${FOLD_MAX_PENDING}`)
      .raw();
    for (let rows = page.all(''); rows.length > 0; rows = rows.length < FOLD_MAX_PENDING ? [] : page.all(rows[rows.length - 1]![0])) {
      this.#transaction(rows.map(rowToEvent));
    }
  }
}
