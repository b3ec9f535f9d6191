// Addresses as big-endian runs of 32-bit words: one word for IPv4, four for
// IPv6. The index builder works on both families with these helpers, so one
// piece of code sorts, nests and splits prefixes of either family.
// Each function takes the array, the word offset and W (words per address).

/** -1, 0 or 1 as a is below, equal to or above b. */
export function compareWords(a: Uint32Array, ai: number, b: Uint32Array, bi: number, W: number): number {
  for (let k = 0; k < W; k++) {
    const x = a[ai + k];
    const y = b[bi + k];
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/** Clears every bit after the first `len` (host bits of a prefix). */
export function maskWords(a: Uint32Array, ai: number, len: number, W: number): void {
  for (let k = 0; k < W; k++) {
    const keep = len - 32 * k;
    if (keep >= 32) continue;
    a[ai + k] = keep <= 0 ? 0 : (a[ai + k] & ~(0xffffffff >>> keep)) >>> 0;
  }
}

/** Whether the first `len` bits of a and b are equal (b lies in prefix a/len). */
export function samePrefix(a: Uint32Array, ai: number, b: Uint32Array, bi: number, len: number, W: number): boolean {
  for (let k = 0; k < W; k++) {
    const bits = len - 32 * k;
    if (bits <= 0) return true;
    const x = a[ai + k] ^ b[bi + k];
    if (bits >= 32 ? x !== 0 : x >>> (32 - bits) !== 0) return false;
  }
  return true;
}

const POW2 = Array.from({ length: 32 }, (_, p) => 2 ** p);

/**
 * Moves a /len prefix's network address to the first address after the
 * prefix (adds the prefix's size; the words past the prefix's last bit are
 * not touched). Returns false when that passes the end of the space.
 */
export function stepPastPrefix(a: Uint32Array, ai: number, len: number): boolean {
  if (len === 0) return false;
  let k = (len - 1) >>> 5;
  let add = POW2[32 * (k + 1) - len];
  for (; k >= 0; k--) {
    const sum = a[ai + k] + add;
    a[ai + k] = sum >>> 0;
    if (sum <= 0xffffffff) return true;
    add = 1;
  }
  return false;
}

/** Number of trailing zero bits (32W for zero). */
export function trailingZeros(a: Uint32Array, ai: number, W: number): number {
  let n = 0;
  for (let k = W - 1; k >= 0; k--) {
    const x = a[ai + k];
    if (x === 0) {
      n += 32;
      continue;
    }
    return n + 31 - Math.clz32(x & -x);
  }
  return n;
}

/** Sets the lowest `bits` bits. */
export function setLowBits(a: Uint32Array, ai: number, bits: number, W: number): void {
  for (let k = W - 1; k >= 0 && bits > 0; k--, bits -= 32) {
    a[ai + k] = bits >= 32 ? 0xffffffff : (a[ai + k] | (0xffffffff >>> (32 - bits))) >>> 0;
  }
}

/**
 * Splits the inclusive range [start, end] into the fewest CIDR prefixes and
 * calls `emit(net, len)` for each, lowest first. `net` is reused between calls.
 */
export function rangeToPrefixes(
  start: Uint32Array,
  end: Uint32Array,
  W: number,
  emit: (net: Uint32Array, len: number) => void,
): void {
  const bits = 32 * W;
  const net = start.slice(0, W);
  const last = new Uint32Array(W);
  for (;;) {
    // The largest block aligned at `net` that does not pass `end`.
    let size = Math.min(trailingZeros(net, 0, W), bits);
    for (;;) {
      last.set(net);
      setLowBits(last, 0, size, W);
      if (compareWords(last, 0, end, 0, W) <= 0) break;
      size--;
    }
    emit(net, bits - size);
    if (compareWords(last, 0, end, 0, W) === 0) return;
    if (!stepPastPrefix(net, 0, bits - size)) return;
  }
}
