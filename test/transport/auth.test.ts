// The ways a sensor and a collector authenticate to the broker, each against
// a nats-server of the test's own configured for it: an nkey over TLS with
// client certificates (certificates made here with openssl), a token, and a
// .creds file in operator mode (JWTs made here with @nats-io/jwt, no nsc).
// Every attempt whose client got a reply ends in PostgreSQL exactly once; a
// client without the right credential is refused.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { encodeAccount, encodeOperator, encodeUser, fmtCreds, type Permissions } from '@nats-io/jwt';
import { createAccount, createOperator, createUser, type KeyPair } from '@nats-io/nkeys';
import { connect, nkeyAuthenticator } from '@nats-io/transport-node';
import { pgClient, startOwnBroker, unavailable, usePostgres } from '../helpers/services.ts';
import { tempDir } from '../store/fixtures.ts';
import { assertExactlyOnce, load, metric, startCollector, startSensor } from './harness.ts';

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

/** A .creds file for a new user of `account` (its JWT and seed, as nsc writes them), in `dir`. */
async function credsFile(dir: string, name: string, account: KeyPair, permissions: Partial<Permissions> = {}): Promise<string> {
  const user = createUser();
  const file = join(dir, `${name}.creds`);
  writeFileSync(file, fmtCreds(await encodeUser(name, user, account, permissions), user), { mode: 0o600 });
  return file;
}

test('a .creds file in operator mode: logins arrive once; a user of an unknown account is refused', { timeout: 120_000 }, async (t) => {
  const db = await usePostgres(t);
  if (!db) return;
  const dir = tempDir(t);
  const operator = createOperator();
  const system = createAccount();
  const account = createAccount();
  const signed = { signer: operator };
  // An account JWT's limits default to 0 (no connections, subscriptions,
  // payload), and nats-server enables JetStream for the account only when its
  // JWT grants storage: -1 is "unlimited", as nsc writes it.
  const limits = { conn: -1, subs: -1, data: -1, payload: -1, mem_storage: -1, disk_storage: -1, streams: -1, consumer: -1 };
  const broker = await startOwnBroker(t, `
    operator: ${await encodeOperator('telnetlogin-test', operator, { system_account: system.getPublicKey() })}
    system_account: ${system.getPublicKey()}
    resolver: MEMORY
    resolver_preload: {
      ${system.getPublicKey()}: ${await encodeAccount('SYS', system, {}, signed)}
      ${account.getPublicKey()}: ${await encodeAccount('TELNETLOGIN', account, { limits }, signed)}
    }`);
  if (!broker) return;
  // The sensor's permissions of docs/deploy/nats-server.conf, in its user JWT.
  const sensorCreds = await credsFile(dir, 'sensor-c', account, {
    pub: { allow: ['telnetlogin.events.sensor-c', 'telnetlogin.heartbeats.sensor-c'] },
    sub: { allow: ['_INBOX_sensor-c.>'] },
  });
  await startCollector(t, { nats: broker.url, db, extra: ['--nats-creds', await credsFile(dir, 'collector', account)] });
  const sensor = await startSensor(t, { nats: broker.url, id: 'sensor-c', outbox: tempDir(t), extra: ['--nats-creds', sensorCreds] });
  await loginsArrive(t, db, 'sensor-c', sensor.telnetPort);
  // The PubAcks reach the sensor on its own inbox (its subscribe permission), so its outbox drains.
  const drained = Date.now() + 10_000;
  while ((await metric(sensor.httpPort, 'telnetlogin_outbox_depth')) > 0 && Date.now() < drained) await sleep(100);
  assert.equal(await metric(sensor.httpPort, 'telnetlogin_outbox_depth'), 0, 'the broker acknowledged every event');

  // A well-formed .creds file whose account the operator never signed: the
  // broker refuses it, and the sensor keeps what it records in its outbox.
  const strangerCreds = await credsFile(dir, 'stranger', createAccount());
  const stranger = await startSensor(t, { nats: broker.url, id: 'sensor-x', outbox: tempDir(t), extra: ['--nats-creds', strangerCreds] });
  const logins = load(stranger.telnetPort, randomBytes(3).toString('hex'));
  const refused = Date.now() + 10_000;
  while (!/Authorization Violation/i.test(stranger.proc.output()) && Date.now() < refused) await sleep(100);
  const result = await logins.stop();
  assert.match(stranger.proc.output(), /Authorization Violation/i, 'the sensor logs the refusal');
  assert.ok(result.replied.size > 0, 'the load got replies');
  assert.equal(await metric(stranger.httpPort, 'telnetlogin_nats_connected'), 0);
  assert.ok((await metric(stranger.httpPort, 'telnetlogin_outbox_depth')) >= result.replied.size, 'nothing left the outbox');
});
