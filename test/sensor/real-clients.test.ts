// Real Debian clients against the real `telnetlogin run` on loopback: netkit
// telnet (piped and on a pty), Hydra, Ncrack, Medusa and nmap's telnet-brute
// and telnet-ntlm-info. Each tool runs with small lists and a hard timeout;
// every credential it got through must be in `telnetlogin events` byte-exact,
// and no tool may think it logged in (the sensor never grants a login).
// A missing tool skips its test with a message, or fails it under CI=true
// (.ci/run installs them all).
import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killOnExit, startSensor, type RunningSensor } from '../helpers/cli.ts';
import { credentialOf } from '../helpers/recorded.ts';
import { bytes, latin1 } from '../helpers/telnet-client.ts';
import type { LoginEventJson } from '../../src/events/json.ts';

const MAX_ATTEMPTS = 2; // the sensor hangs up after two tries, which ends the telnet sessions by themselves

let sensor: RunningSensor;
let port: number;
let work: string;
const seen = new Set<string>();

before(async () => {
  sensor = await startSensor({ config: { persona: { maxAttempts: MAX_ATTEMPTS } } });
  port = sensor.port;
  work = mkdtempSync(join(tmpdir(), 'tl-tools-'));
});
after(async () => {
  await sensor?.dispose();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** True when `name` can run; otherwise skips the test, or fails it under CI=true. */
function have(t: TestContext, name: string, debianPackage = name): boolean {
  if (spawnSync('sh', ['-c', `command -v ${name}`]).status === 0) return true;
  const message = `${name} is not installed (Debian package ${debianPackage}; .ci/run installs it)`;
  if (process.env.CI === 'true') assert.fail(message);
  t.skip(message);
  return false;
}

/** Writes lines (bytes as latin1 strings) to a file in the work directory. */
function list(name: string, lines: string[]): string {
  const file = join(work, name);
  writeFileSync(file, bytes(lines.map((l) => l + '\n').join('')));
  return file;
}

interface ToolRun {
  code: number | null;
  output: string;
  timedOut: boolean;
}

/**
 * Runs a tool in the work directory (where it may leave restore files), killed after `timeoutMs`.
 * With `answers`, each `login: ` or `Password: ` it prints gets the next one on its stdin.
 */
function runTool(command: string, args: string[], timeoutMs: number, answers?: string[]): Promise<ToolRun> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: work, stdio: [answers ? 'pipe' : 'ignore', 'pipe', 'pipe'], env: { ...process.env, TERM: 'dumb' } });
    killOnExit(child);
    let output = '';
    let answered = 0;
    child.stdout!.setEncoding('latin1').on('data', (s: string) => {
      output += s;
      const prompts = output.match(/login: |Password: /g)?.length ?? 0;
      while (answers && answered < prompts && answered < answers.length) child.stdin!.write(bytes(answers[answered++]!));
    });
    child.stderr!.setEncoding('latin1').on('data', (s: string) => (output += s));
    child.stdin?.on('error', () => {});
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output, timedOut });
    });
  });
}

/** Events recorded since the last call. */
async function newEvents(): Promise<LoginEventJson[]> {
  const fresh = (await sensor.events()).filter((e) => !seen.has(e.id));
  for (const e of fresh) seen.add(e.id);
  return fresh;
}

const key = (username: string, password: string) => JSON.stringify([username, password]);
const keysOf = (events: LoginEventJson[]) =>
  events.map((e) => {
    const c = credentialOf(e);
    return key(latin1(c.username), latin1(c.password));
  });

/** The credentials recorded, as a set of [username, password] in latin1 (byte-exact), must be exactly `expected`. */
function assertSameCredentials(events: LoginEventJson[], expected: [string, string][], run: ToolRun): void {
  assert.deepEqual(new Set(keysOf(events)), new Set(expected.map(([u, p]) => key(u, p))), `tool output:\n${run.output}`);
  for (const e of events) assert.equal(e.src_ip, '127.0.0.1');
}

test('Debian telnet, stdin piped: two logins with bare-LF lines, 8-bit bytes intact', async (t) => {
  if (!have(t, 'telnet')) return;
  // The sensor hangs up after MAX_ATTEMPTS tries, which ends telnet.
  const run = await runTool('telnet', ['127.0.0.1', String(port)], 15_000, ['root\n', 'xc3511\n', 'admin\n', 'p\xe4ss w0rd\n']);
  assert.ok(!run.timedOut, `telnet did not finish:\n${run.output}`);
  assert.match(run.output, /Login incorrect[\s\S]*Login incorrect/);
  assert.match(run.output, /Connection closed by foreign host/);
  const events = await newEvents();
  assertSameCredentials(events, [['root', 'xc3511'], ['admin', 'p\xe4ss w0rd']], run);
  assert.deepEqual(events.map((e) => e.attempt), [1, 2]);
  assert.equal(events[0]!.session, events[1]!.session);
  assert.equal(events[1]!.password_b64, Buffer.from('p\xe4ss w0rd', 'latin1').toString('base64'));
});

test('Debian telnet on a pty (script -qfc): character mode, CR NUL lines, NAWS', async (t) => {
  if (!have(t, 'telnet') || !have(t, 'script', 'bsdutils')) return;
  const run = await runTool('script', ['-qfc', `telnet 127.0.0.1 ${port}`, '/dev/null'], 15_000, ['root\r', 'vizxv\r', 'guest\r', '12345\r']);
  assert.ok(!run.timedOut, `telnet did not finish:\n${run.output}`);
  const events = await newEvents();
  assertSameCredentials(events, [['root', 'vizxv'], ['guest', '12345']], run);
  assert.ok(events[0]!.client.naws, 'a terminal reports its window size');
  assert.deepEqual(events[0]!.client.options.slice(0, 4), ['WONT ECHO', 'WILL NAWS', 'DO ECHO', 'DO SGA']);
});

const PASSWORDS = ['123456', 'p\xc3\xa4sswort', 'admin 123', '7ujMko0admin']; // UTF-8 'pässwort' as bytes

test('Hydra: one task a credential, every one recorded; no login reported', async (t) => {
  if (!have(t, 'hydra')) return;
  // With as many tasks as passwords each task tries once on a fresh connection. When re-prompted on
  // the same connection Hydra 9.4 loses track of its list (next test): a Hydra bug, not the sensor's.
  const run = await runTool('hydra', ['-I', '-l', 'root', '-P', list('hydra.txt', PASSWORDS), '-t', String(PASSWORDS.length), '-s', String(port), '127.0.0.1', 'telnet'], 30_000);
  assert.ok(!run.timedOut, `hydra did not finish:\n${run.output}`);
  assert.match(run.output, /0 valid password(s)? found/);
  assert.doesNotMatch(run.output, /\[telnet\] host:/);
  assertSameCredentials(await newEvents(), PASSWORDS.map((p) => ['root', p]), run);
});

test('Hydra, several tries on one connection: the first is recorded, nothing it did not send', async (t) => {
  if (!have(t, 'hydra')) return;
  const passwords = ['first', 'second', 'third'];
  const run = await runTool('hydra', ['-I', '-l', 'root', '-P', list('hydra1.txt', passwords), '-t', '1', '-s', String(port), '127.0.0.1', 'telnet'], 30_000);
  assert.ok(!run.timedOut, `hydra did not finish:\n${run.output}`);
  assert.doesNotMatch(run.output, /\[telnet\] host:/);
  // Re-prompted, Hydra 9.4 sends an empty login and then a username with no password, while counting
  // the pair as tried: later pairs never reach the wire, so only the first can be asserted.
  const recorded = keysOf(await newEvents());
  assert.ok(recorded.includes(key('root', 'first')), `recorded: ${recorded.join(', ')}\n${run.output}`);
  const tried = new Set(passwords.map((p) => key('root', p)));
  assert.ok(recorded.every((k) => tried.has(k)), `recorded: ${recorded.join(', ')}`);
});

test('Ncrack: every username and password recorded; no login reported', async (t) => {
  if (!have(t, 'ncrack')) return;
  const users = ['root', 'admin'];
  const passwords = ['1234', 'xc3511'];
  const run = await runTool('ncrack', ['-U', list('ncrack-users.txt', users), '-P', list('ncrack-pass.txt', passwords), `telnet://127.0.0.1:${port}`], 20_000);
  assert.ok(!run.timedOut, `ncrack did not finish in 20 s:\n${run.output}`);
  assert.doesNotMatch(run.output, /Discovered credentials/);
  assertSameCredentials(await newEvents(), users.flatMap((u) => passwords.map((p): [string, string] => [u, p])), run);
});

test('Medusa: a connection per credential, every one recorded; no login reported', async (t) => {
  if (!have(t, 'medusa')) return;
  const passwords = ['1234', 'password', 'Zte521'];
  // Medusa pauses about 4.5 s per attempt whatever the server does: one thread per password.
  const run = await runTool('medusa', ['-M', 'telnet', '-h', '127.0.0.1', '-n', String(port), '-u', 'root', '-P', list('medusa.txt', passwords), '-t', String(passwords.length)], 30_000);
  assert.ok(!run.timedOut, `medusa did not finish:\n${run.output}`);
  assert.doesNotMatch(run.output, /ACCOUNT FOUND/);
  assertSameCredentials(await newEvents(), passwords.map((p) => ['root', p]), run);
});

test('nmap telnet-brute and telnet-ntlm-info: every guess recorded, no account, no NTLM information', async (t) => {
  if (!have(t, 'nmap')) return;
  const users = ['root', 'admin'];
  const passwords = ['1234', 'default'];
  // `+` runs the scripts although the port is not 23; telnet-brute first tries each username as its password.
  const args = ['-Pn', '-n', '-p', String(port), '--script', '+telnet-brute,+telnet-ntlm-info', '--script-args',
    `userdb=${list('nmap-users.txt', users)},passdb=${list('nmap-pass.txt', passwords)},brute.firstonly=false,unpwdb.timelimit=30s`, '127.0.0.1'];
  const run = await runTool('nmap', args, 30_000);
  assert.ok(!run.timedOut, `nmap did not finish:\n${run.output}`);
  assert.match(run.output, /telnet-brute:[\s\S]*No valid accounts found/);
  assert.doesNotMatch(run.output, /Target_Name|NetBIOS/);
  const expected = users.flatMap((u): [string, string][] => [[u, u], ...passwords.map((p): [string, string] => [u, p])]);
  assertSameCredentials(await newEvents(), expected, run);
});

test('after the tools: the sensor is alive and exits 0 on SIGTERM', async () => {
  assert.ok(sensor.alive(), sensor.stderr());
  assert.equal(await sensor.healthz(), 200);
  assert.equal(await sensor.stop('SIGTERM'), 0, sensor.stderr());
});
