// `telnetlogin asdb lookup` and `asdb build` as an operator runs them, and the
// embedded default table a fresh install answers from.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_ASDB_ATTRIBUTION } from '../../src/asdb/asdb.ts';
import { dataFile } from './data.ts';

const BIN = fileURLToPath(new URL('../../bin/telnetlogin', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'tl-asdb-cli-'));
const cacheDir = join(dir, 'cache');
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], stdin?: string): Promise<Result> {
  return new Promise((resolve) => {
    const child = execFile(
      BIN,
      args,
      { env: { ...process.env, TELNETLOGIN_CACHE_DIR: cacheDir }, timeout: 120_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin!.end(stdin ?? '');
  });
}

test('with no --asdb, lookups come from the embedded table (built once, then cached)', async () => {
  const first = await cli(['asdb', 'lookup', '8.8.8.8', '2001:4860:4860::8888', '10.0.0.1', '::ffff:1.1.1.1']);
  assert.equal(first.code, 0, first.stderr);
  const rows = first.stdout.trimEnd().split('\n').map((l) => l.split('\t'));
  assert.equal(rows.length, 4);
  assert.deepEqual(rows[0].slice(0, 2), ['8.8.8.8', '15169']);
  assert.match(rows[0][2], /^8\.8\.\d+\.\d+\/\d+$/);
  assert.match(rows[0][3], /google/i);
  assert.deepEqual(rows[1].slice(0, 2), ['2001:4860:4860::8888', '15169']);
  assert.deepEqual(rows[2], ['10.0.0.1', 'NA', 'NA', 'NA']);
  assert.deepEqual(rows[3].slice(0, 2), ['::ffff:1.1.1.1', '13335']);
  assert.equal(readdirSync(cacheDir).filter((f) => f.endsWith('.tlasdb')).length, 1);
  const again = await cli(['asdb', 'lookup', '8.8.8.8']);
  assert.equal(again.stdout, `${first.stdout.split('\n')[0]}\n`);
});

test('the attribution the default data needs names its sources and licence', () => {
  for (const part of ['ip-location-db', 'RouteViews', 'DB-IP', 'https://db-ip.com', 'CC BY 4.0']) assert.ok(DEFAULT_ASDB_ATTRIBUTION.includes(part), part);
});

test('lookup -: addresses on standard input, one a line, with --asdb', async (t) => {
  const fake = dataFile(t, 'ipasn.fake');
  if (fake === null) return;
  const r = await cli(['asdb', 'lookup', '--asdb', fake, '-'], '1.0.0.1\n\n  3.200.0.1  \r\n4.0.0.0\n');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '1.0.0.1\t1\t1.0.0.0/30\tNA\n3.200.0.1\t4\t3.0.0.0/8\tNA\n4.0.0.0\tNA\tNA\tNA\n');
});

test('an input that is not an address gets an NA row, a message and exit status 1', async (t) => {
  const fake = dataFile(t, 'ipasn.fake');
  if (fake === null) return;
  const r = await cli(['asdb', 'lookup', '--asdb', fake, '1.0.0.1', 'not-an-ip\u001b[31m']);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '1.0.0.1\t1\t1.0.0.0/30\tNA\nnot-an-ip?[31m\tNA\tNA\tNA\n');
  assert.match(r.stderr, /not an IP address/);
});

test('a malformed file is reported with file and line, no stack trace, and nothing is printed', async () => {
  const bad = join(dir, 'bad.dat');
  writeFileSync(bad, '1.0.0.0/24\t15169\n1.0.0.0/24\tAS15169\n');
  const r = await cli(['asdb', 'lookup', '--asdb', bad, '1.0.0.1']);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, `telnetlogin: ${bad}:2: bad AS number "AS15169" (TL_ASDB_FORMAT)\n`);
});

test('usage errors exit with status 2', async () => {
  assert.equal((await cli(['asdb', 'lookup'])).code, 2);
  assert.equal((await cli(['asdb', 'build', 'x'])).code, 2);
  assert.equal((await cli(['asdb', 'lookup', '-', '-'])).code, 2);
});

test('build converts an MRT dump and AS names into one file that lookups read', async (t) => {
  const rib = dataFile(t, 'bview.20140112.1600_3samples.bz2');
  const names = dataFile(t, 'asnames.json.gz');
  if (rib === null || names === null) return;
  const out = join(dir, 'ris.tlasdb');
  const built = await cli(['asdb', 'build', '-o', out, rib, names]);
  assert.equal(built.code, 0, built.stderr);
  // stderr is no terminal here: no progress, just the summary.
  assert.match(built.stderr, /^telnetlogin: wrote .*ris\.tlasdb: 2 IPv4 and 0 IPv6 prefixes, \d+ AS names, [\d.]+ MB, in [\d.]+ s\n$/);
  assert.ok(existsSync(out));
  const r = await cli(['asdb', 'lookup', '--asdb', out, '1.0.0.1', '1.0.21.1', '84.205.86.1']);
  assert.equal(r.stdout, '1.0.0.1\t15169\t1.0.0.0/24\tGOOGLE - Google Inc.\n1.0.21.1\t2519\t1.0.20.0/23\tVECTANT VECTANT Ltd.\n84.205.86.1\tNA\tNA\tNA\n');
});
