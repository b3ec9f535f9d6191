// A persona is what a client sees of the sensor: the option set it opens
// with (a fingerprint scanners index), banner, hostname, prompts, failure text,
// delays, attempts and timeout. The default mimics a BusyBox-based embedded
// device (clients.md, "What real devices send"), not any known honeypot.
import { z } from 'zod';
import { DO, DONT, WILL, WONT, optionCode } from '../telnet/constants.ts';

const VERBS: Record<string, number> = { WILL, WONT, DO, DONT };

/** "DO NAWS" -> [DO, 31]; undefined when malformed. */
export function parseNegotiation(text: string): [number, number] | undefined {
  const [verb, option, extra] = text.trim().split(/\s+/);
  const v = VERBS[verb?.toUpperCase() ?? ''];
  const o = option === undefined ? undefined : optionCode(option);
  return v === undefined || o === undefined || extra !== undefined ? undefined : [v, o];
}

const negotiation = z.string().refine((s) => parseNegotiation(s) !== undefined, {
  message: 'expected "WILL|WONT|DO|DONT <option name or number>", e.g. "DO NAWS"',
});
const option = z.string().refine((s) => optionCode(s) !== undefined, { message: 'unknown TELNET option' });

/** Milliseconds, either fixed or a [min, max] range picked uniformly per use. */
const delay = z.union([
  z.number().int().min(0).max(600_000).transform((ms): [number, number] => [ms, ms]),
  z
    .tuple([z.number().int().min(0).max(600_000), z.number().int().min(0).max(600_000)])
    .refine(([a, b]) => a <= b, { message: 'the range minimum is above its maximum' }),
]);

// Every common brute-forcer (Hydra, Ncrack, Medusa, nmap) takes any of these
// characters in the reply to a password as a shell prompt, i.e. a success.
const SUCCESS_MARKERS = /[#$%>/]/;
const noSuccessMarker = (what: string) =>
  z.string().max(256).refine((s) => !SUCCESS_MARKERS.test(s), {
    message: `${what} must not contain any of # $ % > / (brute-forcers would read it as a successful login)`,
  });

export const personaSchema = z
  .object({
    hostname: noSuccessMarker('hostname').default('(none)'),
    /** Text between the options and the first prompt (like /etc/issue); CR LF line ends are added. */
    banner: z.string().max(4096).default(''),
    /** `{hostname}` is replaced. */
    loginPrompt: noSuccessMarker('loginPrompt').default('{hostname} login: '),
    passwordPrompt: noSuccessMarker('passwordPrompt').default('Password: '),
    failureText: noSuccessMarker('failureText').default('Login incorrect'),
    timeoutText: z.string().max(256).default('Login timed out after {seconds} seconds'),
    /** What the sensor sends first, in order. BusyBox telnetd: FF FD 01 FF FD 1F FF FB 01 FF FB 03. */
    options: z.array(negotiation).max(32).default(['DO ECHO', 'DO NAWS', 'WILL ECHO', 'WILL SGA']),
    /** Options we perform when asked (DO), and options we let the client perform (WILL). */
    acceptDo: z.array(option).max(64).default(['ECHO', 'SGA']),
    acceptWill: z.array(option).max(64).default(['NAWS', 'TTYPE', 'NEW-ENVIRON', 'SGA']),
    /** Pause between the options and the first prompt: Ncrack and Hydra stall when both arrive in one read. */
    promptDelayMs: delay.default([20, 50]),
    /** Pause before the failure text (BusyBox: 3 s). */
    failureDelayMs: delay.default([2500, 3500]),
    /** Failed logins per connection before hanging up (BusyBox: 3). */
    maxAttempts: z.number().int().min(1).max(100).default(3),
    /** Empty usernames in a row before hanging up (BusyBox: 10). */
    maxEmptyUsernames: z.number().int().min(1).max(100).default(10),
    /** Silence before the timeout text and hang-up (BusyBox: 60 s). */
    idleTimeoutMs: z.number().int().min(100).max(3_600_000).default(60_000),
  })
  .strict();

export type PersonaConfig = z.input<typeof personaSchema>;
export type Persona = z.output<typeof personaSchema>;

export const defaultPersona: Persona = personaSchema.parse({});
