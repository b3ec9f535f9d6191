// The sensor's local outbox: events wait in a SQLite file until the broker has
// acknowledged them. record() resolves once the event is committed on disk
// (WAL, synchronous=FULL, group commit), which is what lets the sensor reply:
// the durability rule holds against the outbox. The outbox is bounded: when
// it holds maxEvents, record() refuses, the sensor hangs up without a reply,
// and no attempt that got a reply is ever lost.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { LoginEvent } from '../events/login-event.ts';
import { TelnetloginError } from '../errors.ts';
import { GroupCommit } from '../store/group-commit.ts';
import type { EventSink } from '../store/store.ts';
import { encodeEvent } from './event-message.ts';

export const OUTBOX_FILE = 'outbox.sqlite';

// Recently committed events are also kept in memory (up to this many), so
// that while the broker keeps up the forwarder never reads them back.
const TAIL_MAX = 16_384;

export interface OutboxOptions {
  /** Events held at most (default 1,000,000). */
  maxEvents?: number;
  /** Commit at once when this many events are pending (default 4096: one fsync serves a whole burst). */
  maxBatch?: number;
  /** Under load, commits (each an fsync) start at most this often (default 10 ms, as the embedded store). */
  commitIntervalMs?: number;
}

/** An event waiting to be published: its id (the message id) and the message. */
export interface OutboxEntry {
  seq: number;
  id: string;
  payload: Uint8Array;
}

export interface OutboxStats {
  /** Events committed and not yet acknowledged by the broker. */
  depth: number;
  maxEvents: number;
  /** Age of the oldest waiting event (ms), 0 when empty. */
  oldestAgeMs: number;
  /** Events refused because the outbox was full. */
  refused: number;
}

interface Pending {
  id: string;
  time: number;
  payload: Uint8Array;
}

/**
 * The newest committed entries, in sequence order, complete from `from` on:
 * every committed entry with seq >= from is in `entries` (after `head`).
 */
class Tail {
  entries: OutboxEntry[] = [];
  head = 0;
  constructor(public from: number) {}

  push(entry: OutboxEntry): void {
    this.entries.push(entry);
    if (this.entries.length - this.head > TAIL_MAX) this.#drop(1); // the oldest are still in the file
  }

  /** Up to `limit` entries after `after`, or undefined when the tail does not hold all of them. */
  take(after: number, limit: number): OutboxEntry[] | undefined {
    if (after + 1 < this.from) return undefined;
    while (this.head < this.entries.length && this.entries[this.head]!.seq <= after) this.#drop(1);
    const taken = this.entries.slice(this.head, this.head + limit);
    return taken;
  }

  #drop(n: number): void {
    this.head += n;
    this.from = this.head < this.entries.length ? this.entries[this.head]!.seq : this.from + n;
    if (this.head > 4096 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }
}

export class Outbox implements EventSink {
  readonly file: string;
  readonly maxEvents: number;
  readonly #db: Database.Database;
  /** A second connection for removals: they need no fsync (a lost removal only means a re-publish). */
  readonly #removals: Database.Database;
  readonly #batcher: GroupCommit<Pending>;
  readonly #take: Database.Statement<[number, number], { seq: number; id: string; payload: Buffer }>;
  readonly #oldest: Database.Statement<[], number | undefined>;
  readonly #removeMany: (seqs: readonly number[]) => void;
  readonly #listeners = new Set<() => void>();
  readonly #tail: Tail;
  #depth: number;
  /** Accepted by record() and not yet committed: counted against maxEvents. */
  #uncommitted = 0;
  #refused = 0;
  #closed = false;

  constructor(dir: string, options: OutboxOptions = {}) {
    this.maxEvents = options.maxEvents ?? 1_000_000;
    if (!(Number.isInteger(this.maxEvents) && this.maxEvents >= 1)) {
      throw new RangeError(`maxEvents must be a positive integer, not ${this.maxEvents}`);
    }
    this.file = join(dir, OUTBOX_FILE);
    try {
      mkdirSync(dir, { recursive: true });
      this.#db = new Database(this.file, { timeout: 5000 });
      this.#db.pragma('journal_mode = WAL');
      this.#db.pragma('synchronous = FULL'); // committed means on disk
      this.#db.exec(`
        CREATE TABLE IF NOT EXISTS outbox (
          seq     INTEGER PRIMARY KEY AUTOINCREMENT,  -- order of arrival; never reused (the forwarder's cursor relies on it)
          id      TEXT    NOT NULL,     -- the event id, published as the message id
          time    INTEGER NOT NULL,     -- the event's time (ms), for the oldest-age metric
          payload BLOB    NOT NULL      -- the message (event JSON)
        ) STRICT`);
      this.#removals = new Database(this.file, { timeout: 5000 });
      this.#removals.pragma('synchronous = NORMAL');
    } catch (err) {
      throw new TelnetloginError('TL_OUTBOX_OPEN', `cannot open the outbox ${this.file}: ${(err as Error).message}`, { cause: err });
    }
    this.#depth = this.#db.prepare<[], number>('SELECT count(*) FROM outbox').pluck().get()!;
    const insert = this.#db.prepare('INSERT INTO outbox (id, time, payload) VALUES (?, ?, ?)');
    const commit = this.#db.transaction((items: Pending[]) =>
      items.map((item): OutboxEntry => ({ seq: Number(insert.run(item.id, item.time, item.payload).lastInsertRowid), id: item.id, payload: item.payload })),
    ).immediate;
    const last = this.#db.prepare<[], number | null>('SELECT max(seq) FROM outbox').pluck().get() ?? 0;
    this.#tail = new Tail(last + 1);
    this.#batcher = new GroupCommit(
      (items) => {
        let entries: OutboxEntry[];
        try {
          entries = commit(items);
        } catch (err) {
          this.#uncommitted -= items.length;
          throw new TelnetloginError('TL_OUTBOX_COMMIT', `${this.file}: ${items.length} events not committed: ${(err as Error).message}`, {
            cause: err,
          });
        }
        this.#uncommitted -= items.length;
        this.#depth += items.length;
        for (const entry of entries) this.#tail.push(entry);
        for (const listener of this.#listeners) listener();
      },
      { maxBatch: options.maxBatch ?? 4096, minIntervalMs: options.commitIntervalMs ?? 10 },
    );
    this.#take = this.#db.prepare('SELECT seq, id, payload FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?');
    this.#oldest = this.#db.prepare<[], number | undefined>('SELECT time FROM outbox ORDER BY seq LIMIT 1').pluck();
    const remove = this.#removals.prepare('DELETE FROM outbox WHERE seq BETWEEN ? AND ?');
    this.#removeMany = this.#removals.transaction((seqs: readonly number[]) => {
      // Acknowledgements come mostly in order: one statement per run of consecutive numbers.
      const sorted = [...seqs].sort((a, b) => a - b);
      let n = 0;
      for (let i = 0; i < sorted.length; ) {
        let j = i;
        while (j + 1 < sorted.length && sorted[j + 1]! - sorted[j]! <= 1) j++;
        n += remove.run(sorted[i]!, sorted[j]!).changes;
        i = j + 1;
      }
      this.#depth -= n;
    }).immediate;
  }

  /** Resolves once the event is committed to the outbox; rejects (TL_OUTBOX_FULL) when the outbox is full. */
  record(event: LoginEvent): Promise<void> {
    if (this.#closed) return Promise.reject(new TelnetloginError('TL_OUTBOX_CLOSED', `${this.file} is closed`));
    if (this.#depth + this.#uncommitted >= this.maxEvents) {
      this.#refused++;
      return Promise.reject(
        new TelnetloginError('TL_OUTBOX_FULL', `the outbox holds ${this.maxEvents} events (its limit); is the broker reachable?`),
      );
    }
    this.#uncommitted++;
    return this.#batcher.add({ id: event.id, time: event.time, payload: encodeEvent(event) });
  }

  commitSoon(): void {
    this.#batcher.hurry();
  }

  /** Calls `listener` after each commit (the forwarder wakes up on it). */
  onCommit(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Up to `limit` waiting events after sequence number `after`, oldest first. */
  take(after: number, limit: number): OutboxEntry[] {
    return this.#tail.take(after, limit) ?? this.#take.all(after, limit);
  }

  /** Forgets events the broker has acknowledged. */
  remove(seqs: readonly number[]): void {
    if (seqs.length > 0) this.#removeMany(seqs);
  }

  get depth(): number {
    return this.#depth;
  }

  stats(now = Date.now()): OutboxStats {
    const oldest = this.#closed ? undefined : this.#oldest.get();
    return {
      depth: this.#depth,
      maxEvents: this.maxEvents,
      oldestAgeMs: oldest === undefined ? 0 : Math.max(0, now - oldest),
      refused: this.#refused,
    };
  }

  /** Commits what is pending, then closes the file. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      await this.#batcher.drain();
    } finally {
      this.#removals.close();
      this.#db.close();
    }
  }
}
