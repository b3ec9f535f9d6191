import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openAsdb, type Asdb, type AsdbAnswer } from '../../src/asdb/asdb.ts';
import { writeBuiltFile } from '../../src/asdb/built-file.ts';
import { dataFile, random } from './data.ts';

const dir = mkdtempSync(join(tmpdir(), 'tl-asdb-built-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

const plain = (found: AsdbAnswer | null) => found && { asn: found.asn, prefix: found.prefix, name: found.name };

function sameAnswers(a: Asdb, b: Asdb, count: number): void {
  const rnd = random(9);
  for (let n = 0; n < count; n++) {
    const v4 = [0, 0, 0, 0].map(() => Math.floor(rnd() * 256)).join('.');
    const v6 = `2${Math.floor(rnd() * 0xfff).toString(16).padStart(3, '0')}:${Math.floor(rnd() * 0xffff).toString(16)}::${n.toString(16)}`;
    for (const ip of [v4, v6]) assert.deepEqual(plain(a.lookup(ip)), plain(b.lookup(ip)), ip);
  }
}

test('a built file answers exactly like its sources, names and attribution included', async (t) => {
  const table = dataFile(t, 'ipasn6_20151101.dat.gz');
  const names = dataFile(t, 'asnames.json.gz');
  if (table === null || names === null) return;
  const original = await openAsdb([table, names]);
  const file = join(dir, 'table.tlasdb');
  await writeBuiltFile(file, { index: original.index, names: original.names, meta: original.meta });
  const loaded = await openAsdb([file]);
  assert.deepEqual([...loaded.index.v4.starts], [...original.index.v4.starts]);
  assert.deepEqual([...loaded.index.v6.asns], [...original.index.v6.asns]);
  assert.equal(loaded.names.size, original.names.size);
  assert.equal(loaded.attribution, original.attribution);
  sameAnswers(original, loaded, 20000);
});

test('a built file merges with other inputs as if its sources were given', async (t) => {
  const table = dataFile(t, 'ipasn.fake');
  if (table === null) return;
  const more = join(dir, 'more.dat');
  writeFileSync(more, '1.0.0.0/26\t64\n3.0.0.0/8\t44\n');
  const built = join(dir, 'fake.tlasdb');
  const fake = await openAsdb([table]);
  await writeBuiltFile(built, { index: fake.index, names: fake.names, meta: fake.meta });
  const direct = await openAsdb([table, more]);
  const merged = await openAsdb([built, more]);
  for (const ip of ['1.0.0.1', '1.0.0.63', '1.0.0.64', '1.0.0.200', '3.0.0.1', '3.200.0.0', '2.0.0.1']) {
    assert.deepEqual(plain(merged.lookup(ip)), plain(direct.lookup(ip)), ip);
  }
  assert.equal(merged.lookup('3.0.0.1')?.asn, 5); // the /9 still beats the replaced /8
  assert.equal(merged.lookup('3.200.0.0')?.asn, 44);
});

test('a damaged built file is refused, naming the file', async (t) => {
  const table = dataFile(t, 'ipasn.fake');
  if (table === null) return;
  const fake = await openAsdb([table]);
  const file = join(dir, 'damaged.tlasdb');
  await writeBuiltFile(file, { index: fake.index, names: fake.names, meta: fake.meta });
  const bytes = readFileSync(file);
  writeFileSync(file, bytes.subarray(0, bytes.length - 10));
  await assert.rejects(openAsdb([file]), new RegExp(`${file}: corrupt built table: section .* is out of bounds`));
  const header = bytes.readUInt32LE(8);
  const twisted = Buffer.from(bytes);
  twisted.fill(0xff, 12 + header, 12 + header + 16); // the first interval no longer starts at 0
  writeFileSync(file, twisted);
  await assert.rejects(openAsdb([file]), /corrupt built table: interval table: first interval must start at 0/);
});
