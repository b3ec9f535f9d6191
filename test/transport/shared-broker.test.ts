// The pipeline on the shared broker (TELNETLOGIN_TEST_NATS), as deployments
// that share one would run: under a subject root of the test's own
// (--nats-root), so that neither its stream nor its consumer meets anyone
// else's. Every attempt whose client got a reply is stored once.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { natsNames } from '../../src/transport/subjects.ts';
import { pgClient, useNats, usePostgres } from '../helpers/services.ts';
import { tempDir } from '../store/fixtures.ts';
import { assertExactlyOnce, load, metric, startCollector, startSensor } from './harness.ts';

test('sensor and collector on the shared broker under a root of their own', { timeout: 120_000 }, async (t) => {
  const db = await usePostgres(t);
  const nats = await useNats(t);
  if (!db || !nats) return;
  const root = `tltest_${randomBytes(4).toString('hex')}`;
  const names = natsNames(root);
  t.after(async () => {
    const nc = await connect({ servers: nats });
    await (await jetstreamManager(nc)).streams.delete(names.stream).catch(() => {});
    await nc.close();
  });
  const collector = await startCollector(t, { nats, db, extra: ['--nats-root', root, '--http-listen', '127.0.0.1:0'] });
  assert.match(collector.output(), new RegExp(`collector: ${names.stream}/`));
  const httpPort = Number((await collector.waitFor(/http: +http:\/\/127\.0\.0\.1:(\d+)\//))[1]);
  const sensor = await startSensor(t, { nats, id: 'shared-1', outbox: tempDir(t), extra: ['--nats-root', root] });
  // bin/telnetlogin gives each job its node flags: small semi-spaces for the
  // sensor's idle connections, V8's default for the collector's batches.
  const nodeArgs = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  assert.ok(nodeArgs(sensor.proc.child.pid!).includes('--max-semi-space-size=4'));
  assert.ok(!nodeArgs(collector.child.pid!).some((a) => a.startsWith('--max-semi-space-size')));
  const logins = load(sensor.telnetPort, randomBytes(3).toString('hex'));
  await sleep(1500);
  const result = await logins.stop();
  assert.ok(result.replied.size > 0);
  const client = await pgClient(t, db);
  await assertExactlyOnce(client, 'shared-1', result.replied);
  // The collector folds them into the dashboard's rollups by itself, about every second.
  const stored = (await client.query(`SELECT count(*)::int AS n FROM events WHERE sensor = 'shared-1'`)).rows[0].n as number;
  const rolledUp = async () => (await client.query(`SELECT attempts::int AS n FROM stats_sensors WHERE sensor = 'shared-1'`)).rows[0]?.n ?? 0;
  const deadline = Date.now() + 10_000;
  while ((await rolledUp()) < stored && Date.now() < deadline) await sleep(200);
  assert.equal(await rolledUp(), stored);
  assert.ok((await metric(httpPort, 'telnetlogin_collector_events_folded_total')) >= stored);
  // Only under its root: the stream's subjects are the test's.
  const nc = await connect({ servers: nats });
  t.after(() => nc.close());
  const info = await (await jetstreamManager(nc)).streams.info(names.stream);
  assert.deepEqual(info.config.subjects, names.streamSubjects);
});
