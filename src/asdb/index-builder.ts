// Builds the prefix index from prefixes and ranges as loaders read them.
//
// Rules (the same as pyasn's, so that answers agree on the same input):
// - Longest prefix wins; host bits of a prefix are cleared.
// - The same prefix given twice: a later source overrides an earlier one;
//   within one source the loader's duplicate policy decides (`last` like
//   pyasn's IPASN reader, `first` like pyasn's MRT converter).
// - Ranges (iptoasn, ip-location-db) are split into the fewest CIDR prefixes.
// Everything is kept in growable typed arrays: no object per prefix.
import { IPv4Table, IPv6Table, NO_ROUTE, type IntervalTable, type PrefixIndex } from './prefix-index.ts';
import { compareWords, maskWords, rangeToPrefixes, samePrefix, stepPastPrefix } from './words.ts';

export type DuplicatePolicy = 'first' | 'last';

/** Prefixes of one family in input order. */
class PrefixList {
  length = 0;
  nets: Uint32Array;
  lens: Uint8Array;
  asns: Uint32Array;
  srcs: Uint16Array;

  constructor(readonly W: 1 | 4) {
    this.nets = new Uint32Array(1024 * W);
    this.lens = new Uint8Array(1024);
    this.asns = new Uint32Array(1024);
    this.srcs = new Uint16Array(1024);
  }

  push(net: ArrayLike<number>, netOffset: number, len: number, asn: number, src: number): void {
    if (asn < 1 || asn > 0xffffffff) throw new Error(`AS ${asn} cannot be an origin`); // 0 marks unrouted intervals
    if (this.length === this.lens.length) this.grow();
    const i = this.length++;
    const o = i * this.W;
    for (let k = 0; k < this.W; k++) this.nets[o + k] = net[netOffset + k];
    maskWords(this.nets, o, len, this.W);
    this.lens[i] = len;
    this.asns[i] = asn;
    this.srcs[i] = src;
  }

  private grow(): void {
    const cap = this.lens.length * 2;
    const nets = new Uint32Array(cap * this.W);
    nets.set(this.nets);
    this.nets = nets;
    this.lens = grown(this.lens, new Uint8Array(cap));
    this.asns = grown(this.asns, new Uint32Array(cap));
    this.srcs = grown(this.srcs, new Uint16Array(cap));
  }
}

function grown<T extends Uint8Array | Uint16Array | Uint32Array>(old: T, next: T): T {
  next.set(old);
  return next;
}

export class IndexBuilder {
  private readonly v4 = new PrefixList(1);
  private readonly v6 = new PrefixList(4);
  private readonly policies: DuplicatePolicy[] = [];
  private readonly scratch4 = new Uint32Array(1);

  /** Starts the next source (file); its prefixes override those of earlier sources. */
  beginSource(policy: DuplicatePolicy): void {
    if (this.policies.length === 0xffff) throw new Error('too many routing sources');
    this.policies.push(policy);
  }

  /** Prefixes collected so far (both families). */
  get prefixCount(): number {
    return this.v4.length + this.v6.length;
  }

  addV4(net: number, len: number, asn: number): void {
    this.scratch4[0] = net;
    this.v4.push(this.scratch4, 0, len, asn, this.source());
  }

  /** `net` holds the four words of the network address at `offset`. */
  addV6(net: ArrayLike<number>, offset: number, len: number, asn: number): void {
    this.v6.push(net, offset, len, asn, this.source());
  }

  /** An inclusive range of addresses; start and end hold W words each. */
  addRange(W: 1 | 4, start: Uint32Array, end: Uint32Array, asn: number): void {
    const list = W === 1 ? this.v4 : this.v6;
    const src = this.source();
    rangeToPrefixes(start, end, W, (net, len) => list.push(net, 0, len, asn, src));
  }

  /** Adds every prefix visible in an already built table (a built file merged with other inputs). */
  addTable(table: IntervalTable): void {
    const list = table.words === 1 ? this.v4 : this.v6;
    const src = this.source();
    table.forEachPrefix((i) => list.push(table.starts, i * table.words, table.lens[i], table.asns[i], src));
  }

  build(): PrefixIndex {
    const v4 = flatten(this.v4, this.policies);
    const v6 = flatten(this.v6, this.policies);
    return {
      v4: new IPv4Table(v4.starts, v4.asns, v4.lens),
      v6: new IPv6Table(v6.starts, v6.asns, v6.lens),
    };
  }

  private source(): number {
    if (this.policies.length === 0) throw new Error('IndexBuilder: beginSource() first');
    return this.policies.length - 1;
  }
}

interface Flat {
  starts: Uint32Array;
  asns: Uint32Array;
  lens: Uint8Array;
}

/** Sorts, resolves duplicates and turns nested prefixes into disjoint intervals. */
function flatten(list: PrefixList, policies: DuplicatePolicy[]): Flat {
  const W = list.W;
  const { nets, lens } = list;
  const order = sortedOrder(list);
  const out = new IntervalWriter(W);
  const cursor = new Uint32Array(W); // first address not yet written
  let cursorAtEnd = false;
  const stack: number[] = []; // enclosing prefixes, outermost first
  const end = new Uint32Array(W);

  // Writes the interval from the cursor up to (not including) the address at
  // stop[at..], or to the end of the space when `at` is -1, for prefix `value`
  // (-1: unrouted).
  const writeUntil = (stop: Uint32Array, at: number, value: number): void => {
    if (cursorAtEnd) return;
    if (at >= 0 && compareWords(cursor, 0, stop, at, W) >= 0) return;
    out.push(cursor, value < 0 ? 0 : list.asns[value], value < 0 ? NO_ROUTE : lens[value]);
    if (at < 0) cursorAtEnd = true;
    else for (let w = 0; w < W; w++) cursor[w] = stop[at + w];
  };
  // Closes the innermost open prefix: writes it up to its end.
  const closeTop = (): void => {
    const top = stack.pop()!;
    for (let w = 0; w < W; w++) end[w] = nets[top * W + w];
    writeUntil(end, stepPastPrefix(end, 0, lens[top]) ? 0 : -1, top);
  };

  for (let k = 0; k < order.length; ) {
    // Duplicates of one prefix are adjacent; pick the winner and skip the rest.
    let last = k + 1;
    while (last < order.length && lens[order[last]] === lens[order[k]] && compareWords(nets, order[last] * W, nets, order[k] * W, W) === 0) last++;
    const p = pickDuplicate(order, k, last, list.srcs, policies);
    k = last;

    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      if (samePrefix(nets, top * W, nets, p * W, lens[top], W)) break;
      closeTop();
    }
    writeUntil(nets, p * W, stack.length > 0 ? stack[stack.length - 1] : -1);
    stack.push(p);
  }
  while (stack.length > 0) closeTop();
  writeUntil(end, -1, -1);
  return out.finish();
}

/** The surviving entry among duplicates order[from..to): the latest source, then its policy. */
function pickDuplicate(order: number[], from: number, to: number, srcs: Uint16Array, policies: DuplicatePolicy[]): number {
  const src = srcs[order[to - 1]]; // sorting is stable, so the latest source is last
  if (policies[src] === 'last') return order[to - 1];
  let k = to - 1;
  while (k > from && srcs[order[k - 1]] === src) k--;
  return order[k];
}

/** Entry indices ordered by (network, length), stable. Input is usually sorted already. */
function sortedOrder(list: PrefixList): number[] {
  const { W, nets, lens, length } = list;
  const order = new Array<number>(length);
  for (let i = 0; i < length; i++) order[i] = i;
  const cmp = (a: number, b: number): number => compareWords(nets, a * W, nets, b * W, W) || lens[a] - lens[b];
  let sorted = true;
  for (let i = 1; i < length && sorted; i++) sorted = cmp(i - 1, i) <= 0;
  if (!sorted) order.sort(cmp); // Array.prototype.sort is stable
  return order;
}

/** Appends intervals; neighbouring unrouted intervals become one. */
class IntervalWriter {
  private n = 0;
  private starts: Uint32Array;
  private asns: Uint32Array;
  private lens: Uint8Array;

  constructor(private readonly W: number) {
    this.starts = new Uint32Array(1024 * W);
    this.asns = new Uint32Array(1024);
    this.lens = new Uint8Array(1024);
  }

  push(start: Uint32Array, asn: number, len: number): void {
    const n = this.n;
    if (n > 0 && this.lens[n - 1] === NO_ROUTE && len === NO_ROUTE) return;
    if (n === this.lens.length) {
      this.starts = grown(this.starts, new Uint32Array(this.starts.length * 2));
      this.asns = grown(this.asns, new Uint32Array(n * 2));
      this.lens = grown(this.lens, new Uint8Array(n * 2));
    }
    for (let w = 0; w < this.W; w++) this.starts[n * this.W + w] = start[w];
    this.asns[n] = asn;
    this.lens[n] = len;
    this.n++;
  }

  finish(): Flat {
    return {
      starts: this.starts.slice(0, this.n * this.W),
      asns: this.asns.slice(0, this.n),
      lens: this.lens.slice(0, this.n),
    };
  }
}
