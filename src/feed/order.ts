// The feed's order: by origin ASN numerically, NA (no origin, ASN 0) first;
// within an ASN by address numerically, IPv4 before IPv6. Two builds of the
// same data are then identical.
//
// Built without a comparator sort over all entries (1 million entries take
// over a second that way): IPv4 addresses are sorted with typed-array sorts
// (a radix pass on the first byte, then numeric sorts of keys that carry
// their index), IPv6 addresses (few) with a comparator, and the address order
// is then grouped by ASN with a stable counting sort.
import type { Pacer } from './pacer.ts';

const LOW_BITS = 2 ** 29; // room for an index within one first-byte bucket

/**
 * Entry indices in feed order. `v4[i]` is entry i's IPv4 address as a number
 * (-1 for IPv6), `v6.get(i)` its IPv6 address as four words; `asn[i]` its
 * origin (0: none); only entries with `keep[i]` are ordered.
 */
export async function feedOrder(
  v4: Float64Array,
  v6: ReadonlyMap<number, Uint32Array>,
  asn: Uint32Array,
  keep: Uint8Array,
  pace: Pacer,
): Promise<Uint32Array> {
  const byAddress = await addressOrder(v4, v6, keep, pace);
  // Each distinct ASN's rank, then a counting sort on the ranks.
  const distinct = new Set<number>();
  for (let k = 0; k < byAddress.length; k++) {
    distinct.add(asn[byAddress[k]!]!);
    if ((k & 0xffff) === 0xffff) await pace();
  }
  const sorted = Uint32Array.from(distinct).sort();
  const rankOf = new Map<number, number>();
  sorted.forEach((a, r) => rankOf.set(a, r));
  const ranks = new Uint32Array(byAddress.length);
  const starts = new Uint32Array(sorted.length + 1);
  for (let k = 0; k < byAddress.length; k++) {
    starts[(ranks[k] = rankOf.get(asn[byAddress[k]!]!)!) + 1]!++;
    if ((k & 0xffff) === 0xffff) await pace();
  }
  for (let r = 1; r <= sorted.length; r++) starts[r]! += starts[r - 1]!;
  const out = new Uint32Array(byAddress.length);
  for (let k = 0; k < byAddress.length; k++) out[starts[ranks[k]!]!++] = byAddress[k]!;
  return out;
}

async function addressOrder(v4: Float64Array, v6: ReadonlyMap<number, Uint32Array>, keep: Uint8Array, pace: Pacer): Promise<Uint32Array> {
  // Counting sort on the first byte of IPv4 addresses.
  const starts = new Uint32Array(257);
  let n4 = 0;
  for (let i = 0; i < v4.length; i++) {
    if (keep[i] && v4[i]! >= 0) {
      starts[(v4[i]! >>> 24) + 1]!++;
      n4++;
    }
  }
  for (let b = 1; b <= 256; b++) starts[b]! += starts[b - 1]!;
  const byFirstByte = new Uint32Array(n4);
  const fill = starts.slice(0, 256);
  for (let i = 0; i < v4.length; i++) if (keep[i] && v4[i]! >= 0) byFirstByte[fill[v4[i]! >>> 24]!++] = i;

  const six = [...v6.keys()].filter((i) => keep[i]);
  const out = new Uint32Array(n4 + six.length);
  for (let b = 0; b < 256; b++) {
    const from = starts[b]!;
    const size = starts[b + 1]! - from;
    if (size === 0) continue;
    if (size >= LOW_BITS) throw new RangeError('too many addresses in one /8 to sort');
    const keys = new Float64Array(size);
    for (let k = 0; k < size; k++) keys[k] = (v4[byFirstByte[from + k]!]! & 0xffffff) * LOW_BITS + k;
    keys.sort();
    for (let k = 0; k < size; k++) out[from + k] = byFirstByte[from + (keys[k]! % LOW_BITS)]!;
    await pace();
  }
  six.sort((a, b) => compare6(v6.get(a)!, v6.get(b)!));
  out.set(six, n4);
  return out;
}

function compare6(a: Uint32Array, b: Uint32Array): number {
  for (let k = 0; k < 4; k++) if (a[k] !== b[k]) return a[k]! - b[k]!;
  return 0;
}
