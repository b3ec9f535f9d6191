import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DAY_MS, HOUR_MS } from '../../src/feed/summary.ts';
import { rollUp, TopCounts } from '../../src/store/rollup.ts';
import type { TopKind } from '../../src/store/stats.ts';
import { makeEvent } from './fixtures.ts';

test('top counts keep every (kind, day, value) apart, and add up repeats of one', () => {
  const counts = new TopCounts();
  const kinds: TopKind[] = ['usernames', 'passwords', 'pairs', 'ttypes', 'options'];
  const value = Buffer.from('same bytes');
  for (const day of [19_000, 19_001, 19_002]) for (const kind of kinds) counts.add(kind, day, value, 1);
  counts.add('pairs', 19_001, Buffer.from('same bytes'), 4);
  const rows = counts.rows().map(([code, day, v, n]) => `${code} ${day} ${v.toString()} ${n}`).sort();
  assert.equal(rows.length, 15);
  assert.ok(rows.includes('3 19001 same bytes 5'));
  assert.equal(rows.filter((r) => r.endsWith(' 1')).length, 14);
});

test('a rollup counts attempts per hour and day and address, one spelling per address', () => {
  const start = Date.UTC(2026, 11, 4, 23, 30);
  const events = [
    makeEvent({ src_ip: '192.0.2.1', time: start }),
    makeEvent({ src_ip: '::ffff:192.0.2.1', time: start + 1000 }),
    makeEvent({ src_ip: '192.0.2.1', time: start + HOUR_MS }), // the next hour and day
    makeEvent({ src_ip: '2001:db8::1', time: start + HOUR_MS }),
  ];
  const r = rollUp(events);
  const hour = Math.floor(start / HOUR_MS);
  const day = Math.floor(start / DAY_MS);
  assert.deepEqual(r.hourIps.sort(), [[hour, '192.0.2.1', 2], [hour + 1, '192.0.2.1', 1], [hour + 1, '2001:db8::1', 1]].sort());
  assert.deepEqual(r.dayIps.sort(), [[day, '192.0.2.1', 2], [day + 1, '192.0.2.1', 1], [day + 1, '2001:db8::1', 1]].sort());
  assert.deepEqual([...r.ips.keys()].sort(), ['192.0.2.1', '2001:db8::1']);
});
