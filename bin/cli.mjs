// The CLI, started by bin/telnetlogin (which gives node the flags of the job).
// Runs the CLI straight from the TypeScript sources, with no build step for
// the user: the sources are bundled by esbuild (about 0.1 s) into a cache
// folder named after their content, on the first run after a change. A plain
// bundle keeps a long-running sensor free of a TypeScript loader thread
// (about 35 MB of memory).
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src');
const cache = join(root, 'node_modules', '.cache', 'telnetlogin');

function sources(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? sources(join(dir, d.name)) : d.name.endsWith('.ts') ? [join(dir, d.name)] : [],
  );
}

const hash = createHash('sha256');
for (const file of sources(src).sort()) {
  const s = statSync(file);
  hash.update(`${file}\0${s.size}\0${s.mtimeMs}\0`);
}
hash.update(readFileSync(join(root, 'package.json')));
const out = join(cache, hash.digest('hex').slice(0, 16));

if (!existsSync(join(out, 'main.js'))) {
  // The async API and stop(): buildSync would keep a worker thread and the
  // esbuild service process alive for the life of the sensor (about 160 MB).
  const esbuild = await import('esbuild');
  mkdirSync(cache, { recursive: true });
  const tmp = `${out}.tmp-${process.pid}`;
  await esbuild.build({
    entryPoints: { main: join(src, 'cli', 'main.ts') },
    outdir: tmp,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    sourcemap: 'linked',
    logLevel: 'error',
  });
  await esbuild.stop();
  try {
    renameSync(tmp, out); // atomic: a concurrent start sees all of it or none
  } catch {
    rmSync(tmp, { recursive: true, force: true }); // another process won the race
  }
  // Old bundles go after a day: a process started from one may still load its chunks.
  for (const old of readdirSync(cache)) {
    const path = join(cache, old);
    if (path !== out && Date.now() - statSync(path).mtimeMs > 86_400_000) rmSync(path, { recursive: true, force: true });
  }
}

process.setSourceMapsEnabled(true);
await import(pathToFileURL(join(out, 'main.js')).href);
