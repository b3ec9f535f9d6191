// The MRT parser: a pure byte parser (fed here whole and one byte at a time),
// checked against pyasn's converter on real RouteViews and RIPE RIS slices.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openAsdb } from '../../src/asdb/asdb.ts';
import { Input } from '../../src/asdb/input.ts';
import { formatIPv4, formatIPv6 } from '../../src/asdb/ip.ts';
import { MrtFormatError, MrtParser, type MrtRoute } from '../../src/asdb/mrt.ts';
import { maskWords } from '../../src/asdb/words.ts';
import { dataFile, needPyasn, python } from './data.ts';

// --- building MRT records -------------------------------------------------

function u16(n: number): number[] {
  return [n >>> 8, n & 255];
}
function u32(n: number): number[] {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
}
function record(type: number, subtype: number, body: number[]): number[] {
  return [...u32(1400000000), ...u16(type), ...u16(subtype), ...u32(body.length), ...body];
}
/** AS_PATH attribute from segments [type, asns[]], AS numbers `size` bytes wide. */
function asPath(segments: [number, number[]][], size: 2 | 4): number[] {
  const value = segments.flatMap(([type, asns]) => [type, asns.length, ...asns.flatMap((a) => (size === 4 ? u32(a) : u16(a)))]);
  return [0x40, 1, 1, 0 /* ORIGIN IGP */, 0x50, 2, ...u16(value.length), ...value];
}
/** TABLE_DUMP_V2 RIB_IPV4_UNICAST (or _ADDPATH) with one entry per path. */
function td2v4(prefix: number[], len: number, paths: number[][], addPath = false): number[] {
  const entries = paths.flatMap((attrs, peer) => [...u16(peer), ...u32(0), ...(addPath ? u32(7) : []), ...u16(attrs.length), ...attrs]);
  return record(13, addPath ? 8 : 2, [...u32(0), len, ...prefix.slice(0, (len + 7) >> 3), ...u16(paths.length), ...entries]);
}
function td2v6(prefix: number[], len: number, attrs: number[]): number[] {
  return record(13, 4, [...u32(0), len, ...prefix.slice(0, (len + 7) >> 3), ...u16(1), ...u16(0), ...u32(0), ...u16(attrs.length), ...attrs]);
}
/** TABLE_DUMP (v1) IPv4: view, seq, prefix, len, status, time, peer ip, peer as, attributes (2-byte AS numbers). */
function td1v4(prefix: number[], len: number, attrs: number[]): number[] {
  return record(12, 1, [...u16(0), ...u16(0), ...prefix, len, 1, ...u32(0), 10, 0, 0, 1, ...u16(65000), ...u16(attrs.length), ...attrs]);
}
const PEER_INDEX = record(13, 1, [...u32(0x0a000001), ...u16(0), ...u16(0)]);

function text(r: MrtRoute): string {
  const net = r.words.slice();
  maskWords(net, 0, r.len, r.family === 4 ? 1 : 4);
  return `${r.family === 4 ? formatIPv4(net[0]) : formatIPv6(net)}/${r.len}\t${r.origin}`;
}

function parseAll(bytes: Uint8Array, chunkSize: number): string[] {
  const out: string[] = [];
  const parser = new MrtParser((r) => out.push(text(r)));
  for (let i = 0; i < bytes.length; i += chunkSize) parser.push(bytes.subarray(i, i + chunkSize));
  parser.end();
  return out;
}

const SAMPLE = Uint8Array.from([
  ...PEER_INDEX,
  ...td2v4([1, 0, 0, 0], 24, [asPath([[2, [25152, 15169]]], 4), asPath([[2, [3356, 174]]], 4)]),
  ...td2v4([84, 205, 86, 0], 24, [asPath([], 4)]), // empty AS_PATH: no origin
  ...td2v4([1, 0, 20, 0], 23, [asPath([[2, [25152, 2516, 2519]], [1, [64512, 7, 300]]], 4)]), // ends in an AS_SET
  ...td2v4([2, 0, 0, 0], 16, [asPath([[2, [3356, 1299, 65001, 64512]]], 4)]), // private ASes at the end
  ...td2v4([3, 0, 0, 0], 8, [asPath([[2, [3356, 77]]], 4)], true), // ADD-PATH
  ...td2v6([0x20, 0x01, 0x0d, 0xb8], 32, asPath([[2, [6939, 400000]]], 4)),
  ...td1v4([4, 0, 0, 0], 8, asPath([[2, [701, 3356]]], 2)),
  ...record(13, 3, [0, 0, 0, 0]), // multicast RIB: skipped
]);

const EXPECTED = [
  '1.0.0.0/24\t15169', // only the first entry (peer) counts
  '84.205.86.0/24\t0',
  '1.0.20.0/23\t300', // pyasn's pick from the set {7, 300}: CPython's set order
  '2.0.0.0/16\t1299', // private-use ASes are passed over
  '3.0.0.0/8\t77',
  '2001:db8::/32\t400000',
  '4.0.0.0/8\t3356',
];

test('parses TABLE_DUMP and TABLE_DUMP_V2 records (with ADD-PATH) into prefixes and origins', () => {
  assert.deepEqual(parseAll(SAMPLE, SAMPLE.length), EXPECTED);
});

test('gives the same routes fed one byte at a time or in odd chunks', () => {
  for (const size of [1, 2, 3, 7, 12, 13, 100]) assert.deepEqual(parseAll(SAMPLE, size), EXPECTED, `chunks of ${size}`);
});

test('a dump cut inside a record is an error naming the record', () => {
  const cut = SAMPLE.subarray(0, SAMPLE.length - 3);
  assert.throws(() => parseAll(cut, 1000), (err: unknown) => {
    assert.ok(err instanceof MrtFormatError);
    assert.equal(err.record, 9);
    assert.match(err.message, /record 9 \(byte \d+\): the dump ends inside this record/);
    return true;
  });
});

test('an update file (BGP4MP) is refused: it is not a routing table', () => {
  const bytes = Uint8Array.from(record(16, 4, [0, 0, 0, 0]));
  assert.throws(() => parseAll(bytes, 100), /record 1 \(byte 0\): MRT type 16 is not a routing table dump/);
});

test('a record whose fields overrun it is an error, not a crash', () => {
  const bad = td2v4([1, 0, 0, 0], 24, [asPath([[2, [1, 2]]], 4)]);
  bad[bad.length - 9] = 200; // a segment count far beyond the attribute
  assert.throws(() => parseAll(Uint8Array.from(bad), 5), /record 1 .*AS_PATH segment is longer than the attribute/);
});

test('the MRT loader refuses a truncated dump, naming the file and record', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tl-mrt-'));
  try {
    const file = join(dir, 'rib.cut');
    writeFileSync(file, SAMPLE.subarray(0, SAMPLE.length - 3));
    await assert.rejects(openAsdb([file]), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'TL_ASDB_FORMAT');
      assert.match(err.message, new RegExp(`^${file}: record 9 \\(byte \\d+\\): the dump ends inside this record`));
      return true;
    });
    writeFileSync(file, SAMPLE);
    const asdb = await openAsdb([file]);
    assert.deepEqual(JSON.parse(JSON.stringify(asdb.lookup('1.0.0.9'))), { asn: 15169, prefix: '1.0.0.0/24', name: null });
    assert.equal(asdb.lookup('84.205.86.1'), null);
    assert.equal(asdb.lookup('2001:db8::1')?.asn, 400000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Routes of a real (possibly cut off) compressed dump: all complete records, first origin per prefix. */
async function ourRoutes(file: string): Promise<string[]> {
  const seen = new Set<string>();
  const out: string[] = [];
  const parser = new MrtParser((r) => {
    if (r.origin === 0 || r.len === 0) return;
    const line = text(r);
    const prefix = line.split('\t')[0];
    if (seen.has(prefix)) return;
    seen.add(prefix);
    out.push(line);
  });
  try {
    // The JavaScript decoder yields every complete bzip2 block, as Python's does.
    for await (const chunk of (await Input.open(file, { bzip2: 'js' })).chunks()) parser.push(chunk);
  } catch (err) {
    assert.match((err as Error).message, /truncated or corrupt/); // the slices are cut off
  }
  return out;
}

/** pyasn_util_convert's result (with --skip-on-error) on the complete records of the dump. */
function pyasnRoutes(file: string): string[] {
  const program = `
import bz2, io, ipaddress
from pyasn import mrtx
data = bz2.BZ2Decompressor().decompress(open(${JSON.stringify(file)}, 'rb').read())
end = 0
while end + 12 <= len(data):
    n = int.from_bytes(data[end + 8:end + 12], 'big')
    if end + 12 + n > len(data):
        break
    end += 12 + n
prefixes = mrtx.parse_mrt_file(io.BytesIO(data[:end]), skip_record_on_error=True)
for prefix, origin in prefixes.items():
    if isinstance(origin, set):
        origin = list(origin)[0]  # what dump_prefixes_to_file writes
    print("%s\\t%s" % (ipaddress.ip_network(prefix, strict=False).compressed, origin))
`;
  return python(program).trimEnd().split('\n');
}

for (const name of ['rib.20140523.0600_firstMB.bz2', 'rib6.20151101.0600_firstMB.bz2', 'bview.20140112.1600_3samples.bz2']) {
  test(`${name}: the same prefixes and origins as pyasn's converter`, async (t) => {
    const file = dataFile(t, name);
    if (file === null || !needPyasn(t)) return;
    const ours = await ourRoutes(file);
    const theirs = pyasnRoutes(file);
    assert.ok(ours.length > 0);
    assert.deepEqual(ours, theirs);
    t.diagnostic(`${ours.length} prefixes agree`);
  });
}
