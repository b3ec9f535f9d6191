// The public face of route origin lookups: open routing data (any format,
// detected from content) and ask for the origin AS of an address.
//
//   const asdb = await openAsdb(['rib.20240101.0000.bz2', 'asn.txt']);
//   asdb.lookup('193.0.6.139')  // { asn: 3333, prefix: '193.0.0.0/21', name: 'RIPE-NCC-AS ...' }
//
// With no routing table among the files, the embedded default table is used
// (default-data.ts), with any AS-name files given on top.
import { basename, join } from 'node:path';
import { mkdir } from 'node:fs/promises';
import { parseBuilt, writeBuiltFile, type BuiltMeta, type BuiltTable } from './built-file.ts';
import { detectFormat, NAME_FORMATS, type Format } from './detect.ts';
import { AsdbError } from './errors.ts';
import { defaultCacheDir, defaultData, DEFAULT_ASDB_ATTRIBUTION, DEFAULT_ASDB_PACKAGE } from './default-data.ts';
import { IndexBuilder } from './index-builder.ts';
import { Input, type InputOptions } from './input.ts';
import { isV4Mapped, parseIPv4, parseIPv6 } from './ip.ts';
import type { Loader } from './loaders/common.ts';
import { loadAs2org } from './loaders/as2org.ts';
import { loadIpasn } from './loaders/ipasn.ts';
import { loadIptoasn } from './loaders/iptoasn.ts';
import { loadMmdb } from './loaders/mmdb.ts';
import { loadMrt } from './loaders/mrt.ts';
import { loadNamesJson } from './loaders/names-json.ts';
import { loadNamesRipe } from './loaders/names-ripe.ts';
import { loadPfx2as } from './loaders/pfx2as.ts';
import { loadRangeCsv } from './loaders/range-csv.ts';
import { AsNames, NamesBuilder } from './names.ts';
import type { IntervalTable, PrefixIndex } from './prefix-index.ts';

export { DEFAULT_ASDB_ATTRIBUTION } from './default-data.ts';

export interface AsdbAnswer {
  /** The origin AS of the most specific prefix holding the address. */
  readonly asn: number;
  /** That prefix, `network/len`. */
  readonly prefix: string;
  readonly name: string | null;
}

/** An answer whose prefix text is made only when read: most callers want just the AS. */
class Origin implements AsdbAnswer {
  readonly #table: IntervalTable;
  readonly #interval: number;

  constructor(
    readonly asn: number,
    readonly name: string | null,
    table: IntervalTable,
    interval: number,
  ) {
    this.#table = table;
    this.#interval = interval;
  }

  get prefix(): string {
    return this.#table.prefixText(this.#interval);
  }

  toJSON(): { asn: number; prefix: string; name: string | null } {
    return { asn: this.asn, prefix: this.prefix, name: this.name };
  }
}

export interface OpenOptions extends InputOptions {
  /** Where the built form of the embedded default table is cached; null: never cache. Default: defaultCacheDir(). */
  cacheDir?: string | null;
  /** Told about problems that do not stop the opening (a cache that cannot be written). */
  onWarning?: (message: string) => void;
}

const LOADERS: Record<Exclude<Format, 'built'>, Loader> = {
  mmdb: loadMmdb,
  mrt: loadMrt,
  ipasn: loadIpasn,
  pfx2as: loadPfx2as,
  iptoasn: loadIptoasn,
  'range-csv': loadRangeCsv,
  'names-json': loadNamesJson,
  'names-ripe': loadNamesRipe,
  as2org: loadAs2org,
};

export class Asdb {
  /** The IPv6 address of the last parse, when it was one. */
  private readonly words = new Uint32Array(4);

  constructor(
    readonly index: PrefixIndex,
    readonly names: AsNames,
    readonly meta: BuiltMeta,
  ) {}

  /** Attribution text to show with answers (the data's licence may require it). */
  get attribution(): string {
    return this.meta.attribution;
  }

  /**
   * The origin of an address (IPv4, IPv6, or IPv4-mapped IPv6, which is looked
   * up as IPv4); null when no prefix covers it. Throws AsdbError
   * TL_ASDB_ADDRESS when `ip` is not an address.
   */
  lookup(ip: string): AsdbAnswer | null {
    const v4 = this.parse(ip);
    if (v4 >= 0) {
      const i = this.index.v4.find(v4);
      return i < 0 ? null : this.answer(this.index.v4, i);
    }
    const i = this.index.v6.find(this.words);
    return i < 0 ? null : this.answer(this.index.v6, i);
  }

  /** Just the origin AS (0: none); the fast path for bulk work. */
  asn(ip: string): number {
    const v4 = this.parse(ip);
    if (v4 >= 0) {
      const i = this.index.v4.find(v4);
      return i < 0 ? 0 : this.index.v4.asns[i];
    }
    const i = this.index.v6.find(this.words);
    return i < 0 ? 0 : this.index.v6.asns[i];
  }

  name(asn: number): string | null {
    return this.names.get(asn);
  }

  private answer(table: IntervalTable, i: number): AsdbAnswer {
    const asn = table.asns[i];
    return new Origin(asn, this.names.get(asn), table, i);
  }

  /** The IPv4 address as a number, or -1 with the IPv6 address in this.words. */
  private parse(ip: string): number {
    const v4 = parseIPv4(ip);
    if (v4 >= 0) return v4;
    if (!parseIPv6(ip, this.words)) throw new AsdbError('TL_ASDB_ADDRESS', `not an IP address: ${JSON.stringify(ip)}`);
    return isV4Mapped(this.words) ? this.words[3] : -1;
  }
}

/**
 * Opens routing tables and AS-name files (formats detected from content).
 * Later files override earlier ones on the same prefix or AS; AS-name files
 * override the names routing tables carry. Without any routing table among
 * `files`, the embedded default table is used. A malformed file fails the
 * whole opening with an AsdbError naming the file and line.
 */
export async function openAsdb(files: readonly string[], options: OpenOptions = {}): Promise<Asdb> {
  if (files.length === 0) return openDefault(options);
  const opened: Input[] = [];
  try {
    const inputs: { input: Input; format: Format }[] = [];
    for (const file of files) {
      const input = await Input.open(file, options);
      opened.push(input);
      inputs.push({ input, format: await detectFormat(input) });
    }
    return await load(inputs, options);
  } finally {
    // After a failure, the inputs not read to their end still hold files (and a bzip2 process).
    await Promise.all(opened.map((input) => input.close()));
  }
}

async function load(inputs: { input: Input; format: Format }[], options: OpenOptions): Promise<Asdb> {
  if (inputs.length === 1 && inputs[0].format === 'built') return fromBuilt(await readBuilt(inputs[0].input));

  const routingCount = inputs.filter(({ format }) => !NAME_FORMATS.has(format)).length;
  const routes = new IndexBuilder();
  const names = new NamesBuilder();
  const attributions = new Set<string>();
  let index: PrefixIndex | null = null; // the one routing table, when it can be used as it is
  if (routingCount === 0) {
    const fallback = await openDefault(options);
    index = fallback.index;
    names.addAll(fallback.names, 'routing-table');
    attributions.add(fallback.attribution);
  }
  // Routing tables first, so that the builder's memory is gone before AS names are read.
  const routingFirst = [...inputs.filter(({ format }) => !NAME_FORMATS.has(format)), ...inputs.filter(({ format }) => NAME_FORMATS.has(format))];
  for (const { input, format } of routingFirst) {
    if (NAME_FORMATS.has(format)) index ??= routes.build();
    if (format === 'built') {
      const table = await readBuilt(input);
      if (routingCount === 1) {
        index = table.index;
      } else {
        routes.beginSource('last');
        routes.addTable(table.index.v4);
        routes.addTable(table.index.v6);
      }
      names.addAll(table.names, 'routing-table');
      if (table.meta.attribution) attributions.add(table.meta.attribution);
    } else {
      await LOADERS[format](input, { routes, names });
      if (!NAME_FORMATS.has(format)) attributions.add(`route origins from ${basename(input.file)} (${format})`);
    }
  }
  const meta: BuiltMeta = {
    created: new Date().toISOString(),
    attribution: [...attributions].join('; '),
    sources: inputs.map(({ input, format }) => ({ file: basename(input.file), format })),
  };
  return new Asdb(index ?? routes.build(), names.build(), meta);
}

async function readBuilt(input: Input): Promise<BuiltTable> {
  return parseBuilt(await input.readAll(), input.file);
}

function fromBuilt(table: BuiltTable): Asdb {
  return new Asdb(table.index, table.names, table.meta);
}

/** The embedded default table, from its cached built form when there is one. */
async function openDefault(options: OpenOptions): Promise<Asdb> {
  const data = defaultData();
  const cacheDir = options.cacheDir === undefined ? defaultCacheDir() : options.cacheDir;
  const cache = cacheDir === null ? null : join(cacheDir, `default-asn-${data.version}.tlasdb`);
  if (cache !== null) {
    try {
      return fromBuilt(await readBuilt(await Input.open(cache)));
    } catch (err) {
      // Not built yet (or damaged): build it below.
      if ((err as AsdbError).code !== 'TL_ASDB_IO') options.onWarning?.(`${(err as Error).message}; rebuilding`);
    }
  }
  const built = await openAsdb(data.files, { ...options, cacheDir: null });
  const asdb = new Asdb(built.index, built.names, {
    created: built.meta.created,
    attribution: DEFAULT_ASDB_ATTRIBUTION,
    sources: [{ file: `${DEFAULT_ASDB_PACKAGE}@${data.version}`, format: 'range-csv' }],
  });
  if (cache !== null) {
    try {
      await mkdir(cacheDir!, { recursive: true });
      await writeBuiltFile(cache, { index: asdb.index, names: asdb.names, meta: asdb.meta });
    } catch (err) {
      options.onWarning?.(`cannot cache the default routing table in ${cache}: ${(err as Error).message}`);
    }
  }
  return asdb;
}
