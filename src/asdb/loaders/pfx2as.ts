// CAIDA RouteViews prefix-to-AS files (pfx2as): `addr<TAB>len<TAB>origins`.
// `origins` lists a prefix's origins (MOAS) separated by `_`; each origin is
// an AS number or an AS-set of numbers separated by `,`. The first listed
// origin that gives an AS wins; from an AS-set, pyasn's pick (origin.ts).
import { forEachLine, isBlankOrComment, parseAsn } from '../lines.ts';
import { chooseFromAsSet } from '../origin.ts';
import { addPrefix, type Loader } from './common.ts';

export const loadPfx2as: Loader = async (input, { routes }) => {
  routes.beginSource('last');
  await forEachLine(input.file, input.chunks(), (line) => {
    if (isBlankOrComment(line, '#')) return;
    const fields = line.split('\t');
    if (fields.length !== 3) throw new Error('expected `addr<TAB>len<TAB>origins`');
    const asn = originOf(fields[2]);
    if (asn !== 0) addPrefix(routes, fields[0], fields[1], asn);
  });
};

/** The chosen AS of an origins field; 0 when only bogus AS-sets are listed. */
export function originOf(field: string): number {
  for (const origin of field.split('_')) {
    const asn = origin.includes(',') ? chooseFromAsSet(origin.split(',').map((asn) => parseAsn(asn))) : parseAsn(origin);
    if (asn !== 0) return asn;
  }
  return 0;
}
