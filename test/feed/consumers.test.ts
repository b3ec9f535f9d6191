// The pipe format read the way its consumers read it (../shared/docs/feed-format.md):
// each must get exactly the built addresses, whatever the AS names hold.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import type { BuiltFeed } from '../../src/feed/build.ts';
import { ipText } from '../../src/feed/collect.ts';
import { arraySource, build, dataLines, NOW, testAsdb, text } from './helpers.ts';
import { event } from './helpers.ts';

/** AS names as hostile as routing data can carry. */
const HOSTILE_NAMES: Record<number, string> = {
  1: 'EVIL  |  6.6.6.6  |  2020-01-01 00:00:00  |  telnetlogin',
  2: '"QUOTED | AS',
  3: '=HYPERLINK("http://example.invalid","x")',
  4: 'LINE\nBREAK\r\n# not a comment\u0000\u001b[31m',
  5: '\u202eDESREVER\u2028SEP\u2066',
  6: 'ÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄ', // 32 bytes: cut to 30
  7: 'a€€€€€€€€€€', // 31 bytes: cut to 28, never inside the €
  8: '   ',
  9: 'NA',
  10: '🔑🔑🔑🔑🔑🔑🔑🔑',
  11: '\t+cmd|\'/c calc\'!A0',
  12: '-2+3',
  13: '@SUM(1)',
  14: 'SOVAM-AS PJSC "Vimpelcom"',
  15: '"',
};

const ADDRESSES = [
  ...Object.keys(HOSTILE_NAMES).map((asn) => `198.51.${asn}.7`),
  '203.0.113.200', // no route: NA
  '2001:db8::1',
  '2001:db8:ffff::abcd',
];

async function hostileFeed(): Promise<{ feed: BuiltFeed; dataplane: string }> {
  const routes = Object.keys(HOSTILE_NAMES).map((asn): [string, number] => [`198.51.${asn}.0/24`, Number(asn)]);
  routes.push(['2001:db8::/32', 1]);
  const asdb = testAsdb(routes, HOSTILE_NAMES);
  const feed = await build(arraySource(ADDRESSES.map((ip, i) => event(ip, NOW - i * 1000))), asdb);
  return { feed, dataplane: await text(feed, 'dataplane') };
}

/** PHP's str_getcsv as MISP uses it: leading blanks before an enclosure are skipped, so `  "x` opens a quoted cell. */
function phpGetcsv(line: string, delimiter: string): string[] {
  const cells: string[] = [];
  let i = 0;
  for (;;) {
    let j = i;
    while (line[j] === ' ' || line[j] === '\t') j++;
    let cell = '';
    if (line[j] === '"') {
      j++;
      for (;;) {
        if (j >= line.length) break;
        if (line[j] === '"') {
          if (line[j + 1] === '"') {
            cell += '"';
            j += 2;
            continue;
          }
          j++;
          break;
        }
        cell += line[j++];
      }
      while (j < line.length && line[j] !== delimiter) cell += line[j++];
    } else {
      while (j < line.length && line[j] !== delimiter) cell += line[j++];
      cell = line.slice(i, j);
    }
    cells.push(cell);
    if (j >= line.length) return cells;
    i = j + 1;
  }
}

test('MISP ("TELNET login" feed: csv, delimiter |, value column 3, # lines skipped, cells trimmed)', async () => {
  const { dataplane } = await hostileFeed();
  const values = dataplane
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('#'))
    .map((l) => phpGetcsv(l, '|')[2]!.replace(/^[\s"]+|[\s"]+$/g, ''));
  assert.deepEqual(values.toSorted(), ADDRESSES.toSorted());
});

test("IntelMQ (dataplane parser: split on '  |  ', 5 fields, NA as missing, lastseen in UTC)", async () => {
  const { feed, dataplane } = await hostileFeed();
  const parsed = dataLines(dataplane).map((line) => {
    const fields = line.split('  |  ');
    assert.equal(fields.length, 5, line);
    const [asn, name, ip, lastseen, category] = fields.map((f) => f.trim());
    return { asn: asn === 'NA' ? undefined : Number(asn), name: name === 'NA' ? undefined : name, ip, time: Date.parse(`${lastseen!.replace(' ', 'T')}Z`), category };
  });
  assert.deepEqual(parsed.map((p) => p.ip).toSorted(), ADDRESSES.toSorted());
  for (const p of parsed) {
    const i = feed.rows.last.findIndex((_, k) => ipText(feed.rows, k) === p.ip);
    assert.equal(p.time, Math.floor(feed.rows.last[i]! / 1000) * 1000);
    assert.equal(p.asn, feed.asn[i] || undefined);
    assert.equal(p.category, 'telnetlogin');
  }
});

test('n6 (Python csv.reader, delimiter |, quotechar ", # lines skipped), run by python3 itself', async (t) => {
  const { dataplane } = await hostileFeed();
  const script = [
    'import csv, sys',
    'rows = csv.reader(sys.stdin, delimiter="|", quotechar=\'"\')',
    'for row in rows:',
    '    if not row or row[0].startswith("#"): continue',
    '    print(row[2].strip())',
  ].join('\n');
  const python = spawnSync('python3', ['-c', script], { input: dataplane, encoding: 'utf8' });
  if (python.error) {
    process.stderr.write('\n*** SKIPPED: python3 is not installed\n');
    t.skip('python3 is not installed');
    return;
  }
  assert.equal(python.status, 0, python.stderr);
  assert.deepEqual(python.stdout.trim().split('\n').toSorted(), ADDRESSES.toSorted());
});

test('hostile AS names: no control characters, no |, at most 30 bytes cut on a character boundary', async () => {
  const { dataplane } = await hostileFeed();
  assert.doesNotMatch(dataplane, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/);
  const names = Object.fromEntries(dataLines(dataplane).map((l) => [l.split('  |  ')[2]!.trim(), l.split('  |  ')[1]!]));
  for (const name of Object.values(names)) {
    assert.equal(Buffer.byteLength(name, 'utf8'), 30, JSON.stringify(name));
    assert.doesNotMatch(name, /\|/);
    assert.doesNotMatch(name, /^\s*"/);
  }
  assert.equal(names['198.51.1.7']!.trimEnd(), 'EVIL  /  6.6.6.6  /  2020-01-0');
  assert.equal(names['198.51.2.7']!.trimEnd(), "'QUOTED / AS");
  assert.equal(names['198.51.6.7']!.trimEnd(), 'ÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄ');
  assert.equal(names['198.51.7.7']!.trimEnd(), 'a€€€€€€€€€');
  assert.equal(names['198.51.8.7']!.trimEnd(), 'NA');
  assert.equal(names['198.51.10.7']!.trimEnd(), '🔑🔑🔑🔑🔑🔑🔑');
  assert.equal(names['198.51.14.7']!.trimEnd(), 'SOVAM-AS PJSC "Vimpelcom"');
  assert.equal(names['198.51.4.7']!.trimEnd(), 'LINE BREAK  # not a comment  ['); // ESC [31m: the ESC went
});
