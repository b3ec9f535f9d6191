// The routing table a fresh install uses: the npm package
// @ip-location-db/asn (CC BY 4.0), an IPv4 + IPv6 IP-to-origin-AS table with
// AS names, merged by ip-location-db from RouteViews (IPv4 origins), the
// RIRs' delegation statistics via the NRO, and DB-IP's IP to ASN Lite.
// It installs from the npm registry like any dependency (CSV files, no
// download script). Parsing its 500,000 ranges takes a few seconds, so the
// result is cached as a built file (see asdb.ts).
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { readFileSync } from 'node:fs';
import { AsdbError } from './errors.ts';

export const DEFAULT_ASDB_PACKAGE = '@ip-location-db/asn';

/** What the licence asks to be shown wherever the data is used (the feed header, the README). */
export const DEFAULT_ASDB_ATTRIBUTION =
  'AS data: ip-location-db asn (https://github.com/sapics/ip-location-db) from ' +
  'RouteViews (https://www.routeviews.org), the NRO (https://www.nro.net) and ' +
  'DB-IP IP to ASN Lite (https://db-ip.com), licensed CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/)';

export interface DefaultData {
  files: string[];
  version: string;
}

export function defaultData(): DefaultData {
  let manifest: string;
  try {
    manifest = createRequire(import.meta.url).resolve(`${DEFAULT_ASDB_PACKAGE}/package.json`);
  } catch (err) {
    throw new AsdbError(
      'TL_ASDB_IO',
      `the embedded routing table (npm package ${DEFAULT_ASDB_PACKAGE}) is not installed: run \`npm install\`, or pass --asdb FILE`,
      { cause: err },
    );
  }
  const { version } = JSON.parse(readFileSync(manifest, 'utf8')) as { version: string };
  const dir = dirname(manifest);
  return { files: [join(dir, 'asn-ipv4.csv'), join(dir, 'asn-ipv6.csv')], version };
}

/** Where the built form of the default table is kept: $TELNETLOGIN_CACHE_DIR, else the user's cache directory. */
export function defaultCacheDir(): string {
  if (process.env.TELNETLOGIN_CACHE_DIR) return process.env.TELNETLOGIN_CACHE_DIR;
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'telnetlogin');
}
