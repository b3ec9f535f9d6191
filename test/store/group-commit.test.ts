import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type CommitBatch, GroupCommit } from '../../src/store/group-commit.ts';

/** A commit function that records its batches. */
function recorder<T>(commit: CommitBatch<T> = () => {}) {
  const batches: T[][] = [];
  return {
    batches,
    commit: (items: T[]) => {
      batches.push([...items]);
      return commit(items);
    },
  };
}

test('items added in the same turn are committed together, after the turn', async () => {
  const r = recorder<number>();
  const group = new GroupCommit(r.commit);
  const done = [1, 2, 3].map((n) => group.add(n));
  assert.deepEqual(r.batches, [], 'nothing is committed before the turn ends');
  await Promise.all(done);
  assert.deepEqual(r.batches, [[1, 2, 3]]);
  await group.add(4);
  assert.deepEqual(r.batches, [[1, 2, 3], [4]]);
  assert.equal(group.batches, 2);
});

test('add() resolves only after its batch was committed', async () => {
  const events: string[] = [];
  const group = new GroupCommit<number>(() => void events.push('commit'));
  await group.add(1).then(() => events.push('resolved'));
  assert.deepEqual(events, ['commit', 'resolved']);
});

test('a batch that reaches maxBatch is committed at once', async () => {
  const r = recorder<number>();
  const group = new GroupCommit(r.commit, { maxBatch: 3 });
  const done = [1, 2, 3, 4, 5, 6, 7].map((n) => group.add(n));
  assert.deepEqual(r.batches, [[1, 2, 3], [4, 5, 6]], 'full batches go synchronously');
  await Promise.all(done);
  assert.deepEqual(r.batches, [[1, 2, 3], [4, 5, 6], [7]]);
});

test('a failing commit rejects every item of its batch and only those', async () => {
  let fail = true;
  const r = recorder<number>(() => {
    if (fail) throw new Error('disk full');
  });
  const group = new GroupCommit(r.commit);
  const first = [1, 2].map((n) => group.add(n));
  const results = await Promise.allSettled(first);
  assert.deepEqual(results.map((x) => x.status), ['rejected', 'rejected']);
  assert.equal((results[0] as PromiseRejectedResult).reason.message, 'disk full');
  fail = false;
  await Promise.all([3, 4].map((n) => group.add(n)));
  assert.deepEqual(r.batches, [[1, 2], [3, 4]]);
});

test('per-item errors reject only their items', async () => {
  const group = new GroupCommit<number>((items) => items.map((n) => (n % 2 ? new Error(`odd ${n}`) : undefined)));
  const results = await Promise.allSettled([1, 2, 3, 4].map((n) => group.add(n)));
  assert.deepEqual(results.map((x) => x.status), ['rejected', 'fulfilled', 'rejected', 'fulfilled']);
  assert.equal((results[2] as PromiseRejectedResult).reason.message, 'odd 3');
});

test('with an asynchronous commit, items added while it runs form the next batch', async () => {
  let release!: () => void;
  const r = recorder<number>(() => new Promise<void>((resolve) => (release = resolve)));
  const group = new GroupCommit(r.commit, { maxBatch: 2 });
  const first = group.add(1);
  await new Promise((resolve) => setImmediate(resolve)); // batch [1] is now running
  const later = [2, 3, 4].map((n) => group.add(n));
  assert.deepEqual(r.batches, [[1]], 'no second commit while one runs, even past maxBatch');
  release();
  await first;
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(r.batches, [[1], [2, 3, 4]]);
  release();
  await Promise.all(later);
});

test('an asynchronous commit that rejects fails its batch, and the next batch still runs', async () => {
  let calls = 0;
  const group = new GroupCommit<number>(async () => {
    if (++calls === 1) throw new Error('connection lost');
  });
  await assert.rejects(group.add(1), /connection lost/);
  await group.add(2);
  assert.equal(calls, 2);
});

test('drain() commits what is pending and waits for a running commit', async () => {
  const r = recorder<number>(() => new Promise<void>((resolve) => setTimeout(resolve, 5)));
  const group = new GroupCommit(r.commit);
  const done = group.add(1);
  await group.drain();
  assert.deepEqual(r.batches, [[1]]);
  await done;
});

test('maxBatch must be a positive integer', () => {
  assert.throws(() => new GroupCommit(() => {}, { maxBatch: 0 }), RangeError);
});

test('minIntervalMs: an idle committer commits in the same turn; a busy one gathers items until the interval is up', async () => {
  const batches: number[][] = [];
  const times: number[] = [];
  const gc = new GroupCommit<number>((items) => {
    batches.push(items);
    times.push(performance.now());
  }, { minIntervalMs: 50 });
  const started = performance.now();
  await gc.add(1);
  assert.ok(performance.now() - started < 40, 'the first commit does not wait');
  const later = [2, 3, 4].map((n) => gc.add(n));
  await new Promise((r) => setTimeout(r, 5));
  const more = gc.add(5);
  await Promise.all([...later, more]);
  assert.deepEqual(batches, [[1], [2, 3, 4, 5]]);
  assert.ok(times[1]! - times[0]! >= 45, 'the second commit waited for the interval');
});

test('hurry(): a batch gathering items for the interval commits at the end of the turn instead', async () => {
  const batches: number[][] = [];
  const gc = new GroupCommit<number>((items) => void batches.push(items), { minIntervalMs: 60_000 });
  gc.hurry(); // nothing gathering: nothing to do
  await gc.add(1); // idle: committed at once
  const gathering = [gc.add(2), gc.add(3)];
  await new Promise(setImmediate);
  assert.deepEqual(batches, [[1]], 'without hurry() the batch waits for the interval');
  gc.hurry();
  await new Promise(setImmediate);
  assert.deepEqual(batches, [[1], [2, 3]], 'committed in the next turn');
  await Promise.all(gathering);
});
