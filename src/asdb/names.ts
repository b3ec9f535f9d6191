// AS names: ASN -> name, stored compactly (sorted ASNs, offsets into one
// UTF-8 blob) so that a built file maps straight onto them.
//
// Sources, in order of precedence: AS-name files (pyasn JSON, RIPE-style
// asn.txt, CAIDA as2org), later files over earlier ones; then the names some
// routing tables carry (mmdb, iptoasn, ip-location-db), later over earlier.
// Names are stored as the source gives them, with control characters replaced
// by spaces; the CIDR-report/RIPE style files (`NAME descr, CC`) lose the
// trailing country code, which is not part of the name (withoutCountry).

export type NameSource = 'names-file' | 'routing-table';

export class NamesBuilder {
  private readonly byFile = new Map<number, string>();
  private readonly byTable = new Map<number, string>();

  set(asn: number, name: string, source: NameSource): void {
    const clean = cleanName(name);
    if (clean === '') return;
    (source === 'names-file' ? this.byFile : this.byTable).set(asn, clean);
  }

  get size(): number {
    return this.byFile.size + this.byTable.size;
  }

  /** Adds every name of an already built set (a built file merged with other inputs). */
  addAll(names: AsNames, source: NameSource): void {
    names.forEach((asn, name) => this.set(asn, name, source));
  }

  build(): AsNames {
    const merged = new Map(this.byTable);
    for (const [asn, name] of this.byFile) merged.set(asn, name);
    return AsNames.fromMap(merged);
  }
}

/** Control characters become spaces; surrounding space goes. */
export function cleanName(name: string): string {
  return (CONTROL.test(name) ? name.replace(CONTROLS, ' ') : name).trim();
}
const CONTROL = /[\u0000-\u001f\u007f]/;
const CONTROLS = /[\u0000-\u001f\u007f]+/g;

/** `LVLT-1 - Level 3 Communications, Inc., US` -> `LVLT-1 - Level 3 Communications, Inc.` */
export function withoutCountry(name: string): string {
  const comma = name.lastIndexOf(',');
  return comma >= 0 && /^,\s*[A-Z]{2}\s*$/.test(name.slice(comma)) ? name.slice(0, comma) : name;
}

export class AsNames {
  private readonly decoded = new Map<number, string>();
  private static readonly decoder = new TextDecoder();

  constructor(
    /** Sorted ascending. */
    readonly asns: Uint32Array,
    /** Name i is blob[offsets[i] .. offsets[i+1]). */
    readonly offsets: Uint32Array,
    readonly blob: Uint8Array,
  ) {
    if (offsets.length !== asns.length + 1 || offsets[asns.length] !== blob.length) {
      throw new Error('AS names: array sizes disagree');
    }
    for (let i = 1; i < asns.length; i++) if (asns[i - 1] >= asns[i]) throw new Error('AS names: ASNs not sorted');
  }

  static fromMap(map: Map<number, string>): AsNames {
    const asns = Uint32Array.from(map.keys()).sort();
    const offsets = new Uint32Array(asns.length + 1);
    for (let i = 0; i < asns.length; i++) offsets[i + 1] = offsets[i] + Buffer.byteLength(map.get(asns[i])!, 'utf8');
    const blob = Buffer.alloc(offsets[asns.length]);
    for (let i = 0; i < asns.length; i++) blob.write(map.get(asns[i])!, offsets[i], 'utf8');
    return new AsNames(asns, offsets, blob);
  }

  get size(): number {
    return this.asns.length;
  }

  get(asn: number): string | null {
    const cached = this.decoded.get(asn);
    if (cached !== undefined) return cached;
    let lo = 0;
    let hi = this.asns.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = this.asns[mid];
      if (v === asn) {
        const name = AsNames.decoder.decode(this.blob.subarray(this.offsets[mid], this.offsets[mid + 1]));
        this.decoded.set(asn, name);
        return name;
      }
      if (v < asn) lo = mid + 1;
      else hi = mid - 1;
    }
    return null;
  }

  forEach(fn: (asn: number, name: string) => void): void {
    for (let i = 0; i < this.asns.length; i++) fn(this.asns[i], this.get(this.asns[i])!);
  }
}
