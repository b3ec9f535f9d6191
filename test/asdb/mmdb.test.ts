// The MaxMind DB loader on MaxMind's GeoLite2-ASN test database: every network
// of its JSON source answers with its AS number, organisation and prefix.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Reader, type AsnResponse } from 'mmdb-lib';
import { openAsdb } from '../../src/asdb/asdb.ts';
import { formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from '../../src/asdb/ip.ts';
import { maskWords } from '../../src/asdb/words.ts';
import { dataFile } from './data.ts';

interface Entry {
  autonomous_system_number?: number;
  autonomous_system_organization?: string;
}

/** First and last address of a network (host bits cleared). */
function ends(network: string): [string, string] {
  const [net, lenText] = network.split('/');
  const len = Number(lenText);
  const w = new Uint32Array(4);
  const v4 = parseIPv4(net);
  if (v4 >= 0) {
    w[0] = v4;
    maskWords(w, 0, len, 1);
    return [formatIPv4(w[0]), formatIPv4(w[0] + 2 ** (32 - len) - 1)];
  }
  assert.ok(parseIPv6(net, w));
  maskWords(w, 0, len, 4);
  const last = w.slice();
  for (let bit = len; bit < 128; bit++) last[bit >>> 5] |= 1 << (31 - (bit & 31));
  return [formatIPv6(w), formatIPv6(last)];
}

test('GeoLite2-ASN-Test.mmdb answers as its JSON source says, at both ends of every network, with the prefix mmdb-lib finds', async (t) => {
  const mmdb = dataFile(t, 'GeoLite2-ASN-Test.mmdb');
  const json = dataFile(t, 'GeoLite2-ASN-Test.json');
  if (mmdb === null || json === null) return;
  const asdb = await openAsdb([mmdb]);
  const reader = new Reader<AsnResponse>(readFileSync(mmdb));
  const source = JSON.parse(readFileSync(json, 'utf8')) as Record<string, Entry>[];
  // Names are kept per AS; the fixture names some ASes differently in different networks.
  const namesOf = new Map<number, Set<string>>();
  for (const entry of source.flatMap((item) => Object.values(item))) {
    const { autonomous_system_number: asn, autonomous_system_organization: name } = entry;
    if (asn === undefined || name === undefined) continue;
    if (!namesOf.has(asn)) namesOf.set(asn, new Set());
    namesOf.get(asn)!.add(name);
  }
  let checked = 0;
  for (const item of source) {
    for (const [network, entry] of Object.entries(item)) {
      for (const ip of ends(network)) {
        const found = asdb.lookup(ip);
        assert.ok(found, `${ip} (${network}) has an answer`);
        assert.equal(found.asn, entry.autonomous_system_number, ip);
        // The writer merges neighbours with equal data, so the prefix may be a supernet of the source's.
        const len = Number(found.prefix.split('/')[1]);
        assert.ok(len <= Number(network.split('/')[1]), `${found.prefix} covers ${network}`);
        assert.equal(ends(found.prefix)[0], ends(`${ends(network)[0]}/${len}`)[0], `${found.prefix} covers ${network}`);
        assert.equal(len, reader.getWithPrefixLength(ip)[1], ip);
        const names = namesOf.get(found.asn);
        if (names) assert.ok(names.has(found.name!), `${ip}: ${found.name} is one of ${[...names].join(' / ')}`);
        else assert.equal(found.name, null);
        checked++;
      }
    }
  }
  assert.equal(checked, 2 * 720);
});

test('addresses outside the networks agree with the mmdb-lib reader', async (t) => {
  const mmdb = dataFile(t, 'GeoLite2-ASN-Test.mmdb');
  if (mmdb === null) return;
  const asdb = await openAsdb([mmdb]);
  const reader = new Reader<AsnResponse>(readFileSync(mmdb));
  for (const ip of ['1.0.1.0', '8.8.8.8', '12.81.91.255', '::ffff:1.0.0.1', '2001:1700::1', '2001:1800::', '2c0f:ff00::1', '::1']) {
    const [record, prefixLength] = reader.getWithPrefixLength(ip);
    const found = asdb.lookup(ip);
    assert.equal(found?.asn ?? null, record?.autonomous_system_number ?? null, ip);
    if (found) assert.equal(Number(found.prefix.split('/')[1]), ip.includes(':') && !ip.startsWith('::ffff:') ? prefixLength : prefixLength - 96, ip);
  }
});
