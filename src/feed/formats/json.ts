// The JSON form: one object with what the feed is (window, generation time,
// route origin data and its attribution, counts) and its entries, one per
// line, in feed order.
import { cleanAsName } from '../asname.ts';
import { ipText } from '../collect.ts';
import { CATEGORY, type BuiltFeed } from '../build.ts';
import type { FeedFormat, Listed } from '../render.ts';
import { formatIso } from '../window.ts';
import { describeDuration, perBuild } from './text.ts';

function header(feed: BuiltFeed, listed: Listed): string {
  const meta = {
    feed: CATEGORY,
    description:
      'Addresses of clients that sent TELNET login credentials to a telnetlogin sensor inside the window. ' +
      'Evidence, not a block list. Sensors\' own addresses are never listed; known surveyors and research scanners are listed with tags.',
    generated: formatIso(feed.window.to),
    window: { from: formatIso(feed.window.from), to: formatIso(feed.window.to), length: describeDuration(feed.windowMs), ends_included: true },
    sort: 'asn numerically (null first), then ip numerically, IPv4 before IPv6',
    asn_source: { attribution: feed.asnSource.attribution, sources: feed.asnSource.sources },
    counts: { addresses: listed.addresses, asns: listed.asns },
    withheld: feed.withheld,
  };
  const text = JSON.stringify(meta, null, 1);
  return `${text.slice(0, -2)},\n "entries": [\n`;
}

/** The entry's fields that come from its origin AS, as JSON. */
const asFields = perBuild((feed, asn) =>
  asn === 0 ? '"asn":null,"as_name":null' : `"asn":${asn},"as_name":${JSON.stringify(cleanAsName(feed.asName(asn)))}`,
);

export const jsonFormat: FeedFormat = {
  name: 'json',
  file: 'telnetlogin.json',
  contentType: 'application/json',
  detail: true,
  lists: () => true,
  header,
  // Written out by hand (JSON.stringify per entry is the slowest part of a
  // large build): the AS name and tags are JSON.stringify'd once per AS and
  // label set; addresses and numbers need no escaping.
  entry(feed, i, index) {
    const r = feed.rows;
    return (
      `${index === 0 ? '' : ',\n'}  {${asFields(feed, feed.asn[i]!)},"ip":"${ipText(r, i)}","last_seen":"${formatIso(r.last[i]!)}",` +
      `"category":"${CATEGORY}","first_seen":"${formatIso(r.first![i]!)}","attempts":${r.attempts![i]},` +
      `"credentials":${r.credentials![i]},"sensors":${r.sensors![i]},"tags":${tagsJson(feed, feed.tagSet[i]!)}}`
    );
  },
  footer: () => '\n ]\n}\n',
};

const tagsJson = perBuild((feed, set) => JSON.stringify(feed.tagSets[set]));
