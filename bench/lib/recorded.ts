// What the sensor recorded, read end to end: `telnetlogin events` (NDJSON)
// over the server's store while the server still runs, matched against the
// credentials whose "Login incorrect" the clients saw.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { track } from './cleanup.ts';

export interface Phase {
  /** username -> password of every attempt that got a reply. */
  replied: Map<string, string>;
  /** When its clients started (ms since the epoch): its events are read from then on. */
  since: number;
  /** Wall-clock window (ms since the epoch) whose events are counted. */
  from: number;
  to: number;
}

export interface PhaseCount {
  /** Attempts that got a reply and whose credential is in the store, exactly. */
  matched: number;
  /** Events whose time is in the window, whoever sent them. */
  inWindow: number;
  /** Of those, events with a credential no login client sent (the flood's). */
  foreignInWindow: number;
}

const bin = fileURLToPath(new URL('../../bin/telnetlogin', import.meta.url));
const TIMEOUT_MS = 120_000;

/** Matches recorded events (in their JSON form) against the phases' replied credentials. */
export class Tally {
  readonly counts: PhaseCount[];
  readonly #phases: Phase[];
  /** username -> the phase whose client sent it. */
  readonly #owner = new Map<string, number>();

  constructor(phases: Phase[]) {
    this.#phases = phases;
    this.counts = phases.map((): PhaseCount => ({ matched: 0, inWindow: 0, foreignInWindow: 0 }));
    phases.forEach((p, i) => p.replied.forEach((_, username) => this.#owner.set(username, i)));
  }

  add(e: { time: string; username: string; password: string }): void {
    const i = this.#owner.get(e.username);
    if (i !== undefined && this.#phases[i]!.replied.get(e.username) === e.password) this.counts[i]!.matched++;
    const time = Date.parse(e.time);
    this.#phases.forEach((p, k) => {
      if (time < p.from || time > p.to) return;
      this.counts[k]!.inWindow++;
      if (i === undefined) this.counts[k]!.foreignInWindow++;
    });
  }
}

/** Counts, for each phase, its recorded credentials and the events stored in its window. */
export async function countRecorded(dataDir: string, phases: Phase[]): Promise<PhaseCount[]> {
  const tally = new Tally(phases);
  if (phases.length === 0) return tally.counts;
  const since = new Date(Math.min(...phases.map((p) => p.since))).toISOString();
  const child = track(spawn(bin, ['events', '--data-dir', dataDir, '--since', since], { stdio: ['ignore', 'pipe', 'pipe'] }));
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
  const timer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    for await (const line of createInterface({ input: child.stdout!, crlfDelay: Infinity })) tally.add(JSON.parse(line));
    const code = await exited;
    if (code !== 0) throw new Error(`telnetlogin events exited with ${code}:\n${stderr}`);
  } finally {
    clearTimeout(timer);
  }
  return tally.counts;
}
