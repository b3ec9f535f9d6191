import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isIPv4, isIPv6 } from 'node:net';
import fc from 'fast-check';
import { formatIPv4, formatIPv6, parseAddress, parseIPv4, parseIPv6 } from '../../src/asdb/ip.ts';

test('parseIPv4 accepts exactly what net.isIPv4 accepts', () => {
  const near = fc.stringMatching(/^[0-9.]{0,17}$/);
  fc.assert(
    fc.property(fc.oneof(fc.ipV4(), near, fc.string()), (s) => {
      assert.equal(parseIPv4(s) >= 0, isIPv4(s), s);
    }),
    { numRuns: 20000, seed: 1 },
  );
  for (const s of ['1.2.3.4', '0.0.0.0', '255.255.255.255']) assert.ok(parseIPv4(s) >= 0);
  for (const s of ['01.2.3.4', '1.2.3', '1.2.3.4.', '256.1.1.1', '1..2.3', ' 1.2.3.4', '1.2.3.4 ', '']) assert.equal(parseIPv4(s), -1, s);
});

test('parseIPv4 and formatIPv4 round-trip every value', () => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 0xffffffff }), (n) => assert.equal(parseIPv4(formatIPv4(n)), n)), { seed: 2 });
});

test('parseIPv6 accepts exactly what net.isIPv6 accepts (no zone ids)', () => {
  const near = fc.stringMatching(/^[0-9a-fA-F:.]{0,46}$/);
  fc.assert(
    fc.property(fc.oneof(fc.ipV6(), near, fc.string()), (s) => {
      const w = new Uint32Array(4);
      assert.equal(parseIPv6(s, w), isIPv6(s) && !s.includes('%'), s);
    }),
    { numRuns: 20000, seed: 3 },
  );
});

test('formatIPv6 is RFC 5952 text (as the URL standard writes it) and round-trips', () => {
  fc.assert(
    fc.property(fc.ipV6(), (s) => {
      const w = new Uint32Array(4);
      assert.ok(parseIPv6(s, w));
      const text = formatIPv6(w);
      const back = new Uint32Array(4);
      assert.ok(parseIPv6(text, back));
      assert.deepEqual(back, w);
      if (!text.startsWith('::ffff:')) assert.equal(text, new URL(`http://[${s}]/`).hostname.slice(1, -1));
    }),
    { numRuns: 5000, seed: 4 },
  );
  const w = new Uint32Array([0x20010db8, 0, 0, 1]);
  assert.equal(formatIPv6(w), '2001:db8::1');
  assert.equal(formatIPv6(new Uint32Array([0x20010db8, 0, 0x10000, 1])), '2001:db8::1:0:0:1'); // the first of equal runs
  assert.equal(formatIPv6(new Uint32Array([0x20010db8, 0, 0x10000, 0])), '2001:db8:0:0:1::'); // the longest run
  assert.equal(formatIPv6(new Uint32Array([0x20010db8, 1, 1, 1])), '2001:db8:0:1:0:1:0:1'); // a lone zero stays
  assert.equal(formatIPv6(new Uint32Array([0, 0, 0xffff, 0x01020304])), '::ffff:1.2.3.4');
});

test('parseAddress reads IPv4-mapped IPv6 as IPv4 (what dual-stack sockets report)', () => {
  assert.deepEqual(parseAddress('::ffff:8.8.8.8'), { family: 4, v4: 0x08080808 });
  assert.deepEqual(parseAddress('::FFFF:808:808'), { family: 4, v4: 0x08080808 });
  assert.equal(parseAddress('2001:db8::1')?.family, 6);
  assert.equal(parseAddress('nonsense'), null);
});
