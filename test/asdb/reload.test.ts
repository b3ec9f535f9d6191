import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventEmitter, once } from 'node:events';
import { ReloadableAsdb } from '../../src/asdb/reload.ts';

/** Waits for the next log line; the timer also keeps the event loop alive (signal handlers and unref'd watchers do not). */
async function nextLog(events: EventEmitter): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const [line] = await Promise.race([
      once(events, 'log'),
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('no reload within 10 s')), 10_000))),
    ]);
    return line as string;
  } finally {
    clearTimeout(timer);
  }
}

interface Setup {
  dir: string;
  file: string;
  lines: string[];
  events: EventEmitter;
  asdb: ReloadableAsdb;
}

/** A table file with `1.0.0.0/24 -> AS 111`, opened reloadable with a recording log; cleaned up after `fn`. */
async function withTable(options: { debounceMs?: number }, fn: (s: Setup) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tl-asdb-reload-'));
  const file = join(dir, 'table.dat');
  writeFileSync(file, '1.0.0.0/24\t111\n');
  const events = new EventEmitter();
  const lines: string[] = [];
  const record = (level: string) => (m: string) => {
    lines.push(`${level} ${m}`);
    events.emit('log', `${level} ${m}`);
  };
  const asdb = await ReloadableAsdb.open([file], { ...options, log: { info: record('info'), error: record('error') } });
  try {
    await fn({ dir, file, lines, events, asdb });
  } finally {
    asdb.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('reload() switches to the new table; a failed reload keeps the old one and says why', async () => {
  await withTable({}, async (s) => {
    const { asdb } = s;
    assert.equal(asdb.current.asn('1.0.0.1'), 111);
    writeFileSync(s.file, '1.0.0.0/24\t222\n');
    assert.equal((await asdb.reload()).ok, true);
    assert.equal(asdb.current.asn('1.0.0.1'), 222);
    assert.match(s.lines.at(-1)!, /^info asdb: reloaded .*table\.dat in \d+ ms/);

    writeFileSync(s.file, '1.0.0.0/24\t333\n1.0.0.0/24 broken\n');
    const result = await asdb.reload();
    assert.equal(result.ok, false);
    assert.equal(asdb.current.asn('1.0.0.1'), 222);
    assert.match(s.lines.at(-1)!, /^error asdb: reload failed, keeping the table in use: .*table\.dat:2: expected/);
  });
});

test('SIGHUP reloads', async () => {
  await withTable({}, async (s) => {
    const { asdb } = s;
    asdb.reloadOnSighup();
    writeFileSync(s.file, '1.0.0.0/24\t444\n');
    const logged = nextLog(s.events);
    process.kill(process.pid, 'SIGHUP');
    const line = await logged;
    assert.match(line, /^info asdb: reloaded/);
    assert.equal(asdb.current.asn('1.0.0.1'), 444);
  });
  assert.equal(process.listenerCount('SIGHUP'), 0, 'close() removes the handler');
});

test('a watched file replaced by rename (an atomic update) is reloaded', async () => {
  await withTable({ debounceMs: 50 }, async (s) => {
    const { asdb } = s;
    asdb.watchFiles();
    const logged = nextLog(s.events);
    const tmp = join(s.dir, 'table.dat.new');
    writeFileSync(tmp, '1.0.0.0/24\t555\n');
    renameSync(tmp, s.file);
    const line = await logged;
    assert.match(line, /^info asdb: reloaded/);
    assert.equal(asdb.current.asn('1.0.0.1'), 555);
  });
});

test('reloads asked for during a reload are folded into one more', async () => {
  await withTable({}, async (s) => {
    const { asdb } = s;
    writeFileSync(s.file, '1.0.0.0/24\t666\n');
    const first = asdb.reload();
    const second = asdb.reload();
    assert.equal(first, second);
    await first;
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(s.lines.filter((l) => l.startsWith('info')).length, 2);
    assert.equal(asdb.current.asn('1.0.0.1'), 666);
  });
});
