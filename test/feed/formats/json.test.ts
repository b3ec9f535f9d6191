import assert from 'node:assert/strict';
import { test } from 'node:test';
import { arraySource, build, DAY, event, NOW, testAsdb, text } from '../helpers.ts';

test('the JSON form: metadata (window, generation time, attribution, counts) and the entries in feed order', async () => {
  const asdb = testAsdb([['192.0.2.0/24', 64500]], { 64500: 'EXAMPLE\u202e' });
  const events = [event('192.0.2.1', NOW - DAY), event('192.0.2.1', NOW - 2 * DAY), event('10.0.0.1', NOW)];
  const doc = JSON.parse(await text(await build(arraySource(events), asdb), 'json'));
  assert.equal(doc.feed, 'telnetlogin');
  assert.equal(doc.generated, '2026-12-04T12:00:00.000Z');
  assert.deepEqual(doc.window, { from: '2026-11-27T12:00:00.000Z', to: '2026-12-04T12:00:00.000Z', length: '7 days', ends_included: true });
  assert.equal(doc.asn_source.attribution, 'test routing data');
  assert.deepEqual(doc.counts, { addresses: 2, asns: 1 });
  assert.match(doc.description, /not a block list/);
  assert.deepEqual(doc.entries, [
    { asn: null, as_name: null, ip: '10.0.0.1', last_seen: '2026-12-04T12:00:00.000Z', category: 'telnetlogin', first_seen: '2026-12-04T12:00:00.000Z', attempts: 1, credentials: 1, sensors: 1, tags: [] },
    { asn: 64500, as_name: 'EXAMPLE', ip: '192.0.2.1', last_seen: '2026-12-03T12:00:00.000Z', category: 'telnetlogin', first_seen: '2026-12-02T12:00:00.000Z', attempts: 2, credentials: 1, sensors: 1, tags: [] },
  ]);
});

test('an empty feed is valid JSON too', async () => {
  const doc = JSON.parse(await text(await build(arraySource([]), testAsdb([], {})), 'json'));
  assert.deepEqual(doc.entries, []);
  assert.deepEqual(doc.counts, { addresses: 0, asns: 0 });
});
