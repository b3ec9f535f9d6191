// IP address text <-> numbers, without allocating on the lookup path.
// IPv4 is one unsigned 32-bit number; IPv6 is four 32-bit words, most
// significant first (the layout the prefix index stores).

/**
 * Parses dotted-quad IPv4 text into an unsigned 32-bit number; -1 if it is
 * not one. A leading zero is refused (octal in some parsers, and refused by
 * Node's net.isIPv4). Unrolled per octet: this is on every lookup's path.
 */
export function parseIPv4(s: string, from = 0, to = s.length): number {
  let value = 0;
  let i = from;
  for (let part = 0; part < 4; part++) {
    if (i >= to) return -1;
    let d = s.charCodeAt(i++) - 48;
    if (d < 0 || d > 9) return -1;
    let octet = d;
    if (i < to && (d = s.charCodeAt(i) - 48) >= 0 && d <= 9) {
      if (octet === 0) return -1;
      octet = octet * 10 + d;
      i++;
      if (i < to && (d = s.charCodeAt(i) - 48) >= 0 && d <= 9) {
        octet = octet * 10 + d;
        i++;
        if (octet > 255) return -1;
      }
    }
    value = value * 256 + octet;
    if (part < 3 && (i >= to || s.charCodeAt(i++) !== 46)) return -1;
  }
  return i === to ? value : -1;
}

// Scratch space for parseIPv6: the eight 16-bit groups as written.
const groups = new Uint16Array(8);
// Hex digit values by character code, -1 for other characters.
const HEX = new Int8Array(128).fill(-1);
for (let d = 0; d < 16; d++) HEX['0123456789abcdef'.charCodeAt(d)] = HEX['0123456789ABCDEF'.charCodeAt(d)] = d;

/**
 * Parses IPv6 text (RFC 4291 forms, including `::` and a dotted IPv4 tail)
 * into `out[0..3]`. Returns false when the text is not an IPv6 address.
 */
export function parseIPv6(s: string, out: Uint32Array, from = 0, to = s.length): boolean {
  if (to - from < 2) return false;
  let count = 0; // groups written
  let gap = -1; // index where `::` stands, -1 when absent
  let i = from;
  if (s.charCodeAt(i) === 58) {
    if (s.charCodeAt(i + 1) !== 58) return false;
    gap = 0;
    i += 2;
  }
  while (i < to) {
    const start = i;
    let group = 0;
    let c = 0;
    for (; i < to; i++) {
      c = s.charCodeAt(i);
      const v = c < 128 ? HEX[c] : -1;
      if (v < 0) break;
      group = (group << 4) | v;
    }
    const digits = i - start;
    if (c === 46 && i < to) {
      // A dotted IPv4 tail takes the place of the last two groups.
      const v4 = count <= 6 ? parseIPv4(s, start, to) : -1;
      if (v4 < 0) return false;
      groups[count++] = v4 >>> 16;
      groups[count++] = v4 & 0xffff;
      break;
    }
    if (digits === 0 || digits > 4 || count === 8) return false;
    groups[count++] = group;
    if (i === to) break;
    if (c !== 58 || ++i === to) return false;
    if (s.charCodeAt(i) === 58) {
      if (gap >= 0) return false;
      gap = count;
      i++;
    }
  }
  if (gap < 0 ? count !== 8 : count > 7) return false;
  if (gap >= 0) {
    // Move the groups written after `::` to the end and zero the gap.
    const shift = 8 - count;
    for (let k = 7; k >= gap + shift; k--) groups[k] = groups[k - shift];
    for (let k = gap; k < gap + shift; k++) groups[k] = 0;
  }
  out[0] = ((groups[0] << 16) | groups[1]) >>> 0;
  out[1] = ((groups[2] << 16) | groups[3]) >>> 0;
  out[2] = ((groups[4] << 16) | groups[5]) >>> 0;
  out[3] = ((groups[6] << 16) | groups[7]) >>> 0;
  return true;
}

/** IPv4 as text. */
export function formatIPv4(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/**
 * IPv6 as RFC 5952 text: lower case, the longest run of two or more zero
 * groups (the first on a tie) written `::`, IPv4-mapped addresses as `::ffff:a.b.c.d`.
 */
export function formatIPv6(w: ArrayLike<number>, offset = 0): string {
  const g: number[] = [];
  for (let k = 0; k < 4; k++) {
    const word = w[offset + k];
    g.push(word >>> 16, word & 0xffff);
  }
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    return `::ffff:${formatIPv4(w[offset + 3])}`;
  }
  let bestStart = -1;
  let bestLen = 1;
  for (let k = 0; k < 8; ) {
    if (g[k] !== 0) {
      k++;
      continue;
    }
    let end = k;
    while (end < 8 && g[end] === 0) end++;
    if (end - k > bestLen) {
      bestStart = k;
      bestLen = end - k;
    }
    k = end;
  }
  if (bestStart < 0) return g.map(hex).join(':');
  const head = g.slice(0, bestStart).map(hex).join(':');
  const tail = g.slice(bestStart + bestLen).map(hex).join(':');
  return `${head}::${tail}`;
}

/** A parsed address: IPv4 as one number, IPv6 as four words. */
export type ParsedAddress = { family: 4; v4: number } | { family: 6; v6: Uint32Array };

/**
 * Parses an IPv4 or IPv6 address. IPv4-mapped IPv6 (`::ffff:a.b.c.d`, what a
 * dual-stack socket reports for an IPv4 client) is returned as IPv4.
 */
export function parseAddress(s: string): ParsedAddress | null {
  const v4 = parseIPv4(s);
  if (v4 >= 0) return { family: 4, v4 };
  const v6 = new Uint32Array(4);
  if (!parseIPv6(s, v6)) return null;
  if (isV4Mapped(v6)) return { family: 4, v4: v6[3] };
  return { family: 6, v6 };
}

export function isV4Mapped(w: ArrayLike<number>): boolean {
  return w[0] === 0 && w[1] === 0 && w[2] === 0xffff;
}

function hex(n: number): string {
  return n.toString(16);
}
