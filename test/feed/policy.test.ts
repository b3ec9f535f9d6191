import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseMatch, parsePrefix, type FeedPolicy } from '../../src/feed/policy.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import { tempDir } from '../store/fixtures.ts';
import { arraySource, build, dataLines, event, NOW, testAsdb, text } from './helpers.ts';

const asdb = testAsdb([['192.0.2.0/24', 64500], ['198.51.100.0/24', 64501], ['203.0.113.0/24', 64502]], {});
const listed = async (feed: Awaited<ReturnType<typeof build>>) => dataLines(await text(feed, 'dataplane')).map((l) => l.split('  |  ')[2]!.trim());

test('matches: prefixes (host bits cleared, bare addresses), ASNs, and clear errors', () => {
  assert.equal(parsePrefix('192.0.2.77/24').text, '192.0.2.0/24');
  assert.equal(parsePrefix('2001:DB8::1').text, '2001:db8::1/128');
  assert.deepEqual(parseMatch('AS64500'), { kind: 'asn', text: 'AS64500', asn: 64500 });
  assert.deepEqual(parseMatch(64500), { kind: 'asn', text: 'AS64500', asn: 64500 });
  assert.throws(() => parseMatch('192.0.2.0/33'), /neither a CIDR prefix/);
  assert.throws(() => parsePrefix('192.0.2.0/33'), /prefix length must be 0-32/);
  assert.throws(() => parseMatch('AS0'), /1-4294967295/);
  assert.throws(() => parseMatch('example.com'), /neither a CIDR prefix, an address nor an ASN/);
});

test("the sensors' own addresses are never listed: configured prefixes and those the store knows", async (t) => {
  const store = openSqliteStore({ dataDir: tempDir(t) });
  t.after(() => store.close());
  const events = [
    event('192.0.2.1', NOW - 1000), // a sensor's own address as a client
    event('192.0.2.2', NOW - 1000, { dst_ip: '198.51.100.5' }), // 198.51.100.5 is a sensor: seen as a destination
    event('198.51.100.5', NOW - 900), // that sensor, probing another
    event('203.0.113.9', NOW - 800),
    event('203.0.113.10', NOW - 700),
  ];
  await Promise.all(events.map((e) => store.record(e)));
  store.addSensorAddresses('test-sensor', ['192.0.2.1'], NOW);
  const policy: FeedPolicy = { ownAddresses: [parsePrefix('203.0.113.8/31')], exclude: [], tags: [], excludeTaggedFromDataplane: false };
  const feed = await build(store, asdb, { policy });
  assert.deepEqual(await listed(feed), ['192.0.2.2', '203.0.113.10']);
  assert.deepEqual(feed.withheld, { own: 3, excluded: 0 });
  assert.deepEqual(await store.sensors(), [{ id: 'test-sensor', addresses: ['192.0.2.1', '198.51.100.5'], firstSeen: NOW - 1000, lastSeen: NOW }]);
});

test('the operator allowlist (prefixes and ASNs) hides addresses from every format', async () => {
  const events = [event('192.0.2.1', NOW), event('198.51.100.1', NOW), event('203.0.113.1', NOW), event('203.0.113.200', NOW)];
  const policy: FeedPolicy = { ownAddresses: [], exclude: [parseMatch('AS64501'), parseMatch('203.0.113.128/25')], tags: [], excludeTaggedFromDataplane: false };
  const feed = await build(arraySource(events), asdb, { policy });
  assert.deepEqual(await listed(feed), ['192.0.2.1', '203.0.113.1']);
  assert.equal(JSON.parse(await text(feed, 'json')).entries.length, 2);
  assert.deepEqual(feed.withheld, { own: 0, excluded: 2 });
});

test('surveyors are tagged, not hidden: labels of every enclosing prefix and of the ASN; optionally out of the pipe format', async () => {
  const events = [event('192.0.2.1', NOW), event('192.0.2.130', NOW), event('198.51.100.1', NOW), event('203.0.113.1', NOW)];
  const tags = [
    { match: parseMatch('192.0.2.0/24'), label: 'research' },
    { match: parseMatch('192.0.2.128/25'), label: 'censys' },
    { match: parseMatch('AS64500'), label: 'survey.example' },
    { match: parseMatch('198.51.100.1'), label: 'shodan' },
  ];
  const policy: FeedPolicy = { ownAddresses: [], exclude: [], tags, excludeTaggedFromDataplane: false };
  const feed = await build(arraySource(events), asdb, { policy });
  const entries = JSON.parse(await text(feed, 'json')).entries as Array<{ ip: string; tags: string[] }>;
  assert.deepEqual(Object.fromEntries(entries.map((e) => [e.ip, e.tags])), {
    '192.0.2.1': ['research', 'survey.example'],
    '192.0.2.130': ['censys', 'research', 'survey.example'],
    '198.51.100.1': ['shodan'],
    '203.0.113.1': [],
  });
  assert.deepEqual(await listed(feed), ['192.0.2.1', '192.0.2.130', '198.51.100.1', '203.0.113.1']);
  const strict = await build(arraySource(events), asdb, { policy: { ...policy, excludeTaggedFromDataplane: true } });
  assert.deepEqual(await listed(strict), ['203.0.113.1']);
  assert.match(await text(strict, 'dataplane'), /#   ASNs: 1\n#   Addresses: 1\n/);
  assert.equal(JSON.parse(await text(strict, 'json')).entries.length, 4);
});
