// A feed build: read the window from the store (collect.ts), look up each
// address's origin, apply the blue-on-blue policy (policy.ts) and put the
// entries in feed order (order.ts). The result is columns in memory, which
// the formats (formats/) turn into text a chunk at a time.
import type { Asdb } from '../asdb/asdb.ts';
import type { FeedSource } from '../store/store.ts';
import { numericAddress } from './address.ts';
import { collect, type Collected } from './collect.ts';
import { feedOrder } from './order.ts';
import { pacer, type Pacer } from './pacer.ts';
import { EXCLUDED, OWN, PolicyIndex, type FeedPolicy } from './policy.ts';
import { windowEnding, type FeedWindow } from './window.ts';

export const CATEGORY = 'telnetlogin';

export interface BuildOptions {
  source: FeedSource;
  asdb: Asdb;
  policy: FeedPolicy;
  windowMs: number;
  /** The window's end and the stated generation time; default: the clock, once the store's view is taken. */
  now?: number;
  /** Also first seen, attempts, distinct credentials and sensors (the CSV and JSON forms need them). */
  detail: boolean;
  /** Yields to the event loop during the build (default: every 10 ms). */
  pace?: Pacer;
  /** Told what the build is doing, for progress on a terminal. */
  onProgress?: (message: string) => void;
}

export interface BuiltFeed {
  window: FeedWindow;
  windowMs: number;
  /** What the route origin data says about itself (the feed header repeats it). */
  asnSource: { attribution: string; sources: ReadonlyArray<{ file: string; format: string }> };
  /** Whether summaries answered, or every event of the window was read. */
  path: Collected['path'];
  /** Addresses in the window that are not listed: sensors' own, excluded by the operator. */
  withheld: { own: number; excluded: number };
  excludeTaggedFromDataplane: boolean;
  /** Entry indices in feed order. */
  order: Uint32Array;
  rows: Collected;
  asn: Uint32Array;
  /** Entry -> id of its label set in tagSets (0: none). */
  tagSet: Uint32Array;
  tagSets: string[][];
  /** AS names as the route origin data has them. */
  asName(asn: number): string | null;
  /** How this build treats an address (listed or not, its tags), for the dashboard's address view. */
  standing(ip: string): AddressStanding | null;
}

/** What the feed makes of one address; null for text that is no IP address. */
export interface AddressStanding {
  /** Why the feed does not list it: one of the sensors' own addresses, or excluded by the operator's lists. */
  withheld: 'own' | 'excluded' | null;
  tags: string[];
}

export async function buildFeed(options: BuildOptions): Promise<BuiltFeed> {
  const pace = options.pace ?? pacer();
  const progress = options.onProgress ?? (() => {});
  const snapshot = await options.source.feedSnapshot();
  let window: FeedWindow;
  let rows: Collected;
  try {
    // The store's view is taken by now: the clock cannot be behind anything it holds.
    window = windowEnding(options.now ?? Date.now(), options.windowMs);
    progress('reading the window');
    rows = await collect(snapshot, window, options.detail, pace);
  } finally {
    await snapshot.close();
  }
  const sensors = await options.source.sensors();
  const policy = new PolicyIndex(options.policy, sensors.flatMap((s) => s.addresses));

  progress(`looking up ${rows.last.length} addresses`);
  const n = rows.last.length;
  const asn = new Uint32Array(n);
  const tagSet = new Uint32Array(n);
  const keep = new Uint8Array(n);
  const v4 = new Float64Array(n);
  const v6 = new Map<number, Uint32Array>();
  const words = new Uint32Array(4);
  const withheld = { own: 0, excluded: 0 };
  for (let i = 0; i < n; i++) {
    let family: 0 | 4 | 6 = 4;
    if (rows.v4[i]! >= 0) words[0] = rows.v4[i]!;
    else if ((family = numericAddress(rows.ips[i]!, words)) === 0) continue; // summaries hold canonical addresses only
    asn[i] = originOf(options.asdb, family, words);
    const tags = policy.classify(family, words, asn[i]!);
    if (tags === OWN) withheld.own++;
    else if (tags === EXCLUDED) withheld.excluded++;
    else {
      keep[i] = 1;
      tagSet[i] = tags;
    }
    v4[i] = family === 4 ? words[0]! : -1;
    if (family === 6) v6.set(i, words.slice());
    if ((i & 4095) === 4095) await pace();
  }
  progress('ordering');
  const order = await feedOrder(v4, v6, asn, keep, pace);
  return {
    window,
    windowMs: options.windowMs,
    asnSource: { attribution: options.asdb.attribution, sources: options.asdb.meta.sources },
    path: rows.path,
    withheld,
    excludeTaggedFromDataplane: options.policy.excludeTaggedFromDataplane,
    order,
    rows,
    asn,
    tagSet,
    tagSets: policy.tagSets,
    asName: (a) => options.asdb.name(a),
    standing(ip) {
      const family = numericAddress(ip, words);
      if (family === 0) return null;
      const tags = policy.classify(family, words, originOf(options.asdb, family, words));
      if (tags === OWN || tags === EXCLUDED) return { withheld: tags === OWN ? 'own' : 'excluded', tags: [] };
      return { withheld: null, tags: policy.tagSets[tags]! };
    },
  };
}

/**
 * The origin AS (0: none) of an address already parsed into words: the
 * facade's own prefix index, without parsing the address a second time
 * (Asdb.asn(text) would; a million lookups are a tenth of a build).
 */
function originOf(asdb: Asdb, family: 4 | 6, words: Uint32Array): number {
  const { v4, v6 } = asdb.index;
  const i = family === 4 ? v4.find(words[0]!) : v6.find(words);
  return i < 0 ? 0 : (family === 4 ? v4 : v6).asns[i]!;
}
