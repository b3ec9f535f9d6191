// Fuzzing over a real loopback socket (in the style of undici's test/fuzzing):
// fast-check byte sequences, biased to TELNET specials, written to a Sensor
// with a SQLite store in random splits. Nothing may crash or wedge it, and a
// well-formed login after any sequence of well-formed TELNET commands is
// recorded exactly as typed.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { Sensor } from '../../src/sensor/server.ts';
import { personaSchema } from '../../src/sensor/persona.ts';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite.ts';
import type { LoginEvent } from '../../src/events/login-event.ts';
import { split } from '../telnet/collect.ts';
import { escapeIac, login } from '../helpers/client-models.ts';
import { assertAttemptsNumbered } from '../helpers/recorded.ts';
import { IAC, SB, SE, ScriptedClient, latin1, sleep } from '../helpers/telnet-client.ts';

const MAX_LINE = 64;
const limits = { maxLine: MAX_LINE, maxInput: 4096, maxSubnegotiation: 64 };
const RUNS = 100;
const TIME_LIMIT_MS = 30_000; // per property: the run count is cut short rather than the test running long

let dir: string;
let store: SqliteStore;
let sensor: Sensor;
let port: number;
const errors: unknown[] = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tl-fuzz-'));
  store = openSqliteStore({ dataDir: dir });
  sensor = new Sensor({
    sensorId: 'fuzz',
    listen: [{ host: '127.0.0.1', port: 0 }],
    persona: personaSchema.parse({ promptDelayMs: 5, failureDelayMs: 0 }),
    sink: store,
    limits,
    onError: (err) => errors.push(err),
  });
  const [bound] = await sensor.listen();
  port = bound!.port;
});
after(async () => {
  await sensor?.close();
  await store?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Writes the pieces one by one, a millisecond apart, so that the sensor reads them apart too. */
async function sendPieces(client: ScriptedClient, pieces: Uint8Array[]) {
  for (const piece of pieces) {
    if (piece.length === 0) continue;
    await client.send(piece);
    await sleep(1);
  }
}

async function eventsSince(since: number, srcPort: number): Promise<LoginEvent[]> {
  const found: LoginEvent[] = [];
  for await (const e of store.events({ since })) if (e.src_port === srcPort) found.push(e);
  return found;
}

const SPECIALS = [255, 254, 253, 252, 251, 250, 240, 241, 246, 247, 248, 13, 10, 0, 8, 127, 21, 1, 3, 24, 31, 34, 37, 39];
const anyByte = fc.integer({ min: 0, max: 255 });
const option = fc.oneof(fc.constantFrom(1, 3, 24, 31, 34, 37, 39), anyByte);
const negotiation = fc.tuple(fc.integer({ min: 251, max: 254 }), option).map(([verb, opt]) => [IAC, verb, opt]);
const subnegotiation = fc
  .tuple(fc.integer({ min: 0, max: 254 }), fc.uint8Array({ maxLength: 80 }))
  .map(([opt, data]) => [IAC, SB, opt, ...escapeIac(data), IAC, SE]);
const otherCommand = fc.constantFrom(241, 242, 243, 244, 245, 246, 249).map((code) => [IAC, code]); // NOP DM BRK IP AO AYT GA

/** Anything, weighted towards what TELNET parsers trip on: IAC, SB without SE, CR, NUL, editing keys. */
const noise = fc
  .array(
    fc.oneof(
      { arbitrary: fc.constantFrom(...SPECIALS).map((b) => [b]), weight: 4 },
      { arbitrary: fc.uint8Array({ maxLength: 64 }).map((a) => [...a]), weight: 2 },
      { arbitrary: fc.string({ maxLength: 24 }).map((s) => [...Buffer.from(s, 'utf8')]), weight: 2 },
      { arbitrary: negotiation, weight: 1 },
      { arbitrary: subnegotiation, weight: 1 },
      { arbitrary: fc.uint8Array({ minLength: 1, maxLength: 300 }).map((a) => [IAC, SB, ...a]), weight: 1 }, // no SE
    ),
    { maxLength: 120 },
  )
  .map((parts) => Uint8Array.from(parts.flat()));

const cuts = fc.array(fc.nat(), { maxLength: 12 });

test('arbitrary bytes in arbitrary splits never crash or wedge the sensor', async () => {
  await fc.assert(
    fc.asyncProperty(noise, cuts, async (bytes, at) => {
      const client = await ScriptedClient.connect({ port });
      await sendPieces(client, split(bytes, at)).catch(() => {}); // the sensor may hang up first (input limit)
      client.end();
      await client.closedWithin(5000);
    }),
    { numRuns: RUNS, interruptAfterTimeLimit: TIME_LIMIT_MS },
  );
  await waitFor(() => sensor.counters.open === 0, 'every connection to be released');
  assert.deepEqual(errors, []);
  assert.equal(sensor.counters.recordFailures, 0);
  // Whatever was recorded is numbered 1..n per session.
  const all = [];
  for await (const e of store.events()) all.push(e);
  assertAttemptsNumbered(all);
  await assertServing();
});

/** A line's bytes as typed: no line ends or editing keys, no NUL first (CR NUL is a line end). */
const lineByte = fc.integer({ min: 0, max: 255 }).filter((b) => ![8, 10, 13, 21, 127].includes(b));
const line = (minLength: number) => fc.array(lineByte, { minLength, maxLength: MAX_LINE }).filter((a) => a[0] !== 0).map((a) => Uint8Array.from(a));
const wellFormedPrefix = fc
  .array(fc.oneof(negotiation, subnegotiation, otherCommand), { maxLength: 12 })
  .map((parts) => Uint8Array.from(parts.flat()));

test('a login after any well-formed TELNET commands, in any split, is recorded exactly as typed', async () => {
  await fc.assert(
    fc.asyncProperty(
      wellFormedPrefix,
      line(1),
      line(0),
      fc.constantFrom('\r\n', '\r\0', '\n', '\r'),
      cuts,
      fc.boolean(),
      async (prefix, username, password, eol, at, waitForPrompt) => {
        const since = Date.now();
        const client = await ScriptedClient.connect({ port });
        try {
          if (waitForPrompt) await client.expect('login: ');
          const end = Buffer.from(eol, 'latin1');
          const wire = Buffer.concat([prefix, escapeIac(username), end, escapeIac(password), end]);
          await sendPieces(client, split(wire, at));
          await client.expect('Login incorrect\r\n');
        } finally {
          client.destroy();
        }
        const events = await eventsSince(since, client.localPort);
        assert.deepEqual(
          events.map((e) => [e.attempt, latin1(e.username), latin1(e.password)]),
          [[1, latin1(username), latin1(password)]],
        );
      },
    ),
    { numRuns: RUNS, interruptAfterTimeLimit: TIME_LIMIT_MS },
  );
  await assertServing();
});

// Clients that do not wait for prompts (blind scanners, `(echo u; echo p) | nc`) type ahead: what
// they send before the prompt is held. A credential typed ahead must still be recorded as typed
// (cut to maxLine like a typed line), never with its parts lost or shifted into the wrong field.
for (const [name, user, pass] of [
  ['both fields at maxLine', 'U'.repeat(MAX_LINE), 'P'.repeat(MAX_LINE)],
  ['a username longer than two lines', 'U'.repeat(3 * MAX_LINE), 'secret'],
] as const) {
  test(`a login typed ahead of the prompt is recorded as typed: ${name}`, async () => {
    const since = Date.now();
    const client = await ScriptedClient.connect({ port });
    await client.send(`${user}\r\n${pass}\r\n`); // before the prompt (5 ms later)
    await client.expect('Login incorrect\r\n', 2000).catch(() => {}); // the events below tell what went wrong
    client.destroy();
    const events = await eventsSince(since, client.localPort);
    assert.deepEqual(
      events.map((e) => [latin1(e.username), latin1(e.password)]),
      [[user.slice(0, MAX_LINE), pass.slice(0, MAX_LINE)]],
    );
  });
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 5000) {
  const end = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** A plain login still goes through and is recorded. */
async function assertServing() {
  const since = Date.now();
  const client = await ScriptedClient.connect({ port });
  await login(client, [Buffer.from('still'), Buffer.from('serving')]);
  client.destroy();
  const events = await eventsSince(since, client.localPort);
  assert.deepEqual(events.map((e) => [latin1(e.username), latin1(e.password)]), [['still', 'serving']]);
}
