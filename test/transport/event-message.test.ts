import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sortMessages } from '../../src/transport/collector.ts';
import { eventToJson } from '../../src/events/json.ts';
import { encodeEvent, parseEventMessage } from '../../src/transport/event-message.ts';
import { decodeHeartbeat, encodeHeartbeat } from '../../src/transport/heartbeat.ts';
import { natsNames } from '../../src/transport/subjects.ts';

const { parseSubject } = natsNames();
import { hostileEvents, makeEvent } from '../store/fixtures.ts';

const json = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));

test('events travel in their JSON form, hostile credentials included; a sender\'s extra client fields are dropped', () => {
  for (const e of hostileEvents()) assert.deepEqual(parseEventMessage(encodeEvent(e)), eventToJson(e));
  const e = eventToJson(makeEvent());
  const padded = { ...e, client: { ...e.client, junk: 'x'.repeat(1000) } };
  assert.deepEqual(parseEventMessage(json(padded)).client, e.client);
});

test('a message that is not a LoginEvent is refused, saying why (column checks: rowProblem)', () => {
  const good = eventToJson(makeEvent({ sensor: 's1' }));
  const cases: Array<[unknown, RegExp]> = [
    ['{', /not JSON/],
    [[1], /not a JSON object/],
    [{ ...good, time: 'yesterday' }, /time/],
    [{ ...good, time: '2026-02-30T00:00:00.000Z' }, /time/],
    [{ ...good, src_port: '23' }, /port/],
    [{ ...good, username: 5 }, /username/],
    [{ ...good, password_b64: [] }, /password_b64/],
    [{ ...good, sensor: 's1\tx' }, /sensor/],
    [{ ...good, id: 'x\ty' }, /id/],
    [{ ...good, client: { options: [1], ttypes: [], env: {} } }, /client/],
    [{ ...good, client: { options: [], ttypes: [], env: { a: 1 } } }, /client\.env/],
  ];
  for (const [message, why] of cases) {
    const data = typeof message === 'string' ? new TextEncoder().encode(message) : json(message);
    const batch = sortMessages([{ subject: 'telnetlogin.events.s1', data, time: new Date(0) }]);
    assert.equal(batch.events.length, 0, JSON.stringify(message));
    assert.match(batch.rejected![0]!.error, why);
  }
});

test('subjects: events and heartbeats by sensor; nothing else', () => {
  assert.deepEqual(parseSubject('telnetlogin.events.s-1'), { kind: 'event', sensor: 's-1' });
  assert.deepEqual(parseSubject('telnetlogin.heartbeats.s_2'), { kind: 'heartbeat', sensor: 's_2' });
  for (const s of ['telnetlogin.events', 'telnetlogin.events.a.b', 'telnetlogin.other.s1', 'x.events.s1']) assert.equal(parseSubject(s), undefined);
  // Another root (deployments sharing a broker): its own stream and subjects only.
  const other = natsNames('tl-test_1');
  assert.deepEqual([other.stream, other.eventSubject('s1'), other.streamSubjects], ['TL-TEST_1', 'tl-test_1.events.s1', ['tl-test_1.events.>', 'tl-test_1.heartbeats.>']]);
  assert.deepEqual(other.parseSubject('tl-test_1.heartbeats.s1'), { kind: 'heartbeat', sensor: 's1' });
  assert.equal(other.parseSubject('telnetlogin.events.s1'), undefined);
  for (const bad of ['', 'Upper', 'a.b', 'a*', 'x'.repeat(33)]) assert.throws(() => natsNames(bad), RangeError);
});

test('sortMessages: events, heartbeats, and a reject for each bad or impersonating message', () => {
  const e = makeEvent({ sensor: 's1' });
  const hb = { sensor: 's1', time: new Date().toISOString(), addresses: ['192.0.2.7'], version: '1', counters: { attempts: 3 } };
  const batch = sortMessages([
    { subject: 'telnetlogin.events.s1', data: encodeEvent(e), time: new Date(1) },
    { subject: 'telnetlogin.heartbeats.s1', data: encodeHeartbeat(hb), time: new Date(1234) },
    { subject: 'telnetlogin.events.s2', data: encodeEvent(e), time: new Date(1) }, // s2 speaking for s1
    { subject: 'telnetlogin.heartbeats.s2', data: encodeHeartbeat(hb), time: new Date(1) },
    { subject: 'telnetlogin.events.s1', data: encodeEvent(makeEvent({ sensor: 's1', src_ip: 'not-an-ip' })), time: new Date(1) },
    { subject: 'telnetlogin.events.s1', data: new Uint8Array([0xff, 0]), time: new Date(1) },
  ]);
  assert.deepEqual(batch.events, [eventToJson(e)]);
  assert.deepEqual(batch.heartbeats, [{ sensor: 's1', time: 1234, addresses: ['192.0.2.7'], version: '1', counters: { attempts: 3 } }]);
  assert.equal(batch.rejected!.length, 4);
  assert.match(batch.rejected![0]!.error, /sensor "s1" on the subject of s2/);
  assert.match(batch.rejected![1]!.error, /heartbeat/);
  assert.match(batch.rejected![2]!.error, /src_ip/);
  assert.deepEqual(batch.rejected![3]!.payload, new Uint8Array([0xff, 0]));
});

test('decodeHeartbeat refuses oversized or malformed reports', () => {
  const hb = { sensor: 's1', time: '', addresses: ['192.0.2.7'], version: '1', counters: {} };
  assert.throws(() => decodeHeartbeat(json({ ...hb, addresses: ['x'] }), 's1', 0), /addresses/);
  assert.throws(() => decodeHeartbeat(json({ ...hb, addresses: Array(65).fill('192.0.2.1') }), 's1', 0), /addresses/);
  assert.throws(() => decodeHeartbeat(json({ ...hb, counters: { a: 'x' } }), 's1', 0), /counters/);
  assert.throws(() => decodeHeartbeat(json({ ...hb, version: 'v'.repeat(65) }), 's1', 0), /version/);
});
