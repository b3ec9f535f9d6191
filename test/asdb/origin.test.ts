import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { chooseFromAsSet, isBogusAsn, originFromAsPath, pythonSetFirst } from '../../src/asdb/origin.ts';
import { needPyasn, python } from './data.ts';

test('pythonSetFirst replays CPython: list(set(values))[0] (fixed cases)', () => {
  // Worked out by hand from CPython's set layout (and checked with python3).
  assert.equal(pythonSetFirst([7, 300]), 300); // slots 7 and 4
  assert.equal(pythonSetFirst([9, 1]), 9); // both hash to slot 1: 9 came first, 1 probes on
  assert.equal(pythonSetFirst([3356]), 3356);
  assert.equal(pythonSetFirst([5, 5, 2]), 2);
});

test('pythonSetFirst equals CPython on random AS sets, growing tables included', (t) => {
  if (!needPyasn(t)) return; // the same Debian python3 that runs pyasn
  const cases = fc.sample(
    fc.array(fc.oneof(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 70000 }), fc.integer({ min: 1, max: 0xffffffff })), {
      minLength: 1,
      maxLength: 300,
    }),
    { numRuns: 2000, seed: 42 },
  );
  const expected = python('import json, sys\nfor c in json.load(sys.stdin): print(list(set(c))[0])', JSON.stringify(cases))
    .trimEnd()
    .split('\n')
    .map(Number);
  cases.forEach((c, i) => assert.equal(pythonSetFirst(c), expected[i], JSON.stringify(c)));
});

test("isBogusAsn is pyasn's is_asn_bogus", () => {
  for (const asn of [0, 64496, 65535, 131071, 1000000, 4200000000, 4294967295]) assert.ok(isBogusAsn(asn), String(asn));
  for (const asn of [1, 3356, 23456, 64495, 131072, 399999]) assert.ok(!isBogusAsn(asn), String(asn));
});

function path(segments: [number, number[]][]): Uint8Array {
  return Uint8Array.from(
    segments.flatMap(([type, asns]) => [type, asns.length, ...asns.flatMap((a) => [a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255])]),
  );
}
const origin = (segments: [number, number[]][]) => {
  const bytes = path(segments);
  return originFromAsPath(bytes, 0, bytes.length, 4);
};

test('origin: last AS of the last sequence, passing over bogus ASes and empty segments', () => {
  assert.equal(origin([[2, [174, 3356, 15169]]]), 15169);
  assert.equal(origin([[2, [174, 3356, 64512]]]), 3356);
  assert.equal(origin([[2, [174]], [2, [64512, 65000]]]), 174); // a segment of bogus ASes passes to the one before
  assert.equal(origin([[2, [174]], [1, [64512]]]), 174);
  assert.equal(origin([[2, [174]], [1, [7, 300]]]), 300);
  assert.equal(origin([[2, [174]], [3, [65001]]]), 174); // confederation segments carry no origin
  assert.equal(origin([]), 0);
  assert.equal(origin([[2, [64512]]]), 0);
  assert.throws(() => origin([[9, [1]]]), /unknown AS_PATH segment type 9/);
  assert.throws(() => originFromAsPath(Uint8Array.from([2, 5, 0, 0]), 0, 4, 4), /longer than the attribute/);
});

test('chooseFromAsSet ignores bogus members and gives 0 when none is left', () => {
  assert.equal(chooseFromAsSet([64512, 7, 300]), 300);
  assert.equal(chooseFromAsSet([64512, 65000]), 0);
});
