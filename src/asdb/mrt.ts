// MRT routing table dumps (RFC 6396) as a pure byte parser: push() bytes in
// any split, get one route per RIB record. It never touches a file; the
// loader (loaders/mrt.ts) feeds it decompressed bytes.
//
// Read: TABLE_DUMP (type 12, 2-byte AS numbers, one record per prefix and
// peer) and TABLE_DUMP_V2 (type 13) unicast RIBs, with or without ADD-PATH
// (subtypes 2, 4, 8, 10). Skipped: the peer index table and multicast or
// generic RIBs. Any other record type (e.g. BGP4MP update files) is an error:
// it is not a routing table.
import { originFromAsPath } from './origin.ts';

export const TABLE_DUMP = 12;
export const TABLE_DUMP_V2 = 13;

const HEADER = 12;
/** Larger records are taken as corruption (the largest real RIB records are a few hundred KB). */
const MAX_RECORD = 16 * 1024 * 1024;
const ATTR_AS_PATH = 2;

/** One RIB record: the prefix and its origin as chosen by origin.ts (0: none). */
export interface MrtRoute {
  family: 4 | 6;
  /** Network address: words[0] for IPv4, words[0..3] for IPv6 (reused between calls). */
  words: Uint32Array;
  len: number;
  origin: number;
}

export class MrtFormatError extends Error {
  constructor(
    message: string,
    /** 1-based number of the record at fault. */
    readonly record: number,
    /** Byte offset of that record in the decompressed stream. */
    readonly offset: number,
  ) {
    super(`record ${record} (byte ${offset}): ${message}`);
    this.name = 'MrtFormatError';
  }
}

export class MrtParser {
  /** Records read so far. */
  records = 0;
  private offset = 0; // stream offset of the record being read
  private readonly header = new Uint8Array(HEADER);
  private headerFill = 0;
  private body: Uint8Array | null = null;
  private bodyFill = 0;
  private type = 0;
  private subtype = 0;
  private readonly route: MrtRoute = { family: 4, words: new Uint32Array(4), len: 0, origin: 0 };

  constructor(private readonly onRoute: (route: MrtRoute) => void) {}

  push(chunk: Uint8Array): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.body === null) {
        if (this.headerFill === 0 && chunk.length - at >= HEADER) {
          // Fast path: header and, often, the whole record are in this chunk.
          const length = this.startRecord(chunk, at);
          if (chunk.length - at - HEADER >= length) {
            this.finishRecord(chunk.subarray(at + HEADER, at + HEADER + length));
            at += HEADER + length;
            continue;
          }
          this.body = new Uint8Array(length);
          at += HEADER;
          continue;
        }
        const n = Math.min(HEADER - this.headerFill, chunk.length - at);
        this.header.set(chunk.subarray(at, at + n), this.headerFill);
        this.headerFill += n;
        at += n;
        if (this.headerFill < HEADER) return;
        this.headerFill = 0;
        this.body = new Uint8Array(this.startRecord(this.header, 0));
        continue;
      }
      const n = Math.min(this.body.length - this.bodyFill, chunk.length - at);
      this.body.set(chunk.subarray(at, at + n), this.bodyFill);
      this.bodyFill += n;
      at += n;
      if (this.bodyFill === this.body.length) {
        const body = this.body;
        this.body = null;
        this.bodyFill = 0;
        this.finishRecord(body);
      }
    }
    // A record of length 0 completes without any body byte.
    if (this.body !== null && this.body.length === 0) {
      this.body = null;
      this.finishRecord(new Uint8Array(0));
    }
  }

  /** Call at the end of input: a record cut short is an error. */
  end(): void {
    if (this.headerFill > 0 || this.body !== null) {
      throw new MrtFormatError('the dump ends inside this record (file cut short?)', this.records + 1, this.offset);
    }
  }

  private fail(message: string): never {
    throw new MrtFormatError(message, this.records + 1, this.offset);
  }

  /** Reads a record header; returns the body length. */
  private startRecord(bytes: Uint8Array, at: number): number {
    this.type = (bytes[at + 4] << 8) | bytes[at + 5];
    this.subtype = (bytes[at + 6] << 8) | bytes[at + 7];
    const length = ((bytes[at + 8] << 24) | (bytes[at + 9] << 16) | (bytes[at + 10] << 8) | bytes[at + 11]) >>> 0;
    if (this.type !== TABLE_DUMP && this.type !== TABLE_DUMP_V2) {
      this.fail(`MRT type ${this.type} is not a routing table dump (TABLE_DUMP 12 or TABLE_DUMP_V2 13)`);
    }
    if (length > MAX_RECORD) this.fail(`record length ${length} is implausible`);
    return length;
  }

  private finishRecord(body: Uint8Array): void {
    let isRoute: boolean;
    try {
      isRoute = this.type === TABLE_DUMP ? this.tableDump(body) : this.tableDumpV2(body);
    } catch (err) {
      if (err instanceof MrtFormatError) throw err;
      this.fail(err instanceof Error ? err.message : String(err));
    }
    this.records++;
    this.offset += HEADER + body.length;
    if (isRoute) this.onRoute(this.route);
  }

  /** TABLE_DUMP (RFC 6396 4.2): one prefix as seen from one peer, 2-byte AS numbers. */
  private tableDump(b: Uint8Array): boolean {
    if (this.subtype !== 1 && this.subtype !== 2) this.fail(`TABLE_DUMP subtype ${this.subtype} is not AFI IPv4 (1) or IPv6 (2)`);
    const octets = this.subtype === 1 ? 4 : 16;
    const r = this.route;
    need(b, 4 + octets + 6 + octets + 4);
    r.family = this.subtype === 1 ? 4 : 6;
    readAddress(b, 4, octets, r.words);
    r.len = b[4 + octets];
    checkLength(r);
    let at = 4 + octets + 6 + octets + 2; // view, seq, prefix, len, status, time, peer ip, peer as
    const attrLen = (b[at] << 8) | b[at + 1];
    at += 2;
    need(b, at + attrLen);
    r.origin = originOf(b, at, at + attrLen, 2);
    return true;
  }

  /** TABLE_DUMP_V2 RIB records (RFC 6396 4.3.2, RFC 8050 for ADD-PATH): only the first entry counts. */
  private tableDumpV2(b: Uint8Array): boolean {
    const st = this.subtype;
    if (st !== 2 && st !== 4 && st !== 8 && st !== 10) return false; // peer index, multicast, generic
    const r = this.route;
    const octets = st === 2 || st === 8 ? 4 : 16;
    const addPath = st >= 8;
    need(b, 5);
    r.family = octets === 4 ? 4 : 6;
    r.len = b[4];
    checkLength(r);
    const prefixBytes = (r.len + 7) >> 3;
    need(b, 5 + prefixBytes + 2);
    const padded = new Uint8Array(octets);
    padded.set(b.subarray(5, 5 + prefixBytes));
    readAddress(padded, 0, octets, r.words);
    let at = 5 + prefixBytes;
    const entries = (b[at] << 8) | b[at + 1];
    at += 2;
    if (entries === 0) {
      r.origin = 0;
    } else {
      at += 2 + 4 + (addPath ? 4 : 0); // peer index, originated time, path id
      need(b, at + 2);
      const attrLen = (b[at] << 8) | b[at + 1];
      at += 2;
      need(b, at + attrLen);
      r.origin = originOf(b, at, at + attrLen, 4);
    }
    return true;
  }
}

function need(b: Uint8Array, n: number): void {
  if (b.length < n) throw new Error(`record is shorter (${b.length} bytes) than its fields (${n})`);
}

function checkLength(r: MrtRoute): void {
  const max = r.family === 4 ? 32 : 128;
  if (r.len > max) throw new Error(`prefix length ${r.len} exceeds ${max}`);
}

function readAddress(b: Uint8Array, at: number, octets: number, words: Uint32Array): void {
  words.fill(0);
  for (let k = 0; k < octets / 4; k++) {
    const o = at + 4 * k;
    words[k] = ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
  }
}

/** Finds the AS_PATH among the path attributes and returns its origin (0 if none). */
function originOf(b: Uint8Array, from: number, to: number, asSize: 2 | 4): number {
  for (let at = from; at < to; ) {
    if (at + 3 > to) throw new Error('path attribute header is cut off');
    const flags = b[at];
    const type = b[at + 1];
    const extended = (flags & 0x10) !== 0;
    const len = extended ? (b[at + 2] << 8) | b[at + 3] : b[at + 2];
    const value = at + (extended ? 4 : 3);
    if (value + len > to) throw new Error('path attribute is longer than the attributes');
    if (type === ATTR_AS_PATH) return originFromAsPath(b, value, value + len, asSize);
    at = value + len;
  }
  return 0;
}
