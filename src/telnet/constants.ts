// TELNET bytes (RFC 854, 855) and the options a login sensor meets (clients.md).

export const IAC = 255;
export const DONT = 254;
export const DO = 253;
export const WONT = 252;
export const WILL = 251;
export const SB = 250;
export const GA = 249;
export const EL = 248;
export const EC = 247;
export const AYT = 246;
export const AO = 245;
export const IP = 244;
export const BRK = 243;
export const DM = 242;
export const NOP = 241;
export const SE = 240;

export const CR = 13;
export const LF = 10;
export const NUL = 0;

export const Option = {
  BINARY: 0,
  ECHO: 1,
  SGA: 3,
  STATUS: 5,
  TIMING_MARK: 6,
  LOGOUT: 18,
  TTYPE: 24,
  NAWS: 31,
  TSPEED: 32,
  LFLOW: 33,
  LINEMODE: 34,
  XDISPLOC: 35,
  ENVIRON: 36,
  AUTHENTICATION: 37,
  ENCRYPT: 38,
  NEW_ENVIRON: 39,
} as const;

const OPTION_NAMES = new Map<number, string>(
  Object.entries(Option).map(([name, code]) => [code, name.replace('_', '-')]),
);

const VERB_NAMES: Record<number, string> = { [WILL]: 'WILL', [WONT]: 'WONT', [DO]: 'DO', [DONT]: 'DONT' };

/** "NAWS" for a known option, its number otherwise. */
export function optionName(option: number): string {
  return OPTION_NAMES.get(option) ?? String(option);
}

/** Parses an option given by name ("NAWS", "new-environ") or number ("31"). */
export function optionCode(name: string): number | undefined {
  const n = Number(name);
  if (Number.isInteger(n) && n >= 0 && n <= 255 && name.trim() !== '') return n;
  const key = name.toUpperCase().replace('-', '_');
  return key in Option ? Option[key as keyof typeof Option] : undefined;
}

/** "WILL NAWS", as recorded in a LoginEvent's client.options. */
export function negotiationName(verb: number, option: number): string {
  return `${VERB_NAMES[verb] ?? verb} ${optionName(option)}`;
}
