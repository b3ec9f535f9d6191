// The dashboard at /: static files read from disk once at startup (this
// folder's index.html, dashboard.js, dashboard.css, and uPlot from
// node_modules), and the security headers every response carries: a
// Content-Security-Policy that allows no inline script or style, since the
// page shows strings that attackers chose.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';

export const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

const FILES: Record<string, [file: string, type: string]> = {
  '/': ['src/web/dashboard/index.html', 'text/html; charset=utf-8'],
  '/dashboard.js': ['src/web/dashboard/dashboard.js', 'text/javascript; charset=utf-8'],
  '/dashboard.css': ['src/web/dashboard/dashboard.css', 'text/css; charset=utf-8'],
  '/vendor/uPlot.iife.min.js': ['node_modules/uplot/dist/uPlot.iife.min.js', 'text/javascript; charset=utf-8'],
  '/vendor/uPlot.min.css': ['node_modules/uplot/dist/uPlot.min.css', 'text/css; charset=utf-8'],
};

/**
 * The checkout this runs from. Not import.meta.url: `bin/telnetlogin` runs a
 * bundle from node_modules/.cache, so the folder holding telnetlogin's
 * package.json is found upwards from the entry script (or, failing that, the
 * working directory).
 */
export function packageRoot(starts = [process.argv[1], process.cwd()]): string {
  for (const start of starts) {
    if (!start) continue;
    for (let dir = resolve(start); ; dir = dirname(dir)) {
      const manifest = join(dir, 'package.json');
      if (existsSync(manifest) && existsSync(join(dir, 'src', 'web', 'dashboard', 'index.html'))) return dir;
      if (dirname(dir) === dir) break;
    }
  }
  throw new Error(`cannot find telnetlogin's files (src/web/dashboard) above ${starts.filter(Boolean).join(' or ')}`);
}

export function registerDashboard(app: FastifyInstance, root = packageRoot()): void {
  app.addHook('onSend', async (_req, reply) => {
    reply.header('content-security-policy', CONTENT_SECURITY_POLICY);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
  });
  for (const [url, [file, type]] of Object.entries(FILES)) {
    const body = readFileSync(join(root, file));
    app.get(url, async (_req, reply) => reply.type(type).header('cache-control', 'no-cache').send(body));
  }
  // Browsers ask for it; there is none.
  app.get('/favicon.ico', async (_req, reply) => reply.code(204).send());
}
