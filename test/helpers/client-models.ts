// Test helper: scripted clients that talk TELNET the way real ones do, after
// ../shared/docs/clients.md and the public source of each tool (Mirai's
// scanner.c, hydra-telnet.c, ncrack_telnet.cc, nmap's telnet-brute and
// telnet-ntlm-info): what they answer to options, when they send, how they end
// lines. Each returns what it submitted, to compare with `telnetlogin events`.
import type { Submitted } from './recorded.ts';
import { AUTHENTICATION, DO, DONT, ECHO, IAC, LINEMODE, NAWS, SB, SE, SGA, WILL, WONT, ScriptedClient, bytes, sleep } from './telnet-client.ts';

export interface Target {
  port: number;
  host?: string;
  localAddress?: string;
}

export type Credential = readonly [username: Uint8Array, password: Uint8Array];

export interface Session extends Submitted {
  client: ScriptedClient;
  /** The tool would have taken the reply as a successful login (a shell prompt). */
  reportedSuccess: boolean;
}

/** Every success marker Hydra, Ncrack, Medusa and nmap look for in the reply to a password. */
export const SUCCESS_MARKERS = /[/>%$#]/;

const NUL = 0;

/** What `client` submitted: call it once the sensor has answered the last of `credentials` (or the connection ended). */
export function submittedBy(client: ScriptedClient, credentials: Credential[]): Submitted {
  return { ip: client.localAddress, port: client.localPort, from: client.startedAt, to: Date.now(), credentials };
}

function sessionOf(client: ScriptedClient, credentials: Credential[], reportedSuccess = false): Session {
  return { ...submittedBy(client, credentials), client, reportedSuccess };
}

/** Data for the wire: 0xFF doubled. */
export function escapeIac(data: Uint8Array): Buffer {
  const out: number[] = [];
  for (const b of data) out.push(...(b === IAC ? [IAC, IAC] : [b]));
  return Buffer.from(out);
}

const text = (s: string | Uint8Array) => (typeof s === 'string' ? bytes(s) : Buffer.from(s));

// --- a plain line client ---------------------------------------------------

/**
 * Logs in the simple way (nmap telnet-brute, scripts, people): waits for each
 * prompt, sends the line with `eol`, waits for the verdict. Returns the text
 * the server sent after the password.
 */
export async function login(client: ScriptedClient, [username, password]: Credential, eol = '\r\n', timeoutMs = 5000): Promise<string> {
  await client.expect('login: ', timeoutMs);
  await client.send(Buffer.concat([escapeIac(username), bytes(eol)]));
  await client.expect('Password: ', timeoutMs);
  const from = client.text.length;
  await client.send(Buffer.concat([escapeIac(password), bytes(eol)]));
  await client.expect('Login incorrect\r\n', timeoutMs);
  return client.text.subarray(from).toString('latin1');
}

/** One connection, `credentials` tried in turn with `login` (at most the sensor's attempts per connection). */
export async function lineClient(target: Target, credentials: Credential[], eol = '\r\n', timeoutMs = 5000): Promise<Session> {
  const client = await ScriptedClient.connect({ ...target, onNegotiation: acceptEchoAndSga });
  let success = false;
  for (const credential of credentials) success ||= SUCCESS_MARKERS.test(await login(client, credential, eol, timeoutMs));
  client.end();
  return sessionOf(client, credentials, success);
}

/** Accepts WILL ECHO and WILL SGA, refuses the rest (nmap telnet-brute, and most scripts). */
function acceptEchoAndSga(client: ScriptedClient, verb: number, option: number): void {
  if (verb === DO) void client.send(Buffer.of(IAC, WONT, option));
  else if (verb === WILL) void client.send(Buffer.of(IAC, option === ECHO || option === SGA ? DO : DONT, option));
}

// --- Mirai ----------------------------------------------------------------

/** What Mirai's scanner sends after the password, each when it sees a prompt character (TABLE_SCAN_*; the NUL is part of the string). */
export const MIRAI_FOLLOW_UPS = ['enable', 'system', 'shell', 'sh', '/bin/busybox MIRAI'].map((s) => bytes(s + '\0'));

/**
 * One Mirai scanner connection (scanner.c): it reads into a buffer (NULs
 * replaced by 'A'), first consumes the IAC commands at its start (answers DO
 * NAWS with WILL NAWS + SB NAWS 80x24, other DO with WONT, WILL with DO; no
 * IAC first: it stalls), then sends the username once the buffer holds a
 * prompt character or `ogin`/`enter`, the password on a prompt character or
 * `assword`, and then `enable\0`, `system\0`, `shell\0`, `sh\0` and the
 * busybox query, each after any prompt character (`:` of `login:` too), lines
 * ending `\r\n`, sent in two writes. `ncorrect` after the query, or the
 * connection closing, ends the attempt. Every pair of lines it sent is a
 * credential for the sensor, the follow-ups included.
 */
export async function miraiAttempt(target: Target, [username, password]: Credential, timeoutMs = 5000): Promise<Session & { stalled: boolean }> {
  const lines: Buffer[] = [];
  let rdbuf = Buffer.alloc(0);
  let state = 0; // 0 options, 1 username, 2 password, 3.. follow-ups, then the token check
  let failed = false;
  const FOLLOW = 3;
  const TOKEN = FOLLOW + MIRAI_FOLLOW_UPS.length;
  const sendLine = (client: ScriptedClient, line: Uint8Array) => {
    lines.push(Buffer.from(line));
    client.socket.write(line);
    client.socket.write('\r\n');
  };
  /** consume_any_prompt & co: just past the last prompt character (index 0 never counts). */
  const promptEnd = (chars: string) => {
    for (let i = rdbuf.length - 1; i > 0; i--) if (chars.includes(String.fromCharCode(rdbuf[i]!))) return i + 1;
    return 0;
  };
  const search = (needle: string) => {
    const i = rdbuf.indexOf(needle, 0, 'latin1');
    return i < 0 ? 0 : i + needle.length;
  };
  const consumeIacs = (client: ScriptedClient) => {
    let i = 0;
    while (i < rdbuf.length && rdbuf[i] === IAC && i + 1 < rdbuf.length) {
      if (rdbuf[i + 1] === IAC) {
        i += 2;
        continue;
      }
      if (i + 2 >= rdbuf.length) break;
      if (rdbuf[i + 1] === DO && rdbuf[i + 2] === NAWS) {
        client.socket.write(Buffer.of(IAC, WILL, NAWS));
        client.socket.write(Buffer.of(IAC, SB, NAWS, 0, 80, 0, 24, IAC, SE));
      } else {
        client.socket.write(Buffer.from(rdbuf.subarray(i, i + 3)).map((b) => (b === DO ? WONT : b === WILL ? DO : b)));
      }
      i += 3;
    }
    return i;
  };
  const step = (client: ScriptedClient): number => {
    let n: number;
    if (state === 0) {
      n = consumeIacs(client);
    } else if (state === 1) {
      n = promptEnd(':>$#%') || search('ogin') || search('enter');
      if (n) sendLine(client, username);
    } else if (state === 2) {
      n = promptEnd(':>$#') || search('assword');
      if (n) sendLine(client, password);
    } else if (state < TOKEN) {
      n = promptEnd(':>$#%');
      if (n) sendLine(client, MIRAI_FOLLOW_UPS[state - FOLLOW]!);
    } else {
      if (search('ncorrect')) {
        failed = true;
        client.destroy();
      }
      return 0;
    }
    if (n) state++;
    return n;
  };
  const client = await ScriptedClient.connect({
    ...target,
    onData(c, chunk) {
      rdbuf = Buffer.concat([rdbuf, chunk.map((b) => (b === NUL ? 0x41 : b))]);
      for (let n = step(c); n > 0; n = step(c)) rdbuf = rdbuf.subarray(Math.min(n, rdbuf.length));
    },
  });
  let stalled = false;
  await client.until(() => failed || client.closed, 'the Mirai attempt to end', timeoutMs).catch(() => {
    stalled = true;
    client.destroy();
  });
  const credentials: Credential[] = [];
  for (let i = 0; i + 1 < lines.length; i += 2) credentials.push([lines[i]!, lines[i + 1]!]);
  return { ...sessionOf(client, credentials), stalled };
}

// --- Hydra ----------------------------------------------------------------

/**
 * Hydra 9.4 (hydra-telnet.c): answers the first IAC with WILL LINEMODE and
 * refuses every other option (WILL/WONT -> DONT, DO/DONT -> WONT); when the
 * server refuses LINEMODE it types one byte at a time, `gapMs` apart, `\r\0`
 * ending each line (in one write). A repeated `login:` starts its next try on
 * the same connection; when the server hangs up it connects again. Any of
 * `/ > % $ #` in the reply to a password means success to it. (Real Hydra
 * loses track of its list when re-prompted; this model does not.)
 */
export async function hydraLike(target: Target, credentials: Credential[], gapMs = 20, timeoutMs = 5000): Promise<Session[]> {
  const sessions: Session[] = [];
  let next = 0;
  while (next < credentials.length) {
    let first = true;
    let lineModeRefused = false;
    const client = await ScriptedClient.connect({
      ...target,
      onNegotiation(c, verb, option) {
        if (first) void c.send(Buffer.of(IAC, WILL, LINEMODE));
        first = false;
        if (option === LINEMODE) lineModeRefused ||= verb === WONT || verb === DONT;
        else void c.send(Buffer.of(IAC, verb === WILL || verb === WONT ? DONT : WONT, option));
      },
    });
    const type = async (line: Uint8Array) => {
      if (!lineModeRefused) return client.send(Buffer.concat([escapeIac(line), Buffer.of(13, 0)]));
      for (const b of escapeIac(line)) {
        await client.send(Buffer.of(b));
        await sleep(gapMs);
      }
      await client.send(Buffer.of(13, 0));
      await sleep(gapMs);
    };
    const tried: Credential[] = [];
    let success = false;
    await client.expect('login:', timeoutMs);
    await client.until(() => lineModeRefused, 'the answer to WILL LINEMODE', timeoutMs);
    while (next < credentials.length) {
      const [username, password] = credentials[next++]!;
      await type(username);
      await client.expect(/asswor/i, timeoutMs);
      await type(password);
      tried.push([username, password]);
      const from = client.cursor;
      await client.until(() => /login:/.test(client.text.subarray(from).toString('latin1')) || client.closed, 'a verdict', timeoutMs);
      const reply = client.text.subarray(from).toString('latin1');
      success ||= SUCCESS_MARKERS.test(reply);
      if (client.closed || !/login:/.test(reply)) break;
      await client.expect('login:');
    }
    client.destroy();
    sessions.push(sessionOf(client, tried, success));
  }
  return sessions;
}

// --- Ncrack ---------------------------------------------------------------

/**
 * Ncrack 0.7 (ncrack_telnet.cc): refuses every option but LINEMODE (WILL and
 * WONT -> DONT, DO and DONT -> WONT) and asks WILL LINEMODE once, in one write
 * after each read; once it has seen `login`, without LINEMODE it types the
 * username one byte at a time and waits for the echo of each before the next
 * (real Ncrack waits 10 s, then gives up on the connection), then `\r\0`;
 * the password goes whole with a bare `\r` once `password` was seen.
 * `incorrect`/`fail` is a failure (a `login` in the same read means the next
 * try on this connection); `> $ #` a success.
 */
export async function ncrackLike(target: Target, credentials: Credential[], echoTimeoutMs = 2000, timeoutMs = 5000): Promise<Session[]> {
  const sessions: Session[] = [];
  let next = 0;
  while (next < credentials.length) {
    let lineMode: boolean | undefined;
    let asked = false;
    let replies: Buffer[] = [];
    const client = await ScriptedClient.connect({
      ...target,
      onNegotiation(_c, verb, option) {
        if (option === LINEMODE) {
          lineMode = verb === WILL || verb === DO;
          return;
        }
        replies.push(Buffer.of(IAC, verb === WILL || verb === WONT ? DONT : WONT, option));
      },
      onData(c) {
        if (lineMode === undefined && !asked) {
          asked = true;
          replies.push(Buffer.of(IAC, WILL, LINEMODE));
        }
        if (replies.length > 0) void c.send(Buffer.concat(replies));
        replies = [];
      },
    });
    const tried: Credential[] = [];
    let success = false;
    await client.expect(/login/i, timeoutMs);
    while (next < credentials.length) {
      const [username, password] = credentials[next++]!;
      for (const b of username) {
        await client.send(Buffer.of(b));
        await client.expect(String.fromCharCode(b), echoTimeoutMs).catch((err: Error) => {
          throw new Error(`Ncrack-like: no echo of ${JSON.stringify(String.fromCharCode(b))} (real Ncrack stalls 10 s here, then drops the connection): ${err.message}`);
        });
      }
      await client.send(Buffer.of(13, 0));
      await client.expect(/password/i, timeoutMs);
      await client.send(Buffer.concat([escapeIac(password), Buffer.of(13)]));
      tried.push([username, password]);
      const verdict = await client.expect(/incorrect|fail|[>$#]/i, timeoutMs);
      success ||= !/incorrect|fail/i.test(verdict);
      // The next prompt must come in the same read as the verdict (clients.md), or Ncrack reconnects.
      if (success || !/login/i.test(client.text.subarray(client.cursor).toString('latin1'))) break;
      await client.expect(/login/i); // the echo check reads after the prompt
    }
    client.destroy();
    sessions.push(sessionOf(client, tried, success));
  }
  return sessions;
}

// --- nmap telnet-ntlm-info --------------------------------------------------

/**
 * The opening of nmap's telnet-ntlm-info (captured from nmap 7.93): an
 * unsolicited MS-TNAP `IAC SB AUTHENTICATION IS NTLM ... NTLMSSP_NEGOTIATE ... IAC SE`.
 */
export const NMAP_NTLM_PROBE = Buffer.concat([
  Buffer.of(IAC, SB, AUTHENTICATION, 0x00, 0x0f, 0x00, 0x00),
  Buffer.from('20000000' + '02000000', 'hex'), // NTLM data size 32, buffer type 2 (little-endian)
  Buffer.from('NTLMSSP\0', 'latin1'),
  Buffer.from('01000000' + '078208a0' + '00'.repeat(16), 'hex'), // NEGOTIATE, flags, empty domain and workstation
  Buffer.of(IAC, SE),
]);

/**
 * nmap telnet-ntlm-info, then telnet-brute: waits for the server to speak,
 * sends the NTLM probe, accepts WILL ECHO/SGA and refuses the rest, then logs
 * in with `\r\n` lines, reusing the connection when re-prompted.
 */
export async function nmapLike(target: Target, credentials: Credential[], timeoutMs = 5000): Promise<Session> {
  const client = await ScriptedClient.connect({ ...target, onNegotiation: acceptEchoAndSga });
  await client.until(() => client.raw.length > 0, 'the server to speak', timeoutMs);
  await client.send(NMAP_NTLM_PROBE);
  let success = false;
  for (const credential of credentials) success ||= SUCCESS_MARKERS.test(await login(client, credential, '\r\n', timeoutMs));
  client.end();
  return sessionOf(client, credentials, success);
}

export const cred = (username: string | Uint8Array, password: string | Uint8Array): Credential => [text(username), text(password)];
