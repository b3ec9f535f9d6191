// pyasn IPASN files (`.dat`, `.dat.gz`): `;` or `#` comment lines, then
// `prefix/len<TAB>asn` per line, what pyasn_util_convert.py writes. Read the
// way pyasn reads them: a later line for the same prefix replaces an earlier
// one; AS 0 and /0 prefixes are refused, as pyasn refuses them.
import { forEachLine, isBlankOrComment, parseAsn } from '../lines.ts';
import { addPrefix, type Loader } from './common.ts';

export const loadIpasn: Loader = async (input, { routes }) => {
  routes.beginSource('last');
  await forEachLine(input.file, input.chunks(), (line) => {
    if (isBlankOrComment(line, ';#')) return;
    const tab = line.indexOf('\t');
    const slash = line.indexOf('/');
    if (tab < 0 || slash < 0 || slash > tab) throw new Error('expected `prefix/len<TAB>asn`');
    const end = line.indexOf('\t', tab + 1); // further columns are ignored, as pyasn does
    const asn = parseAsn(line.slice(tab + 1, end < 0 ? line.length : end));
    const lenText = line.slice(slash + 1, tab);
    if (lenText === '0') throw new Error('a /0 prefix (default route) is not an origin');
    addPrefix(routes, line.slice(0, slash), lenText, asn);
  });
};
