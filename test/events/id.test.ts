import { test } from 'node:test';
import assert from 'node:assert/strict';
import { uuidv7 } from '../../src/events/id.ts';

const UUIDV7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test('UUIDv7: the layout of RFC 9562, the millisecond in the first 48 bits', () => {
  const ms = Date.UTC(2026, 11, 4, 19, 22, 44, 123);
  const id = uuidv7(ms + 10_000_000); // later than any id made so far in this process
  assert.match(id, UUIDV7);
  assert.equal(parseInt(id.replace(/-/g, '').slice(0, 12), 16), ms + 10_000_000);
});

test('ids are unique and sort in creation order, also many in one millisecond and when the clock steps back', () => {
  const ids: string[] = [];
  const base = Date.now() + 20_000_000;
  for (let i = 0; i < 20_000; i++) ids.push(uuidv7(base + Math.floor(i / 5000) - (i % 7 === 0 ? 3 : 0)));
  assert.equal(new Set(ids).size, ids.length);
  assert.deepEqual([...ids].sort(), ids);
  assert.ok(ids.every((id) => UUIDV7.test(id)));
});

test('the last 62 bits are random', () => {
  const tails = new Set(Array.from({ length: 1000 }, () => uuidv7().slice(19)));
  assert.equal(tails.size, 1000);
});
