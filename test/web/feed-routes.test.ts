import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { Registry } from 'prom-client';
import { EMPTY_POLICY } from '../../src/feed/policy.ts';
import { FeedPublisher } from '../../src/feed/publisher.ts';
import { createWebApp } from '../../src/web/app.ts';
import { acceptsGzip } from '../../src/web/feed-routes.ts';
import { arraySource, DAY, event, NOW, testAsdb } from '../feed/helpers.ts';
import { tempDir } from '../store/fixtures.ts';

function publisher(publishDir?: string): FeedPublisher {
  return new FeedPublisher({
    source: arraySource([event('192.0.2.1', NOW - DAY), event('2001:db8::1', NOW - 1000)]),
    asdb: Promise.resolve({ current: testAsdb([['192.0.2.0/24', 64500]], { 64500: 'EXAMPLE' }) }),
    policy: async () => EMPTY_POLICY,
    windowMs: 7 * DAY,
    rebuildEveryMs: 300_000,
    publishDir,
    pace: async () => {},
  });
}

test('before the first build the files answer 503 with Retry-After', async (t) => {
  const app = createWebApp({ metrics: new Registry(), feeds: publisher() });
  t.after(() => app.close());
  const res = await app.inject({ url: '/telnetlogin.txt' });
  assert.equal(res.statusCode, 503);
  assert.equal(res.headers['retry-after'], '10');
});

test('GET, gzip, HEAD and conditional GET (ETag, Last-Modified) for each format', async (t) => {
  const feeds = publisher();
  await feeds.rebuild(NOW);
  const app = createWebApp({ metrics: new Registry(), feeds });
  t.after(() => app.close());
  const types = { 'telnetlogin.txt': 'text/plain; charset=utf-8', 'telnetlogin.csv': 'text/csv; charset=utf-8; header=present', 'telnetlogin.json': 'application/json' };
  for (const [file, type] of Object.entries(types)) {
    const url = `/${file}`;
    const plain = await app.inject({ url });
    assert.equal(plain.statusCode, 200);
    assert.equal(plain.headers['content-type'], type);
    assert.equal(plain.headers['cache-control'], 'public, max-age=60');
    assert.equal(plain.headers.vary, 'Accept-Encoding');
    assert.equal(plain.headers['last-modified'], 'Fri, 04 Dec 2026 12:00:00 GMT');
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.equal(Number(plain.headers['content-length']), plain.rawPayload.length);
    assert.match(plain.body, /192\.0\.2\.1/);
    const etag = plain.headers.etag as string;
    assert.match(etag, /^"[A-Za-z0-9_-]{27}"$/);

    const gz = await app.inject({ url, headers: { 'accept-encoding': 'br, gzip;q=0.8' } });
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.equal(gunzipSync(gz.rawPayload).toString('utf8'), plain.body);
    assert.equal(Number(gz.headers['content-length']), gz.rawPayload.length);
    assert.equal(gz.headers.etag, etag.replace(/"$/, '-gz"'));

    const head = await app.inject({ method: 'HEAD', url });
    assert.equal(head.statusCode, 200);
    assert.equal(head.headers['content-length'], plain.headers['content-length']);
    assert.equal(head.headers.etag, etag);
    assert.equal(head.rawPayload.length, 0);

    for (const inm of [etag, gz.headers.etag as string, `W/${etag}`, `"other", ${etag}`, '*']) {
      const res = await app.inject({ url, headers: { 'if-none-match': inm } });
      assert.equal(res.statusCode, 304, inm);
      assert.equal(res.rawPayload.length, 0);
      assert.equal(res.headers.etag, etag);
    }
    assert.equal((await app.inject({ url, headers: { 'if-none-match': '"other"' } })).statusCode, 200);
    assert.equal((await app.inject({ url, headers: { 'if-modified-since': 'Fri, 04 Dec 2026 12:00:00 GMT' } })).statusCode, 304);
    assert.equal((await app.inject({ url, headers: { 'if-modified-since': 'Fri, 04 Dec 2026 11:59:59 GMT' } })).statusCode, 200);
    // If-None-Match wins over If-Modified-Since.
    const both = await app.inject({ url, headers: { 'if-none-match': '"other"', 'if-modified-since': 'Fri, 04 Dec 2026 12:00:00 GMT' } });
    assert.equal(both.statusCode, 200);
  }
});

test('a new build changes the validators; the publish directory gets whole files and their .gz', async (t) => {
  const dir = join(tempDir(t), 'public');
  const feeds = publisher(dir);
  await feeds.rebuild(NOW);
  const first = feeds.current('dataplane')!.etag;
  await feeds.rebuild(NOW + 60_000);
  assert.notEqual(feeds.current('dataplane')!.etag, first);
  assert.deepEqual(readdirSync(dir).sort(), [
    'telnetlogin.csv', 'telnetlogin.csv.gz', 'telnetlogin.json', 'telnetlogin.json.gz', 'telnetlogin.txt', 'telnetlogin.txt.gz',
  ]);
  for (const name of ['telnetlogin.txt', 'telnetlogin.csv', 'telnetlogin.json']) {
    assert.deepEqual(gunzipSync(readFileSync(join(dir, `${name}.gz`))), readFileSync(join(dir, name)));
  }
  assert.match(readFileSync(join(dir, 'telnetlogin.txt'), 'utf8'), /^# 2026-11-27 12:01 - 2026-12-04 12:01$/m);
});

test('Accept-Encoding', () => {
  assert.equal(acceptsGzip(undefined), false);
  assert.equal(acceptsGzip('gzip'), true);
  assert.equal(acceptsGzip('deflate, gzip;q=0'), false);
  assert.equal(acceptsGzip('*'), true);
  assert.equal(acceptsGzip('identity'), false);
  assert.equal(acceptsGzip('GZIP;q=0.5'), true);
});
