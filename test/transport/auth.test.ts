// The ways a sensor and a collector authenticate to the broker, each against
// a nats-server of the test's own configured for it: an nkey over TLS with
// client certificates (certificates made here with openssl), and a token.
// Every attempt whose client got a reply ends in PostgreSQL exactly once; a
// client without the right credential is refused.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createUser } from '@nats-io/nkeys';
import { connect, nkeyAuthenticator } from '@nats-io/transport-node';
import { pgClient, startOwnBroker, unavailable, usePostgres } from '../helpers/services.ts';
import { tempDir } from '../store/fixtures.ts';
import { assertExactlyOnce, load, startCollector, startSensor } from './harness.ts';

const OPENSSL = '/usr/bin/openssl';

/** A CA, a server certificate for localhost and a client certificate, as PEM files in `dir`. */
function certificates(dir: string): Record<'ca' | 'serverCert' | 'serverKey' | 'clientCert' | 'clientKey', string> {
  const file = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync(OPENSSL, args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl('req', '-x509', ...key, '-keyout', 'ca-key.pem', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=telnetlogin test CA');
  for (const [name, ext] of [['server', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], ['client', 'extendedKeyUsage=clientAuth']] as const) {
    writeFileSync(file(`${name}.ext`), `${ext}\n`);
    openssl('req', ...key, '-keyout', `${name}-key.pem`, '-out', `${name}.csr`, '-subj', `/CN=telnetlogin test ${name}`);
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-out', `${name}.pem`, '-days', '1', '-extfile', `${name}.ext`);
  }
  return {
    ca: file('ca.pem'), serverCert: file('server.pem'), serverKey: file('server-key.pem'), clientCert: file('client.pem'), clientKey: file('client-key.pem'),
  };
}

/** Logins for a second and a half; then every replied attempt must be stored once. */
async function loginsArrive(t: TestContext, db: string, sensorId: string, telnetPort: number): Promise<void> {
  const logins = load(telnetPort, randomBytes(3).toString('hex'));
  await sleep(1500);
  const result = await logins.stop();
  assert.ok(result.replied.size > 0, 'the load got replies');
  await assertExactlyOnce(await pgClient(t, db), sensorId, result.replied);
}

test('an nkey sensor over TLS with client certificates: logins arrive once; no certificate, no connection', { timeout: 120_000 }, async (t) => {
  if (!existsSync(OPENSSL)) return unavailable(t, `${OPENSSL} is missing (apt-get install openssl)`);
  const db = await usePostgres(t);
  if (!db) return;
  const dir = tempDir(t);
  const tls = certificates(dir);
  const sensorKey = createUser();
  const seedFile = join(dir, 'sensor-1.nk');
  writeFileSync(seedFile, `${new TextDecoder().decode(sensorKey.getSeed())}\n`, { mode: 0o600 });
  const broker = await startOwnBroker(t, `
    tls { cert_file: "${tls.serverCert}", key_file: "${tls.serverKey}", ca_file: "${tls.ca}", verify: true }
    accounts {
      TELNETLOGIN {
        jetstream: enabled
        users: [
          { user: collector, password: "collector-test-password" }
          {
            nkey: ${sensorKey.getPublicKey()}
            permissions: { publish: ["telnetlogin.events.sensor-1", "telnetlogin.heartbeats.sensor-1"], subscribe: ["_INBOX_sensor-1.>"] }
          }
        ]
      }
    }`);
  if (!broker) return;
  // By name: nats.js checks the server's certificate against the host name of
  // the URL (and against "localhost" when the URL holds a bare IP address).
  const url = broker.url.replace('127.0.0.1', 'localhost');
  const clientTls = ['--nats-tls-ca', tls.ca, '--nats-tls-cert', tls.clientCert, '--nats-tls-key', tls.clientKey];
  await startCollector(t, { nats: url, db, extra: ['--nats-user', 'collector', '--nats-pass', 'collector-test-password', ...clientTls] });
  const sensor = await startSensor(t, { nats: url, id: 'sensor-1', outbox: tempDir(t), extra: ['--nats-nkey-seed', seedFile, ...clientTls] });
  await loginsArrive(t, db, 'sensor-1', sensor.telnetPort);

  // Right password, but no client certificate: the broker refuses the TLS handshake.
  await assert.rejects(
    connect({ servers: url, user: 'collector', pass: 'collector-test-password', tls: { caFile: tls.ca }, reconnect: false, timeout: 3000 }),
  );
  // A certificate but another nkey: refused.
  const stranger = createUser();
  await assert.rejects(
    connect({
      servers: url,
      tls: { caFile: tls.ca, certFile: tls.clientCert, keyFile: tls.clientKey },
      authenticator: nkeyAuthenticator(stranger.getSeed()),
      reconnect: false,
      timeout: 3000,
    }),
    /Authorization Violation/i,
  );
});

test('a token: sensor and collector log in with it; a wrong token is refused', { timeout: 120_000 }, async (t) => {
  const db = await usePostgres(t);
  if (!db) return;
  const token = randomBytes(24).toString('hex');
  const broker = await startOwnBroker(t, `authorization { token: "${token}" }`);
  if (!broker) return;
  await startCollector(t, { nats: broker.url, db, extra: ['--nats-token', token] });
  const sensor = await startSensor(t, { nats: broker.url, id: 'sensor-t', outbox: tempDir(t), extra: ['--nats-token', token] });
  await loginsArrive(t, db, 'sensor-t', sensor.telnetPort);
  await assert.rejects(connect({ servers: broker.url, token: 'wrong', reconnect: false, timeout: 3000 }), /Authorization Violation/i);
});
