import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { byteByByte, collect, split } from './collect.ts';
import { AYT, CR, DO, IAC, LF, NUL, Option, SB, SE, WILL } from '../../src/telnet/constants.ts';
import { escapeData } from '../../src/telnet/encoder.ts';

const bytes = (...parts: (number[] | string)[]) =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === 'string' ? [...Buffer.from(p, 'latin1')] : p)));

// Bytes biased towards the ones the state machine branches on.
const telnetByte = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 255 }) },
  { weight: 2, arbitrary: fc.constantFrom(IAC, SB, SE, WILL, 252, DO, 254, CR, LF, NUL, AYT, Option.NAWS) },
);
const telnetBytes = fc.array(telnetByte, { maxLength: 400 }).map((a) => Uint8Array.from(a));

test('decodes data, line ends, commands, negotiations and subnegotiations', () => {
  const input = bytes([IAC, DO, Option.ECHO], 'root', [CR, NUL], 'pw', [CR, LF], 'x', [LF], 'y', [CR], 'z',
    [IAC, AYT], [IAC, SB, Option.NAWS, 0, 80, 0, 24, IAC, SE]);
  assert.deepEqual(collect([input]), [
    { t: 'neg', verb: DO, option: Option.ECHO },
    { t: 'data', bytes: [...Buffer.from('root')] },
    { t: 'eol' },
    { t: 'data', bytes: [...Buffer.from('pw')] },
    { t: 'eol' },
    { t: 'data', bytes: [...Buffer.from('x')] },
    { t: 'eol' },
    { t: 'data', bytes: [...Buffer.from('y')] },
    { t: 'eol' },
    { t: 'data', bytes: [...Buffer.from('z')] },
    { t: 'cmd', code: AYT },
    { t: 'sb', option: Option.NAWS, bytes: [0, 80, 0, 24], truncated: false },
  ]);
});

test('CR LF, CR NUL, bare CR and bare LF each end exactly one line', () => {
  for (const end of [[CR, LF], [CR, NUL], [CR], [LF]]) {
    assert.deepEqual(collect(byteByByte(bytes('a', end, 'b', end))).filter((e) => e.t === 'eol').length, 2);
  }
  // CR CR is two (empty) lines; LF after a data byte is a line of its own.
  assert.equal(collect([bytes([CR, CR, LF])]).length, 2);
  // A NUL that does not follow CR is data.
  assert.deepEqual(collect([bytes('a', [NUL], 'b')]), [{ t: 'data', bytes: [97, 0, 98] }]);
});

test('IAC IAC is a data byte 255, also inside a subnegotiation', () => {
  assert.deepEqual(collect([bytes([0x41, IAC, IAC, 0x42])]), [{ t: 'data', bytes: [0x41, 255, 0x42] }]);
  assert.deepEqual(collect([bytes([IAC, SB, Option.TTYPE, 0, IAC, IAC, IAC, SE])]), [
    { t: 'sb', option: Option.TTYPE, bytes: [0, 255], truncated: false },
  ]);
});

test('an unexpected byte after IAC is a command and the stream goes on', () => {
  assert.deepEqual(collect([bytes([IAC, 0x41], 'ok')]), [
    { t: 'cmd', code: 0x41 },
    { t: 'data', bytes: [...Buffer.from('ok')] },
  ]);
});

test('a subnegotiation broken by another command is delivered, then the command', () => {
  assert.deepEqual(collect([bytes([IAC, SB, Option.NAWS, 1, 2, IAC, WILL, Option.ECHO], 'a')]), [
    { t: 'sb', option: Option.NAWS, bytes: [1, 2], truncated: false },
    { t: 'neg', verb: WILL, option: Option.ECHO },
    { t: 'data', bytes: [97] },
  ]);
});

test('an endless subnegotiation is capped: nothing is delivered until IAC SE, then a truncated prefix', () => {
  const chunk = new Uint8Array(64 * 1024).fill(0x58);
  assert.deepEqual(collect([bytes([IAC, SB, Option.NEW_ENVIRON]), ...Array(64).fill(chunk)], 128), []);
  const closed = collect([bytes([IAC, SB, Option.NEW_ENVIRON]), chunk, bytes([IAC, SE])], 128);
  assert.equal(closed.length, 1);
  assert.deepEqual(closed[0], { t: 'sb', option: Option.NEW_ENVIRON, bytes: Array(128).fill(0x58), truncated: true });
});

test('property: arbitrary bytes never throw and subnegotiations stay within the cap', () => {
  fc.assert(
    fc.property(telnetBytes, fc.integer({ min: 0, max: 64 }), (input, cap) => {
      for (const ev of collect([input], cap)) if (ev.t === 'sb') assert.ok(ev.bytes.length <= cap);
    }),
    { numRuns: 2000 },
  );
});

test('property: events are the same however the input is split, byte by byte included', () => {
  fc.assert(
    fc.property(telnetBytes, fc.array(fc.nat(), { maxLength: 20 }), (input, cuts) => {
      const whole = collect([input]);
      assert.deepEqual(collect(split(input, cuts)), whole);
      assert.deepEqual(collect(byteByByte(input)), whole);
    }),
    { numRuns: 2000 },
  );
});

test('property: data containing 0xFF round-trips through escapeData and the parser', () => {
  const lineBytes = fc.array(fc.integer({ min: 0, max: 255 }).filter((b) => b !== CR && b !== LF), { maxLength: 200 });
  fc.assert(
    fc.property(fc.array(lineBytes, { maxLength: 5 }), fc.array(fc.nat(), { maxLength: 10 }), (lines, cuts) => {
      const wire = Buffer.concat(lines.map((l) => Buffer.concat([escapeData(Uint8Array.from(l)), Buffer.from([CR, LF])])));
      const got: number[][] = [[]];
      for (const ev of collect(split(wire, cuts))) {
        if (ev.t === 'data') got.at(-1)!.push(...ev.bytes);
        else if (ev.t === 'eol') got.push([]);
        else assert.fail(`unexpected ${ev.t}`);
      }
      assert.deepEqual(got.slice(0, -1), lines);
    }),
    { numRuns: 1000 },
  );
});
