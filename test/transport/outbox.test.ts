import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventToJson } from '../../src/events/json.ts';
import { parseEventMessage } from '../../src/transport/event-message.ts';
import { Outbox } from '../../src/transport/outbox.ts';
import { makeEvent, tempDir } from '../store/fixtures.ts';

test('record() resolves after the commit; events wait in order, survive a reopen and leave once removed', async (t) => {
  const dir = tempDir(t);
  const outbox = new Outbox(dir);
  const events = Array.from({ length: 5 }, (_, i) => makeEvent({ attempt: i + 1 }));
  let committed = 0;
  outbox.onCommit(() => committed++);
  await Promise.all(events.map((e) => outbox.record(e)));
  assert.equal(committed, 1, 'one group commit for events recorded in the same turn');
  assert.equal(outbox.depth, 5);
  const taken = outbox.take(0, 3);
  assert.deepEqual(taken.map((e) => e.id), events.slice(0, 3).map((e) => e.id));
  assert.deepEqual(parseEventMessage(taken[0]!.payload), eventToJson(events[0]!));
  assert.deepEqual(outbox.take(taken[2]!.seq, 10).map((e) => e.id), events.slice(3).map((e) => e.id));
  outbox.remove(taken.map((e) => e.seq));
  assert.equal(outbox.depth, 2);
  await outbox.close();

  const again = new Outbox(dir);
  t.after(() => again.close());
  assert.equal(again.depth, 2);
  assert.deepEqual(again.take(0, 10).map((e) => e.id), events.slice(3).map((e) => e.id));
});

test('sequence numbers are never reused, even after the outbox was emptied', async (t) => {
  const outbox = new Outbox(tempDir(t));
  t.after(() => outbox.close());
  await outbox.record(makeEvent());
  const [first] = outbox.take(0, 10);
  outbox.remove([first!.seq]);
  assert.equal(outbox.depth, 0);
  await outbox.record(makeEvent());
  const next = outbox.take(first!.seq, 10);
  assert.equal(next.length, 1, 'a forwarder past the first entry still finds the next one');
  assert.ok(next[0]!.seq > first!.seq);
});

test('bounded: at maxEvents record() refuses (TL_OUTBOX_FULL) until the broker has taken some', async (t) => {
  const outbox = new Outbox(tempDir(t), { maxEvents: 3 });
  t.after(() => outbox.close());
  const results = await Promise.allSettled(Array.from({ length: 5 }, () => outbox.record(makeEvent())));
  assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'rejected']);
  assert.equal(((results[3] as PromiseRejectedResult).reason as { code: string }).code, 'TL_OUTBOX_FULL');
  assert.equal(outbox.depth, 3);
  assert.equal(outbox.stats().refused, 2);
  outbox.remove([outbox.take(0, 1)[0]!.seq]);
  await outbox.record(makeEvent());
  assert.equal(outbox.depth, 3);
});

test('stats: depth and the age of the oldest waiting event', async (t) => {
  const outbox = new Outbox(tempDir(t), { maxEvents: 10 });
  t.after(() => outbox.close());
  assert.deepEqual(outbox.stats(), { depth: 0, maxEvents: 10, oldestAgeMs: 0, refused: 0 });
  const now = Date.now();
  await outbox.record(makeEvent({ time: now - 5000 }));
  await outbox.record(makeEvent({ time: now - 1000 }));
  assert.deepEqual(outbox.stats(now), { depth: 2, maxEvents: 10, oldestAgeMs: 5000, refused: 0 });
});

test('take() finds every waiting event, whether still in memory or only in the file', async (t) => {
  const dir = tempDir(t);
  const first = new Outbox(dir);
  const old = Array.from({ length: 3 }, () => makeEvent());
  await Promise.all(old.map((e) => first.record(e)));
  await first.close();
  const outbox = new Outbox(dir);
  t.after(() => outbox.close());
  const fresh = Array.from({ length: 20_000 }, () => makeEvent()); // more than the memory keeps
  await Promise.all(fresh.map((e) => outbox.record(e)));
  const all = outbox.take(0, 30_000);
  assert.deepEqual(all.map((e) => e.id), [...old, ...fresh].map((e) => e.id));
  assert.ok(all.every((e, i) => i === 0 || e.seq > all[i - 1]!.seq));
  const last = all.slice(-5);
  assert.deepEqual(outbox.take(last[0]!.seq, 10).map((e) => e.id), last.slice(1).map((e) => e.id));
  assert.deepEqual(outbox.take(all.at(-1)!.seq, 10), []);
  await outbox.record(fresh[0]!);
  assert.equal(outbox.take(all.at(-1)!.seq, 10).length, 1);
});
