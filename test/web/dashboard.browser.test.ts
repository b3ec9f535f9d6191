// The dashboard in headless Chromium (Debian's /usr/bin/chromium through
// playwright-core) over a seeded store: charts and tables render, hostile
// strings show as inert text, no script of theirs runs, and the token-protected
// API refuses the browser without the token. Leaves test-artifacts/dashboard.png.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { chromium, type BrowserContext } from 'playwright-core';
import { packageRoot } from '../../src/web/dashboard/routes.ts';
import { unavailable } from '../helpers/services.ts';
import { HOSTILE, seededStore, TOKEN, webApp } from './seed.ts';

const CHROMIUM = '/usr/bin/chromium';

/** What the dashboard shows for a string: control and bidi characters as \uXXXX. */
function shown(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`);
}

test('the dashboard renders charts and tables, shows hostile strings as text, and runs none of them', { timeout: 60_000 }, async (t) => {
  if (!existsSync(CHROMIUM)) return unavailable(t, `${CHROMIUM} is missing (apt-get install chromium)`);
  const seeded = await seededStore(t);
  const app = webApp(seeded, { now: Date.now });
  let browser: BrowserContext | undefined;
  // The browser first: its open connections would hold up the server's close.
  t.after(async () => {
    await browser?.close();
    await app.close();
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  assert.ok(address && typeof address === 'object');
  const base = `http://127.0.0.1:${address.port}`;

  const profile = mkdtempSync(join(tmpdir(), 'telnetlogin-chromium-'));
  t.after(() => rmSync(profile, { recursive: true, force: true }));
  // A persistent context: a fresh profile directory of its own (--user-data-dir).
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 1400 },
  });
  const page = await browser.newPage();
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('dialog', (d) => {
    problems.push(`dialog: ${d.message()}`);
    void d.dismiss();
  });
  page.on('console', (m) => {
    if (m.type() === 'error' || /Content Security Policy/i.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  // Only loopback requests to the app itself (the x of <img src=x> would be one).
  const requests: string[] = [];
  page.on('request', (r) => requests.push(r.url()));

  await page.goto(`${base}/`);
  await page.waitForSelector('body[data-loaded="true"]', { timeout: 20_000 });

  // Charts: uPlot draws on canvases.
  assert.equal(await page.locator('#chart-attempts canvas').count(), 1);
  assert.equal(await page.locator('#chart-addresses canvas').count(), 1);
  assert.notEqual(await page.locator('#total-attempts').textContent(), '-');
  // Tables from the seeded store.
  const cells = async (selector: string) => page.locator(selector).allTextContents();
  assert.ok((await cells('#top-usernames td.client')).includes('root'));
  assert.ok((await cells('#top-asns td')).includes('AS64500'));
  assert.ok((await cells('#top-asns td')).includes('EXAMPLE-NET <b>bold</b>'), 'an AS name is text too');
  assert.ok((await cells('#sensors td')).includes('test-sensor'));

  // Hostile strings: exactly their text, with control and bidi characters visible.
  const usernames = await cells('#top-usernames td.client');
  const passwords = await cells('#top-passwords td.client');
  const ttypes = await cells('#top-ttypes td.client');
  assert.ok(usernames.includes(HOSTILE.script), `user names: ${JSON.stringify(usernames)}`);
  assert.ok(passwords.includes(HOSTILE.img), `passwords: ${JSON.stringify(passwords)}`);
  assert.ok(usernames.includes(shown(HOSTILE.rtl)), 'the RTL override shows as \\u202E');
  assert.ok(usernames.includes('admin\\u202Egnp.exe'));
  assert.ok(ttypes.includes(shown(HOSTILE.ttype)), `terminal types: ${JSON.stringify(ttypes)}`);
  assert.ok((await cells('#top-usernames .ctl')).includes('\\u202E'));
  // Nothing they carry became markup, and nothing ran.
  assert.equal(await page.locator('img').count(), 0);
  assert.equal(await page.locator('svg').count(), 0);
  // (Browser-side code as strings: the type check has no DOM library.)
  assert.deepEqual(await page.evaluate('[...document.scripts].map((s) => s.src)'), [`${base}/vendor/uPlot.iife.min.js`, `${base}/dashboard.js`]);
  assert.equal(await page.evaluate('window.__pwned'), undefined);
  assert.deepEqual(requests.filter((u) => !u.startsWith(`${base}/`)), []);
  assert.ok(!requests.some((u) => u.endsWith('/x')), 'no image request from a payload');

  // The token-protected API refuses the browser without the token, and accepts it with.
  const status = (url: string, token?: string) =>
    page.evaluate(async ([u, tk]) => (await fetch(u!, tk ? { headers: { authorization: `Bearer ${tk}` } } : {})).status, [url, token]);
  assert.equal(await status('/api/v1/events'), 401);
  assert.equal(await status('/api/v1/address/198.51.100.7/credentials'), 401);
  assert.equal(await status('/api/v1/events', TOKEN), 200);

  mkdirSync(join(packageRoot(), 'test-artifacts'), { recursive: true });
  await page.screenshot({ path: join(packageRoot(), 'test-artifacts', 'dashboard.png'), fullPage: true });

  // The address view: aggregates without the token; credentials once it is given.
  await page.goto(`${base}/#ip=198.51.100.7`);
  // (Locators, not waitForFunction: the CSP forbids the eval that a string predicate needs.)
  await page.locator('#address-facts', { hasText: 'AS64501' }).waitFor();
  assert.match((await page.locator('#credentials-note').textContent()) ?? '', /API token/);
  await page.locator('#token-input').fill(TOKEN);
  await page.locator('#token-form button').click();
  await page.locator('#address-credentials td.client').nth(3).waitFor();
  assert.equal(await page.locator('#token-form').isHidden(), true);
  const credentials = await cells('#address-credentials td.client');
  assert.ok(credentials.includes(HOSTILE.script) && credentials.includes(HOSTILE.img), JSON.stringify(credentials));
  assert.equal(await page.locator('#chart-address canvas').count(), 1);
  await page.screenshot({ path: join(packageRoot(), 'test-artifacts', 'dashboard-address.png'), fullPage: true });
  assert.equal(await page.locator('img').count(), 0);
  assert.equal(await page.evaluate('window.__pwned'), undefined);

  // The refusals asked for above are the only failed loads.
  assert.deepEqual(problems.filter((p) => !/status of 401/.test(p)), []);
});
