import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { csvCell, CSV_COLUMNS } from '../../../src/feed/formats/csv.ts';
import { parseMatch } from '../../../src/feed/policy.ts';
import { arraySource, build, DAY, event, NOW, testAsdb, text } from '../helpers.ts';

test('cells a spreadsheet would run as formulas get a leading quote; RFC 4180 quoting', () => {
  assert.equal(csvCell('=1+1'), "'=1+1");
  assert.equal(csvCell('+1'), "'+1");
  assert.equal(csvCell('-1'), "'-1");
  assert.equal(csvCell('@SUM(A1)'), "'@SUM(A1)");
  assert.equal(csvCell('\t=x'), "'\t=x");
  assert.equal(csvCell('\r=x'), `"'\r=x"`);
  assert.equal(csvCell('=HYPERLINK("a","b")'), `"'=HYPERLINK(""a"",""b"")"`);
  assert.equal(csvCell('Cloudflare, Inc.'), '"Cloudflare, Inc."');
  assert.equal(csvCell('SOVAM-AS PJSC "Vimpelcom"'), '"SOVAM-AS PJSC ""Vimpelcom"""');
  assert.equal(csvCell('PLAIN-AS'), 'PLAIN-AS');
});

test('the CSV form, read by Python\'s csv module: header, every address, the extra columns, safe cells', async (t) => {
  const asdb = testAsdb(
    [['192.0.2.0/24', 64500], ['198.51.100.0/24', 64501], ['2001:db8::/32', 64502]],
    { 64500: '=cmd|\'/c calc\'!A0', 64501: 'Example, "Quoted" Inc.', 64502: '-negative' },
  );
  const events = [
    event('192.0.2.1', NOW - 2 * DAY, { password: Buffer.from('a') }),
    event('192.0.2.1', NOW - DAY, { password: Buffer.from('b'), sensor: 'other' }),
    event('198.51.100.9', NOW - 1000),
    event('2001:db8::5', NOW - 5000),
    event('203.0.113.1', NOW - 9 * DAY), // outside the window
  ];
  const policy = {
    ownAddresses: [],
    exclude: [],
    tags: [{ match: parseMatch('AS64501'), label: 'censys' }, { match: parseMatch('198.51.100.0/24'), label: 'research' }],
    excludeTaggedFromDataplane: false,
  };
  const csv = await text(await build(arraySource(events), asdb, { policy }), 'csv');
  assert.ok(csv.endsWith('\r\n'));
  const python = spawnSync('python3', ['-c', 'import csv, sys, json; print(json.dumps(list(csv.reader(sys.stdin))))'], { input: csv, encoding: 'utf8' });
  if (python.error) {
    process.stderr.write('\n*** SKIPPED: python3 is not installed\n');
    return t.skip('python3 is not installed');
  }
  const [header, ...rows] = JSON.parse(python.stdout) as string[][];
  assert.deepEqual(header, CSV_COLUMNS);
  assert.deepEqual(rows, [
    ['64500', "'=cmd|'/c calc'!A0", '192.0.2.1', '2026-12-03 12:00:00', 'telnetlogin', '2026-12-02 12:00:00', '2', '2', '2', ''],
    ['64501', 'Example, "Quoted" Inc.', '198.51.100.9', '2026-12-04 11:59:59', 'telnetlogin', '2026-12-04 11:59:59', '1', '1', '1', 'censys;research'],
    ['64502', "'-negative", '2001:db8::5', '2026-12-04 11:59:55', 'telnetlogin', '2026-12-04 11:59:55', '1', '1', '1', ''],
  ]);
});
