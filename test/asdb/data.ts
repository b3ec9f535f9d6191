// Test helper: the real routing data in ../shared/data/routing (absent from a
// user's fresh clone: tests skip with a message), and pyasn as the oracle
// (Debian's python3-pyasn, installed by .ci/run: missing, tests skip loudly,
// except under CI=true, where they fail).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';

export const ROUTING = fileURLToPath(new URL('../../../shared/data/routing/', import.meta.url));

/** The path of a data file, or null after skipping the test with the reason. */
export function dataFile(t: TestContext, name: string): string | null {
  const path = ROUTING + name;
  if (existsSync(path)) return path;
  t.skip(`${path} is absent (../shared/data is not part of a clone; see DEVELOPERS.md)`);
  return null;
}

/** Debian's python3 (pyasn lives in its dist-packages, not in other pythons on the PATH). */
export const PYTHON = '/usr/bin/python3';

let pyasnAvailable: boolean | undefined;

/** True when pyasn can be run; otherwise skips the test (fails under CI=true). */
export function needPyasn(t: TestContext): boolean {
  pyasnAvailable ??= (() => {
    try {
      execFileSync(PYTHON, ['-c', 'import pyasn'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();
  if (pyasnAvailable) return true;
  const reason = 'pyasn is not installed (apt-get install python3-pyasn; .ci/run does it)';
  if (process.env.CI === 'true') assert.fail(reason);
  t.skip(reason);
  return false;
}

/** Runs a Python program with `input` on stdin and returns its stdout. */
export function python(program: string, input = ''): string {
  return execFileSync(PYTHON, ['-c', program], { input, maxBuffer: 1 << 30, encoding: 'utf8' });
}

/** A deterministic pseudo-random generator (tests must be repeatable). */
export function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}
