// Shared by the CLI tests of the feed commands: a store made by `telnetlogin
// import` from a few events, and small route origin files (so that no
// default table is loaded).
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { eventToJson } from '../../src/events/json.ts';
import { event } from '../feed/helpers.ts';
import { telnetlogin } from '../helpers/run-cli.ts';
import { tempDir } from '../store/fixtures.ts';

export const NOW = '2026-12-04T12:00:00Z';
const HOUR = 3_600_000;

/** A store with a few events, and small route origin files (so no default table is loaded). */
export async function fixture(t: Parameters<typeof tempDir>[0], now = Date.parse(NOW)) {
  const T = now;
  const dir = tempDir(t);
  const sensor = { dst_ip: '192.0.2.250' }; // the sensor's own address, seen as the destination
  const events = [
    event('192.0.2.1', T - 2 * HOUR, sensor),
    event('192.0.2.1', T - 30 * HOUR, { ...sensor, password: Buffer.from('admin') }),
    event('198.51.100.7', T - 7 * 24 * HOUR, sensor), // exactly 7 days old: in
    event('198.51.100.8', T - 7 * 24 * HOUR - 1, sensor), // 1 ms older: out
    event('2001:db8::99', T - HOUR, sensor),
    event('203.0.113.5', T + HOUR, sensor), // after --now: out
    event('192.0.2.250', T - 3 * HOUR, sensor), // the sensor itself: never listed
  ];
  writeFileSync(join(dir, 'events.ndjson'), events.map((e) => `${JSON.stringify(eventToJson(e))}\n`).join(''));
  writeFileSync(join(dir, 'routes.ipasn'), '; test routes\n192.0.2.0/24\t64500\n198.51.100.0/24\t64501\n2001:db8::/32\t64500\n');
  writeFileSync(join(dir, 'names.json'), '{"64500": "EXAMPLE-NET, Inc.", "64501": "=SURVEY"}\n');
  const imported = await telnetlogin(['import', '--data-dir', join(dir, 'data'), join(dir, 'events.ndjson')]);
  assert.equal(imported.code, 0, imported.stderr);
  const asdb = ['--asdb', join(dir, 'routes.ipasn'), '--asdb', join(dir, 'names.json')];
  return { dir, data: ['--data-dir', join(dir, 'data')], asdb };
}

