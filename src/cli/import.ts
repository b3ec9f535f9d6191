// `telnetlogin import FILE...`: adds events to a store, idempotently on their
// ids: NDJSON as `telnetlogin events` prints it, or Cowrie JSON logs, so that
// operators of existing honeypots can publish the feed from their logs.
// Gzipped files are read as they are.
//
// What is stored together: every file is read and checked first, and a
// malformed line stops the import, naming its file and line, before anything
// is stored. The events then go in batches of one transaction each; should
// storing fail midway (a full disk), the batches before stay, and importing
// the same files again adds just what is missing.
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import type { Command } from 'commander';
import { CowrieLog, type CowrieProtocol } from '../events/cowrie.ts';
import { credentialBytes, eventToJson, type LoginEventJson } from '../events/json.ts';
import type { LoginEvent } from '../events/login-event.ts';
import { UsageError } from '../errors.ts';
import { rowProblem } from '../store/postgres-copy.ts';
import { parseEventMessage } from '../transport/event-message.ts';
import { openStore } from '../store/open.ts';
import { loadConfig } from './config.ts';

interface ImportFlags {
  format: string;
  config?: string;
  dataDir?: string;
  db?: string;
  sensorId?: string;
  cowrieProtocol: string;
}

const MAX_LINE = 1024 * 1024;
const IN_FLIGHT = 2048; // events handed to the store before waiting for their commits

export function addImportCommand(program: Command): void {
  program
    .command('import')
    .description('add events to a store from NDJSON (as `events` prints it) or Cowrie JSON logs; idempotent')
    .argument('<file...>', 'files to import (gzipped ones too)')
    .option('--format <format>', 'ndjson or cowrie', 'ndjson')
    .option('--sensor-id <id>', 'with --format cowrie: the sensor id to record (default: Cowrie\'s sensor name)')
    .option('--cowrie-protocol <protocol>', 'with --format cowrie: import logins of telnet, ssh or any sessions', 'telnet')
    .option('--data-dir <dir>', 'where the embedded store lives (default ./data)')
    .option('--db <url>', 'write another store: sqlite:PATH or postgres://... (instead of --data-dir)')
    .option('--config <file>', 'JSON config file (for dataDir)')
    .action(async (files: string[], flags: ImportFlags) => importFiles(files, flags));
}

type Parse = (line: string) => LoginEvent | undefined;

/** An NDJSON line: checked as the collector checks a message, then as a LoginEvent. */
function parseNdjson(line: string): LoginEvent {
  const json = parseEventMessage(Buffer.from(line, 'utf8'));
  const problem = rowProblem(json);
  if (problem) throw new Error(problem);
  return fromJson(json);
}

function fromJson(j: LoginEventJson): LoginEvent {
  return {
    id: j.id,
    time: Date.parse(j.time),
    sensor: j.sensor,
    src_ip: j.src_ip,
    src_port: j.src_port,
    dst_ip: j.dst_ip,
    dst_port: j.dst_port,
    session: j.session,
    attempt: j.attempt,
    username: credentialBytes(j.username, j.username_b64),
    password: credentialBytes(j.password, j.password_b64),
    client: j.client,
  };
}

export async function importFiles(files: string[], flags: ImportFlags, out: NodeJS.WritableStream = process.stdout): Promise<void> {
  const newParser = parserFor(flags);
  const { dataDir } = loadConfig({ config: flags.config, dataDir: flags.dataDir });
  const checked = await readAll(files, newParser(), () => {});
  const store = await openStore({ db: flags.db, dataDir });
  const progress = process.stderr.isTTY ? (n: number) => process.stderr.write(`\r\x1b[Kimported ${n} of ${checked.events}`) : () => {};
  let stored = 0;
  try {
    let pending: Array<Promise<void>> = [];
    const parser = newParser();
    await readAll(files, parser, async (event) => {
      pending.push(store.record(event));
      if (pending.length >= IN_FLIGHT) {
        await Promise.all(pending);
        stored += pending.length;
        pending = [];
        progress(stored);
      }
    });
    await Promise.all(pending);
    stored += pending.length;
  } finally {
    if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
    await store.close();
  }
  const skipped = checked.skipped;
  let note = '';
  if (skipped.otherProtocol > 0) note += `; left out ${skipped.otherProtocol} logins of other protocols`;
  if (skipped.unknownProtocol > 0) {
    note += `; left out ${skipped.unknownProtocol} logins of sessions whose protocol the log does not give (--cowrie-protocol any imports them)`;
  }
  const plural = files.length === 1 ? '' : 's';
  out.write(`imported ${stored} login events from ${files.length} file${plural} (events already stored are not added again)${note}\n`);
}

function parserFor(flags: ImportFlags): () => { parse: Parse; skipped: CowrieLog['skipped'] } {
  if (flags.format === 'ndjson') {
    if (flags.sensorId !== undefined) throw new UsageError('--sensor-id: only with --format cowrie (NDJSON events carry their sensor)');
    return () => ({ parse: parseNdjson, skipped: { otherProtocol: 0, unknownProtocol: 0 } });
  }
  if (flags.format !== 'cowrie') throw new UsageError(`--format: "${flags.format}" is not ndjson or cowrie`);
  const protocol = flags.cowrieProtocol;
  if (protocol !== 'telnet' && protocol !== 'ssh' && protocol !== 'any') {
    throw new UsageError(`--cowrie-protocol: "${protocol}" is not telnet, ssh or any`);
  }
  if (flags.sensorId !== undefined && !/^[A-Za-z0-9_-]{1,64}$/.test(flags.sensorId)) {
    throw new UsageError(`--sensor-id: "${flags.sensorId}" is not 1-64 letters, digits, _ or -`);
  }
  return () => {
    const log = new CowrieLog({ protocol: protocol as CowrieProtocol, sensorId: flags.sensorId });
    return { parse: (line) => log.line(line), skipped: log.skipped };
  };
}

/** Reads every file through `parser`, handing each valid event to `onEvent`; a bad line is a UsageError naming file and line. */
async function readAll(
  files: string[],
  parser: { parse: Parse; skipped: CowrieLog['skipped'] },
  onEvent: (event: LoginEvent) => void | Promise<void>,
): Promise<{ events: number; skipped: CowrieLog['skipped'] }> {
  let events = 0;
  for (const file of files) {
    let n = 0;
    for await (const line of lines(file)) {
      n++;
      if (line.trim() === '') continue;
      let event: LoginEvent | undefined;
      try {
        event = parser.parse(line);
        // What any store accepts (the checks the PostgreSQL store makes).
        const problem = event && rowProblem(eventToJson(event));
        if (problem) throw new Error(problem);
      } catch (err) {
        throw new UsageError(`${file}:${n}: ${(err as Error).message}`);
      }
      if (event) {
        events++;
        await onEvent(event);
      }
    }
  }
  return { events, skipped: parser.skipped };
}

/** The file's lines (gunzipped when it starts with gzip's magic bytes), each at most MAX_LINE bytes. */
async function* lines(file: string): AsyncGenerator<string> {
  let magic: Buffer;
  try {
    const handle = await open(file, 'r');
    try {
      magic = Buffer.alloc(2);
      await handle.read(magic, 0, 2, 0);
    } finally {
      await handle.close();
    }
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
  }
  let input: NodeJS.ReadableStream = createReadStream(file);
  if (magic[0] === 0x1f && magic[1] === 0x8b) input = input.pipe(createGunzip());
  const decoder = new TextDecoder();
  let rest = '';
  let n = 0;
  try {
    for await (const chunk of input) {
      rest += decoder.decode(chunk as Buffer, { stream: true });
      let start = 0;
      for (let end = rest.indexOf('\n'); end >= 0; end = rest.indexOf('\n', start)) {
        n++;
        yield rest.slice(start, end).replace(/\r$/, '');
        start = end + 1;
      }
      rest = rest.slice(start);
      if (rest.length > MAX_LINE) throw new UsageError(`${file}:${n + 1}: line longer than ${MAX_LINE} bytes`);
    }
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
  }
  rest += decoder.decode();
  if (rest !== '') yield rest;
}
