// The embedded store's side of the feed: per-address summaries and the
// sensors' own addresses, both kept up to date as events are stored (folded
// in batches, see sqlite-fold.ts), and the consistent read-only view a feed
// build reads.
import Database from 'better-sqlite3';
import type { LoginEvent } from '../events/login-event.ts';
import { canonicalAddress } from '../feed/address.ts';
import { DAY_MS, HOUR_MS, SUMMARY_HORIZON_MS, updateSummaries } from '../feed/summary.ts';
import { sensorAddresses, sensorRecords } from './rollup.ts';
import { foldStoredEvents } from './sqlite-rows.ts';
import type { AddressSummaryPage, FeedEvent, FeedSnapshot, SensorRecord } from './store.ts';

const PAGE = 8192; // rows handed to the builder at a time

/** Schema step that adds these tables (see sqlite-migrations.ts). */
export const FEED_TABLES_SQL = `
  CREATE TABLE feed_addresses (
    ip   TEXT    NOT NULL UNIQUE,  -- canonical address text
    last INTEGER NOT NULL,         -- newest attempt, ms since the epoch
    data BLOB    NOT NULL          -- summary, src/feed/summary.ts
  ) STRICT;
  -- Covering: a build of the pipe format reads (ip, last) of the window from it alone.
  CREATE INDEX feed_addresses_last ON feed_addresses (last, ip);
  CREATE TABLE sensor_addresses (
    sensor     TEXT    NOT NULL,
    address    TEXT    NOT NULL,   -- canonical address text
    first_seen INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL,
    PRIMARY KEY (sensor, address)
  ) STRICT, WITHOUT ROWID;
`;

type Recorded = FeedEvent & Pick<LoginEvent, 'dst_ip'>;

/** Summaries whose newest attempt is this much older than the store's newest are dropped: no fast build can use them. */
const PRUNE_AGE_MS = SUMMARY_HORIZON_MS + DAY_MS;

/** Writes the feed tables; every method runs inside the caller's transaction. */
export class SqliteFeedTables {
  readonly #read: Database.Statement<[string], Buffer | undefined>;
  readonly #write: Database.Statement<[string, number, Uint8Array]>;
  readonly #prune: Database.Statement<[number]>;
  /** The newest attempt at the last pruning (once an hour of event time). */
  #prunedAt = -Infinity;
  readonly #sensorAddress: Database.Statement<[string, string, number, number]>;
  readonly #sensors: Database.Statement<[], [string, string, number, number]>;

  constructor(db: Database.Database) {
    this.#read = db.prepare<[string], Buffer | undefined>('SELECT data FROM feed_addresses WHERE ip = ?').pluck();
    this.#write = db.prepare(
      'INSERT INTO feed_addresses (ip, last, data) VALUES (?, ?, ?) ON CONFLICT (ip) DO UPDATE SET last = excluded.last, data = excluded.data',
    );
    this.#prune = db.prepare('DELETE FROM feed_addresses WHERE last < ?');
    this.#sensorAddress = db.prepare(`
      INSERT INTO sensor_addresses (sensor, address, first_seen, last_seen) VALUES (?, ?, ?, ?)
      ON CONFLICT (sensor, address) DO UPDATE SET first_seen = min(first_seen, excluded.first_seen),
        last_seen = max(last_seen, excluded.last_seen)`);
    this.#sensors = db
      .prepare<[], [string, string, number, number]>('SELECT sensor, address, first_seen, last_seen FROM sensor_addresses ORDER BY sensor, address')
      .raw();
  }

  /** Folds newly stored events in: their sources' summaries, and their destinations as their sensors' addresses. */
  add(events: readonly Recorded[]): void {
    if (events.length === 0) return;
    let newest = -Infinity;
    updateSummaries(events, (ip) => this.#read.get(ip), (ip, last, data) => {
      this.#write.run(ip, last, data);
      if (last > newest) newest = last;
    });
    if (newest - this.#prunedAt > HOUR_MS) {
      this.#prune.run(newest - PRUNE_AGE_MS);
      this.#prunedAt = newest;
    }
    for (const s of sensorAddresses(events)) this.#sensorAddress.run(s.sensor, s.address, s.first, s.last);
  }

  /** Addresses a sensor knows it has (its configured public addresses), as of `time`. */
  addSensorAddresses(sensor: string, addresses: readonly string[], time: number): void {
    for (const text of addresses) {
      const address = canonicalAddress(text);
      if (address === null) throw new RangeError(`not an IP address: ${JSON.stringify(text)}`);
      this.#sensorAddress.run(sensor, address, time, time);
    }
  }

  sensors(): SensorRecord[] {
    return sensorRecords(this.#sensors.all().map(([id, address, first, last]) => [id, [address], first, last] as const));
  }
}

/** Builds the feed tables from the events already stored (the schema step that adds them). */
export function backfillFeedTables(db: Database.Database): void {
  const tables = new SqliteFeedTables(db);
  foldStoredEvents(db, (events) => tables.add(events));
}

/**
 * A read-only connection of its own holding one read transaction: what the
 * build reads is one state of the store while the writer goes on committing.
 */
export function openFeedSnapshot(file: string, busyTimeoutMs: number): FeedSnapshot {
  const db = new Database(file, { readonly: true, fileMustExist: true, timeout: busyTimeoutMs });
  try {
    db.exec('BEGIN');
    const newest = db.prepare<[], number | null>('SELECT max(last) FROM feed_addresses').pluck();
    // Starts the read transaction now: later reads see this same state.
    const newestAtStart = newest.get() ?? null;
    // Keyset pages (a page at a time with all() is about twice as fast as
    // iterate()): without the summaries along the covering (last, ip) index;
    // with them in table order, a sequential read (summaries more than a
    // horizon old are pruned, so the table holds little beyond the window).
    const index = (after: boolean) =>
      db
        .prepare<unknown[], [string, number, Buffer | number]>(
          `SELECT ip, last, 0 FROM feed_addresses INDEXED BY feed_addresses_last
           WHERE ${after ? '(last, ip) > (?, ?)' : 'last >= ?'} ORDER BY last, ip LIMIT ${PAGE}`,
        )
        .raw();
    const table = db
      .prepare<[number, number], [string, number, Buffer | number]>(
        `SELECT ip, last, data, rowid FROM feed_addresses NOT INDEXED WHERE rowid > ? AND last >= ? ORDER BY rowid LIMIT ${PAGE}`,
      )
      .raw();
    const [indexFirst, indexNext] = [index(false), index(true)];
    const firstPage = (since: number, withData: boolean) => (withData ? table.all(0, since) : indexFirst.all(since));
    const nextPage = (since: number, withData: boolean, last: Array<string | number | Buffer>) =>
      withData ? table.all(last[3] as number, since) : indexNext.all(last[1], last[0]);
    const events = db
      .prepare<[number, number], [string, number, string, Buffer, Buffer]>(
        'SELECT src_ip, time, sensor, username, password FROM events INDEXED BY events_time WHERE time >= ? AND time < ?',
      )
      .raw();
    return {
      summaries: {
        newest: async () => newestAtStart,
        async *read(since: number, withData: boolean): AsyncGenerator<AddressSummaryPage> {
          for (let rows = firstPage(since, withData); rows.length > 0; ) {
            const out: AddressSummaryPage = { ips: new Array(rows.length), last: new Array(rows.length) };
            if (withData) out.data = new Array(rows.length);
            for (let i = 0; i < rows.length; i++) {
              const row = rows[i]!;
              out.ips[i] = row[0];
              out.last[i] = row[1];
              if (withData) out.data![i] = row[2] as Buffer;
            }
            yield out;
            if (rows.length < PAGE) return;
            rows = nextPage(since, withData, rows[rows.length - 1]!);
          }
        },
      },
      async *events(from: number, to: number): AsyncGenerator<FeedEvent[]> {
        yield* eventPages(events.iterate(from, to));
      },
      async close() {
        if (db.open) {
          if (db.inTransaction) db.exec('COMMIT');
          db.close();
        }
      },
    };
  } catch (err) {
    db.close();
    throw err;
  }
}

function* eventPages(rows: IterableIterator<[string, number, string, Buffer, Buffer]>): Generator<FeedEvent[]> {
  let page: FeedEvent[] = [];
  for (const [src_ip, time, sensor, username, password] of rows) {
    page.push({ src_ip, time, sensor, username, password });
    if (page.length === PAGE) {
      yield page;
      page = [];
    }
  }
  if (page.length > 0) yield page;
}
