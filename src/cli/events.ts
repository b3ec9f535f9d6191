// `telnetlogin events`: stored LoginEvents as NDJSON, oldest first. It opens
// the store read-only, so it works while `telnetlogin run` is writing.
import type { Command } from 'commander';
import { eventToJson } from '../events/json.ts';
import type { LoginEvent } from '../events/login-event.ts';
import { TelnetloginError, UsageError } from '../errors.ts';
import { openStore } from '../store/open.ts';
import type { EventReader } from '../store/store.ts';
import { loadConfig } from './config.ts';

interface EventsFlags {
  config?: string;
  dataDir?: string;
  db?: string;
  since?: string;
  limit?: string;
}

export function addEventsCommand(program: Command): void {
  program
    .command('events')
    .description('print stored login events as NDJSON, one per line, oldest first')
    .option('--config <file>', 'JSON config file (for dataDir; flags and TELNETLOGIN_* variables override it)')
    .option('--data-dir <dir>', 'where the embedded store lives (default ./data)')
    .option('--db <url>', 'read another store: sqlite:PATH or postgres://... (instead of --data-dir)')
    .option('--since <time>', 'only events at or after TIME: ISO 8601 (UTC unless an offset is given) or a duration ago (90s, 30m, 1h, 7d, 2w, 1d12h)')
    .option('--limit <n>', 'print at most N events')
    .action(async (flags: EventsFlags) => printEvents(flags, process.stdout));
}

export async function printEvents(flags: EventsFlags, out: NodeJS.WritableStream, now = Date.now()): Promise<void> {
  const since = flags.since === undefined ? undefined : parseSince(flags.since, now);
  const limit = flags.limit === undefined ? undefined : parseLimit(flags.limit);
  const { dataDir } = loadConfig({ config: flags.config, dataDir: flags.dataDir });
  const where = flags.db === undefined ? `--data-dir ${dataDir}` : `--db ${flags.db}`;
  let store: EventReader;
  try {
    store = await openStore({ db: flags.db, dataDir, readonly: true });
  } catch (err) {
    if (!(err instanceof TelnetloginError) || err instanceof UsageError) throw err;
    const hint = err.code === 'TL_STORE_NOT_FOUND' ? ' ("telnetlogin run" creates the store)' : '';
    throw new UsageError(`${where}: ${err.message}${hint}`, { cause: err });
  }
  try {
    await writeNdjson(out, store.events({ since, limit }));
  } finally {
    await store.close();
  }
}

// JSON.stringify escapes C0 controls (ESC included) but not DEL, C1 controls
// (U+009B is CSI on some terminals), line separators or bidi overrides, which
// a hostile client can put in any string; escaped, the JSON means the same.
const UNSAFE = /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const escapeUnsafe = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/** One event as a line of NDJSON that is safe to show on a terminal. */
export function ndjsonLine(event: LoginEvent): string {
  return JSON.stringify(eventToJson(event)).replace(UNSAFE, escapeUnsafe) + '\n';
}

/**
 * Writes the events in chunks of about 64 KiB, one chunk in flight at a time
 * (backpressure). A reader that goes away (`| head`: EPIPE) ends the output
 * quietly.
 */
async function writeNdjson(out: NodeJS.WritableStream, events: AsyncIterable<LoginEvent>): Promise<void> {
  // The write callbacks report errors; without a listener the 'error' event
  // would also crash the process.
  const ignore = () => {};
  out.on('error', ignore);
  const write = (text: string) =>
    new Promise<void>((resolve, reject) => out.write(text, (err) => (err ? reject(err) : resolve())));
  let chunk = '';
  try {
    for await (const event of events) {
      chunk += ndjsonLine(event);
      if (chunk.length >= 64 * 1024) {
        await write(chunk);
        chunk = '';
      }
    }
    if (chunk.length > 0) await write(chunk);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EPIPE' && code !== 'ERR_STREAM_DESTROYED') throw err;
  } finally {
    out.off('error', ignore);
  }
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const DURATION = /^(?:\d+(?:ms|s|m|h|d|w))+$/;
const ISO_8601 =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)(Z|[+-]\d{2}:?\d{2})?)?$/i;

/** `--since`: an ISO 8601 time (UTC unless it has an offset) or a duration before `now`, in ms since the epoch. */
export function parseSince(text: string, now: number): number {
  const t = text.trim();
  if (DURATION.test(t)) {
    let ms = 0;
    for (const [, n, unit] of t.matchAll(/(\d+)(ms|s|m|h|d|w)/g)) ms += Number(n) * UNIT_MS[unit!]!;
    return now - ms;
  }
  const m = ISO_8601.exec(t);
  if (m) {
    const [, year, month, day, time = '00:00', zone = 'Z'] = m;
    // Date.parse rolls 02-31 over into March; refuse days the month lacks.
    const daysInMonth = new Date(Date.UTC(Number(year), Number(month), 0)).getUTCDate();
    const ms = Date.parse(`${year}-${month}-${day}T${time}${zone}`);
    if (Number(day) >= 1 && Number(day) <= daysInMonth && Number.isFinite(ms)) return ms;
  }
  throw new UsageError(
    `--since: "${text}" is neither an ISO 8601 time (2026-12-04T19:22:44Z) nor a duration (30m, 1h, 7d)`,
  );
}

function parseLimit(text: string): number {
  if (!/^\d+$/.test(text.trim())) throw new UsageError(`--limit: "${text}" is not a whole number`);
  return Number(text.trim());
}
