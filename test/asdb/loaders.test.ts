// Every input format, detected from content, plain and compressed; a
// malformed line fails the whole opening with file and line in the message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { openAsdb, type Asdb } from '../../src/asdb/asdb.ts';
import { detectFormat } from '../../src/asdb/detect.ts';
import { Input } from '../../src/asdb/input.ts';
import { splitCsvLine } from '../../src/asdb/loaders/range-csv.ts';
import { dataFile } from './data.ts';

const dir = mkdtempSync(join(tmpdir(), 'tl-asdb-loaders-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
let serial = 0;

function file(content: string | Buffer, name = `input-${++serial}`): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

const answer = (asdb: Asdb, ip: string) => {
  const found = asdb.lookup(ip);
  return found && `${found.asn} ${found.prefix} ${found.name ?? 'NA'}`;
};

async function rejects(files: string[], pattern: RegExp): Promise<void> {
  await assert.rejects(openAsdb(files, { cacheDir: null }), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'TL_ASDB_FORMAT');
    assert.match(err.message, pattern);
    return true;
  });
}

const IPASN = '; IP-ASN32-DAT file\n; comment\n\n1.0.0.0/24\t15169\n1.0.0.0/30\t1\n2001:db8::/32\t6939\r\n1.0.0.0/24\t13335\n';

test('pyasn IPASN: comments, CRLF, IPv6, a repeated prefix replaced by the later line', async () => {
  const asdb = await openAsdb([file(IPASN)]);
  assert.equal(answer(asdb, '1.0.0.9'), '13335 1.0.0.0/24 NA');
  assert.equal(answer(asdb, '1.0.0.2'), '1 1.0.0.0/30 NA');
  assert.equal(answer(asdb, '2001:db8::5'), '6939 2001:db8::/32 NA');
  assert.equal(answer(asdb, '1.0.1.0'), null);
});

test('the same content gzip- and bzip2-compressed (with the system bzip2 and without)', async () => {
  const gz = file(gzipSync(IPASN));
  assert.equal(answer(await openAsdb([gz]), '1.0.0.9'), '13335 1.0.0.0/24 NA');
  const bz2 = file(execFileSync('bzip2', ['-c'], { input: IPASN }));
  assert.equal(answer(await openAsdb([bz2]), '1.0.0.9'), '13335 1.0.0.0/24 NA');
  assert.equal(answer(await openAsdb([bz2], { bzip2: 'js' }), '1.0.0.9'), '13335 1.0.0.0/24 NA');
});

test('a malformed line fails the opening with file and line, whatever the format', async () => {
  const bad = file('1.0.0.0/24\t15169\n1.0.0.0/24 15169\n');
  await rejects([bad], new RegExp(`^${bad}:2: expected \`prefix/len<TAB>asn\``));
  await rejects([file('1.0.0.0/24\t15169\n1.0.0.0/33\t1\n')], /:2: bad prefix length "33"/);
  await rejects([file('1.0.0.0/24\t15169\n1.0.0.300/24\t1\n')], /:2: bad IP address "1.0.0.300"/);
  await rejects([file('1.0.0.0/24\t15169\n1.0.0.0/24\t0\n')], /:2: AS number 0 out of range/);
  await rejects([file('1.0.0.0/24\t15169\n0.0.0.0/0\t1\n')], /:2: a \/0 prefix/);
  await rejects([file('1.0.0.0\t24\t15169\n1.0.0.0\t24\tx\n')], /:2: bad AS number "x"/);
  await rejects([file('1.0.0.0,1.0.0.255,13335,"Cloudflare\n')], /:1: unterminated quoted field/);
  await rejects([file(gzipSync('1.0.0.0/24\t15169\n'.repeat(5) + 'oops\n'))], /:6: expected/);
  // A good file given alongside does not make a broken one half-load.
  await rejects([file(IPASN), file('1.0.0.0/24\t15169\nbroken\n')], /:2: /);
});

test('unrecognised, empty and unreadable files are refused with the file name', async () => {
  const junk = file('hello world\nthis is not routing data\n');
  await rejects([junk], new RegExp(`^${junk}: unrecognised content; expected a pyasn IPASN file`));
  await rejects([file('')], /the file is empty/);
  await assert.rejects(openAsdb([join(dir, 'missing')]), (err: Error & { code?: string }) => err.code === 'TL_ASDB_IO' && /missing: cannot read/.test(err.message));
  await rejects([file(Buffer.from([0x1f, 0x8b, 8, 0, 1, 2, 3]))], /gzip data is truncated or corrupt/);
});

test('CAIDA pfx2as: MOAS (_) takes the first origin, an AS-set (,) pyasn\'s pick', async () => {
  const asdb = await openAsdb([file('1.0.0.0\t24\t13335\n2.0.0.0\t16\t3356_174\n3.0.0.0\t8\t7,300\n4.0.0.0\t8\t64512,65000_701\n2001:db8::\t32\t6939\n')]);
  assert.equal(answer(asdb, '1.0.0.1'), '13335 1.0.0.0/24 NA');
  assert.equal(answer(asdb, '2.0.0.1'), '3356 2.0.0.0/16 NA');
  assert.equal(answer(asdb, '3.0.0.1'), '300 3.0.0.0/8 NA');
  assert.equal(answer(asdb, '4.0.0.1'), '701 4.0.0.0/8 NA'); // a set of private ASes only: the next origin
  assert.equal(answer(asdb, '2001:db8::1'), '6939 2001:db8::/32 NA');
});

test('iptoasn TSV: ranges split into prefixes, AS 0 is unrouted space, descriptions as names', async () => {
  const tsv = '1.0.0.0\t1.0.0.255\t13335\tUS\tCLOUDFLARENET\n1.0.1.0\t1.0.3.255\t0\tNone\tNot routed\n1.0.4.0\t1.0.7.255\t38803\tAU\tGTELECOM-AUSTRALIA\n2001:200::\t2001:200:ffff:ffff:ffff:ffff:ffff:ffff\t2500\tJP\tWIDE-BB\n';
  const asdb = await openAsdb([file(tsv)]);
  assert.equal(answer(asdb, '1.0.0.7'), '13335 1.0.0.0/24 CLOUDFLARENET');
  assert.equal(answer(asdb, '1.0.2.1'), null);
  assert.equal(answer(asdb, '1.0.6.1'), '38803 1.0.4.0/22 GTELECOM-AUSTRALIA');
  assert.equal(answer(asdb, '2001:200:1::1'), '2500 2001:200::/32 WIDE-BB');
  await rejects([file('1.0.0.255\t1.0.0.0\t1\tUS\tx\n')], /:1: range 1.0.0.255 - 1.0.0.0 ends before it starts/);
});

test('ip-location-db CSV: quoted names, ranges that are not one prefix', async () => {
  const csv = '1.0.0.0,1.0.0.255,13335,"Cloudflare, Inc."\n2.26.200.0,2.26.215.255,201907,"LLC ""SPUTNIK"""\n2c0f:fff0::,2c0f:fff0:ffff:ffff:ffff:ffff:ffff:ffff,37125,Layer3 Limited\n';
  const asdb = await openAsdb([file(csv)]);
  assert.equal(answer(asdb, '1.0.0.1'), '13335 1.0.0.0/24 Cloudflare, Inc.');
  assert.equal(answer(asdb, '2.26.201.1'), '201907 2.26.200.0/21 LLC "SPUTNIK"');
  assert.equal(answer(asdb, '2.26.212.1'), '201907 2.26.208.0/21 LLC "SPUTNIK"');
  assert.equal(answer(asdb, '2.26.216.1'), null);
  assert.equal(answer(asdb, '2c0f:fff0::1'), '37125 2c0f:fff0::/32 Layer3 Limited');
  assert.deepEqual(splitCsvLine('a,"b,c",,"d""e"'), ['a', 'b,c', '', 'd"e']);
});

test('AS names: pyasn JSON, RIPE asn.txt and CAIDA as2org, over the names a table carries', async () => {
  const table = file('1.0.0.0,1.0.0.255,13335,From the table\n2.0.0.0,2.0.0.255,3356,Also from the table\n3.0.0.0,3.0.0.255,1,x\n4.0.0.0,4.0.0.255,7018,y\n');
  const json = file(JSON.stringify({ 0: '-Reserved AS-, ZZ', 13335: 'CLOUDFLARENET - CloudFlare, Inc., US' }));
  const ripe = file('0 -Reserved AS-, ZZ\n1 LVLT-1, US\n3216 SOVAM-AS PJSC "Vimpelcom", RU\n');
  const as2org = file(
    '# name: AS Org\n# format:org_id|changed|org_name|country|source\nATT-ARIN|20120130|AT&T Services, Inc.|US|ARIN\n' +
      '# format:aut|changed|aut_name|org_id|opaque_id|source\n7018|20120224|ATT-INTERNET4|ATT-ARIN|x_ARIN|ARIN\n',
  );
  const asdb = await openAsdb([table, json, ripe, as2org]);
  assert.equal(answer(asdb, '1.0.0.1'), '13335 1.0.0.0/24 CLOUDFLARENET - CloudFlare, Inc.');
  assert.equal(answer(asdb, '2.0.0.1'), '3356 2.0.0.0/24 Also from the table');
  assert.equal(answer(asdb, '3.0.0.1'), '1 3.0.0.0/24 LVLT-1');
  assert.equal(answer(asdb, '4.0.0.1'), '7018 4.0.0.0/24 ATT-INTERNET4 - AT&T Services, Inc.');
  assert.equal(asdb.name(3216), 'SOVAM-AS PJSC "Vimpelcom"');
  await rejects([table, file('{"13335": "a",\n "x": "b"}')], /:2: key "x": bad AS number/);
  await rejects([table, file('{"13335": "a",\n "1": }')], /:2: invalid JSON/);
  await rejects([table, file('1 LVLT-1, US\nLVLT-2\n')], /:2: expected `<asn> <name>`/);
});

test('formats are told by content, not by file name', async (t) => {
  const cases: [string, string][] = [
    [IPASN, 'ipasn'],
    ['1.0.0.0\t24\t13335\n', 'pfx2as'],
    ['1.0.0.0\t1.0.0.255\t13335\tUS\tX\n', 'iptoasn'],
    ['1.0.0.0,1.0.0.255,13335,X\n', 'range-csv'],
    ['{"1": "x"}', 'names-json'],
    ['1 LVLT-1, US\n', 'names-ripe'],
    ['# format:org_id|changed|org_name|country|source\n', 'as2org'],
  ];
  for (const [content, format] of cases) assert.equal(await detectFormat(await Input.open(file(content, `${format}.mmdb`))), format);
  const mmdb = dataFile(t, 'GeoLite2-ASN-Test.mmdb');
  if (mmdb !== null) assert.equal(await detectFormat(await Input.open(mmdb)), 'mmdb');
  const rib = dataFile(t, 'bview.20140112.1600_3samples.bz2');
  if (rib !== null) assert.equal(await detectFormat(await Input.open(rib)), 'mrt');
});
