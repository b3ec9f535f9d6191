// Fault tests of the scale-out pipeline with real processes over loopback:
// a broker of the test's own (stopped and restarted), `telnetlogin sensor` and
// `telnetlogin collector` as children (killed with SIGKILL), the shared
// PostgreSQL (connections terminated). After each fault, every login attempt
// whose client got "Login incorrect" must be in PostgreSQL exactly once.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import pg from 'pg';
import { sensorInboxPrefix } from '../../src/transport/subjects.ts';
import { PG_URL, pgClient, startOwnBroker, usePostgres } from '../helpers/services.ts';
import { tempDir } from '../store/fixtures.ts';
import { assertExactlyOnce, load, metric, startCollector, startSensor } from './harness.ts';

const DEPLOY_CONF = new URL('../../docs/deploy/nats-server.conf', import.meta.url);

async function setup(t: TestContext) {
  const db = await usePostgres(t);
  if (!db) return undefined;
  const broker = await startOwnBroker(t);
  if (!broker) return undefined;
  return { db, broker, client: await pgClient(t, db), id: `s${randomBytes(4).toString('hex')}`, tag: randomBytes(3).toString('hex') };
}

test('broker down for a while during logins, then back: the outbox holds the events, nothing lost or doubled', { timeout: 120_000 }, async (t) => {
  const s = await setup(t);
  if (!s) return;
  await startCollector(t, { nats: s.broker.url, db: s.db });
  const sensor = await startSensor(t, { nats: s.broker.url, id: s.id, outbox: tempDir(t) });
  const logins = load(sensor.telnetPort, s.tag);
  await sleep(1500);
  await s.broker.stop();
  await sleep(500);
  const recorded = () => metric(sensor.httpPort, 'telnetlogin_logins_recorded_total');
  const recordedAtStop = await recorded();
  await sleep(2500);
  assert.ok((await recorded()) > recordedAtStop + 20, 'logins are recorded (and replied to) while the broker is down');
  const depth = await metric(sensor.httpPort, 'telnetlogin_outbox_depth');
  assert.ok(depth > 0, `the outbox holds what waits for the broker (telnetlogin_outbox_depth ${depth})`);
  assert.equal(await metric(sensor.httpPort, 'telnetlogin_nats_connected'), 0);
  await s.broker.start();
  await sleep(1500);
  const result = await logins.stop();
  assert.ok(result.replied.size > 50, `enough logins to mean something (${result.replied.size})`);
  await assertExactlyOnce(s.client, s.id, result.replied);
  t.diagnostic(`${result.replied.size} replied attempts, the outbox held ${depth} at one point`);
  assert.equal(await metric(sensor.httpPort, 'telnetlogin_outbox_depth'), 0, 'the outbox drains');
  const sensors = await s.client.query('SELECT id, array(SELECT host(a) FROM unnest(addresses) a) AS addresses, version FROM sensors');
  assert.deepEqual(sensors.rows, [{ id: s.id, addresses: ['127.0.0.1'], version: '0.1.0' }], 'heartbeats recorded the sensor');
});

test('collector killed (SIGKILL) mid-batch and restarted: unacknowledged messages come again, stored once', { timeout: 120_000 }, async (t) => {
  const s = await setup(t);
  if (!s) return;
  const first = await startCollector(t, { nats: s.broker.url, db: s.db });
  const sensor = await startSensor(t, { nats: s.broker.url, id: s.id, outbox: tempDir(t) });
  const logins = load(sensor.telnetPort, s.tag);
  // Kill it while batches flow: some events of the stream are inserted, some in flight.
  const deadline = Date.now() + 20_000;
  while ((await s.client.query('SELECT count(*)::int AS n FROM events')).rows[0].n < 500 && Date.now() < deadline) await sleep(50);
  await first.kill('SIGKILL');
  await sleep(1500); // logins go on; events pile up in the stream
  const second = await startCollector(t, { nats: s.broker.url, db: s.db, extra: ['--http-listen', '127.0.0.1:0'] });
  await sleep(1500);
  const result = await logins.stop();
  await assertExactlyOnce(s.client, s.id, result.replied);
  assert.ok(second.output().includes('collector:'));
});

test('sensor killed (SIGKILL) during a load and restarted on its outbox: nothing lost or doubled', { timeout: 120_000 }, async (t) => {
  const s = await setup(t);
  if (!s) return;
  await startCollector(t, { nats: s.broker.url, db: s.db });
  const outbox = tempDir(t);
  const sensor = await startSensor(t, { nats: s.broker.url, id: s.id, outbox });
  const logins = load(sensor.telnetPort, s.tag);
  await sleep(2500);
  await sensor.proc.kill('SIGKILL');
  const result = await logins.stop(1000);
  assert.ok(result.replied.size > 50, `enough logins to mean something (${result.replied.size})`);
  // What was committed to the outbox and not yet acknowledged goes out after the restart.
  const again = await startSensor(t, { nats: s.broker.url, id: s.id, outbox });
  await assertExactlyOnce(s.client, s.id, result.replied);
  assert.equal(await metric(again.httpPort, 'telnetlogin_outbox_depth'), 0);
});

test('PostgreSQL connections lost and back: the collector retries its batch, nothing lost or doubled', { timeout: 120_000 }, async (t) => {
  const s = await setup(t);
  if (!s) return;
  const app = `tl_fault_${s.tag}`;
  const db = new URL(s.db);
  db.searchParams.set('application_name', app);
  const collector = await startCollector(t, { nats: s.broker.url, db: db.toString(), extra: ['--http-listen', '127.0.0.1:0'] });
  const httpPort = Number((await collector.waitFor(/http: +http:\/\/127\.0\.0\.1:(\d+)\//))[1]);
  const sensor = await startSensor(t, { nats: s.broker.url, id: s.id, outbox: tempDir(t) });
  const logins = load(sensor.telnetPort, s.tag);
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  t.after(() => admin.end());
  // Terminate its connections until one died in the middle of writing a batch (at most 100 times: some
  // terminations hit the connection folding the rollups instead).
  const storeErrors = () => metric(httpPort, 'telnetlogin_collector_store_errors_total');
  let terminated = 0;
  for (let i = 0; i < 100 && (await storeErrors()) === 0; i++) {
    await sleep(100);
    const r = await admin.query('SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE application_name = $1', [app]);
    terminated += r.rows[0].n;
  }
  assert.ok(terminated > 0, "the collector's connections were terminated");
  assert.ok((await storeErrors()) > 0, 'a batch failed on a terminated connection (and was retried)');
  await sleep(1000);
  const result = await logins.stop();
  await assertExactlyOnce(s.client, s.id, result.replied);
  assert.ok((await metric(httpPort, 'telnetlogin_collector_events_inserted_total')) >= result.replied.size);
});

test('per-sensor credentials (docs/deploy/nats-server.conf): a sensor publishes as itself only', { timeout: 120_000 }, async (t) => {
  const db = await usePostgres(t);
  if (!db) return;
  // The deployment example as it stands, on a port and store of the test's own.
  const conf = readFileSync(DEPLOY_CONF, 'utf8').replace(/^\s*listen:.*$/m, '').replace(/^\s*store_dir:.*$/m, '');
  const broker = await startOwnBroker(t, conf);
  if (!broker) return;
  const client = await pgClient(t, db);
  await startCollector(t, { nats: broker.url, db, extra: ['--nats-user', 'collector', '--nats-pass', 'collector-password-change-me'] });
  const sensor = await startSensor(t, {
    nats: broker.url,
    id: 'sensor-1',
    outbox: tempDir(t),
    extra: ['--nats-user', 'sensor-1', '--nats-pass', 'sensor-1-password-change-me'],
  });
  const logins = load(sensor.telnetPort, randomBytes(3).toString('hex'));
  await sleep(1500);
  const result = await logins.stop();
  await assertExactlyOnce(client, 'sensor-1', result.replied);

  // sensor-1's credentials, used to speak for sensor-2: the broker refuses.
  const nc: NatsConnection = await connect({
    servers: broker.url,
    user: 'sensor-1',
    pass: 'sensor-1-password-change-me',
    inboxPrefix: sensorInboxPrefix('sensor-1'),
  });
  t.after(() => nc.close());
  const errors: Error[] = [];
  void (async () => {
    for await (const s of nc.status()) if (s.type === 'error') errors.push(s.error);
  })();
  await assert.rejects(
    nc.request('telnetlogin.events.sensor-2', new TextEncoder().encode('{}'), { timeout: 2000 }),
    (err: Error) => /permission|timeout/i.test(`${err.message} ${String((err as { cause?: unknown }).cause)}`),
  );
  nc.publish('telnetlogin.heartbeats.sensor-2', new Uint8Array(0));
  await nc.flush();
  await sleep(300);
  assert.ok(
    errors.some((e) => /Permissions Violation for Publish to "telnetlogin\.events\.sensor-2"/i.test(e.message)),
    `permission violation reported: ${errors.map((e) => e.message).join('; ')}`,
  );
  assert.ok(errors.some((e) => /Publish to "telnetlogin\.heartbeats\.sensor-2"/i.test(e.message)));
  // Nor may it read others' replies (the collector's pulled messages) or manage streams.
  const errorsBefore = errors.length;
  nc.subscribe('_INBOX.>');
  await nc.flush();
  await sleep(300);
  assert.ok(errors.slice(errorsBefore).some((e) => /Permissions Violation for Subscription to "_INBOX\.>"/i.test(e.message)));
  await assert.rejects(nc.request('$JS.API.STREAM.DELETE.TELNETLOGIN', undefined, { timeout: 1000 }));
  const stored = await client.query(`SELECT count(*)::int AS n FROM events WHERE sensor = 'sensor-2'`);
  assert.equal(stored.rows[0].n, 0);
});
