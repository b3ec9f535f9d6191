// Test helper: one `telnetlogin` command as a child process, its output and exit code.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { killOnExit } from './cli.ts';

const BIN = fileURLToPath(new URL('../../bin/telnetlogin', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `telnetlogin ...args` without the caller's TELNETLOGIN_* settings; it is killed after `timeoutMs`. */
export function telnetlogin(args: string[], timeoutMs = 120_000): Promise<CliResult> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('TELNETLOGIN_')));
  const child = spawn(BIN, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  killOnExit(child);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
}
