import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { DAY_MS, HOUR_MS } from '../../src/feed/summary.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import { makeEvent, tempDir } from './fixtures.ts';

// The fold reads an address's first event from the store only when the
// address is new to the hour of its first event in the batch (sqlite-stats.ts).
// Whatever order the events come in, and however they are split into folds,
// the series must equal a count over all the events.
test('property: new, distinct and attempts per hour and day equal a count over the events, in any order and any folds', async (t) => {
  const start = Date.UTC(2026, 11, 4, 22, 0); // three hours across midnight
  const ips = ['192.0.2.1', '192.0.2.2', '2001:db8::3'];
  const arbEvent = fc.record({ ip: fc.constantFrom(...ips), offset: fc.integer({ min: 0, max: 3 * HOUR_MS - 1 }) });
  const arbRun = fc.record({
    events: fc.array(arbEvent, { minLength: 1, maxLength: 12 }),
    cuts: fc.array(fc.integer({ min: 1, max: 12 }), { maxLength: 4 }),
  });
  await fc.assert(
    fc.asyncProperty(arbRun, async ({ events, cuts }) => {
      const recorded = events.map((e) => makeEvent({ src_ip: e.ip, time: start + e.offset }));
      const store = openSqliteStore({ dataDir: tempDir(t) });
      try {
        const stats = store.stats()!;
        let from = 0;
        for (const to of [...cuts.sort((a, b) => a - b), recorded.length]) {
          await Promise.all(recorded.slice(from, Math.max(from, to)).map((e) => store.record(e)));
          await stats.totals(); // folds what was recorded
          from = Math.max(from, to);
        }
        const firsts = new Map<string, number>();
        for (const e of recorded) firsts.set(e.src_ip, Math.min(firsts.get(e.src_ip) ?? Infinity, e.time));
        for (const size of [HOUR_MS, DAY_MS]) {
          const buckets = new Map<number, { attempts: number; addresses: Set<string>; new: number }>();
          const bucket = (time: number) => {
            const k = Math.floor(time / size) * size;
            if (!buckets.has(k)) buckets.set(k, { attempts: 0, addresses: new Set(), new: 0 });
            return buckets.get(k)!;
          };
          for (const e of recorded) {
            bucket(e.time).attempts++;
            bucket(e.time).addresses.add(e.src_ip);
          }
          for (const first of firsts.values()) bucket(first).new++;
          const series = await stats.series(start - DAY_MS, start + 2 * DAY_MS, size === HOUR_MS ? 'hour' : 'day');
          const want = [...buckets].sort(([a], [b]) => a - b).map(([k, b]) => ({ t: k, attempts: b.attempts, addresses: b.addresses.size, new: b.new }));
          assert.deepEqual(series, want);
        }
      } finally {
        await store.close();
      }
    }),
    { numRuns: 40 },
  );
});
