import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { Sensor, normalizeAddress, type ListenAddress } from '../../src/sensor/server.ts';
import { personaSchema } from '../../src/sensor/persona.ts';
import type { LoginEvent } from '../../src/events/login-event.ts';

const persona = personaSchema.parse({ promptDelayMs: 0, failureDelayMs: 0 });

async function startSensor(limits = {}) {
  const events: LoginEvent[] = [];
  const sensor = new Sensor({
    sensorId: 'test',
    listen: [{ host: '::', port: 0 }],
    persona,
    sink: { record: async (e) => void events.push(e) },
    limits,
  });
  const [address] = await sensor.listen();
  after(() => sensor.close());
  return { sensor, events, port: address!.port };
}

/** Connects, collects what the server sends until it closes or `until` matches. */
function talk(port: number, host: string, script: (sock: net.Socket, seen: () => string) => void, opts: { localAddress?: string } = {}) {
  return new Promise<{ text: string; closed: boolean; reset: boolean }>((resolve) => {
    const sock = net.connect({ port, host, localAddress: opts.localAddress });
    let text = '';
    let reset = false;
    sock.on('data', (d) => (text += d.toString('latin1')));
    sock.on('error', (err: NodeJS.ErrnoException) => void (reset = err.code === 'ECONNRESET'));
    sock.on('close', () => resolve({ text, closed: true, reset }));
    script(sock, () => text);
  });
}

const waitFor = async (cond: () => boolean, ms = 2000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 5));
  }
};

test('normalizeAddress folds IPv4-mapped IPv6 addresses', () => {
  assert.equal(normalizeAddress('::ffff:127.0.0.1'), '127.0.0.1');
  assert.equal(normalizeAddress('::1'), '::1');
  assert.equal(normalizeAddress('2001:db8::ffff:1'), '2001:db8::ffff:1');
});

test('one listener on [::] serves IPv4 and IPv6 and records addresses and ports', async () => {
  const { events, port } = await startSensor();
  for (const host of ['127.0.0.1', '::1']) {
    await talk(port, host, (sock, seen) => {
      const iv = setInterval(() => {
        if (seen().includes('login: ')) {
          clearInterval(iv);
          sock.write('root\r\npass\r\n');
          sock.end();
        }
      }, 2);
    });
  }
  await waitFor(() => events.length === 2);
  assert.deepEqual(events.map((e) => [e.src_ip, e.dst_ip, e.dst_port, e.sensor]), [
    ['127.0.0.1', '127.0.0.1', port, 'test'],
    ['::1', '::1', port, 'test'],
  ]);
  assert.ok(events.every((e) => e.src_port > 0 && e.session.length === 36));
});

test('when every open connection waits for its credential to be recorded, the sink is told to commit without waiting', async () => {
  const pending: Array<() => void> = [];
  let hints = 0;
  const sensor = new Sensor({
    sensorId: 'test',
    listen: [{ host: '127.0.0.1', port: 0 }],
    persona,
    sink: { record: () => new Promise<void>((resolve) => pending.push(resolve)), commitSoon: () => void hints++ },
  });
  const [{ port }] = (await sensor.listen()) as [ListenAddress];
  after(() => sensor.close());
  const login = (sock: net.Socket, seen: () => string, user: string) => {
    const iv = setInterval(() => {
      if (!seen().includes('login: ')) return;
      clearInterval(iv);
      sock.write(`${user}\r\npass\r\n`);
    }, 2);
  };
  const a = net.connect({ port, host: '127.0.0.1' });
  const b = net.connect({ port, host: '127.0.0.1' });
  let [seenA, seenB] = ['', ''];
  a.on('data', (d) => (seenA += d.toString('latin1')));
  b.on('data', (d) => (seenB += d.toString('latin1')));
  await waitFor(() => seenB.includes('login: '));
  login(a, () => seenA, 'first');
  await waitFor(() => pending.length === 1);
  assert.equal(hints, 0, 'another connection could still join the batch');
  login(b, () => seenB, 'second');
  await waitFor(() => pending.length === 2);
  assert.equal(hints, 1, 'both wait: nobody else can join the batch');
  for (const resolve of pending) resolve();
  await waitFor(() => seenA.includes('Login incorrect') && seenB.includes('Login incorrect'));
  assert.equal(sensor.counters.attempts, 2);
  a.destroy();
  b.destroy();
});

test('connections over the per-source limit are shed; other sources are still served', async () => {
  const { sensor, port } = await startSensor({ maxConnectionsPerSource: 2 });
  const held = await Promise.all([1, 2].map(() => new Promise<net.Socket>((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' }, () => resolve(s));
  })));
  await waitFor(() => sensor.counters.open === 2);
  const third = await talk(port, '127.0.0.1', () => {});
  assert.equal(third.text, '');
  assert.ok(third.reset, 'shed with a reset, leaving no TIME_WAIT on the sensor');
  assert.equal(sensor.counters.shed, 1);
  const other = await talk(port, '127.0.0.2', (sock, seen) => {
    const iv = setInterval(() => seen().includes('login:') && (clearInterval(iv), sock.end()), 2);
  }, { localAddress: '127.0.0.2' });
  assert.match(other.text, /login: $/);
  held.forEach((s) => s.destroy());
});

test('over the overall limit new connections are shed and the server keeps accepting', async () => {
  const { sensor, port } = await startSensor({ maxConnections: 1 });
  const first = await new Promise<net.Socket>((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' }, () => resolve(s));
  });
  await waitFor(() => sensor.counters.open === 1);
  assert.equal((await talk(port, '127.0.0.1', () => {})).text, '');
  first.destroy();
  await waitFor(() => sensor.counters.open === 0);
  const again = await talk(port, '127.0.0.1', (sock, seen) => {
    const iv = setInterval(() => seen().includes('login:') && (clearInterval(iv), sock.end()), 2);
  });
  assert.match(again.text, /login: $/);
});

test('a connection is cut at the lifetime limit whatever it does', async () => {
  const { port } = await startSensor({ maxLifetimeMs: 200 });
  const started = Date.now();
  const r = await talk(port, '127.0.0.1', (sock) => {
    const iv = setInterval(() => sock.write('x'), 20);
    sock.on('close', () => clearInterval(iv));
  });
  assert.ok(r.closed && Date.now() - started < 2000);
});
