// Which AS originates a route: the rule of pyasn's MRT converter
// (pyasn/mrtx.py, `get_origin_as` and `dump_prefixes_to_file`), reproduced
// exactly so that a table built here from an MRT dump answers like pyasn's
// IPASN file made from the same dump.
//
// - Only the first RIB entry of a prefix counts (the collector's first peer);
//   a prefix repeated later in the dump keeps its first origin.
// - The origin is found walking the AS_PATH segments from the last:
//   in an AS_SEQUENCE, the last AS that is not bogus (isBogusAsn);
//   in an AS_SET (route aggregation), one of its non-bogus members, chosen as
//   pyasn does: the first member in CPython's set iteration order
//   (pythonSetFirst). A segment with no usable AS passes to the one before.
// - No usable AS at all (an empty AS_PATH, e.g. a route originated by the
//   collector's peer itself) gives no origin: the record is skipped, as with
//   pyasn's --skip-on-error. pyasn stops with an error on confederation
//   segments; here they are passed over like a segment without a usable AS.

export const AS_SET = 1;
export const AS_SEQUENCE = 2;

/** pyasn's `is_asn_bogus`: private-use, reserved, or above the allocated range. */
export function isBogusAsn(asn: number): boolean {
  return asn <= 0 || (asn >= 64496 && asn <= 131071) || asn >= 1000000;
}

/**
 * The origin AS of an AS_PATH attribute value (`bytes[from..to)`), whose AS
 * numbers are `asSize` (2 or 4) bytes wide; 0 when there is none. Throws on a
 * malformed path.
 */
export function originFromAsPath(bytes: Uint8Array, from: number, to: number, asSize: 2 | 4): number {
  // Segment offsets, found walking forward; the origin is searched from the last.
  const segments: number[] = [];
  for (let at = from; at < to; ) {
    if (at + 2 > to) throw new Error('AS_PATH segment header is cut off');
    const count = bytes[at + 1];
    segments.push(at);
    at += 2 + count * asSize;
    if (at > to) throw new Error('AS_PATH segment is longer than the attribute');
  }
  for (let s = segments.length - 1; s >= 0; s--) {
    const at = segments[s];
    const type = bytes[at];
    const count = bytes[at + 1];
    const asn = (k: number): number => readAsn(bytes, at + 2 + k * asSize, asSize);
    if (type === AS_SEQUENCE) {
      for (let k = count - 1; k >= 0; k--) if (!isBogusAsn(asn(k))) return asn(k);
    } else if (type === AS_SET) {
      const members: number[] = [];
      for (let k = 0; k < count; k++) members.push(asn(k));
      const origin = chooseFromAsSet(members);
      if (origin !== 0) return origin;
    } else if (type !== 3 && type !== 4) {
      throw new Error(`unknown AS_PATH segment type ${type}`);
    }
  }
  return 0;
}

/** pyasn's pick from an AS_SET: the first non-bogus member in CPython set order; 0 if none. */
export function chooseFromAsSet(members: number[]): number {
  const usable = members.filter((asn) => !isBogusAsn(asn));
  return usable.length > 0 ? pythonSetFirst(usable) : 0;
}

function readAsn(bytes: Uint8Array, at: number, size: 2 | 4): number {
  return size === 2
    ? (bytes[at] << 8) | bytes[at + 1]
    : ((bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3]) >>> 0;
}

/**
 * `list(set(values))[0]` in CPython 3 for small non-negative integers (whose
 * hash is the value): the set's open-addressing table is replayed (8 slots,
 * linear probes of 9, perturbed probing, growth at 3/5 full) and the member in
 * the lowest slot is returned. This is how pyasn picks one AS of an AS_SET.
 */
export function pythonSetFirst(values: number[]): number {
  let table = new Array<number>(8).fill(-1);
  let used = 0;
  for (const v of values) {
    if (!pythonSetInsert(table, v)) continue;
    used++;
    const mask = table.length - 1;
    if (used * 5 >= mask * 3) {
      let size = 8;
      const minUsed = used > 50000 ? used * 2 : used * 4;
      while (size <= minUsed) size *= 2;
      const old = table;
      table = new Array<number>(size).fill(-1);
      for (const key of old) if (key >= 0) pythonSetInsert(table, key);
    }
  }
  return table.find((key) => key >= 0) ?? -1;
}

/** CPython's set_add_entry probing (LINEAR_PROBES 9, PERTURB_SHIFT 5); false if present. */
function pythonSetInsert(table: number[], value: number): boolean {
  const mask = table.length - 1;
  let perturb = value;
  let i = value % table.length;
  for (;;) {
    const probes = i + 9 <= mask ? 9 : 0;
    for (let j = i; j <= i + probes; j++) {
      if (table[j] === -1) {
        table[j] = value;
        return true;
      }
      if (table[j] === value) return false;
    }
    perturb = Math.floor(perturb / 32);
    i = (i * 5 + 1 + perturb) % table.length;
  }
}
