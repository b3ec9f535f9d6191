// MaxMind DB files with ASN records (GeoLite2-ASN and the many databases in
// its format): every network of the search tree whose record has an
// `autonomous_system_number`, with `autonomous_system_organization` as name.
//
// mmdb-lib (the library under the `maxmind` package) parses the metadata and
// decodes records; it has no way to list networks, so the search tree is
// walked here with mmdb-lib's node reader. In an IPv6 database the IPv4
// networks live under ::/96; the aliases of that subtree (::ffff:0:0/96,
// 2002::/16) point at the same node and are skipped.
import { createRequire } from 'node:module';
import { Reader } from 'mmdb-lib';
import { fileError } from '../errors.ts';
import type { Loader } from './common.ts';

const require = createRequire(import.meta.url);
const { default: Decoder } = require('mmdb-lib/lib/decoder.js') as typeof import('mmdb-lib/lib/decoder.js');
const { default: makeWalker } = require('mmdb-lib/lib/reader/walker.js') as typeof import('mmdb-lib/lib/reader/walker.js');

interface AsnRecord {
  autonomous_system_number?: unknown;
  autonomous_system_organization?: unknown;
}

export const loadMmdb: Loader = async (input, { routes, names }) => {
  const db = await input.readAll();
  let metadata: Reader<never>['metadata'];
  try {
    metadata = new Reader<never>(db).metadata;
  } catch (err) {
    throw fileError(input.file, `not a valid MaxMind DB: ${(err as Error).message}`, err);
  }
  const { nodeCount, nodeByteSize, searchTreeSize, ipVersion } = metadata;
  const walker = makeWalker(db, metadata.recordSize);
  const decoder = new Decoder(db, searchTreeSize + 16);
  const asnAt = new Map<number, number>(); // data pointer -> AS number (0: none)
  const bits = ipVersion === 6 ? 128 : 32;
  const addr = new Uint32Array(4);
  let ipv4Start = -1; // the node at ::/96 in an IPv6 database
  let networks = 0;

  const asnOf = (pointer: number): number => {
    let asn = asnAt.get(pointer);
    if (asn === undefined) {
      const offset = pointer - nodeCount + searchTreeSize;
      if (offset >= db.length) throw new Error(`data pointer ${pointer} is outside the file`);
      const record = decoder.decodeFast(offset).value as AsnRecord;
      const number = record?.autonomous_system_number;
      asn = typeof number === 'number' && Number.isInteger(number) && number > 0 && number <= 0xffffffff ? number : 0;
      if (asn !== 0 && typeof record.autonomous_system_organization === 'string') {
        names.set(asn, record.autonomous_system_organization, 'routing-table');
      }
      asnAt.set(pointer, asn);
    }
    return asn;
  };

  const isZeroPath = (depth: number): boolean => {
    for (let k = 0; k < 4 && 32 * k < depth; k++) if (addr[k] !== 0) return false;
    return true;
  };

  const visit = (node: number, depth: number): void => {
    if (bits === 128 && depth === 96 && isZeroPath(96)) ipv4Start = node;
    else if (node === ipv4Start) return; // an alias of the IPv4 subtree
    if (node * nodeByteSize + nodeByteSize > searchTreeSize) throw new Error(`node ${node} is outside the search tree`);
    for (let bit = 0; bit < 2; bit++) {
      const word = depth >>> 5;
      const mask = 1 << (31 - (depth & 31));
      if (bit === 1) addr[word] = (addr[word] | mask) >>> 0;
      const record = bit === 0 ? walker.left(node * nodeByteSize) : walker.right(node * nodeByteSize);
      if (record < nodeCount) {
        if (depth + 1 >= bits) throw new Error('search tree deeper than the address');
        visit(record, depth + 1);
      } else if (record > nodeCount) {
        const asn = asnOf(record);
        if (asn !== 0) {
          networks++;
          const len = depth + 1;
          if (bits === 32) routes.addV4(addr[0], len, asn);
          else if (len > 96 && isZeroPath(96)) routes.addV4(addr[3], len - 96, asn);
          else routes.addV6(addr, 0, len, asn);
        }
      }
      if (bit === 1) addr[word] = (addr[word] & ~mask) >>> 0;
    }
  };

  routes.beginSource('last');
  try {
    visit(0, 0);
  } catch (err) {
    throw fileError(input.file, `corrupt MaxMind DB search tree: ${(err as Error).message}`, err);
  }
  if (networks === 0) {
    throw fileError(input.file, `MaxMind DB (${metadata.databaseType}) has no autonomous_system_number records`);
  }
};
