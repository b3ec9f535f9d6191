// iptoasn.com TSV (ip2asn-v4.tsv, ip2asn-v6.tsv, ip2asn-combined.tsv):
// `first<TAB>last<TAB>asn<TAB>country<TAB>description`, inclusive address
// ranges. AS 0 marks unrouted space and adds nothing. Ranges are split into
// CIDR prefixes; the description is kept as the AS name.
import { forEachLine, isBlankOrComment, parseAsn } from '../lines.ts';
import { addRange, type Loader } from './common.ts';

export const loadIptoasn: Loader = async (input, { routes, names }) => {
  routes.beginSource('last');
  await forEachLine(input.file, input.chunks(), (line) => {
    if (isBlankOrComment(line, '#')) return;
    const fields = line.split('\t');
    if (fields.length !== 5) throw new Error('expected `first<TAB>last<TAB>asn<TAB>country<TAB>description`');
    if (fields[2] === '0') return;
    const asn = parseAsn(fields[2]);
    addRange(routes, fields[0], fields[1], asn);
    names.set(asn, fields[4], 'routing-table');
  });
};
