// The prefix index against a brute-force longest-prefix match.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { IndexBuilder } from '../../src/asdb/index-builder.ts';
import { NO_ROUTE } from '../../src/asdb/prefix-index.ts';
import { rangeToPrefixes } from '../../src/asdb/words.ts';

interface P {
  net: number;
  len: number;
  asn: number;
  source: number;
}

const mask = (len: number) => (len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0);

/** Longest match; among equal prefixes the later source wins, within a source the policy decides. */
function naive(prefixes: P[], policies: ('first' | 'last')[], ip: number): [number, number] | null {
  let best: P | null = null;
  for (const p of prefixes) {
    if (((ip & mask(p.len)) >>> 0) !== ((p.net & mask(p.len)) >>> 0)) continue;
    if (best === null || p.len > best.len) best = p;
    else if (p.len === best.len && (p.source > best.source || (p.source === best.source && policies[p.source] === 'last'))) best = p;
  }
  return best && [best.asn, best.len];
}

// Prefixes crowded into a small part of the space so that they nest and collide.
const prefix = fc.record({
  net: fc.oneof(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0x0a000000, max: 0x0a0000ff }), fc.constantFrom(0, 0xffffffff)),
  len: fc.integer({ min: 0, max: 32 }),
  asn: fc.integer({ min: 1, max: 0xffffffff }),
  source: fc.integer({ min: 0, max: 2 }),
});

test('IPv4: the index answers like brute-force longest-prefix match, duplicates and source order included', () => {
  fc.assert(
    fc.property(
      fc.array(prefix, { maxLength: 60 }),
      fc.array(fc.constantFrom<'first' | 'last'>('first', 'last'), { minLength: 3, maxLength: 3 }),
      fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 40 }),
      (prefixes, policies, probes) => {
        prefixes.sort((a, b) => a.source - b.source);
        const b = new IndexBuilder();
        for (let s = 0; s < 3; s++) {
          b.beginSource(policies[s]);
          for (const p of prefixes.filter((p) => p.source === s)) b.addV4(p.net, p.len, p.asn);
        }
        const { v4 } = b.build();
        const edges = prefixes.flatMap((p) => {
          const first = (p.net & mask(p.len)) >>> 0;
          const last = first + 2 ** (32 - p.len) - 1;
          return [first, last, first - 1, last + 1].filter((x) => x >= 0 && x <= 0xffffffff);
        });
        for (const ip of [...probes, ...edges, 0, 0xffffffff]) {
          const i = v4.find(ip);
          assert.deepEqual(i < 0 ? null : [v4.asns[i], v4.lens[i]], naive(prefixes, policies, ip), `ip ${ip}`);
        }
      },
    ),
    { numRuns: 400, seed: 5 },
  );
});

test('IPv6: nested prefixes across word boundaries, and /128s', () => {
  const b = new IndexBuilder();
  b.beginSource('last');
  const w = (...words: number[]) => Uint32Array.from(words);
  b.addV6(w(0x20010db8, 0, 0, 0), 0, 32, 1);
  b.addV6(w(0x20010db8, 0xffff0000, 0, 0), 0, 48, 2);
  b.addV6(w(0x20010db8, 0xffffffff, 0xffffffff, 0xffffffff), 0, 128, 3);
  b.addV6(w(0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff), 0, 128, 4);
  b.addV6(w(0x20010db8, 0, 0, 0), 0, 65, 5);
  const { v6 } = b.build();
  const ask = (...words: number[]) => {
    const i = v6.find(w(...words));
    return i < 0 ? null : `${v6.asns[i]} ${v6.prefixText(i)}`;
  };
  assert.equal(ask(0x20010db8, 0, 0, 1), '5 2001:db8::/65');
  assert.equal(ask(0x20010db8, 0, 0x80000000, 0), '1 2001:db8::/32');
  assert.equal(ask(0x20010db8, 0xffff0001, 0, 0), '2 2001:db8:ffff::/48');
  assert.equal(ask(0x20010db8, 0xfffeffff, 0xffffffff, 0xffffffff), '1 2001:db8::/32');
  assert.equal(ask(0x20010db8, 0xffffffff, 0xffffffff, 0xfffffffe), '2 2001:db8:ffff::/48');
  assert.equal(ask(0x20010db8, 0xffffffff, 0xffffffff, 0xffffffff), '3 2001:db8:ffff:ffff:ffff:ffff:ffff:ffff/128');
  assert.equal(ask(0x20010db9, 0, 0, 0), null);
  assert.equal(ask(0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff), '4 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128');
  assert.equal(ask(0, 0, 0, 0), null);
});

test('an empty table answers nothing', () => {
  const b = new IndexBuilder();
  b.beginSource('last');
  const { v4, v6 } = b.build();
  assert.equal(v4.find(0x08080808), -1);
  assert.equal(v6.find(new Uint32Array(4)), -1);
  assert.equal(v4.lens[0], NO_ROUTE);
});

test('ranges become the fewest aligned CIDR prefixes covering exactly the range', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff }), (a, b) => {
      const [first, last] = a <= b ? [a, b] : [b, a];
      const blocks: [number, number][] = [];
      rangeToPrefixes(Uint32Array.of(first), Uint32Array.of(last), 1, (net, len) => blocks.push([net[0], len]));
      let next = first;
      for (const [net, len] of blocks) {
        assert.equal(net, next, 'contiguous');
        assert.equal(((net & mask(len)) >>> 0), net, 'aligned');
        next = net + 2 ** (32 - len);
      }
      assert.equal(next, last + 1, 'ends at the range end');
      // Fewest: no two neighbours of one size that together form their aligned parent.
      for (let i = 1; i < blocks.length; i++) {
        const [prev, len] = blocks[i - 1];
        const mergeable = blocks[i][1] === len && len > 0 && ((prev & mask(len - 1)) >>> 0) === prev;
        assert.ok(!mergeable, `blocks ${i - 1} and ${i} could be one /${len - 1}`);
      }
    }),
    { numRuns: 3000, seed: 6 },
  );
});

test('prefixes visible in a built table rebuild the same table', () => {
  const b = new IndexBuilder();
  b.beginSource('last');
  for (const [net, len, asn] of [[0x0a000000, 8, 1], [0x0a000000, 24, 2], [0x0a000100, 24, 3], [0x0a800000, 9, 4], [0x0b000000, 8, 5]]) b.addV4(net, len, asn);
  b.addV4(0x0c000000, 24, 6);
  b.addV4(0x0c000000, 16, 7);
  b.addV4(0x0c000000, 16, 8); // replaces the /16 of AS 7
  const first = b.build();
  const again = new IndexBuilder();
  again.beginSource('last');
  again.addTable(first.v4);
  const second = again.build();
  assert.deepEqual([...second.v4.starts], [...first.v4.starts]);
  assert.deepEqual([...second.v4.asns], [...first.v4.asns]);
  assert.deepEqual([...second.v4.lens], [...first.v4.lens]);
  assert.equal(first.v4.countPrefixes(), 7);
});
