// The project's compact on-disk table (`telnetlogin asdb build`): the typed
// arrays of the prefix index and of the AS names, stored as they are in
// memory, so that loading is one read plus a validation pass.
//
// Layout (integers little-endian):
//   0   8  magic "TLASDB1\n"
//   8   4  length H of the header
//   12  H  header, UTF-8 JSON: { version, created, attribution, sources,
//          sections: { name: [offset, bytes] } }
//   then the sections, each at an offset that is a multiple of 8:
//   v4.starts v4.asns v4.lens v6.starts v6.asns v6.lens (prefix-index.ts)
//   names.asns names.offsets names.blob (names.ts)
import { rename, writeFile, rm } from 'node:fs/promises';
import { endianness } from 'node:os';
import { fileError } from './errors.ts';
import { AsNames } from './names.ts';
import { IPv4Table, IPv6Table, type PrefixIndex } from './prefix-index.ts';

export const BUILT_MAGIC = Buffer.from('TLASDB1\n', 'latin1');
const VERSION = 1;

export interface BuiltMeta {
  /** ISO 8601 time of the build. */
  created: string;
  /** Attribution the data's licence asks for, carried along from the inputs. */
  attribution: string;
  /** The inputs the table was built from. */
  sources: { file: string; format: string }[];
}

export interface BuiltTable {
  index: PrefixIndex;
  names: AsNames;
  meta: BuiltMeta;
}

type SectionName =
  | 'v4.starts' | 'v4.asns' | 'v4.lens' | 'v6.starts' | 'v6.asns' | 'v6.lens'
  | 'names.asns' | 'names.offsets' | 'names.blob';

export function serializeBuilt(table: BuiltTable): Buffer {
  const { v4, v6 } = table.index;
  const arrays: [SectionName, ArrayBufferView][] = [
    ['v4.starts', v4.starts], ['v4.asns', v4.asns], ['v4.lens', v4.lens],
    ['v6.starts', v6.starts], ['v6.asns', v6.asns], ['v6.lens', v6.lens],
    ['names.asns', table.names.asns], ['names.offsets', table.names.offsets], ['names.blob', table.names.blob],
  ];
  const sections: Record<string, [number, number]> = {};
  // The header's length depends on the offsets it lists; fix it at a bound first.
  let headerBytes = 4096;
  for (;;) {
    let at = align8(12 + headerBytes);
    for (const [name, array] of arrays) {
      sections[name] = [at, array.byteLength];
      at = align8(at + array.byteLength);
    }
    const header = Buffer.from(JSON.stringify({ version: VERSION, ...table.meta, sections }), 'utf8');
    if (header.length > headerBytes) {
      headerBytes = header.length * 2;
      continue;
    }
    const out = Buffer.alloc(at);
    BUILT_MAGIC.copy(out, 0);
    out.writeUInt32LE(headerBytes, 8);
    header.copy(out, 12);
    out.fill(0x20, 12 + header.length, 12 + headerBytes); // pad the JSON with spaces
    for (const [name, array] of arrays) {
      const [offset, bytes] = sections[name];
      Buffer.from(array.buffer, array.byteOffset, bytes).copy(out, offset);
      if (endianness() === 'BE' && !(array instanceof Uint8Array)) out.subarray(offset, offset + bytes).swap32();
    }
    return out;
  }
}

/** Writes atomically: a reader never sees half a file. */
export async function writeBuiltFile(path: string, table: BuiltTable): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    await writeFile(tmp, serializeBuilt(table));
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

export function parseBuilt(data: Buffer, file: string): BuiltTable {
  const fail = (problem: string): never => {
    throw fileError(file, `corrupt built table: ${problem}`);
  };
  if (data.length < 12 || !data.subarray(0, 8).equals(BUILT_MAGIC)) fail('bad magic');
  const headerBytes = data.readUInt32LE(8);
  if (12 + headerBytes > data.length) fail('header runs past the end');
  let header: BuiltMeta & { version: number; sections: Record<SectionName, [number, number]> };
  try {
    header = JSON.parse(data.toString('utf8', 12, 12 + headerBytes));
  } catch {
    return fail('header is not JSON');
  }
  if (header.version !== VERSION) fail(`version ${header.version} (this program reads version ${VERSION}; rebuild the file)`);
  const section = (name: SectionName, width: 1 | 4): [number, number] => {
    const entry = header.sections?.[name];
    if (!Array.isArray(entry)) return fail(`section ${name} missing`);
    const [offset, bytes] = entry;
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(bytes) || offset < 0 || bytes < 0 || offset + bytes > data.length || bytes % width !== 0) {
      return fail(`section ${name} is out of bounds`);
    }
    return [offset, bytes];
  };
  const u32 = (name: SectionName): Uint32Array => uint32View(data, ...section(name, 4));
  const u8 = (name: SectionName): Uint8Array => {
    const [offset, bytes] = section(name, 1);
    return data.subarray(offset, offset + bytes);
  };
  try {
    return {
      index: {
        v4: new IPv4Table(u32('v4.starts'), u32('v4.asns'), u8('v4.lens')),
        v6: new IPv6Table(u32('v6.starts'), u32('v6.asns'), u8('v6.lens')),
      },
      names: new AsNames(u32('names.asns'), u32('names.offsets'), u8('names.blob')),
      meta: { created: String(header.created), attribution: String(header.attribution ?? ''), sources: header.sources ?? [] },
    };
  } catch (err) {
    if ((err as { code?: string }).code === 'TL_ASDB_FORMAT') throw err;
    return fail((err as Error).message);
  }
}

/** A view when the bytes are aligned and the host is little-endian, else a copy. */
function uint32View(data: Buffer, offset: number, bytes: number): Uint32Array {
  if (endianness() === 'LE' && (data.byteOffset + offset) % 4 === 0) {
    return new Uint32Array(data.buffer, data.byteOffset + offset, bytes / 4);
  }
  const out = new Uint32Array(bytes / 4);
  for (let i = 0; i < out.length; i++) out[i] = data.readUInt32LE(offset + 4 * i);
  return out;
}

function align8(n: number): number {
  return Math.ceil(n / 8) * 8;
}
