import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { AddressSummary, CREDENTIALS_CAP, HOUR_MS, SENSORS_CAP, summarizeWindow } from '../../src/feed/summary.ts';
import type { FeedEvent } from '../../src/store/store.ts';
import { NOW } from './helpers.ts';

/** A store's fold: each batch decodes the stored summary, adds its events and stores the encoding. */
function folded(batches: readonly FeedEvent[][]): Uint8Array {
  let bytes: Uint8Array | undefined;
  for (const batch of batches) {
    const s = AddressSummary.decode(bytes);
    for (const e of batch) s.add(e);
    bytes = s.encode();
  }
  return bytes!;
}

/** What a window must show, the obvious way. */
function expected(events: readonly FeedEvent[], from: number, to: number) {
  const inside = events.filter((e) => e.time >= from && e.time <= to);
  if (inside.length === 0) return null;
  const creds = new Set(inside.map((e) => `${Buffer.from(e.username).toString('hex')}/${Buffer.from(e.password).toString('hex')}`));
  return {
    first: Math.min(...inside.map((e) => e.time)),
    last: Math.max(...inside.map((e) => e.time)),
    attempts: inside.length,
    credentials: Math.min(creds.size, CREDENTIALS_CAP),
    sensors: Math.min(new Set(inside.map((e) => e.sensor)).size, SENSORS_CAP),
  };
}

// Credentials from a pool around the cap, so that folds fill a summary, evict
// a few keys at a time (a scan each) or many at once (a sort), and bring
// evicted ones back; times with ties, out of order, across hours.
test('property: a summary folded batch by batch counts what the events show, at and over the caps', () => {
  const anEvent = fc.record({
    cred: fc.oneof(fc.integer({ min: 0, max: CREDENTIALS_CAP + 150 }), fc.integer({ min: 0, max: 5 })),
    sensor: fc.integer({ min: 0, max: SENSORS_CAP + 3 }),
    dt: fc.oneof(fc.integer({ min: 0, max: 3 * HOUR_MS }), fc.integer({ min: 0, max: 3 })),
  });
  fc.assert(
    fc.property(
      fc.array(fc.array(anEvent, { maxLength: 600, size: 'max' }), { minLength: 1, maxLength: 6 }),
      fc.integer({ min: 0, max: 3 * HOUR_MS }),
      (specs, windowMs) => {
        const batches = specs.map((batch) =>
          batch.map(
            (s): FeedEvent => ({
              src_ip: '192.0.2.1',
              time: NOW - s.dt,
              sensor: `s${s.sensor}`,
              username: Buffer.from('root'),
              password: Buffer.from(`pw${s.cred}`),
            }),
          ),
        );
        const events = batches.flat();
        if (events.length === 0) return;
        const last = Math.max(...events.map((e) => e.time));
        const from = last - windowMs;
        // Only from a window's start on the hour is the summary exact without that hour's events (see summarizeWindow).
        const start = Math.floor(from / HOUR_MS) * HOUR_MS;
        assert.deepEqual(summarizeWindow(folded(batches), start, last), expected(events, start, last));
      },
    ),
    { numRuns: 100 },
  );
});

test('a full summary keeps the most recently used credentials', () => {
  const at = (t: number, cred: string): FeedEvent => ({ src_ip: '192.0.2.1', time: t, sensor: 's', username: Buffer.from('u'), password: Buffer.from(cred) });
  const old = Array.from({ length: CREDENTIALS_CAP }, (_, i) => at(NOW - 10_000 + i, `old${i}`));
  const fresh = Array.from({ length: 3 }, (_, i) => at(NOW, `new${i}`));
  const bytes = folded([old, fresh]);
  // Only the credential counts matter here, not the attempts of the hour a window starts in.
  const credentials = (from: number) => summarizeWindow(bytes, from, NOW, { first: from, attempts: 1 })?.credentials;
  // The three oldest are gone: from just after them the count is exact, from before it saturates.
  assert.equal(credentials(NOW - 10_000 + 3), CREDENTIALS_CAP);
  assert.equal(credentials(NOW - 10_000 + 4), CREDENTIALS_CAP - 1);
  assert.equal(credentials(NOW - 10_000), CREDENTIALS_CAP);
  assert.equal(credentials(NOW), 3);
});
