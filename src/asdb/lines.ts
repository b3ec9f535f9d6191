// Text inputs as lines, streamed: chunks are decoded as UTF-8 and split on
// LF (a CR before it is dropped). A loader's per-line function throws a plain
// Error for a malformed line; it becomes an AsdbError naming file and line.
import { StringDecoder } from 'node:string_decoder';
import { AsdbError, lineError } from './errors.ts';

/** Longer lines are taken as binary or corrupt input rather than buffered without bound. */
const MAX_LINE = 1024 * 1024;

export async function forEachLine(
  file: string,
  chunks: AsyncIterable<Uint8Array>,
  onLine: (line: string, lineNumber: number) => void,
): Promise<void> {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  let lineNumber = 0;
  const emit = (line: string): void => {
    lineNumber++;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    try {
      onLine(line, lineNumber);
    } catch (err) {
      if (err instanceof AsdbError) throw err;
      throw lineError(file, lineNumber, (err as Error).message);
    }
  };
  for await (const chunk of chunks) {
    const text = pending + decoder.write(chunk as Buffer);
    let start = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
      emit(text.slice(start, nl));
      start = nl + 1;
    }
    pending = text.slice(start);
    if (pending.length > MAX_LINE) throw lineError(file, lineNumber + 1, `line longer than ${MAX_LINE} characters`);
  }
  pending += decoder.end();
  if (pending !== '') emit(pending);
}

/** Whether a line carries no data: empty, or a comment starting with one of `markers`. */
export function isBlankOrComment(line: string, markers: string): boolean {
  if (line.length === 0 || markers.includes(line[0])) return true;
  const c = line.charCodeAt(0);
  return (c === 32 || c === 9) && line.trim() === '';
}

/**
 * A decimal AS number, or an Error naming what was found. AS 0 ("not
 * routed", RFC 7607) is no origin, but AS-name lists name it: `min` 0.
 */
export function parseAsn(text: string, min: 0 | 1 = 1): number {
  const asn = parseDecimal(text, 10);
  if (asn < 0) throw new Error(`bad AS number ${JSON.stringify(text)}`);
  if (asn < min || asn > 0xffffffff) throw new Error(`AS number ${text} out of range ${min}..4294967295`);
  return asn;
}

/** Digits only, at most `maxDigits` of them: the value; anything else: -1. (Hot in loaders: no RegExp.) */
export function parseDecimal(text: string, maxDigits: number): number {
  if (text.length === 0 || text.length > maxDigits) return -1;
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}
