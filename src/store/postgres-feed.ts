// The PostgreSQL store's side of the feed: one consistent view of the events
// for a build (a read-only REPEATABLE READ transaction on a connection of its
// own), read through a server-side cursor with only the five columns the
// feed uses. PostgreSQL keeps no per-address summaries (yet): a build reads
// the window's events, O(events), but at a few µs each rather than as whole
// LoginEvents.
import type pg from 'pg';
import type { FeedEvent, FeedSnapshot } from './store.ts';

const FETCH = 10_000; // rows per round trip

/** A timestamp literal for a finite ms value (DECLARE takes no bind parameters). */
function timestamp(ms: number): string {
  if (!Number.isFinite(ms)) throw new RangeError(`not a finite time: ${ms}`);
  return `'${new Date(Math.max(-2e14, Math.min(2e14, ms))).toISOString()}'::timestamptz`;
}

export async function openPgFeedSnapshot(pool: pg.Pool): Promise<FeedSnapshot> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  } catch (err) {
    client.release(true);
    throw err;
  }
  let cursors = 0;
  let done = false;
  return {
    async *events(from: number, to: number): AsyncGenerator<FeedEvent[]> {
      const cursor = `tl_feed_${++cursors}`;
      await client.query(`DECLARE ${cursor} NO SCROLL CURSOR FOR
        SELECT host(src_ip) AS src_ip, (extract(epoch FROM time) * 1000)::int8 AS ms, sensor, username, password
          FROM events WHERE time >= ${timestamp(from)} AND time < ${timestamp(to)}`);
      for (;;) {
        const r = await client.query<{ src_ip: string; ms: string; sensor: string; username: Buffer; password: Buffer }>(`FETCH ${FETCH} FROM ${cursor}`);
        if (r.rows.length === 0) break;
        yield r.rows.map((row) => ({ src_ip: row.src_ip, time: Number(row.ms), sensor: row.sensor, username: row.username, password: row.password }));
      }
      await client.query(`CLOSE ${cursor}`);
    },
    async close() {
      if (done) return;
      done = true;
      try {
        await client.query('COMMIT');
        client.release();
      } catch (err) {
        client.release(true);
        throw err;
      }
    },
  };
}
