import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { telnetlogin } from '../helpers/run-cli.ts';
import { fixture, NOW } from './feed-fixture.ts';

test('feed: reproducible builds (same data and --now: byte-identical), to stdout and atomically to --out', async (t) => {
  const { dir, data, asdb } = await fixture(t);
  const args = ['feed', ...data, ...asdb, '--now', NOW];
  const [a, b] = await Promise.all([telnetlogin(args), telnetlogin(args)]);
  assert.equal(a.code, 0, a.stderr);
  assert.equal(a.stdout, b.stdout);
  assert.deepEqual(a.stdout.split('\n').filter((l) => l && !l.startsWith('#')), [
    '64500        |  EXAMPLE-NET, Inc.               |  192.0.2.1        |  2026-12-04 10:00:00  |  telnetlogin',
    '64500        |  EXAMPLE-NET, Inc.               |  2001:db8::99     |  2026-12-04 11:00:00  |  telnetlogin',
    '64501        |  =SURVEY                         |  198.51.100.7     |  2026-11-27 12:00:00  |  telnetlogin',
  ]);
  assert.match(a.stdout, /^# 2026-11-27 12:00 - 2026-12-04 12:00$/m);
  assert.match(a.stdout, /route origins from routes\.ipasn \(ipasn\)/);

  const out = join(dir, 'out', 'telnetlogin.csv');
  mkdirSync(join(dir, 'out'));
  const csv = await telnetlogin(['feed', ...data, ...asdb, '--now', NOW, '--format', 'csv', '--out', out]);
  assert.equal(csv.code, 0, csv.stderr);
  assert.equal(csv.stdout, '');
  assert.deepEqual(readdirSync(join(dir, 'out')), ['telnetlogin.csv']);
  assert.match(readFileSync(out, 'utf8'), /^64501,'=SURVEY,198\.51\.100\.7,2026-11-27 12:00:00,telnetlogin,2026-11-27 12:00:00,1,1,1,\r$/m);

  const json = await telnetlogin(['feed', ...data, ...asdb, '--now', NOW, '--format', 'json', '--window', '24h']);
  assert.deepEqual(JSON.parse(json.stdout).entries.map((e: { ip: string }) => e.ip), ['192.0.2.1', '2001:db8::99']);
});

test('feed: exclusions and tags from the config; bad flags and config keys are usage errors naming them', async (t) => {
  const { dir, data, asdb } = await fixture(t);
  const config = join(dir, 'config.json');
  writeFileSync(join(dir, 'scanners.txt'), '# surveyors\nAS64501 survey-net  # a comment\n');
  writeFileSync(config, JSON.stringify({ feed: { exclude: ['2001:db8::/48'], tagFiles: [join(dir, 'scanners.txt')], excludeTaggedFromDataplane: true } }));
  const txt = await telnetlogin(['feed', ...data, ...asdb, '--now', NOW, '--config', config]);
  assert.equal(txt.code, 0, txt.stderr);
  assert.deepEqual(txt.stdout.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split('  |  ')[2]!.trim()), ['192.0.2.1']);
  const json = JSON.parse((await telnetlogin(['feed', ...data, ...asdb, '--now', NOW, '--config', config, '--format', 'json'])).stdout);
  assert.deepEqual(json.entries.map((e: { ip: string; tags: string[] }) => [e.ip, e.tags]), [['192.0.2.1', []], ['198.51.100.7', ['survey-net']]]);

  for (const [args, message] of [
    [['--window', '7 days'], /--window: "7 days" is not a duration/],
    [['--now', 'yesterday'], /--now: "yesterday" is not an ISO 8601 time/],
    [['--format', 'xml'], /--format: "xml" is not dataplane, csv or json/],
  ] as const) {
    const r = await telnetlogin(['feed', ...data, ...asdb, ...args]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, message);
  }
  writeFileSync(config, JSON.stringify({ feed: { exclude: ['192.0.2.0/33'], tags: [{ match: 'AS1', label: 'has space' }], window: 'week' } }));
  const bad = await telnetlogin(['feed', ...data, ...asdb, '--config', config]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /feed\.window: .*"week" is not a duration/);
  assert.match(bad.stderr, /feed\.exclude\.0: "192\.0\.2\.0\/33" is neither a CIDR prefix/);
  assert.match(bad.stderr, /feed\.tags\.0\.label: a label is 1-64 letters/);
  writeFileSync(join(dir, 'scanners.txt'), 'AS64501 ok\n10.0.0.0/8\n');
  writeFileSync(config, JSON.stringify({ feed: { tagFiles: [join(dir, 'scanners.txt')] } }));
  const badList = await telnetlogin(['feed', ...data, ...asdb, '--config', config]);
  assert.equal(badList.code, 2);
  assert.match(badList.stderr, /scanners\.txt:2: expected "CIDR-or-ASN LABEL"/);
});
