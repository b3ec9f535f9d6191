// What a benchmark leaves behind is cleaned up when it ends, however it ends:
// child processes are killed and temporary directories removed.
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';

const live = new Set<ChildProcess>();
const directories = new Set<string>();

function cleanUp(): void {
  for (const child of live) child.kill('SIGKILL');
  for (const dir of directories) rmSync(dir, { recursive: true, force: true });
}

process.on('exit', cleanUp);
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]] as const) {
  process.once(signal, () => process.exit(code)); // 'exit' cleans up
}

/** Kills `child` with the benchmark; forgets it once it has exited. */
export function track<T extends ChildProcess>(child: T): T {
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

/** Removes `dir` when the benchmark ends, unless removeNow() did already. */
export function temporary(dir: string): string {
  directories.add(dir);
  return dir;
}

export function removeNow(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  directories.delete(dir);
}
