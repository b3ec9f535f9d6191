import { afterEach, beforeEach, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { harness, settle } from './harness.ts';

// Fake time for the persona's delays; setImmediate stays real for promises.
beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'] }));
afterEach(() => mock.timers.reset());

const text = (b: Buffer) => b.toString('latin1');
const BUSYBOX_OPENING = Buffer.from([0xff, 0xfd, 0x01, 0xff, 0xfd, 0x1f, 0xff, 0xfb, 0x01, 0xff, 0xfb, 0x03]);

test('opens with BusyBox telnetd options alone, then the prompt in a later write', () => {
  const h = harness();
  h.session.start();
  assert.deepEqual(h.take(), BUSYBOX_OPENING);
  mock.timers.tick(29);
  assert.equal(h.take().length, 0);
  mock.timers.tick(1);
  assert.equal(text(h.take()), '\r\n(none) login: ');
  assert.equal(h.writes.length, 2);
});

test('a banner goes between the options and the prompt', () => {
  const h = harness({ banner: 'Welcome\nto the box', hostname: 'cam' });
  h.session.start();
  mock.timers.tick(30);
  assert.equal(text(h.output().subarray(12)), '\r\nWelcome\r\nto the box\r\ncam login: ');
});

test('echoes the username, not the password, and answers after the failure delay in one write', async () => {
  const h = harness({ failureDelayMs: 3000 });
  h.session.start();
  mock.timers.tick(30);
  h.take();
  h.send('root\r\n');
  assert.equal(text(h.take()), 'root\r\nPassword: ');
  h.send('xc3511\r\n');
  assert.equal(text(h.take()), ''); // not echoed; its line break comes with the verdict
  await settle();
  mock.timers.tick(2999);
  await settle();
  assert.equal(h.take().length, 0);
  mock.timers.tick(1);
  await settle();
  // The verdict and the next prompt in one write (Ncrack stalls otherwise).
  assert.equal(text(h.writes.at(-1)!), '\r\nLogin incorrect\r\n(none) login: ');
  assert.equal(h.credentials.length, 1);
  assert.equal(Buffer.from(h.credentials[0]!.username).toString(), 'root');
  assert.equal(Buffer.from(h.credentials[0]!.password).toString(), 'xc3511');
  assert.equal(h.credentials[0]!.attempt, 1);
});

test('the reply waits for the store: no verdict before submit resolves', async () => {
  const h = harness({}, { hold: true });
  h.session.start();
  mock.timers.tick(30);
  h.send('admin\r\nadmin\r\n');
  h.take();
  await settle();
  mock.timers.tick(10_000);
  await settle();
  assert.equal(h.take().length, 0);
  h.pending[0]!.resolve();
  await settle();
  assert.match(text(h.take()), /^\r\nLogin incorrect\r\n/);
});

test('a credential the store fails to record gets no reply: the connection closes', async () => {
  const h = harness({}, { hold: true });
  h.session.start();
  mock.timers.tick(30);
  h.send('admin\r\n1234\r\n');
  h.take();
  h.pending[0]!.reject(new Error('disk full'));
  await settle();
  assert.equal(h.closed, true);
  assert.doesNotMatch(text(h.take()), /incorrect/);
});

test('hangs up after maxAttempts failures', async () => {
  const h = harness({ maxAttempts: 2 });
  h.session.start();
  mock.timers.tick(30);
  h.send('a\r\nb\r\n');
  await settle();
  h.send('c\r\nd\r\n');
  await settle();
  assert.equal(h.closed, true);
  assert.match(text(h.output()), /Login incorrect\r\n$/);
  assert.deepEqual(h.credentials.map((c) => c.attempt), [1, 2]);
});

test('backspace, DEL and ^U edit the line; the echo erases too', async () => {
  const h = harness();
  h.session.start();
  mock.timers.tick(30);
  h.take();
  h.send('roox\x7f\x08t\r\n');
  assert.equal(text(h.take()), 'roox\b \b\b \bt\r\nPassword: ');
  h.send('junk\x15pa\x08ss\r\n');
  await settle();
  assert.equal(Buffer.from(h.credentials[0]!.username).toString(), 'rot');
  assert.equal(Buffer.from(h.credentials[0]!.password).toString(), 'pss');
});

test('credentials keep every byte: non-UTF-8, 0xFF (sent as IAC IAC) and control bytes', async () => {
  const h = harness();
  h.session.start();
  mock.timers.tick(30);
  h.take();
  h.send([0xc3, 0x28, 0xff, 0xff, 0x01, 0x41, 13, 0]);
  assert.deepEqual([...h.take()], [0xc3, 0x28, 0xff, 0xff, 0x41, 13, 10, ...Buffer.from('Password: ')]);
  h.send([0x00, 0xff, 0xff, 0xfe, 13, 10]);
  await settle();
  assert.deepEqual([...h.credentials[0]!.username], [0xc3, 0x28, 0xff, 0x01, 0x41]);
  assert.deepEqual([...h.credentials[0]!.password], [0x00, 0xff, 0xfe]);
});

test('echoes the username even when the client refuses WILL ECHO, as a BusyBox tty does (Ncrack waits for it)', () => {
  const h = harness();
  h.session.start();
  h.send([0xff, 0xfe, 0x01]); // DONT ECHO
  mock.timers.tick(30);
  h.take();
  h.send('root\r\n');
  assert.equal(text(h.take()), 'root\r\nPassword: ');
});

test('typeahead is bounded by lines, and a cut line never shifts a password into the username', async () => {
  const h = harness({}, { limits: { maxLine: 8 } });
  h.session.start();
  h.send('u'.repeat(600) + '\r\n' + 'pw\r\nuser2\r\npw2\r\nextra\r\nmore\r\n');
  mock.timers.tick(30);
  await settle();
  assert.deepEqual(
    h.credentials.map((c) => [Buffer.from(c.username).toString(), Buffer.from(c.password).toString()]),
    [['u'.repeat(8), 'pw'], ['user2', 'pw2']],
  );
});

test('records option answers in order, window size, terminal type and environment', async () => {
  const h = harness();
  h.session.start();
  h.take();
  // WONT ECHO, WILL NAWS, SB NAWS 80x24, DO ECHO, DO SGA, WILL TTYPE, WILL NEW-ENVIRON
  h.send([0xff, 0xfc, 1, 0xff, 0xfb, 31, 0xff, 0xfa, 31, 0, 80, 0, 24, 0xff, 0xf0, 0xff, 0xfd, 1, 0xff, 0xfd, 3,
    0xff, 0xfb, 24, 0xff, 0xfb, 39]);
  // We accept the offers and ask for their contents (SB TTYPE SEND, SB NEW-ENVIRON SEND).
  assert.deepEqual([...h.take()], [0xff, 0xfd, 24, 0xff, 0xfa, 24, 1, 0xff, 0xf0, 0xff, 0xfd, 39, 0xff, 0xfa, 39, 1, 0xff, 0xf0]);
  h.send([0xff, 0xfa, 24, 0, ...Buffer.from('XTERM'), 0xff, 0xf0]);
  h.send([0xff, 0xfa, 39, 0, 0, ...Buffer.from('USER'), 1, ...Buffer.from('bob'), 3, ...Buffer.from('X'), 1, 2, 1, 0xff, 0xf0]);
  mock.timers.tick(30);
  h.send('u\r\np\r\n');
  await settle();
  assert.deepEqual(h.credentials[0]!.client, {
    options: ['WONT ECHO', 'WILL NAWS', 'DO ECHO', 'DO SGA', 'WILL TTYPE', 'WILL NEW-ENVIRON'],
    ttypes: ['XTERM'],
    naws: { width: 80, height: 24 },
    env: { USER: 'bob', X: '\x01' },
  });
});

test("each credential carries what the client had revealed by then; later revelations do not change it", async () => {
  const h = harness();
  h.session.start();
  mock.timers.tick(30);
  h.send('u1\r\np1\r\n');
  await settle();
  h.send('u2\r\np2\r\n');
  await settle();
  h.send([0xff, 0xfb, 24, 0xff, 0xfa, 24, 0, ...Buffer.from('VT100'), 0xff, 0xf0]); // WILL TTYPE, SB TTYPE IS VT100
  h.send('u3\r\np3\r\n');
  await settle();
  assert.deepEqual(h.credentials.map((c) => [...c.client.ttypes]), [[], [], ['VT100']]);
  assert.deepEqual(h.credentials.map((c) => c.client.options), [[], [], ['WILL TTYPE']]);
});

test('input typed before the prompt is kept and read once the prompt is up', async () => {
  const h = harness();
  h.session.start();
  h.send('root\r\nvizxv\r\n');
  assert.equal(h.credentials.length, 0);
  mock.timers.tick(30);
  await settle();
  assert.equal(h.credentials.length, 1);
  assert.equal(Buffer.from(h.credentials[0]!.password).toString(), 'vizxv');
});

test('idle clients get the timeout text and are hung up on; input keeps them alive', () => {
  const h = harness({ idleTimeoutMs: 60_000 });
  h.session.start();
  mock.timers.tick(50_000);
  h.send('r');
  mock.timers.tick(50_000);
  assert.equal(h.closed, false);
  mock.timers.tick(10_000);
  assert.equal(h.closed, true);
  assert.match(text(h.output()), /\r\nLogin timed out after 60 seconds\r\n$/);
});

test('empty usernames re-prompt, and too many hang up', () => {
  const h = harness({ maxEmptyUsernames: 3 });
  h.session.start();
  mock.timers.tick(30);
  h.take();
  h.send('\r\n\r\n');
  assert.equal(text(h.take()), '\r\n(none) login: \r\n(none) login: ');
  h.send('\r\n');
  assert.equal(h.closed, true);
});

test('long lines are cut at maxLine and a flood is hung up on at maxInput', async () => {
  const h = harness({}, { limits: { maxLine: 8, maxInput: 1000 } });
  h.session.start();
  mock.timers.tick(30);
  h.send('x'.repeat(20) + '\r\n' + 'y'.repeat(20) + '\r\n');
  await settle();
  assert.equal(Buffer.from(h.credentials[0]!.username).toString(), 'x'.repeat(8));
  assert.equal(Buffer.from(h.credentials[0]!.password).toString(), 'y'.repeat(8));
  h.send(Buffer.alloc(2000, 0x41));
  assert.equal(h.closed, true);
});

test('property: any input never throws, output stays bounded, and splitting it changes no credential', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(13, 10, 0, 255, 127, 8, 250, 240, 251, 253)), { maxLength: 300 }),
      fc.array(fc.nat(), { maxLength: 10 }),
      async (input, cuts) => {
        const results = [];
        for (const pieces of [[input], cutInto(input, cuts)]) {
          const h = harness({ maxAttempts: 100, maxEmptyUsernames: 100 }, { limits: { maxLine: 16 } });
          h.session.start();
          mock.timers.tick(30);
          for (const p of pieces) {
            h.send(p);
            await settle();
          }
          assert.ok(h.output().length <= 64 + 8 * input.length + 40 * (h.credentials.length + 1) * 3);
          results.push(h.credentials.map((c) => [Buffer.from(c.username).toString('hex'), Buffer.from(c.password).toString('hex')]));
          h.session.end();
        }
        assert.deepEqual(results[1], results[0]);
      },
    ),
    { numRuns: 300 },
  );
});

function cutInto(input: number[], cuts: number[]): number[][] {
  const points = [...new Set(cuts.map((c) => c % (input.length + 1)))].sort((a, b) => a - b);
  const out: number[][] = [];
  let start = 0;
  for (const p of [...points, input.length]) {
    out.push(input.slice(start, p));
    start = p;
  }
  return out;
}
