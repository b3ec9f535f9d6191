import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { telnetlogin } from '../helpers/run-cli.ts';
import { fixture } from './feed-fixture.ts';

test('sensors: the sensors\' own addresses (destinations of their events, listen addresses, configured prefixes) as CSV and JSON', async (t) => {
  const { dir, data } = await fixture(t);
  const config = join(dir, 'config.json');
  writeFileSync(config, JSON.stringify({ feed: { ownAddresses: ['203.0.113.0/28'] } }));
  const csv = await telnetlogin(['sensors', ...data, '--config', config]);
  assert.equal(csv.code, 0, csv.stderr);
  assert.equal(csv.stdout, 'sensor,address,first_seen,last_seen\r\ntest-sensor,192.0.2.250,2026-11-27T11:59:59.999Z,2026-12-04T13:00:00.000Z\r\n,203.0.113.0/28,,\r\n');
  const json = JSON.parse((await telnetlogin(['sensors', ...data, '--config', config, '--format', 'json'])).stdout);
  assert.deepEqual(json.sensors, [{ id: 'test-sensor', addresses: ['192.0.2.250'], first_seen: '2026-11-27T11:59:59.999Z', last_seen: '2026-12-04T13:00:00.000Z' }]);
  assert.deepEqual(json.configured_prefixes, ['203.0.113.0/28']);
  assert.match(json.description, /not real TELNET servers/);
});
