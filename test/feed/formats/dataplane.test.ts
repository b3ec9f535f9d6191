import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { arraySource, build, dataLines, DAY, event, NOW, testAsdb, text } from '../helpers.ts';

const FEEDS = fileURLToPath(new URL('../../../../shared/data/feeds/', import.meta.url));
const FORMAT_LINE = '# ASN  |  ASname  |  ipaddr  |  lastseen  |  category';
const WINDOW_LINE = /^# \d{4}-\d\d-\d\d \d\d:\d\d - \d{4}-\d\d-\d\d \d\d:\d\d$/;

function references(t: { skip(message: string): void }): Array<{ name: string; content: string }> | undefined {
  if (!existsSync(FEEDS)) {
    process.stderr.write(`\n*** SKIPPED: reference feeds not found at ${FEEDS} (../shared/data is absent)\n`);
    t.skip('../shared/data/feeds is absent');
    return undefined;
  }
  return readdirSync(FEEDS)
    .filter((f) => f.endsWith('.txt'))
    .map((name) => ({ name, content: readFileSync(FEEDS + name, 'utf8') }));
}

test('entries are laid out byte for byte like the reference files', async (t) => {
  const files = references(t);
  if (!files) return;
  let compared = 0;
  for (const { name, content } of files) {
    for (const line of dataLines(content)) {
      const fields = line.split('  |  ');
      const [asnField, nameField, ipField, seenField, category] = fields.map((f) => f.trim());
      // IntelMQ's fixtures also hold a row with a space before the address:
      // a parser test, not a layout to reproduce.
      if (fields.length !== 5 || fields[2]!.startsWith(' ')) continue;
      const asn = asnField === 'NA' ? 0 : Number(asnField);
      const asdb = testAsdb(asn === 0 ? [] : [[`${ipField}/32`, asn]], nameField === 'NA' ? {} : { [asn]: nameField! });
      const time = Date.parse(`${seenField!.replace(' ', 'T')}Z`);
      const feed = await build(arraySource([event(ipField!, time)]), asdb, { now: time + DAY });
      const [ours] = dataLines(await text(feed, 'dataplane'));
      // A '|' inside a name (IntelMQ's fixture has one) is the one thing written differently: as '/'.
      const want = line.replace(nameField!, nameField!.replaceAll('|', '/'));
      assert.equal(ours!.replace(/telnetlogin$/, category!), want, `${name}: ${line}`);
      compared++;
    }
  }
  assert.ok(compared >= 6, `compared ${compared} reference rows`);
});

test('the header has the reference structure: window line, format line, comments only, then entries and a footer', async (t) => {
  const files = references(t);
  if (!files) return;
  const reference = files.find((f) => f.name.includes('telnetlogin'))!.content.split('\n');
  const feed = await build(arraySource([event('192.0.2.1', NOW - 1000)]), testAsdb([], {}));
  const ours = (await text(feed, 'dataplane')).split('\n');
  for (const lines of [reference, ours]) {
    assert.ok(lines.some((l) => WINDOW_LINE.test(l)));
    assert.ok(lines.includes(FORMAT_LINE));
    const firstEntry = lines.findIndex((l) => l !== '' && !l.startsWith('#'));
    assert.ok(lines.slice(0, firstEntry).every((l) => l.startsWith('#')));
  }
  assert.equal(ours[0], '# telnetlogin');
  assert.equal(ours[1], '# 2026-11-27 12:00 - 2026-12-04 12:00');
  assert.ok(ours.some((l) => /not a block list/.test(l)));
  assert.ok(ours.some((l) => l.includes('test routing data')), 'names the route origin data and its attribution');
  assert.deepEqual(ours.slice(-6), ['#', '# Totals', '#   ASNs: 0', '#   Addresses: 1', '# End of the telnetlogin feed.', '']);
});

test('widths: ASN padded to 11, name to 30 bytes, address to 15 (IPv6 overflows), lastseen 19; NA without route or name', async () => {
  const asdb = testAsdb([['192.0.2.0/24', 4294967295], ['2001:db8::/32', 64500]], { 4294967295: 'MAX-AS' });
  const feed = await build(arraySource([event('192.0.2.1', NOW - 1), event('2001:db8:1234:5678:9abc:def0:1234:5678', NOW - 2), event('10.0.0.1', NOW)]), asdb);
  assert.deepEqual(dataLines(await text(feed, 'dataplane')), [
    'NA           |  NA                              |  10.0.0.1         |  2026-12-04 12:00:00  |  telnetlogin',
    '64500        |  NA                              |  2001:db8:1234:5678:9abc:def0:1234:5678  |  2026-12-04 11:59:59  |  telnetlogin',
    '4294967295   |  MAX-AS                          |  192.0.2.1        |  2026-12-04 11:59:59  |  telnetlogin',
  ]);
});

test('sorted by ASN numerically (NA first), then by address numerically, IPv4 before IPv6', async () => {
  const asdb = testAsdb([['9.0.0.0/8', 10], ['10.0.0.0/8', 10], ['100.0.0.0/8', 2], ['2001:db8::/32', 10], ['11.0.0.0/8', 100]], {});
  const ips = ['10.0.0.2', '2001:db8::10', '9.255.255.255', '2001:db8::9', '100.0.0.1', '11.0.0.1', '10.0.0.10', '172.16.0.1', '1.2.3.4'];
  const feed = await build(arraySource(ips.map((ip, i) => event(ip, NOW - i))), asdb);
  const order = dataLines(await text(feed, 'dataplane')).map((l) => l.split('  |  ').map((f) => f.trim()));
  assert.deepEqual(order.map((f) => `${f[0]} ${f[2]}`), [
    'NA 1.2.3.4', 'NA 172.16.0.1', '2 100.0.0.1', '10 9.255.255.255', '10 10.0.0.2', '10 10.0.0.10', '10 2001:db8::9', '10 2001:db8::10', '100 11.0.0.1',
  ]);
});

test('two builds of the same data and --now are byte-identical; header and footer keep their length', async () => {
  const asdb = testAsdb([['192.0.2.0/24', 64500]], { 64500: 'EXAMPLE' });
  const events = Array.from({ length: 50 }, (_, i) => event(`192.0.2.${i}`, NOW - i * 3_600_000));
  const a = await text(await build(arraySource(events), asdb), 'dataplane');
  const b = await text(await build(arraySource([...events].reverse()), asdb), 'dataplane');
  assert.equal(a, b);
  const later = await text(await build(arraySource(events.slice(0, 3)), asdb, { now: NOW + DAY }), 'dataplane');
  const shape = (t: string) => {
    const lines = t.split('\n');
    const first = lines.findIndex((l) => !l.startsWith('#'));
    const last = lines.findLastIndex((l) => l !== '' && !l.startsWith('#'));
    return { header: first, footer: lines.length - last };
  };
  assert.deepEqual(shape(later), shape(a));
});
