// Which kind of file an input is, told from its content (after
// decompression), never from its name: operators rename files freely.
import { BUILT_MAGIC } from './built-file.ts';
import { fileError } from './errors.ts';
import type { Input } from './input.ts';
import { TABLE_DUMP, TABLE_DUMP_V2 } from './mrt.ts';

export type Format =
  | 'built'
  | 'mmdb'
  | 'mrt'
  | 'ipasn'
  | 'pfx2as'
  | 'iptoasn'
  | 'range-csv'
  | 'names-json'
  | 'names-ripe'
  | 'as2org';

/** Formats that carry AS names only (no routes). */
export const NAME_FORMATS: ReadonlySet<Format> = new Set(['names-json', 'names-ripe', 'as2org']);

const MMDB_MARKER = Buffer.from('\xab\xcd\xefMaxMind.com', 'latin1');

const ADDR = '[0-9A-Fa-f:.]+';
/** The first data line of each line-based format, tried in this order. */
const LINE_FORMATS: [Format, RegExp][] = [
  ['ipasn', new RegExp(`^${ADDR}/\\d{1,3}\\t\\d+`)],
  ['pfx2as', new RegExp(`^${ADDR}\\t\\d{1,3}\\t[\\d_,]+$`)],
  ['iptoasn', new RegExp(`^${ADDR}\\t${ADDR}\\t\\d+\\t`)],
  ['range-csv', new RegExp(`^${ADDR},${ADDR},\\d+,`)],
  ['names-ripe', /^\d+ \S/],
];

const EXPECTED =
  'a pyasn IPASN file, CAIDA pfx2as, iptoasn TSV, ip-location-db CSV, a MaxMind DB, an MRT RIB dump, ' +
  'pyasn AS-name JSON, RIPE-style asn.txt, CAIDA as2org, or a file made by `telnetlogin asdb build`';

export async function detectFormat(input: Input): Promise<Format> {
  if (input.compression === 'none') {
    if (input.magic.subarray(0, BUILT_MAGIC.length).equals(BUILT_MAGIC)) return 'built';
    if (input.tail.includes(MMDB_MARKER)) return 'mmdb';
  }
  const head = await input.head();
  if (head.length === 0) throw fileError(input.file, 'the file is empty');
  if (looksLikeMrt(head)) return 'mrt';
  const format = textFormat(head);
  if (format === null) throw fileError(input.file, `unrecognised content; expected ${EXPECTED}`);
  return format;
}

/** A valid TABLE_DUMP(_V2) header, and a second one where the first record ends, if that is in view. */
function looksLikeMrt(head: Buffer): boolean {
  let at = 0;
  for (let n = 0; n < 2 && at + 12 <= head.length; n++) {
    const type = head.readUInt16BE(at + 4);
    const subtype = head.readUInt16BE(at + 6);
    const length = head.readUInt32BE(at + 8);
    if (type === TABLE_DUMP ? subtype < 1 || subtype > 2 : type !== TABLE_DUMP_V2 || subtype < 1 || subtype > 12) {
      return false;
    }
    at += 12 + length;
  }
  return at > 0;
}

function textFormat(head: Buffer): Format | null {
  if (head.includes(0)) return null;
  const lines = head.toString('utf8').split('\n');
  if (lines.length > 1 && !head.toString('latin1').endsWith('\n')) lines.pop(); // cut off mid-line
  if (lines.some((l) => /^#\s*format:\s*(org_id|aut)\|/.test(l))) return 'as2org';
  const data = lines.map((l) => l.replace(/\r$/, '')).filter((l) => l.trim() !== '' && !/^[#;]/.test(l));
  if (data.length === 0) return null;
  if (data[0].trimStart().startsWith('{')) return 'names-json';
  // The first data line decides; the loader then checks every line and names a bad one.
  for (const [format, pattern] of LINE_FORMATS) if (pattern.test(data[0])) return format;
  return null;
}
