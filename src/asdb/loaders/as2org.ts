// CAIDA AS-to-organization files (YYYYMMDD.as-org2info.txt): two sections of
// `|`-separated lines, each announced by a comment line
//   # format:org_id|changed|org_name|country|source
//   # format:aut|changed|aut_name|org_id|opaque_id|source
// The AS name is `aut_name - org_name` (the CIDR report's style), or
// whichever of the two exists.
import { forEachLine, parseAsn } from '../lines.ts';
import type { Loader } from './common.ts';

export const loadAs2org: Loader = async (input, { names }) => {
  const orgs = new Map<string, string>();
  const ases: { asn: number; name: string; org: string }[] = [];
  let section: 'org' | 'aut' | null = null;
  await forEachLine(input.file, input.chunks(), (line) => {
    if (line.startsWith('#')) {
      const format = /^#\s*format:\s*(\w+)\|/.exec(line);
      if (format) section = format[1] === 'aut' ? 'aut' : 'org';
      return;
    }
    if (line.trim() === '') return;
    const f = line.split('|');
    if (section === 'org') {
      if (f.length !== 5) throw new Error('expected `org_id|changed|org_name|country|source`');
      orgs.set(f[0], f[2]);
    } else if (section === 'aut') {
      if (f.length !== 6) throw new Error('expected `aut|changed|aut_name|org_id|opaque_id|source`');
      ases.push({ asn: parseAsn(f[0], 0), name: f[2], org: f[3] });
    } else {
      throw new Error('data before any `# format:` line');
    }
  });
  for (const { asn, name, org } of ases) {
    const orgName = orgs.get(org) ?? '';
    names.set(asn, name && orgName && orgName !== name ? `${name} - ${orgName}` : name || orgName, 'names-file');
  }
};
