// The pipe format that MISP, IntelMQ, n6 and others already parse (see
// ../shared/docs/feed-format.md): entries laid out byte for byte as
//   printf "%-11s  |  %-30s  |  %-15s  |  %19s  |  %s\n", asn, asname, ip, lastseen, category
// with padding counted in bytes, between a header and a footer whose numbers
// of lines never change from one build to the next (Yeti skips them by count).
import { dataplaneAsName } from '../asname.ts';
import { ipText } from '../collect.ts';
import { CATEGORY, type BuiltFeed } from '../build.ts';
import type { FeedFormat, Listed } from '../render.ts';
import { formatMinute, formatSecond } from '../window.ts';
import { describeDuration, perBuild, wrapComment } from './text.ts';

/** The first two fields with their separators (the name's padding counts bytes). */
const asPrefix = perBuild((feed, asn) => {
  const name = dataplaneAsName(asn === 0 ? null : feed.asName(asn));
  const pad = Math.max(0, 30 - Buffer.byteLength(name, 'utf8'));
  return `${(asn === 0 ? 'NA' : String(asn)).padEnd(11)}  |  ${name}${' '.repeat(pad)}  |  `;
});

const SUFFIX = `  |  ${CATEGORY}\n`;
/** What follows an address of n characters: its padding to 15 and the separator. */
const AFTER_IP = Array.from({ length: 16 }, (_, n) => `${' '.repeat(15 - n)}  |  `);
const afterIp = (ip: string) => AFTER_IP[ip.length] ?? '  |  ';

function header(feed: BuiltFeed): string {
  const { from, to } = feed.window;
  const source = feed.asnSource.attribution || feed.asnSource.sources.map((s) => `${s.file} (${s.format})`).join(', ') || 'none';
  const lines = [
    CATEGORY,
    `${formatMinute(from)} - ${formatMinute(to)}`,
    '',
    `Generated ${formatSecond(to)} UTC.  The window above covers ${describeDuration(feed.windowMs)}`,
    'ending then, both ends included, in UTC.',
    '',
    ...wrapComment(
      'Each entry is the address of a client that sent TELNET login ' +
        'credentials (a user name and a password) to a telnetlogin sensor ' +
        'inside the window.  A sensor only pretends to be a TELNET server: ' +
        'it records what a client offers and refuses every login.  Clients ' +
        'that do this are mostly Mirai-like malware on infected devices and ' +
        'password guessers.',
    ),
    '',
    ...wrapComment(
      'This feed is evidence, not a block list.  Many listed hosts are ' +
        'devices whose owners do not know they are infected, and addresses ' +
        'change hands.  Use it to investigate, to notify network owners and ' +
        'to measure; whoever filters traffic with it does so at their own ' +
        'risk.  It comes without any warranty.',
    ),
    '',
    ...wrapComment(
      "The sensors' own addresses are never listed.  Known surveyors and " +
        'research scanners are listed like any other client; the CSV and ' +
        'JSON forms of this feed label them.',
    ),
    '',
    ...wrapComment(
      'Entries are sorted by origin ASN, numerically, NA first, then by ' +
        'address, numerically, IPv4 before IPv6.  An address is listed once, ' +
        'with the origin AS of the most specific routed prefix holding it, ' +
        'even where several ASes originate that prefix (the route origin ' +
        'data then names one, always the same).',
    ),
    '',
    'Route origin data:',
    ...wrapComment(source, '  '),
    '',
    'Format of the entries:',
    '',
    'ASN  |  ASname  |  ipaddr  |  lastseen  |  category',
    '',
    ...wrapComment(
      "Lines that begin with '#' are comments, every other line is an " +
        "entry, and blank lines may appear.  Fields are separated by '|' " +
        'with two or more spaces on each side.',
    ),
    '',
    '  ASN       Origin AS number (a 32-bit integer), or NA when no routed',
    '            prefix holds the address.',
    "  ASname    Name of that AS, at most 30 bytes, '|' written as '/';",
    '            NA when no name is known.',
    '  ipaddr    The IPv4 or IPv6 address of the client.',
    '  lastseen  Its most recent login attempt inside the window, as',
    '            YYYY-mm-dd HH:MM:SS in UTC.',
    `  category  Always ${CATEGORY}.`,
    '',
  ];
  return lines.map((l) => (l === '' ? '#\n' : `# ${l}\n`)).join('');
}

export const dataplaneFormat: FeedFormat = {
  name: 'dataplane',
  file: 'telnetlogin.txt',
  contentType: 'text/plain; charset=utf-8',
  detail: false,
  lists: (feed, i) => !(feed.excludeTaggedFromDataplane && feed.tagSet[i] !== 0),
  header,
  entry(feed, i) {
    const ip = ipText(feed.rows, i);
    return asPrefix(feed, feed.asn[i]!) + ip + afterIp(ip) + formatSecond(feed.rows.last[i]!) + SUFFIX;
  },
  footer: (_feed, listed: Listed) => `#\n# Totals\n#   ASNs: ${listed.asns}\n#   Addresses: ${listed.addresses}\n# End of the ${CATEGORY} feed.\n`,
};
