// The real `telnetlogin run` over loopback, met by scripted clients that talk
// TELNET the way real ones do (test/helpers/client-models.ts, after
// ../shared/docs/clients.md), by hostile bytes, floods, endless
// subnegotiation, slow-drip and idle clients. Every credential a client
// submits must come back byte-exact from `telnetlogin events`, with its
// address, attempt number and session; no hostile client may crash, stall or
// exhaust the sensor; and it still exits cleanly on SIGTERM.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { startSensor, type RunningSensor } from '../helpers/cli.ts';
import { assertAttemptsNumbered, assertNothingElse, assertRecorded, eventsOf, type Submitted } from '../helpers/recorded.ts';
import { IAC, SB, TTYPE, ScriptedClient, latin1, sleep } from '../helpers/telnet-client.ts';
import {
  MIRAI_FOLLOW_UPS,
  cred,
  hydraLike,
  lineClient,
  miraiAttempt,
  ncrackLike,
  nmapLike,
  submittedBy,
  type Credential,
  type Target,
} from '../helpers/client-models.ts';

// Low limits keep the hostile cases short; everything else uses the defaults.
const MAX_LIFETIME_MS = 4000;
const IDLE_TIMEOUT_MS = 1500;
const MAX_LINE = 256; // the default: longer lines are cut to it
const FLOOD_IP = '127.0.0.3'; // random bytes make random credentials: kept apart from the exact checks

let sensor: RunningSensor;
let v4: Target;
let v6: Target;
/** Every connection of a well-behaved client, for the final check that nothing else was recorded. */
const everyone: Submitted[] = [];

before(async () => {
  sensor = await startSensor({
    telnetListen: ['127.0.0.1:0', '[::1]:0'],
    config: { limits: { maxLifetimeMs: MAX_LIFETIME_MS }, persona: { idleTimeoutMs: IDLE_TIMEOUT_MS } },
  });
  v4 = { port: sensor.telnet[0]!.port, host: '127.0.0.1' };
  v6 = { port: sensor.telnet[1]!.port, host: '::1' };
});
after(() => sensor?.dispose());

/** Reads the events and checks these connections (and that the sensor still runs). */
async function expectRecorded(connections: Submitted[], dstPort = v4.port) {
  everyone.push(...connections);
  assert.ok(sensor.alive(), `the sensor died:\n${sensor.stderr()}`);
  const events = await sensor.events();
  assertRecorded(events, connections, dstPort);
  return events;
}

test('Mirai-like bots: the options come first, every credential and the enable/system/shell/sh lines are recorded', async () => {
  const credentials = [cred('root', 'xc3511'), cred('root', 'vizxv'), cred('admin', 'admin'), cred('support', 'support'), cred('root', '7ujMko0admin')];
  // A bot keeps many connections at once, one credential each.
  const attempts = await Promise.all(credentials.map((c) => miraiAttempt({ ...v4, localAddress: '127.0.0.2' }, c)));
  for (const a of attempts) {
    assert.equal(a.client.raw[0], IAC, 'Mirai proceeds only when the first byte is IAC');
    assert.equal(a.stalled, false, `a Mirai attempt stalled; server sent ${JSON.stringify(a.client.raw.toString('latin1'))}`);
    assert.ok(a.client.ended, 'the sensor hung up after its attempts');
    // scanner.c sends `enable` on any prompt character, and the `:` of the next `login:` is one.
    assert.deepEqual(a.credentials.slice(1), [
      [MIRAI_FOLLOW_UPS[0], MIRAI_FOLLOW_UPS[1]],
      [MIRAI_FOLLOW_UPS[2], MIRAI_FOLLOW_UPS[3]],
    ]);
  }
  const events = await expectRecorded(attempts);
  for (const a of attempts) {
    const [first] = eventsOf(events, a);
    assert.equal(first!.src_ip, '127.0.0.2');
    assert.deepEqual(first!.client.naws, { width: 80, height: 24 });
    assert.deepEqual(first!.client.options.slice(0, 2), ['WONT ECHO', 'WILL NAWS']);
  }
});

test('Hydra-like client: LINEMODE refused, one byte every 10 ms with \\r\\0, several tries a connection', async () => {
  const credentials = ['123456', 'password', 'admin', '1234', 'root'].map((p) => cred('root', p));
  const sessions = await hydraLike(v4, credentials, 10);
  assert.equal(sessions.length, 2, 'three tries on the first connection (the sensor hangs up after 3), two on the next');
  assert.ok(sessions.every((s) => !s.reportedSuccess), 'Hydra would have reported a successful login');
  const events = await expectRecorded(sessions);
  assert.equal(eventsOf(events, sessions[0]!)[0]!.client.options[0], 'WILL LINEMODE');
});

test('Ncrack-like client: waits for the echo of each username byte, then sends the password with a bare CR', async () => {
  const credentials = [cred('admin', '1234'), cred('root', 'root'), cred('ubnt', 'ubnt'), cred('guest', '12345')];
  const sessions = await ncrackLike(v4, credentials);
  assert.ok(sessions.every((s) => !s.reportedSuccess), 'Ncrack would have reported a successful login');
  await expectRecorded(sessions);
});

test('nmap telnet-ntlm-info opener over IPv6, then telnet-brute: no NTLM answer, the logins recorded', async () => {
  const session = await nmapLike(v6, [cred('root', 'root'), cred('admin', 'admin')]);
  assert.ok(!session.client.raw.includes('NTLMSSP'), 'the sensor is not a Windows telnet server');
  assert.ok(!session.client.subnegotiations.some(([option]) => option === 37), 'no AUTHENTICATION reply');
  assert.ok(!session.reportedSuccess);
  const events = await expectRecorded([session], v6.port);
  assert.equal(eventsOf(events, session)[0]!.src_ip, '::1');
});

test('hostile bytes: invalid UTF-8, 0xFF, NUL, control bytes, markup and long lines are recorded byte-exact', async () => {
  const long = 'A'.repeat(3000);
  // [what the client types, what the sensor must record]
  const cases: [typed: Credential, recorded: Credential][] = [
    [cred('\xc3\x28', '\x80\xfe\xff'), cred('\xc3\x28', '\x80\xfe\xff')], // invalid UTF-8; 0xFF sent as IAC IAC
    [cred('\xff\xff\xffroot', 'pa\xffss'), cred('\xff\xff\xffroot', 'pa\xffss')],
    [cred('\xc0\xaf', '\xed\xa0\x80'), cred('\xc0\xaf', '\xed\xa0\x80')], // overlong '/', a UTF-16 surrogate
    [cred('ro\0ot', '\0\0pw'), cred('ro\0ot', '\0\0pw')], // NUL inside a line is data (only CR NUL is a line end)
    [cred('\x01\x02\x1b[31mred\x07', '\x1b]0;title\x07\x1bc'), cred('\x01\x02\x1b[31mred\x07', '\x1b]0;title\x07\x1bc')],
    [cred('<script>alert(1)</script>', '=cmd|\' /C calc\'!A0'), cred('<script>alert(1)</script>', '=cmd|\' /C calc\'!A0')],
    [cred("'; DROP TABLE events; --", '$(reboot)`id`%s%n'), cred("'; DROP TABLE events; --", '$(reboot)`id`%s%n')],
    [cred(Buffer.from('用户🔥', 'utf8'), Buffer.from('pässwörd', 'utf8')), cred(Buffer.from('用户🔥', 'utf8'), Buffer.from('pässwörd', 'utf8'))],
    [cred(long, 'B' + long), cred(long.slice(0, MAX_LINE), ('B' + long).slice(0, MAX_LINE))], // lines are cut at maxLine
    [cred('admin\x7f\x7fin', 'x\x15secret\x08T'), cred('admin', 'secreT')], // DEL, ^U and BS edit the line, as a tty would
  ];
  // Three tries a connection (the sensor's default), every line ending clients use.
  const eols = ['\r\n', '\r\0', '\n', '\r'];
  const sessions = [];
  for (let i = 0; i < cases.length; i += 3) {
    const batch = cases.slice(i, i + 3);
    const session = await lineClient(v4, batch.map(([typed]) => typed), eols[(i / 3) % eols.length]);
    sessions.push({ ...session, credentials: batch.map(([, recorded]) => recorded) });
    // The echo carries 0xFF doubled: decoded, it is the username's printable bytes.
    for (const [[username]] of batch) {
      const printable = Buffer.from([...username].filter((b) => b >= 32 && b !== 127));
      if (!/[\x7f\x15\x08]/.test(latin1(username))) {
        assert.ok(session.client.text.includes(printable.subarray(0, 64)), `echo of ${JSON.stringify(latin1(username))}`);
      }
    }
  }
  assert.ok(sessions.every((s) => !s.reportedSuccess));
  await expectRecorded(sessions);
});

/**
 * Writes `next()` chunks to a connecting socket as fast as it takes them (minding backpressure)
 * while `more()` holds and the socket lives, then destroys it; resolves with the bytes written.
 */
function blast(socket: net.Socket, more: () => boolean, next: () => Buffer): Promise<number> {
  return new Promise((resolve) => {
    const pump = () => {
      while (more() && !socket.destroyed) if (!socket.write(next())) return void socket.once('drain', pump);
      socket.destroy();
    };
    socket.on('connect', pump);
    socket.on('data', () => {});
    socket.on('error', () => {});
    socket.on('close', () => resolve(socket.bytesWritten));
  });
}

/** Connections from FLOOD_IP writing random bytes as fast as they can until `stop()`; each reconnects when cut. */
function garbageFlood(workers: number) {
  const pool = randomBytes(1 << 20);
  let running = true;
  let connections = 0;
  let sent = 0;
  const worker = async () => {
    while (running) {
      connections++;
      const socket = net.connect({ ...v4, localAddress: FLOOD_IP });
      socket.on('end', () => socket.destroy());
      const written = await blast(socket, () => running, () => {
        const at = Math.floor(Math.random() * (pool.length - 65536));
        return pool.subarray(at, at + 65536);
      });
      sent += written;
      if (written === 0) await sleep(10); // refused: the sensor is gone (the SIGTERM test); no busy loop
    }
  };
  const done = Promise.all(Array.from({ length: workers }, worker));
  return {
    stats: () => ({ connections, sent }),
    async stop() {
      running = false;
      await done;
    },
  };
}

test('a garbage flood does not stop new logins or /healthz', async (t) => {
  const flood = garbageFlood(6);
  const sessions: Submitted[] = [];
  try {
    await sleep(300); // let it build up
    for (let i = 0; i < 6; i++) {
      const started = Date.now();
      const [session, health] = await Promise.all([
        lineClient(v4, [cred(`flood-${i}`, `pw-${i}`)], '\r\n', 5000),
        sensor.healthz(5000),
      ]);
      const took = Date.now() - started;
      assert.equal(health, 200);
      assert.ok(took < 5000, `a login took ${took} ms during the flood`);
      sessions.push(session);
    }
  } finally {
    await flood.stop();
  }
  const { connections, sent } = flood.stats();
  t.diagnostic(`flood: ${connections} connections, ${(sent / 2 ** 20).toFixed(0)} MiB written`);
  assert.ok(connections > 6, `the flood made ${connections} connections`);
  assert.ok(sent > 1 << 20, `the flood wrote ${sent} bytes`);
  const events = await expectRecorded(sessions);
  // Random bytes hold line ends, so flood connections record random credentials, numbered per session as any other.
  assertAttemptsNumbered(events.filter((e) => e.src_ip === FLOOD_IP));
});

test('endless subnegotiations are cut by the input limit while logins go on', async () => {
  const endlessSubnegotiation = async () => {
    const client = await ScriptedClient.connect(v4);
    await client.until(() => client.raw.length > 0, 'the opening');
    const started = Date.now();
    const chunk = Buffer.alloc(64 * 1024, 0x41);
    const writes = (async () => {
      await client.send(Buffer.of(IAC, SB, TTYPE, 0));
      for (let i = 0; i < 64 && !client.closed && !client.ended; i++) await client.send(chunk).catch(() => {}); // up to 4 MiB, no IAC SE
    })();
    await client.until(() => client.ended || client.closed, 'the sensor to hang up', MAX_LIFETIME_MS);
    const hungUpAfter = Date.now() - started;
    client.destroy();
    await writes;
    return hungUpAfter;
  };
  const [times, session, health] = await Promise.all([
    Promise.all([endlessSubnegotiation(), endlessSubnegotiation(), endlessSubnegotiation()]),
    lineClient(v4, [cred('during-sb', 'flood')]),
    sensor.healthz(),
  ]);
  assert.equal(health, 200);
  for (const ms of times) assert.ok(ms < MAX_LIFETIME_MS * 0.75, `hung up after ${ms} ms: the input limit, not the lifetime limit, should cut it`);
  await expectRecorded([session]);
});

test('a client that ignores the hang-up and keeps writing is not read on for long', async () => {
  // It goes over the input limit at once; the sensor hangs up (FIN) and should then stop taking its
  // bytes. Kernel buffers on loopback hold a few MiB; beyond that only reading could take more.
  const LIMIT = 32 * 2 ** 20;
  const chunk = Buffer.alloc(64 * 1024, 0x41);
  const started = Date.now();
  const socket = net.connect({ ...v4, allowHalfOpen: true }); // a FIN from the sensor does not end our side
  const written = await blast(socket, () => socket.bytesWritten < 2 * LIMIT && Date.now() - started < 3000, () => chunk);
  assert.ok(sensor.alive());
  assert.ok(written < LIMIT, `the sensor took ${(written / 2 ** 20).toFixed(0)} MiB from a client it had hung up on (input limit 16 KiB)`);
});

test('a slow-drip client still logs in, and is cut at the lifetime limit', async () => {
  const client = await ScriptedClient.connect(v4);
  const started = Date.now();
  await client.expect('login: ');
  await client.type('root\r\ndrip\r\n', 100);
  await client.expect('Login incorrect');
  const drip = (async () => {
    while (!client.closed) {
      await client.send('x').catch(() => {});
      await sleep(200); // under the idle timeout: only the lifetime limit can end it
    }
  })();
  await client.closedWithin(MAX_LIFETIME_MS + 3000);
  await drip;
  const lived = Date.now() - started;
  assert.ok(lived >= MAX_LIFETIME_MS - 300, `cut after ${lived} ms: before the lifetime limit`);
  await expectRecorded([submittedBy(client, [cred('root', 'drip')])]);
});

test('idle clients are timed out like BusyBox, and a login goes through meanwhile', async () => {
  const idle = async (typed?: string) => {
    const client = await ScriptedClient.connect(v4);
    const started = Date.now();
    if (typed) {
      await client.expect('login: ');
      await client.send(typed);
    }
    await client.closedWithin(IDLE_TIMEOUT_MS + 3000);
    const waited = Date.now() - started;
    assert.ok(client.text.toString('latin1').endsWith(`Login timed out after ${Math.round(IDLE_TIMEOUT_MS / 1000)} seconds\r\n`), latin1(client.text));
    assert.ok(waited >= IDLE_TIMEOUT_MS - 100, `timed out after ${waited} ms`);
    return submittedBy(client, []);
  };
  const results = await Promise.all([
    ...Array.from({ length: 20 }, () => idle()),
    idle('root\r\n'), // a username and no password is no credential
    lineClient(v4, [cred('while', 'idle')]),
  ]);
  await expectRecorded(results);
});

test('after all of it: nothing else was recorded, and SIGTERM amid open connections and a flood exits 0', async () => {
  const events = await sensor.events();
  assertRecorded(events, everyone);
  assertNothingElse(events, everyone, [FLOOD_IP]);
  assert.equal(await sensor.healthz(), 200);
  const open = await Promise.all(Array.from({ length: 5 }, () => ScriptedClient.connect(v4)));
  const flood = garbageFlood(2);
  await sleep(200);
  try {
    assert.equal(await sensor.stop('SIGTERM'), 0, sensor.stderr());
  } finally {
    await flood.stop();
    for (const client of open) client.destroy();
  }
  assert.doesNotMatch(sensor.stderr(), /"level":(50|60)/, 'no errors logged');
});
