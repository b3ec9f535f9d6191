// Settings for the commands: flags > environment (TELNETLOGIN_*) > config file
// (JSON) > defaults. Every error names the key and the problem.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { z } from 'zod';
import { UsageError } from '../errors.ts';
import { feedConfigSchema } from '../feed/config.ts';
import { personaSchema } from '../sensor/persona.ts';
import { parseListenAddress } from './listen-address.ts';

const listen = z.string().transform((s, ctx) => {
  try {
    return parseListenAddress(s, 'address');
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});

const positive = (max: number) => z.number().int().min(1).max(max);
const limitsSchema = z
  .object({
    maxConnections: positive(1_000_000),
    maxConnectionsPerSource: positive(100_000),
    maxLifetimeMs: positive(86_400_000),
    maxUnreadOutput: positive(64 * 1024 * 1024),
    backlog: positive(65_535),
    maxLine: positive(65_536),
    maxInput: positive(64 * 1024 * 1024),
    maxSubnegotiation: positive(65_536),
  })
  .partial()
  .strict();

// How `sensor` and `collector` reach the broker (flags and TELNETLOGIN_NATS_* win over these).
const natsSchema = z
  .object({
    url: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
    user: z.string().min(1),
    pass: z.string().min(1),
    token: z.string().min(1),
    nkeySeedFile: z.string().min(1),
    credsFile: z.string().min(1),
    tlsCa: z.string().min(1),
    tlsCert: z.string().min(1),
    tlsKey: z.string().min(1),
    root: z.string().min(1),
  })
  .partial()
  .strict();

export type NatsConfig = z.output<typeof natsSchema>;

export const configSchema = z
  .object({
    sensorId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ and - only (1-64)').default(
      () => hostname().replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 64) || 'sensor',
    ),
    dataDir: z.string().min(1).default('./data'),
    telnetListen: z.array(listen).min(1).prefault(['[::]:2323']),
    httpListen: listen.prefault('127.0.0.1:8080'),
    persona: personaSchema.prefault({}),
    limits: limitsSchema.prefault({}),
    feed: feedConfigSchema.prefault({}),
    // The bearer token for the JSON API's raw events and credentials (none: those answer 403).
    api: z.object({ token: z.string().min(16, 'at least 16 characters').optional() }).strict().prefault({}),
    nats: natsSchema.prefault({}),
  })
  .strict();

export type Config = z.output<typeof configSchema>;

/** Flags and environment variables, by config key. */
const ENV: Record<string, string> = {
  sensorId: 'TELNETLOGIN_SENSOR_ID',
  dataDir: 'TELNETLOGIN_DATA_DIR',
  telnetListen: 'TELNETLOGIN_TELNET_LISTEN',
  httpListen: 'TELNETLOGIN_HTTP_LISTEN',
  failureDelay: 'TELNETLOGIN_FAILURE_DELAY',
  apiToken: 'TELNETLOGIN_API_TOKEN',
};

export interface ConfigFlags {
  config?: string;
  sensorId?: string;
  dataDir?: string;
  telnetListen?: string[];
  httpListen?: string;
  failureDelay?: string;
}

/** "0", "3000" or "2000-4000" -> [min, max] milliseconds. */
export function parseDelay(text: string, what: string): [number, number] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(text.trim());
  const min = m ? Number(m[1]) : NaN;
  const max = m?.[2] !== undefined ? Number(m[2]) : min;
  if (!m || min > max || max > 600_000) throw new UsageError(`${what}: "${text}" is not MS or MIN-MAX milliseconds (0-600000)`);
  return [min, max];
}

export function loadConfig(flags: ConfigFlags, env: NodeJS.ProcessEnv = process.env): Config {
  const file = flags.config ?? env.TELNETLOGIN_CONFIG;
  let raw: Record<string, unknown> = {};
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new UsageError(`--config: cannot read ${file}: ${(err as Error).message}`);
    }
    try {
      raw = JSON.parse(text);
    } catch (err) {
      throw new UsageError(`${file}: not valid JSON: ${(err as Error).message}`);
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new UsageError(`${file}: expected a JSON object`);
  }
  const source = file ?? 'config';
  const pick = (key: keyof ConfigFlags & keyof typeof ENV): string | string[] | undefined => {
    if (flags[key] !== undefined) return flags[key];
    const value = env[ENV[key]!];
    if (value === undefined || value === '') return undefined;
    return key === 'telnetListen' ? value.split(',') : value;
  };
  const merged: Record<string, unknown> = { ...raw };
  for (const key of ['sensorId', 'dataDir', 'telnetListen', 'httpListen'] as const) {
    const value = pick(key);
    if (value !== undefined) merged[key] = value;
  }
  const token = env[ENV.apiToken!];
  if (token) merged.api = { ...(raw.api as object | undefined), token };
  const delay = pick('failureDelay');
  if (delay !== undefined) {
    const persona = { ...(raw.persona as object | undefined) };
    merged.persona = { ...persona, failureDelayMs: parseDelay(String(delay), '--failure-delay') };
  }
  const result = configSchema.safeParse(merged);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.') || '(top level)'}: ${i.message}`);
    throw new UsageError(`invalid configuration (${source}):\n  ${problems.join('\n  ')}`);
  }
  return result.data;
}
