// The dashboard: reads /api/v1 and draws charts (uPlot) and tables. Every
// string a client sent goes into the page as text (textContent, never
// markup), and its control and bidirectional characters are shown as
// visible \uXXXX escapes so that they cannot disguise or reorder what is shown.
/* global uPlot */
'use strict';

const RANGES = { '1h': 3600e3, '24h': 86400e3, '7d': 7 * 86400e3, '30d': 30 * 86400e3 };
const REFRESH_MS = 10_000;
// C0, DEL, C1, and the bidirectional controls (embeddings, overrides, isolates, marks, ALM).
const INVISIBLE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

let range = sessionStorage.getItem('range') in RANGES ? sessionStorage.getItem('range') : '24h';
const charts = {};
let timer;

/** A client's string as nodes: text, with each invisible character as a marked escape. */
function visible(text) {
  const out = document.createDocumentFragment();
  let last = 0;
  for (const m of String(text).matchAll(INVISIBLE)) {
    if (m.index > last) out.append(document.createTextNode(text.slice(last, m.index)));
    const span = document.createElement('span');
    span.className = 'ctl';
    span.textContent = '\\u' + m[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
    out.append(span);
    last = m.index + m[0].length;
  }
  if (last < text.length) out.append(document.createTextNode(text.slice(last)));
  return out;
}

function cell(content, className) {
  const td = document.createElement('td');
  if (className) td.className = className;
  if (content instanceof Node) td.append(content);
  else td.textContent = String(content);
  return td;
}

/** A client string cell; bytes that were not UTF-8 are flagged (the exact bytes are in the API's _b64 field). */
function clientCell(item, field) {
  const td = cell(visible(item[field] ?? ''), 'client');
  if (item[field] === '') td.classList.add('empty');
  if (item[`${field}_b64`] !== undefined) {
    td.classList.add('binary');
    td.title = 'not UTF-8; base64: ' + item[`${field}_b64`];
  }
  return td;
}

function fill(tableId, rows) {
  const body = document.querySelector(`#${tableId} tbody`);
  if (rows.length === 0) {
    const tr = document.createElement('tr');
    const td = cell('nothing in this range', 'none');
    td.colSpan = document.querySelectorAll(`#${tableId} thead th`).length;
    tr.append(td);
    body.replaceChildren(tr);
    return;
  }
  body.replaceChildren(...rows.map((cells) => {
    const tr = document.createElement('tr');
    tr.append(...cells);
    return tr;
  }));
}

const n = (x) => Number(x).toLocaleString('en');
const time = (ms) => (ms ? new Date(ms).toISOString().replace('T', ' ').slice(0, 19) + ' UTC' : '-');
function ago(ms, now) {
  if (!ms) return 'never';
  const s = Math.max(0, Math.round((now - ms) / 1000));
  return s < 120 ? `${s} s ago` : s < 7200 ? `${Math.round(s / 60)} min ago` : s < 172800 ? `${Math.round(s / 3600)} h ago` : `${Math.round(s / 86400)} d ago`;
}

async function get(path, token) {
  const headers = token ? { authorization: `Bearer ${token}` } : {};
  const res = await fetch(path, { headers });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw Object.assign(new Error(body.error || `${res.status} ${res.statusText}`), { status: res.status });
  return body;
}

/** Every bucket of the range, zero where nothing happened, so that charts show quiet times as quiet. */
function buckets(series, from, to, bucket) {
  const size = bucket === 'hour' ? 3600e3 : 86400e3;
  const byT = new Map(series.map((p) => [p.t, p]));
  const xs = [], attempts = [], addresses = [], fresh = [], returning = [];
  for (let t = Math.floor(from / size) * size; t < to; t += size) {
    const p = byT.get(t) || { attempts: 0, addresses: 0, new: 0 };
    xs.push(t / 1000);
    attempts.push(p.attempts);
    addresses.push(p.addresses);
    fresh.push(p.new);
    returning.push(Math.max(0, p.addresses - p.new));
  }
  return { xs, attempts, addresses, fresh, returning };
}

function chart(id, series, data) {
  const el = document.getElementById(id);
  const width = Math.max(300, el.clientWidth || 600);
  if (charts[id] && charts[id].series.length === series.length + 1) {
    charts[id].setData(data);
    return;
  }
  charts[id]?.destroy();
  el.replaceChildren();
  charts[id] = new uPlot({
    width,
    height: 220,
    series: [{}, ...series],
    axes: [{}, { size: 60 }],
    scales: { x: { time: true } },
  }, data, el);
}

async function refreshOverview() {
  const to = Date.now();
  const from = to - RANGES[range];
  const q = `from=${from}&to=${to}`;
  const [stats, asns, users, passwords, pairs, prints, sensors, feed] = await Promise.all([
    get(`/api/v1/stats?${q}`),
    get(`/api/v1/top/asns?${q}&limit=10`).catch((err) => ({ items: [], error: err.message })),
    get(`/api/v1/top/usernames?${q}&limit=10`),
    get(`/api/v1/top/passwords?${q}&limit=10`),
    get(`/api/v1/top/pairs?${q}&limit=10`),
    get(`/api/v1/top/fingerprints?${q}&limit=10`),
    get('/api/v1/sensors'),
    get('/api/v1/feed'),
  ]);
  const b = buckets(stats.series, from, to, stats.bucket);
  const sum = (xs) => xs.reduce((a, x) => a + x, 0);
  document.getElementById('total-attempts').textContent = n(sum(b.attempts));
  document.getElementById('total-addresses').textContent = n(sum(b.addresses));
  document.getElementById('total-new').textContent = n(sum(b.fresh));
  document.getElementById('total-events').textContent = n(stats.totals.events);
  document.getElementById('feed-summary').textContent = feed.built
    ? `${n(feed.built.addresses)} addresses, ${n(feed.files['telnetlogin.txt']?.size ?? 0)} bytes, built in ${n(Math.round(feed.built.durationMs))} ms at ${time(feed.built.at)}`
    : 'not built yet';
  chart('chart-attempts', [{ label: 'attempts', stroke: '#c0392b', fill: 'rgba(192,57,43,0.1)' }], [b.xs, b.attempts]);
  chart('chart-addresses', [
    { label: 'new', stroke: '#2471a3' },
    { label: 'returning', stroke: '#7d3c98' },
  ], [b.xs, b.fresh, b.returning]);

  fill('top-asns', asns.items.map((a) => [cell(a.asn ? `AS${a.asn}` : 'unknown'), cell(a.name ?? ''), cell(n(a.addresses), 'n'), cell(n(a.attempts), 'n')]));
  fill('top-usernames', users.items.map((u) => [clientCell(u, 'value'), cell(n(u.count), 'n')]));
  fill('top-passwords', passwords.items.map((u) => [clientCell(u, 'value'), cell(n(u.count), 'n')]));
  fill('top-pairs', pairs.items.map((p) => [clientCell(p, 'username'), clientCell(p, 'password'), cell(n(p.count), 'n')]));
  fill('top-options', prints.options.map((u) => [clientCell(u, 'value'), cell(n(u.count), 'n')]));
  fill('top-ttypes', prints.ttypes.map((u) => [clientCell(u, 'value'), cell(n(u.count), 'n')]));
  fill('sensors', sensors.sensors.map((s) => {
    const h = s.heartbeat;
    // Alive: a heartbeat in the last two minutes (the embedded sensor is this process: always).
    const alive = h !== null && sensors.now - h.at < 120e3;
    return [
      cell(visible(s.sensor)),
      cell(h ? ago(h.at, sensors.now) : 'never', alive ? 'alive' : 'quiet'),
      cell(ago(s.lastEvent, sensors.now)),
      cell(n(s.attempts), 'n'),
      cell(h && h.open !== null ? n(h.open) : '-', 'n'),
      cell(h && h.accepted !== null ? n(h.accepted) : '-', 'n'),
      cell(h && h.shed !== null ? n(h.shed) : '-', 'n'),
      cell(h && h.outboxDepth !== null ? n(h.outboxDepth) : '-', 'n'),
    ];
  }));
}

async function refreshAddress(ip) {
  document.getElementById('address-ip').textContent = ip;
  let a;
  try {
    a = await get(`/api/v1/address/${encodeURIComponent(ip)}`);
  } catch (err) {
    document.getElementById('address-facts').replaceChildren(fact('', err.message));
    return;
  }
  document.getElementById('address-facts').replaceChildren(
    fact('first seen', time(a.first)),
    fact('last seen', time(a.last)),
    fact('attempts', n(a.attempts)),
    fact('origin AS', a.origin ? `AS${a.origin.asn} ${a.origin.name ?? ''} (${a.origin.prefix})` : 'unknown'),
    fact('sensors hit', a.sensors.join(', ')),
    fact('tags', a.tags.length ? a.tags.join(', ') : 'none'),
    fact('feed', a.withheld === 'own' ? 'never listed: one of our sensors' : a.withheld === 'excluded' ? "never listed: on the operator's exclusion list" : 'listed while seen in the feed window'),
  );
  chart('chart-address', [{ label: 'attempts', stroke: '#c0392b' }], [a.hours.map((h) => h[0] / 1000), a.hours.map((h) => h[1])]);
  await refreshCredentials(ip);
}

// Credentials are behind the API token: asked for in a form, kept for this tab only.
async function refreshCredentials(ip) {
  const token = sessionStorage.getItem('token');
  const note = document.getElementById('credentials-note');
  const form = document.getElementById('token-form');
  try {
    const c = await get(`/api/v1/address/${encodeURIComponent(ip)}/credentials?limit=200`, token);
    note.textContent = '';
    form.hidden = true;
    fill('address-credentials', c.credentials.map((x) => [clientCell(x, 'username'), clientCell(x, 'password'), cell(n(x.count), 'n'), cell(time(x.last))]));
  } catch (err) {
    const refused = err.status === 401 || err.status === 403;
    note.textContent = refused ? `Credentials need the API token: ${err.message}.` : err.message;
    form.hidden = !refused;
    fill('address-credentials', []);
  }
}

document.getElementById('token-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const input = document.getElementById('token-input');
  sessionStorage.setItem('token', input.value);
  input.value = '';
  const ip = addressInHash();
  if (ip !== null) void refreshCredentials(ip);
});

function fact(name, value) {
  const div = document.createElement('div');
  const dt = document.createElement('dt');
  const dd = document.createElement('dd');
  dt.textContent = name;
  dd.textContent = value;
  div.append(dt, dd);
  return div;
}

function addressInHash() {
  const m = /^#ip=(.+)$/.exec(location.hash);
  return m ? decodeURIComponent(m[1]) : null;
}

async function refresh() {
  clearTimeout(timer);
  const status = document.getElementById('status');
  const ip = addressInHash();
  document.getElementById('overview').hidden = ip !== null;
  document.getElementById('address').hidden = ip === null;
  for (const button of document.querySelectorAll('#ranges button')) button.setAttribute('aria-pressed', String(button.dataset.range === range));
  try {
    await (ip === null ? refreshOverview() : refreshAddress(ip));
    status.textContent = `updated ${new Date().toLocaleTimeString()}`;
    status.className = '';
  } catch (err) {
    status.textContent = `update failed: ${err.message}`;
    status.className = 'error';
  }
  document.body.dataset.loaded = 'true';
  timer = setTimeout(refresh, REFRESH_MS);
}

document.getElementById('ranges').addEventListener('click', (ev) => {
  const r = ev.target.closest('button')?.dataset.range;
  if (!r) return;
  range = r;
  sessionStorage.setItem('range', r);
  if (addressInHash() !== null) location.hash = '';
  void refresh();
});
document.getElementById('lookup').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const ip = document.getElementById('lookup-ip').value.trim();
  location.hash = ip ? `ip=${encodeURIComponent(ip)}` : '';
});
window.addEventListener('hashchange', () => void refresh());
window.addEventListener('resize', () => {
  for (const c of Object.values(charts)) c.setSize({ width: Math.max(300, c.root.parentElement.clientWidth), height: 220 });
});
void refresh();
