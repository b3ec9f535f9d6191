// `telnetlogin sensors`: the sensors and their own addresses, as CSV or JSON,
// for CERTs and surveyors who would otherwise report a sensor as a real,
// open TELNET server. Also lists the operator's configured own prefixes.
import type { Command } from 'commander';
import { UsageError } from '../errors.ts';
import { writeFileAtomically } from '../feed/atomic-file.ts';
import { csvCell } from '../feed/formats/csv.ts';
import { feedSourceOf } from '../feed/source.ts';
import { formatIso } from '../feed/window.ts';
import type { SensorRecord } from '../store/store.ts';
import { loadConfig } from './config.ts';
import { openForFeed } from './feed.ts';

interface SensorsFlags {
  config?: string;
  dataDir?: string;
  db?: string;
  format: string;
  out?: string;
}

export function addSensorsCommand(program: Command): void {
  program
    .command('sensors')
    .description("export the sensors' own addresses (CSV or JSON), e.g. for CERTs")
    .option('--format <format>', 'csv or json', 'csv')
    .option('--out <file>', 'write here (atomically) instead of stdout')
    .option('--data-dir <dir>', 'where the embedded store lives (default ./data)')
    .option('--db <url>', 'read another store: sqlite:PATH or postgres://... (instead of --data-dir)')
    .option('--config <file>', 'JSON config file (its feed.ownAddresses are listed too)')
    .action(async (flags: SensorsFlags) => exportSensors(flags));
}

async function exportSensors(flags: SensorsFlags): Promise<void> {
  if (flags.format !== 'csv' && flags.format !== 'json') throw new UsageError(`--format: "${flags.format}" is not csv or json`);
  const config = loadConfig({ config: flags.config, dataDir: flags.dataDir });
  const store = await openForFeed(flags.db, config.dataDir);
  let sensors: SensorRecord[];
  try {
    sensors = await feedSourceOf(store).sensors();
  } finally {
    await store.close();
  }
  const prefixes = config.feed.ownAddresses.map((p) => p.text);
  const text = flags.format === 'csv' ? sensorsCsv(sensors, prefixes) : sensorsJson(sensors, prefixes);
  if (flags.out) await writeFileAtomically(flags.out, [text]);
  else process.stdout.write(text);
}

/** One row per address: sensor, address, first_seen, last_seen; configured prefixes have no sensor and no times. */
export function sensorsCsv(sensors: readonly SensorRecord[], prefixes: readonly string[]): string {
  const rows = ['sensor,address,first_seen,last_seen'];
  for (const s of sensors) {
    for (const a of s.addresses) rows.push(`${csvCell(s.id)},${a},${formatIso(s.firstSeen)},${formatIso(s.lastSeen)}`);
  }
  for (const p of prefixes) rows.push(`,${p},,`);
  return rows.map((r) => `${r}\r\n`).join('');
}

export function sensorsJson(sensors: readonly SensorRecord[], prefixes: readonly string[]): string {
  const out = {
    description: 'Addresses of telnetlogin sensors: decoys that record TELNET login attempts, not real TELNET servers.',
    generated: formatIso(Date.now()),
    sensors: sensors.map((s) => ({ id: s.id, addresses: s.addresses, first_seen: formatIso(s.firstSeen), last_seen: formatIso(s.lastSeen) })),
    configured_prefixes: prefixes,
  };
  return `${JSON.stringify(out, null, 2)}\n`;
}
