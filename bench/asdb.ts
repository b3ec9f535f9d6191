// Route origin lookups: load time and memory of the full 2015 table (text,
// built file, and the embedded default), and lookups per second for IPv4 and
// IPv6, from strings and from parsed addresses, side by side with the
// `maxmind` reader and mmdb-lib on an mmdb of the same table, and pyasn.
//
//   npm run bench:asdb
//
// The mmdb is written by Debian's libmaxmind-db-writer-perl into a temp dir
// (skipped with a note when the module is missing); pyasn runs through
// Debian's python3-pyasn (skipped likewise). Throughput is the best of
// several rounds over the same 1M addresses (the machine is shared), each
// engine on the same addresses.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import maxmind from 'maxmind';
import { Reader, type AsnResponse } from 'mmdb-lib';
import { openAsdb, type Asdb } from '../src/asdb/asdb.ts';
import { writeBuiltFile } from '../src/asdb/built-file.ts';
import { formatIPv4, formatIPv6 } from '../src/asdb/ip.ts';
import { NO_ROUTE } from '../src/asdb/prefix-index.ts';
import { table } from './lib/table.ts';

const ROUTING = fileURLToPath(new URL('../../shared/data/routing/', import.meta.url));
const TABLE = join(ROUTING, 'ipasn6_20151101.dat.gz');
const NAMES = join(ROUTING, 'asnames.json.gz');
const WORK = join(tmpdir(), 'telnetlogin-bench-asdb');
const N = 1 << 20;
const ROUNDS = 5;

// --- child mode: one load, measured in a fresh process ----------------------
if (process.argv[2] === '--load') {
  const files = process.argv.slice(3).filter((f) => f !== '-');
  const cacheDir = process.env.BENCH_CACHE_DIR ?? null;
  globalThis.gc!();
  const before = process.memoryUsage();
  const started = performance.now();
  const asdb = await openAsdb(files, { cacheDir });
  const ms = performance.now() - started;
  // Typed arrays' memory goes back after a GC and a turn of the event loop.
  for (let i = 0; i < 3; i++) {
    globalThis.gc!();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const after = process.memoryUsage();
  const retained = after.heapUsed + after.external - before.heapUsed - before.external;
  const peakGrowth = process.resourceUsage().maxRSS * 1024 - before.rss;
  process.stdout.write(JSON.stringify({ ms, retained, peakGrowth, v4: asdb.index.v4.size, v6: asdb.index.v6.size }));
  process.exit(0);
}

if (!existsSync(TABLE)) {
  console.log(`bench:asdb: ${TABLE} is absent (../shared/data is not part of a clone); nothing to measure.`);
  process.exit(0);
}
mkdirSync(WORK, { recursive: true });

const flat = (s: string): string => Buffer.from(s, 'latin1').toString('latin1'); // as read from a socket or file
const mb = (bytes: number): string => (bytes / 1e6).toFixed(1);

function measureLoad(files: string[], cacheDir?: string): { ms: number; retained: number; peakGrowth: number } {
  const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', fileURLToPath(import.meta.url), '--load', ...files, '-'], {
    encoding: 'utf8',
    env: { ...process.env, ...(cacheDir ? { BENCH_CACHE_DIR: cacheDir } : {}) },
  });
  if (r.status !== 0) throw new Error(`load of ${files.join(' ')} failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

// --- load time and memory -------------------------------------------------
console.log('Loading (each in a fresh process; memory retained = heap + typed arrays after GC)');
const asdb = await openAsdb([TABLE, NAMES]);
const built = join(WORK, 'ipasn6_20151101.tlasdb');
await writeBuiltFile(built, { index: asdb.index, names: asdb.names, meta: asdb.meta });
const defaultCache = join(WORK, 'default-cache');
mkdirSync(defaultCache, { recursive: true });
measureLoad([], defaultCache); // make sure the default's cache exists
const loads: [string, string[], string | undefined][] = [
  [`2015 table, pyasn text (${mb(statSync(TABLE).size)} MB .gz)`, [TABLE], undefined],
  [`2015 table + AS names, text`, [TABLE, NAMES], undefined],
  [`2015 table + AS names, built file (${mb(statSync(built).size)} MB)`, [built], undefined],
  ['embedded default, from its CSV', [], undefined],
  ['embedded default, from its cached built file', [], defaultCache],
];
const loadRows = loads.map(([label, files, cacheDir]) => {
  const runs = [0, 1, 2].map(() => measureLoad(files, cacheDir));
  const best = runs.reduce((a, b) => (b.ms < a.ms ? b : a));
  return [label, best.ms.toFixed(0), mb(best.retained), mb(best.peakGrowth)];
});
console.log(table(['input', 'load ms', 'retained MB', 'peak RSS growth MB'], loadRows));
console.log(
  `(${asdb.index.v4.countPrefixes()} IPv4 + ${asdb.index.v6.countPrefixes()} IPv6 prefixes are a longest match somewhere -> ${asdb.index.v4.size} + ${asdb.index.v6.size} intervals)\n`,
);

// --- addresses --------------------------------------------------------------
// IPv4: uniformly random over the whole space (what pyasn's own benchmark does).
// IPv6: random host bits inside randomly chosen routed prefixes (uniform IPv6
// addresses would almost all fall outside 2000::/3 and miss).
let seed = 12345;
const rand32 = (): number => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0);
const v4nums = new Uint32Array(N).map(() => rand32());
const v4strs = Array.from(v4nums, (n) => flat(formatIPv4(n)));
const v6 = asdb.index.v6;
const v6words = new Uint32Array(4 * N);
for (let i = 0; i < N; i++) {
  let j = rand32() % v6.size;
  while (v6.lens[j] === NO_ROUTE) j = (j + 1) % v6.size;
  for (let k = 0; k < 4; k++) v6words[4 * i + k] = v6.starts[4 * j + k];
  v6words[4 * i + 2] ^= rand32() & 0xffff; // host bits of typical /32../48 routes
  v6words[4 * i + 3] = rand32();
}
const v6strs = Array.from({ length: N }, (_, i) => flat(formatIPv6(v6words, 4 * i)));

/** Lookups per second (millions): best of ROUNDS passes over all N addresses. */
function rate(pass: () => number): number {
  let best = Infinity;
  let check = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = performance.now();
    check += pass();
    best = Math.min(best, performance.now() - t0);
  }
  if (Number.isNaN(check)) throw new Error('unreachable');
  return N / best / 1000;
}

// --- the same table as an mmdb ----------------------------------------------
function buildMmdb(): string | null {
  const file = join(WORK, 'ipasn6_20151101.mmdb');
  if (existsSync(file)) return file;
  try {
    execFileSync('perl', ['-MMaxMind::DB::Writer::Tree', '-e', '1'], { stdio: 'ignore' });
  } catch {
    return null;
  }
  // Shortest prefixes first: the writer replaces what a later network covers.
  const lines: [number, string][] = [];
  for (const t of [asdb.index.v4, asdb.index.v6]) {
    t.forEachPrefix((i) => {
      const name = asdb.names.get(t.asns[i]) ?? '';
      lines.push([t.lens[i] + (t.words === 1 ? 0 : 1000), `${t.prefixText(i)}\t${t.asns[i]}\t${name}`]);
    });
  }
  lines.sort((a, b) => (a[0] % 1000) - (b[0] % 1000));
  const script = join(WORK, 'write-mmdb.pl');
  writeFileSync(script, PERL_WRITER);
  console.log(`building ${file} with MaxMind::DB::Writer (${lines.length} networks, once)...`);
  execFileSync('perl', [script, file], { input: lines.map(([, l]) => l).join('\n') + '\n', stdio: ['pipe', 'inherit', 'inherit'] });
  return file;
}

const PERL_WRITER = `use strict; use warnings;
use MaxMind::DB::Writer::Tree;
my %types = (autonomous_system_number => 'uint32', autonomous_system_organization => 'utf8_string');
my $tree = MaxMind::DB::Writer::Tree->new(ip_version => 6, record_size => 28, database_type => 'GeoLite2-ASN',
  languages => ['en'], description => { en => 'telnetlogin benchmark: pyasn ipasn6_20151101' },
  map_key_type_callback => sub { $types{ $_[0] } }, remove_reserved_networks => 0);
binmode STDIN, ':encoding(UTF-8)';
while (my $line = <STDIN>) {
  chomp $line;
  my ($net, $asn, $name) = split /\\t/, $line, 3;
  my %rec = (autonomous_system_number => $asn);
  $rec{autonomous_system_organization} = $name if defined $name && length $name;
  $tree->insert_network($net, \\%rec);
}
open my $fh, '>:raw', $ARGV[0] or die $!;
$tree->write_tree($fh);
`;

// --- throughput -------------------------------------------------------------
interface Row {
  engine: string;
  v4: number | null;
  v6: number | null;
}
const rows: Row[] = [];
const w = new Uint32Array(4);
const t4 = asdb.index.v4;
rows.push({
  engine: 'telnetlogin, parsed addresses (index.find)',
  v4: rate(() => {
    let x = 0;
    for (let i = 0; i < N; i++) {
      const j = t4.find(v4nums[i]);
      if (j >= 0) x += t4.asns[j];
    }
    return x;
  }),
  v6: rate(() => {
    let x = 0;
    for (let i = 0; i < N; i++) {
      w[0] = v6words[4 * i];
      w[1] = v6words[4 * i + 1];
      w[2] = v6words[4 * i + 2];
      w[3] = v6words[4 * i + 3];
      const j = v6.find(w);
      if (j >= 0) x += v6.asns[j];
    }
    return x;
  }),
});
const fromStrings = (fn: (ip: string) => number): [number, number] => [
  rate(() => {
    let x = 0;
    for (let i = 0; i < N; i++) x += fn(v4strs[i]);
    return x;
  }),
  rate(() => {
    let x = 0;
    for (let i = 0; i < N; i++) x += fn(v6strs[i]);
    return x;
  }),
];
const ours = (a: Asdb) => (ip: string) => a.asn(ip);
const oursFull = (a: Asdb) => (ip: string) => a.lookup(ip)?.asn ?? 0;
let [v4s, v6s] = fromStrings(ours(asdb));
rows.push({ engine: 'telnetlogin, strings: asn(ip)', v4: v4s, v6: v6s });
[v4s, v6s] = fromStrings(oursFull(asdb));
rows.push({ engine: 'telnetlogin, strings: lookup(ip) -> {asn, name, prefix}', v4: v4s, v6: v6s });

const mmdbFile = buildMmdb();
const notes: string[] = [];
if (mmdbFile === null) {
  notes.push('maxmind / mmdb-lib: skipped, Perl module MaxMind::DB::Writer missing (apt-get install libmaxmind-db-writer-perl)');
} else {
  const mm = await maxmind.open<AsnResponse>(mmdbFile);
  const lib = new Reader<AsnResponse>(readFileSync(mmdbFile));
  // The same answers first: the comparison is only fair on the same table.
  let differ = 0;
  for (let i = 0; i < 100000; i++) {
    for (const ip of [v4strs[i], v6strs[i]]) if ((lib.get(ip)?.autonomous_system_number ?? 0) !== asdb.asn(ip)) differ++;
  }
  notes.push(`mmdb of the same table: ${differ} of 200000 sampled answers differ from telnetlogin's`);
  [v4s, v6s] = fromStrings((ip) => mm.get(ip)?.autonomous_system_number ?? 0);
  rows.push({ engine: 'maxmind 5 reader: get(ip) (default LRU cache)', v4: v4s, v6: v6s });
  [v4s, v6s] = fromStrings((ip) => lib.get(ip)?.autonomous_system_number ?? 0);
  rows.push({ engine: 'mmdb-lib 3 Reader: get(ip)', v4: v4s, v6: v6s });
}

function pyasnRate(ips: string[]): number | null {
  const program = `
import pyasn, sys, time
db = pyasn.pyasn(${JSON.stringify(TABLE)})
ips = sys.stdin.read().split()
best = 0
for r in range(3):
    t = time.perf_counter()
    for ip in ips:
        db.lookup(ip)
    best = max(best, len(ips) / (time.perf_counter() - t))
print(best)`;
  const r = spawnSync('/usr/bin/python3', ['-c', program], { input: ips.join('\n'), encoding: 'utf8', maxBuffer: 1 << 26 });
  return r.status === 0 ? Number(r.stdout) / 1e6 : null;
}
const py4 = pyasnRate(v4strs.slice(0, 200000));
if (py4 === null) notes.push('pyasn: skipped, python3-pyasn missing (apt-get install python3-pyasn)');
else rows.push({ engine: 'pyasn 1.6 (C radix), lookup(ip), 200k addresses', v4: py4, v6: pyasnRate(v6strs.slice(0, 200000)) });

const fmt = (x: number | null): string => (x === null ? '-' : x.toFixed(2));
console.log(`Lookups, millions per second (best of ${ROUNDS} passes over ${N} addresses; one core)`);
console.log(table(['engine', 'IPv4', 'IPv6'], rows.map((r) => [r.engine, fmt(r.v4), fmt(r.v6)])));
const mmRow = rows.find((r) => r.engine.startsWith('maxmind'));
const ourRow = rows.find((r) => r.engine === 'telnetlogin, strings: lookup(ip) -> {asn, name, prefix}')!;
if (mmRow) {
  console.log(
    `telnetlogin lookup() vs the maxmind reader, from strings: ${(ourRow.v4! / mmRow.v4!).toFixed(1)}x (IPv4), ${(ourRow.v6! / mmRow.v6!).toFixed(1)}x (IPv6)`,
  );
}
for (const note of notes) console.log(note);
