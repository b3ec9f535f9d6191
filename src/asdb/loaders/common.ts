// What every loader gets, and the address parsing the text formats share.
import type { IndexBuilder } from '../index-builder.ts';
import type { Input } from '../input.ts';
import { parseIPv4, parseIPv6 } from '../ip.ts';
import { parseDecimal } from '../lines.ts';
import type { NamesBuilder } from '../names.ts';

export interface LoadTarget {
  routes: IndexBuilder;
  names: NamesBuilder;
}

/** Reads one input into the target; throws an AsdbError naming file and line on bad content. */
export type Loader = (input: Input, target: LoadTarget) => Promise<void>;

const words = new Uint32Array(4);
const endWords = new Uint32Array(4);

/** Parses `addr` into `out`; returns the family, or throws naming the text. */
function parseInto(addr: string, out: Uint32Array): 4 | 6 {
  const v4 = parseIPv4(addr);
  if (v4 >= 0) {
    out[0] = v4;
    return 4;
  }
  if (parseIPv6(addr, out)) return 6;
  throw new Error(`bad IP address ${JSON.stringify(addr)}`);
}

function parseLength(text: string, family: 4 | 6): number {
  const len = parseDecimal(text, 3);
  if (len < 0 || len > (family === 4 ? 32 : 128)) throw new Error(`bad prefix length ${JSON.stringify(text)}`);
  return len;
}

/** Adds the prefix `addr/lenText` (host bits are cleared, as pyasn does). */
export function addPrefix(routes: IndexBuilder, addr: string, lenText: string, asn: number): void {
  const family = parseInto(addr, words);
  const len = parseLength(lenText, family);
  if (family === 4) routes.addV4(words[0], len, asn);
  else routes.addV6(words, 0, len, asn);
}

/** Adds the inclusive address range `first`..`last` (same family, first <= last). */
export function addRange(routes: IndexBuilder, first: string, last: string, asn: number): void {
  const family = parseInto(first, words);
  if (parseInto(last, endWords) !== family) throw new Error(`range ${first} - ${last} mixes IPv4 and IPv6`);
  const W = family === 4 ? 1 : 4;
  for (let k = 0; k < W; k++) {
    if (words[k] !== endWords[k]) {
      if (words[k] > endWords[k]) throw new Error(`range ${first} - ${last} ends before it starts`);
      break;
    }
  }
  routes.addRange(W, words, endWords, asn);
}
