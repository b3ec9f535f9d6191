// Longest-prefix match as a search over flattened intervals.
//
// The builder (index-builder.ts) turns the nested prefixes of a routing table
// into disjoint intervals that cover the whole address space, each carrying
// the origin and length of its most specific covering prefix (or none). The
// answer for an address is then the last interval starting at or below it:
// a binary search over one typed array, no object per prefix. A table of
// buckets over the span of the first 32 bits that holds routes (2^16 for
// IPv4: about the /16s; 2^20 for IPv6: /23s of 2000::/3) narrows the search
// to a few dozen intervals, so a lookup touches few cache lines.
import { formatIPv4, formatIPv6 } from './ip.ts';
import { maskWords, samePrefix } from './words.ts';

/** Length marker of an interval that no prefix covers. */
export const NO_ROUTE = 255;


/** The flattened table of one address family. */
export abstract class IntervalTable {
  /** Interval i starts at starts[i*words .. i*words+words-1] and ends where i+1 starts. */
  readonly starts: Uint32Array;
  /** Origin AS of the prefix covering interval i; 0 (never an origin) where none does. */
  readonly asns: Uint32Array;
  /** Length of that prefix, or NO_ROUTE. */
  readonly lens: Uint8Array;
  /**
   * buckets[b] is the last interval starting at or below the first address
   * of bucket b; the last entry is the last interval. Bucket 0 holds the
   * addresses whose first word is below bucketBase, bucket k >= 1 those whose
   * first word is in bucketBase + [(k-1), k) << bucketShift.
   */
  protected readonly buckets: Uint32Array;
  protected readonly bucketBase: number;
  protected readonly bucketShift: number;
  protected readonly lastBucket: number;
  private prefixTexts: string[] | undefined;

  constructor(
    readonly words: 1 | 4,
    starts: Uint32Array,
    asns: Uint32Array,
    lens: Uint8Array,
    maxBucketBits: number,
  ) {
    this.starts = starts;
    this.asns = asns;
    this.lens = lens;
    validate(words, starts, asns, lens);
    const n = lens.length;
    // The buckets span the first words where nearly all intervals start;
    // the few outliers (bogus routes far from the rest) share the end buckets.
    const quantile = (q: number): number => starts[Math.min(n - 1, Math.max(1, Math.floor(q * n))) * words];
    this.bucketBase = n > 1 ? quantile(0.0005) : 0;
    const span = quantile(0.9995) - this.bucketBase;
    // At most 16 buckets per interval, and at most 2^maxBucketBits.
    const maxBuckets = Math.min(2 ** maxBucketBits, Math.max(256, 16 * n));
    let shift = 0;
    while (span / 2 ** shift >= maxBuckets - 2) shift++;
    this.bucketShift = shift;
    this.lastBucket = Math.floor(span / 2 ** shift) + 1;
    this.buckets = this.bucketTable();
  }

  /** The bucket of an address whose first word is `first`. */
  protected bucketOf(first: number): number {
    if (first < this.bucketBase) return 0;
    const k = ((first - this.bucketBase) >>> this.bucketShift) + 1;
    return k < this.lastBucket ? k : this.lastBucket;
  }

  private bucketTable(): Uint32Array {
    const { words: W, starts } = this;
    const n = this.size;
    const buckets = new Uint32Array(this.lastBucket + 2);
    let p = 0;
    for (let b = 1; b <= this.lastBucket; b++) {
      const boundary = this.bucketBase + (b - 1) * 2 ** this.bucketShift;
      while (p + 1 < n && startsAtOrBelow(starts, (p + 1) * W, W, boundary)) p++;
      buckets[b] = p;
    }
    buckets[this.lastBucket + 1] = n - 1;
    return buckets;
  }

  /** Number of intervals (routed and unrouted). */
  get size(): number {
    return this.lens.length;
  }

  /** The prefix covering interval i, as `network/len` text (cached). */
  prefixText(i: number): string {
    // Filled, not `new Array(n)`: a large holey array would be a slow dictionary.
    this.prefixTexts ??= Array.from({ length: this.size }, () => '');
    let text = this.prefixTexts[i];
    if (text === '') {
      const len = this.lens[i];
      const net = this.starts.slice(i * this.words, i * this.words + this.words);
      maskWords(net, 0, len, this.words);
      text = `${this.words === 1 ? formatIPv4(net[0]) : formatIPv6(net)}/${len}`;
      this.prefixTexts[i] = text;
    }
    return text;
  }

  /** Number of distinct routed prefixes visible through the intervals. */
  countPrefixes(): number {
    let n = 0;
    this.forEachPrefix(() => n++);
    return n;
  }

  /**
   * Calls fn once for every prefix that is the most specific match somewhere,
   * with the interval where it first appears. Adding these prefixes to a new
   * builder reproduces this table (how a built file merges with other inputs).
   */
  forEachPrefix(fn: (interval: number) => void): void {
    const W = this.words;
    // The prefixes enclosing the current interval, outermost first: a prefix
    // reappears after the more specific prefixes nested in it, and is then on top.
    const open: number[] = [];
    for (let i = 0; i < this.size; i++) {
      const len = this.lens[i];
      if (len === NO_ROUTE) continue;
      while (open.length > 0) {
        const top = open[open.length - 1];
        if (len >= this.lens[top] && samePrefix(this.starts, top * W, this.starts, i * W, this.lens[top], W)) break;
        open.pop();
      }
      const top = open.length > 0 ? open[open.length - 1] : -1;
      if (top >= 0 && this.lens[top] === len) continue;
      open.push(i);
      fn(i);
    }
  }
}

/** IPv4: one word per address. */
export class IPv4Table extends IntervalTable {
  constructor(starts: Uint32Array, asns: Uint32Array, lens: Uint8Array) {
    super(1, starts, asns, lens, 16); // about the /16s
  }

  /** The interval holding `ip` (an unsigned 32-bit number) if it is routed, else -1. */
  find(ip: number): number {
    const starts = this.starts;
    const b = this.bucketOf(ip);
    let lo = this.buckets[b];
    let hi = this.buckets[b + 1];
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (starts[mid] <= ip) lo = mid;
      else hi = mid - 1;
    }
    return this.asns[lo] === 0 ? -1 : lo; // asns, not lens: the caller reads asns[lo] next, so one cache miss serves both
  }
}

/** IPv6: four words per address. */
export class IPv6Table extends IntervalTable {
  constructor(starts: Uint32Array, asns: Uint32Array, lens: Uint8Array) {
    // Routes crowd into parts of 2000::/3 (2001::/16 holds a quarter of
    // them): finer buckets (4 MB) shorten the search by a fifth.
    super(4, starts, asns, lens, 20);
  }

  /** The interval holding the address in w[0..3] if it is routed, else -1. */
  find(w: Uint32Array): number {
    const starts = this.starts;
    const a = w[0], b = w[1], c = w[2], d = w[3];
    const bucket = this.bucketOf(a);
    let lo = this.buckets[bucket];
    let hi = this.buckets[bucket + 1];
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      const o = mid * 4;
      const s0 = starts[o];
      let le: boolean;
      if (s0 !== a) le = s0 < a;
      else if (starts[o + 1] !== b) le = starts[o + 1] < b;
      else if (starts[o + 2] !== c) le = starts[o + 2] < c;
      else le = starts[o + 3] <= d;
      if (le) lo = mid;
      else hi = mid - 1;
    }
    return this.asns[lo] === 0 ? -1 : lo; // asns, not lens: the caller reads asns[lo] next, so one cache miss serves both
  }
}

/** Both families. */
export interface PrefixIndex {
  v4: IPv4Table;
  v6: IPv6Table;
}

/** Rejects arrays that do not form a valid table (a corrupt built file, a builder bug). */
function validate(W: number, starts: Uint32Array, asns: Uint32Array, lens: Uint8Array): void {
  const n = lens.length;
  if (n === 0 || asns.length !== n || starts.length !== n * W) throw new Error('interval table: array sizes disagree');
  for (let k = 0; k < W; k++) if (starts[k] !== 0) throw new Error('interval table: first interval must start at 0');
  for (let i = 0; i < n; i++) {
    const len = lens[i];
    if (len !== NO_ROUTE && len > 32 * W) throw new Error(`interval table: bad prefix length ${len} at ${i}`);
    if ((asns[i] === 0) !== (len === NO_ROUTE)) throw new Error(`interval table: AS 0 is no origin (interval ${i})`);
    if (i === 0) continue;
    let order = 0;
    for (let k = 0; k < W && order === 0; k++) {
      const x = starts[(i - 1) * W + k];
      const y = starts[i * W + k];
      if (x !== y) order = x < y ? -1 : 1;
    }
    if (order >= 0) throw new Error(`interval table: starts not increasing at ${i}`);
  }
}

/** Whether the address at starts[o..] is at or below (boundary, 0, 0, 0). */
function startsAtOrBelow(starts: Uint32Array, o: number, W: number, boundary: number): boolean {
  if (starts[o] !== boundary) return starts[o] < boundary;
  for (let k = 1; k < W; k++) if (starts[o + k] !== 0) return false;
  return true;
}
