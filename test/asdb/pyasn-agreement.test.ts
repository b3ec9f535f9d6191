// The bar: on the same IPASN file, every answer (origin AS and matched
// prefix) equals pyasn's. Addresses: uniformly random ones, plus the first and
// last address of sampled prefixes and their neighbours outside, where an
// off-by-one in longest-prefix match would show.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { openAsdb, type Asdb } from '../../src/asdb/asdb.ts';
import { formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from '../../src/asdb/ip.ts';
import { dataFile, needPyasn, python, random } from './data.ts';

/** pyasn's answers, one `asn<TAB>prefix` line per address (NA<TAB>NA when none). */
function pyasnAnswers(file: string, ips: string[]): string[] {
  const program = [
    'import pyasn, sys',
    `db = pyasn.pyasn(${JSON.stringify(file)})`,
    'out = []',
    'for line in sys.stdin:',
    '    asn, prefix = db.lookup(line.strip())',
    '    out.append("NA\\tNA" if asn is None else "%d\\t%s" % (asn, prefix))',
    'print("\\n".join(out))',
  ].join('\n');
  return python(program, ips.join('\n') + '\n').trimEnd().split('\n');
}

function ourAnswers(asdb: Asdb, ips: string[]): string[] {
  return ips.map((ip) => {
    const found = asdb.lookup(ip);
    return found === null ? 'NA\tNA' : `${found.asn}\t${found.prefix}`;
  });
}

/** Prefixes of an IPASN file, as [network, len] text pairs. */
function prefixesOf(file: string): [string, number][] {
  const out: [string, number][] = [];
  for (const line of gunzipSync(readFileSync(file)).toString('latin1').split('\n')) {
    if (line === '' || line[0] === ';') continue;
    const [net, len] = line.split('\t')[0].split('/');
    out.push([net, Number(len)]);
  }
  return out;
}

/** Sampled prefixes' first and last addresses and the addresses just outside them, plus random addresses. */
function probeAddresses(prefixes: [string, number][], count: number, seed: number): string[] {
  const rnd = random(seed);
  const ips: string[] = [];
  const w = new Uint32Array(4);
  const step = (words: Uint32Array, delta: 1 | -1): void => {
    for (let k = 3; k >= 0; k--) {
      const v = words[k] + delta;
      words[k] = v >>> 0;
      if (v >= 0 && v <= 0xffffffff) return;
    }
  };
  for (let n = 0; n < count; n++) {
    const [net, len] = prefixes[Math.floor(rnd() * prefixes.length)];
    const v4 = parseIPv4(net);
    if (v4 >= 0) {
      const size = 2 ** (32 - len);
      for (const a of [v4, v4 + size - 1, v4 - 1, v4 + size, v4 + Math.floor(rnd() * size)]) {
        if (a >= 0 && a <= 0xffffffff) ips.push(formatIPv4(a));
      }
      ips.push(formatIPv4(Math.floor(rnd() * 2 ** 32)));
    } else {
      assert.ok(parseIPv6(net, w));
      const first = w.slice();
      const last = w.slice();
      for (let bit = len; bit < 128; bit++) last[bit >>> 5] |= 1 << (31 - (bit & 31));
      const inside = first.slice();
      for (let k = 0; k < 4; k++) inside[k] = (inside[k] | (Math.floor(rnd() * 2 ** 32) & (last[k] ^ first[k]))) >>> 0;
      const before = first.slice();
      step(before, -1);
      const after = last.slice();
      step(after, 1);
      for (const a of [first, last, before, after, inside]) ips.push(formatIPv6(a));
      const far = Uint32Array.from([0x20000000 + Math.floor(rnd() * 2 ** 29), rnd() * 2 ** 32, rnd() * 2 ** 32, rnd() * 2 ** 32]);
      ips.push(formatIPv6(far));
    }
  }
  return ips;
}

for (const [name, seed] of [['ipasn_20140513.dat.gz', 1], ['ipasn6_20151101.dat.gz', 2]] as const) {
  test(`${name}: every answer equals pyasn's (origin and prefix, IPv4 and IPv6)`, async (t) => {
    const file = dataFile(t, name);
    if (file === null || !needPyasn(t)) return;
    const asdb = await openAsdb([file]);
    const prefixes = prefixesOf(file);
    const v6 = prefixes.filter(([net]) => net.includes(':'));
    const ips = [...probeAddresses(prefixes, 20000, seed), ...probeAddresses(v6, v6.length > 0 ? 5000 : 0, seed + 10)];
    const expected = pyasnAnswers(file, ips);
    const actual = ourAnswers(asdb, ips);
    assert.equal(actual.length, expected.length);
    const differ = ips.filter((_, i) => actual[i] !== expected[i]);
    assert.deepEqual(
      differ.slice(0, 10).map((ip) => `${ip}: ours ${ourAnswers(asdb, [ip])[0]}, pyasn ${pyasnAnswers(file, [ip])[0]}`),
      [],
      `${differ.length} of ${ips.length} answers differ`,
    );
    t.diagnostic(`${ips.length} addresses, all equal to pyasn`);
  });
}

test('ipasn.fake: nested prefixes resolve to the most specific one (pyasn test suite expectations)', async (t) => {
  const file = dataFile(t, 'ipasn.fake');
  if (file === null) return;
  const asdb = await openAsdb([file]);
  const answer = (ip: string) => {
    const found = asdb.lookup(ip);
    return found && [found.asn, found.prefix];
  };
  for (let i = 0; i < 4; i++) assert.deepEqual(answer(`1.0.0.${i}`), [1, '1.0.0.0/30']);
  for (let i = 4; i < 256; i++) assert.deepEqual(answer(`1.0.0.${i}`), [2, '1.0.0.0/24']);
  for (let i = 0; i < 256; i++) assert.deepEqual(answer(`2.0.0.${i}`), [3, '2.0.0.0/24']);
  for (let i = 0; i < 256; i++) assert.deepEqual(answer(`3.${i}.0.0`), i < 128 ? [5, '3.0.0.0/9'] : [4, '3.0.0.0/8']);
  assert.equal(answer('1.0.1.0'), null);
  assert.equal(answer('2.0.1.0'), null);
  assert.equal(answer('4.0.0.0'), null);
  if (!needPyasn(t)) return;
  const ips = ['0.0.0.0', '1.0.0.0', '1.0.0.3', '1.0.0.4', '1.0.0.255', '1.0.1.0', '2.0.0.0', '3.0.0.0', '3.127.255.255', '3.128.0.0', '3.255.255.255', '4.0.0.0'];
  assert.deepEqual(ourAnswers(asdb, ips), pyasnAnswers(file, ips));
});
