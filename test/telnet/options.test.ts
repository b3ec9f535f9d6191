import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { OptionTable, type Side } from '../../src/telnet/options.ts';
import { DO, DONT, Option, WILL, WONT, negotiationName } from '../../src/telnet/constants.ts';

function table(us: number[] = [Option.ECHO, Option.SGA], him: number[] = [Option.NAWS, Option.TTYPE]) {
  const sent: string[] = [];
  const changes: string[] = [];
  const t = new OptionTable(
    { us: new Set(us), him: new Set(him) },
    {
      send: (verb, option) => sent.push(negotiationName(verb, option)),
      changed: (side: Side, option, on) => changes.push(`${side} ${option} ${on}`),
    },
  );
  return { t, sent, changes };
}

test('accepts offers in the policy and refuses the rest', () => {
  const { t, sent } = table();
  t.receive(WILL, Option.NAWS);
  t.receive(WILL, Option.LINEMODE);
  t.receive(DO, Option.ECHO);
  t.receive(DO, Option.LOGOUT);
  assert.deepEqual(sent, ['DO NAWS', 'DONT LINEMODE', 'WILL ECHO', 'WONT LOGOUT']);
  assert.ok(t.enabled('him', Option.NAWS) && t.enabled('us', Option.ECHO));
  assert.ok(!t.enabled('him', Option.LINEMODE));
});

test('an answer to our own request is not answered again (no loops)', () => {
  const { t, sent } = table();
  t.request('us', Option.ECHO, true);
  t.request('him', Option.NAWS, true);
  assert.deepEqual(sent, ['WILL ECHO', 'DO NAWS']);
  t.receive(DO, Option.ECHO);
  t.receive(WILL, Option.NAWS);
  t.receive(WILL, Option.NAWS); // repeated: already YES
  assert.deepEqual(sent, ['WILL ECHO', 'DO NAWS']);
  assert.ok(t.enabled('us', Option.ECHO) && t.enabled('him', Option.NAWS));
});

test('a refusal of our request is final and unanswered', () => {
  const { t, sent } = table();
  t.request('us', Option.ECHO, true);
  t.receive(DONT, Option.ECHO);
  t.receive(DONT, Option.ECHO);
  assert.deepEqual(sent, ['WILL ECHO']);
  assert.ok(!t.enabled('us', Option.ECHO));
});

test('a client switching an enabled option off is acknowledged once', () => {
  const { t, sent } = table();
  t.receive(WILL, Option.NAWS);
  t.receive(WONT, Option.NAWS);
  t.receive(WONT, Option.NAWS);
  assert.deepEqual(sent, ['DO NAWS', 'DONT NAWS']);
});

test('a reversal asked for during a negotiation is queued, then sent once the answer comes (RFC 1143)', () => {
  // Off while asking for on: the client's WILL is taken, then switched off.
  const a = table();
  a.t.request('him', Option.NAWS, true);
  a.t.request('him', Option.NAWS, false);
  a.t.receive(WILL, Option.NAWS);
  a.t.receive(WONT, Option.NAWS);
  assert.deepEqual(a.sent, ['DO NAWS', 'DONT NAWS']);
  assert.deepEqual(a.changes, ['him 31 true', 'him 31 false']);
  assert.ok(!a.t.enabled('him', Option.NAWS));
  // On while asking for off: the client's WONT is taken, then asked back on.
  const b = table();
  b.t.receive(WILL, Option.NAWS);
  b.t.request('him', Option.NAWS, false);
  b.t.request('him', Option.NAWS, true);
  b.t.receive(WONT, Option.NAWS);
  b.t.receive(WILL, Option.NAWS);
  assert.deepEqual(b.sent, ['DO NAWS', 'DONT NAWS', 'DO NAWS']);
  assert.deepEqual(b.changes, ['him 31 true', 'him 31 false', 'him 31 true']);
  assert.ok(b.t.enabled('him', Option.NAWS));
});

test('property: any negotiation sequence sends at most one reply per received command', () => {
  const verb = fc.constantFrom(WILL, WONT, DO, DONT);
  const option = fc.constantFrom(Option.ECHO, Option.SGA, Option.NAWS, Option.LINEMODE, 200);
  fc.assert(
    fc.property(fc.array(fc.tuple(verb, option), { maxLength: 100 }), (received) => {
      const { t, sent } = table();
      t.request('us', Option.ECHO, true);
      t.request('him', Option.NAWS, true);
      let before = sent.length;
      for (const [v, o] of received) {
        t.receive(v, o);
        assert.ok(sent.length - before <= 1);
        before = sent.length;
      }
    }),
  );
});
