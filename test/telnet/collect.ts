// Test helper: runs a TelnetParser over chunks and returns its events in a
// canonical form (adjacent data pieces merged), so that any two splits of the
// same bytes can be compared.
import { TelnetParser } from '../../src/telnet/parser.ts';

export type Ev =
  | { t: 'data'; bytes: number[] }
  | { t: 'eol' }
  | { t: 'cmd'; code: number }
  | { t: 'neg'; verb: number; option: number }
  | { t: 'sb'; option: number; bytes: number[]; truncated: boolean };

export function collect(chunks: Uint8Array[], maxSubnegotiation?: number): Ev[] {
  const events: Ev[] = [];
  const parser = new TelnetParser(
    {
      data(bytes) {
        const last = events.at(-1);
        if (last?.t === 'data') last.bytes.push(...bytes);
        else events.push({ t: 'data', bytes: [...bytes] });
      },
      eol: () => events.push({ t: 'eol' }),
      command: (code) => events.push({ t: 'cmd', code }),
      negotiation: (verb, option) => events.push({ t: 'neg', verb, option }),
      subnegotiation: (option, bytes, truncated) => events.push({ t: 'sb', option, bytes: [...bytes], truncated }),
    },
    maxSubnegotiation,
  );
  for (const chunk of chunks) parser.feed(chunk);
  return events;
}

/** Splits bytes at the given cut points (any numbers; taken modulo length). */
export function split(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => (bytes.length ? c % (bytes.length + 1) : 0)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let start = 0;
  for (const p of points) {
    out.push(bytes.subarray(start, p));
    start = p;
  }
  out.push(bytes.subarray(start));
  return out;
}

export function byteByByte(bytes: Uint8Array): Uint8Array[] {
  return Array.from(bytes, (b) => Uint8Array.of(b));
}
