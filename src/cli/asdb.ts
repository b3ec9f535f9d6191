// `telnetlogin asdb lookup` and `telnetlogin asdb build`: origin AS lookups
// from the command line, and conversion of routing data (MRT dumps included)
// into the compact built file.
import { createInterface } from 'node:readline';
import { stat } from 'node:fs/promises';
import type { Command } from 'commander';
import { openAsdb, type Asdb, type OpenOptions } from '../asdb/asdb.ts';
import { writeBuiltFile } from '../asdb/built-file.ts';
import { UsageError } from '../errors.ts';

interface LookupFlags {
  asdb?: string[];
}

interface BuildFlags {
  out: string;
}

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

export function addAsdbCommand(program: Command): void {
  const asdb = program.command('asdb').description('origin AS lookups and routing data conversion');
  asdb
    .command('lookup')
    .description('print ip<TAB>asn<TAB>prefix<TAB>name for each address, NA where unknown')
    .argument('<ip...>', 'IPv4 or IPv6 addresses; - reads addresses from standard input, one a line')
    .option(
      '--asdb <file>',
      'routing table or AS-name file, kind detected from content (repeatable; default: the embedded table)',
      collect,
    )
    .action(async (ips: string[], flags: LookupFlags) => {
      process.exitCode = await lookup(ips, flags.asdb ?? [], process.stdin, process.stdout, process.stderr);
    });
  asdb
    .command('build')
    .description('convert routing data (MRT RIB dumps, pyasn, pfx2as, iptoasn, mmdb, AS names) into one file that loads fast')
    .argument('[input...]', 'routing tables and AS-name files (none: the embedded default table)')
    .requiredOption('-o, --out <file>', 'the file to write')
    .action(async (inputs: string[], flags: BuildFlags) => build(inputs, flags.out, process.stderr));
}

/** Prints one line per address; returns the exit status (1 when an input was not an address). */
export async function lookup(
  args: string[],
  files: string[],
  input: NodeJS.ReadableStream,
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream & { isTTY?: boolean },
): Promise<number> {
  if (args.filter((a) => a === '-').length > 1) throw new UsageError('asdb lookup: `-` (standard input) may be given once');
  const asdb = await openAsdb(files, openOptions(err));
  const writer = new LineWriter(out, (out as { isTTY?: boolean }).isTTY === true);
  let bad = 0;
  const answer = async (ip: string): Promise<void> => {
    const line = answerLine(asdb, ip);
    if (line === null) {
      bad++;
      err.write(`telnetlogin: not an IP address: ${JSON.stringify(ip)}\n`);
    }
    await writer.write(line ?? `${printable(ip)}\tNA\tNA\tNA\n`);
  };
  try {
    for (const arg of args) {
      if (arg !== '-') {
        await answer(arg);
        continue;
      }
      for await (const line of createInterface({ input, crlfDelay: Infinity })) {
        const ip = line.trim();
        if (ip !== '') await answer(ip);
      }
    }
    await writer.flush();
  } catch (e) {
    if (!LineWriter.isClosedReader(e)) throw e;
  }
  return bad > 0 ? 1 : 0;
}

/** `ip<TAB>asn<TAB>prefix<TAB>name`, NA where unknown; null when `ip` is not an address. */
export function answerLine(asdb: Asdb, ip: string): string | null {
  let found;
  try {
    found = asdb.lookup(ip);
  } catch (e) {
    if ((e as { code?: string }).code === 'TL_ASDB_ADDRESS') return null;
    throw e;
  }
  if (found === null) return `${ip}\tNA\tNA\tNA\n`;
  return `${ip}\t${found.asn}\t${found.prefix}\t${found.name === null ? 'NA' : printable(found.name)}\n`;
}

async function build(inputs: string[], outFile: string, err: NodeJS.WritableStream & { isTTY?: boolean }): Promise<void> {
  const started = performance.now();
  const asdb = await openAsdb(inputs, openOptions(err));
  await writeBuiltFile(outFile, { index: asdb.index, names: asdb.names, meta: asdb.meta });
  const { size } = await stat(outFile);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  err.write(
    `telnetlogin: wrote ${outFile}: ${asdb.index.v4.countPrefixes()} IPv4 and ${asdb.index.v6.countPrefixes()} IPv6 prefixes, ` +
      `${asdb.names.size} AS names, ${(size / 1e6).toFixed(1)} MB, in ${seconds} s\n`,
  );
}

function openOptions(err: NodeJS.WritableStream & { isTTY?: boolean }): OpenOptions {
  return {
    onProgress: err.isTTY ? progressLine(err) : undefined,
    onWarning: (message) => err.write(`telnetlogin: ${message}\n`),
  };
}

/** Progress on a terminal: one line rewritten at most ten times a second. */
function progressLine(err: NodeJS.WritableStream): NonNullable<OpenOptions['onProgress']> {
  let last = 0;
  return (file, read, size) => {
    const now = performance.now();
    if (read < size && now - last < 100) return;
    last = now;
    const percent = size > 0 ? Math.floor((100 * read) / size) : 100;
    const mb = (n: number) => (n / 1e6).toFixed(1);
    err.write(`\r\x1b[K${file}: ${percent}% (${mb(read)} of ${mb(size)} MB)${read >= size ? '\n' : ''}`);
  };
}

/** Control characters (terminal escapes among them) become `?`. */
function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}

/** Output in chunks of about 64 KiB with backpressure. */
class LineWriter {
  private chunk = '';

  /** `eager`: every line at once (someone is reading a terminal). */
  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly eager: boolean,
  ) {
    // Errors reach the write callbacks; without a listener 'error' would also crash the process.
    out.on('error', () => {});
  }

  /** A reader that went away (`| head`): the output ends quietly. */
  static isClosedReader(err: unknown): boolean {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'EPIPE' || code === 'ERR_STREAM_DESTROYED';
  }

  async write(line: string): Promise<void> {
    this.chunk += line;
    if (this.eager || this.chunk.length >= 64 * 1024) await this.flush();
  }

  flush(): Promise<void> {
    const text = this.chunk;
    this.chunk = '';
    if (text === '') return Promise.resolve();
    return new Promise((resolve, reject) => this.out.write(text, (e) => (e ? reject(e) : resolve())));
  }
}
