// Blue on blue: which addresses the feed never lists (the sensors' own
// addresses, the operator's exclusions) and which it labels (known surveyors
// and research scanners: tagged, not hidden).
//
// Matches are CIDR prefixes (a bare address is a /32 or /128) or origin ASNs
// ("AS13335" or 13335). An address inside several tagged prefixes gets the
// labels of all of them, plus those of its origin AS.
import { parseIPv4, parseIPv6, formatIPv4, formatIPv6 } from '../asdb/ip.ts';
import { IndexBuilder } from '../asdb/index-builder.ts';
import type { PrefixIndex } from '../asdb/prefix-index.ts';
import { maskWords } from '../asdb/words.ts';

export interface PrefixMatch {
  kind: 'prefix';
  /** Canonical `network/len`. */
  text: string;
  family: 4 | 6;
  words: Uint32Array;
  len: number;
}

export interface AsnMatch {
  kind: 'asn';
  text: string;
  asn: number;
}

export type Match = PrefixMatch | AsnMatch;

export interface TagRule {
  match: Match;
  label: string;
}

export interface FeedPolicy {
  /** The sensors' own addresses, besides those the store knows: never listed. */
  ownAddresses: PrefixMatch[];
  /** Never listed (an operator's allowlist). */
  exclude: Match[];
  /** Listed with a label (in the CSV and JSON forms). */
  tags: TagRule[];
  /** Leave tagged addresses out of the pipe format (they stay in CSV and JSON). */
  excludeTaggedFromDataplane: boolean;
}

export const EMPTY_POLICY: FeedPolicy = { ownAddresses: [], exclude: [], tags: [], excludeTaggedFromDataplane: false };

/** Letters, digits and . _ : @ / + - (no separators of any of the feed's formats), starting with a letter or digit. */
export const LABEL = /^[A-Za-z0-9][A-Za-z0-9._:@/+-]{0,63}$/;

/** `192.0.2.0/24`, `2001:db8::/32` or a bare address; throws an Error saying what is wrong. */
export function parsePrefix(text: string): PrefixMatch {
  const [addr = '', lenText, extra] = text.trim().split('/');
  const words = new Uint32Array(4);
  let family: 4 | 6;
  const v4 = parseIPv4(addr);
  if (v4 >= 0) {
    words[0] = v4;
    family = 4;
  } else if (parseIPv6(addr, words)) family = 6;
  else throw new Error(`"${text}" is not an address or CIDR prefix`);
  const max = family === 4 ? 32 : 128;
  const len = lenText === undefined ? max : /^\d{1,3}$/.test(lenText) ? Number(lenText) : NaN;
  if (extra !== undefined || !(len >= 0 && len <= max)) throw new Error(`"${text}": the prefix length must be 0-${max}`);
  const W = family === 4 ? 1 : 4;
  maskWords(words, 0, len, W);
  return { kind: 'prefix', text: `${family === 4 ? formatIPv4(words[0]!) : formatIPv6(words)}/${len}`, family, words, len };
}

/** A prefix (see parsePrefix) or an ASN (`AS64500`, `64500` or the number). */
export function parseMatch(input: string | number): Match {
  const text = String(input).trim();
  const m = /^(?:AS)?(\d{1,10})$/i.exec(text);
  if (m) {
    const asn = Number(m[1]);
    if (asn < 1 || asn > 0xffffffff) throw new Error(`"${text}": an ASN is 1-4294967295`);
    return { kind: 'asn', text: `AS${asn}`, asn };
  }
  try {
    return parsePrefix(text);
  } catch {
    throw new Error(`"${text}" is neither a CIDR prefix, an address nor an ASN (AS64500)`);
  }
}

/** Longest-prefix match over prefixes that each carry a value (the prefix index of src/asdb). */
class PrefixValues {
  readonly #index: PrefixIndex | undefined;

  constructor(entries: ReadonlyArray<{ prefix: PrefixMatch; value: number }>) {
    if (entries.length === 0) return;
    const builder = new IndexBuilder();
    builder.beginSource('last');
    for (const { prefix, value } of entries) {
      if (prefix.family === 4) builder.addV4(prefix.words[0]!, prefix.len, value);
      else builder.addV6(prefix.words, 0, prefix.len, value);
    }
    this.#index = builder.build();
  }

  /** The value of the most specific prefix holding the address (`words` as numericAddress gives it), or -1. */
  find(family: 4 | 6, words: Uint32Array): number {
    if (this.#index === undefined) return -1;
    const table = family === 4 ? this.#index.v4 : this.#index.v6;
    const i = family === 4 ? this.#index.v4.find(words[0]!) : this.#index.v6.find(words);
    return i < 0 ? -1 : table.asns[i]!;
  }
}

export const OWN = -1;
export const EXCLUDED = -2;

/** A policy made ready to classify many addresses fast. */
export class PolicyIndex {
  /** Label sets by id; 0 is the empty set. */
  readonly tagSets: string[][] = [[]];
  readonly #own: PrefixValues;
  readonly #excludedPrefixes: PrefixValues;
  readonly #excludedAsns: Set<number>;
  readonly #prefixTags: PrefixValues;
  readonly #asnTags: Map<number, number>;
  readonly #setIds = new Map<string, number>([['', 0]]);
  readonly #unions = new Map<number, number>();

  constructor(
    readonly policy: FeedPolicy,
    sensorAddresses: readonly string[],
  ) {
    const own = [...policy.ownAddresses];
    for (const a of sensorAddresses) own.push(parsePrefix(a));
    this.#own = new PrefixValues(own.map((prefix) => ({ prefix, value: 1 })));
    this.#excludedPrefixes = new PrefixValues(prefixesOf(policy.exclude).map((prefix) => ({ prefix, value: 1 })));
    this.#excludedAsns = new Set(asnsOf(policy.exclude));

    // Each tagged prefix carries its own labels and those of the tagged prefixes around it.
    const byPrefix = new Map<string, { prefix: PrefixMatch; labels: Set<string> }>();
    const byAsn = new Map<number, Set<string>>();
    for (const { match, label } of policy.tags) {
      if (match.kind === 'asn') addTo(byAsn, match.asn, label);
      else {
        const entry = byPrefix.get(match.text) ?? { prefix: match, labels: new Set<string>() };
        entry.labels.add(label);
        byPrefix.set(match.text, entry);
      }
    }
    const entries = [...byPrefix.values()].map(({ prefix, labels }) => {
      const all = new Set(labels);
      for (let len = 0; len < prefix.len; len++) {
        for (const l of byPrefix.get(parsePrefix(`${prefix.text.split('/')[0]}/${len}`).text)?.labels ?? []) all.add(l);
      }
      return { prefix, value: this.#intern([...all]) };
    });
    this.#prefixTags = new PrefixValues(entries);
    this.#asnTags = new Map([...byAsn].map(([asn, labels]) => [asn, this.#intern([...labels])]));
  }

  /** OWN, EXCLUDED, or the id of the address's label set (0: no labels). */
  classify(family: 4 | 6, words: Uint32Array, asn: number): number {
    if (this.#own.find(family, words) >= 0) return OWN;
    if (this.#excludedPrefixes.find(family, words) >= 0 || this.#excludedAsns.has(asn)) return EXCLUDED;
    const byPrefix = Math.max(this.#prefixTags.find(family, words), 0);
    const byAsn = this.#asnTags.get(asn) ?? 0;
    if (byAsn === 0 || byPrefix === byAsn) return byPrefix;
    if (byPrefix === 0) return byAsn;
    const key = byPrefix * 0x100000 + byAsn;
    let id = this.#unions.get(key);
    if (id === undefined) this.#unions.set(key, (id = this.#intern([...this.tagSets[byPrefix]!, ...this.tagSets[byAsn]!])));
    return id;
  }

  #intern(labels: string[]): number {
    const sorted = [...new Set(labels)].sort();
    const key = sorted.join('\n');
    let id = this.#setIds.get(key);
    if (id === undefined) {
      id = this.tagSets.length;
      this.tagSets.push(sorted);
      this.#setIds.set(key, id);
    }
    return id;
  }
}

function prefixesOf(matches: readonly Match[]): PrefixMatch[] {
  return matches.filter((m): m is PrefixMatch => m.kind === 'prefix');
}

function asnsOf(matches: readonly Match[]): number[] {
  return matches.filter((m): m is AsnMatch => m.kind === 'asn').map((m) => m.asn);
}

function addTo<K>(map: Map<K, Set<string>>, key: K, label: string): void {
  const set = map.get(key);
  if (set) set.add(label);
  else map.set(key, new Set([label]));
}
