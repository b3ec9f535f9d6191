// The window a feed covers and the times it prints.
//
// Rule: the window is [now - length, now], both ends included: an attempt
// made exactly `length` ago is listed, and so is one made at `now`.
import { UsageError } from '../errors.ts';
import { DAY_MS } from './summary.ts';

export interface FeedWindow {
  /** First millisecond inside the window. */
  from: number;
  /** Last millisecond inside the window (the generation time). */
  to: number;
}

export const DEFAULT_WINDOW_MS = 7 * DAY_MS;

export function windowEnding(now: number, lengthMs: number): FeedWindow {
  return { from: now - lengthMs, to: now };
}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: DAY_MS, w: 7 * DAY_MS };

/** "7d", "24h", "90m", "1d12h" -> milliseconds; a UsageError naming `what` otherwise. */
export function parseDuration(text: string, what: string): number {
  const t = text.trim();
  let ms = 0;
  if (/^(?:\d+[smhdw])+$/.test(t)) for (const [, n, unit] of t.matchAll(/(\d+)([smhdw])/g)) ms += Number(n) * UNIT_MS[unit!]!;
  if (!(ms > 0 && ms <= 366 * DAY_MS)) {
    throw new UsageError(`${what}: "${text}" is not a duration of 1s to 366d, such as 7d, 24h, 90m or 1d12h`);
  }
  return ms;
}

const ISO = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,3})?)?(Z|[+-]\d{2}:?\d{2})?$/i;

/** An ISO 8601 time (UTC unless it has an offset), e.g. 2026-12-04T19:00:00Z, in ms since the epoch. */
export function parseTime(text: string, what: string): number {
  const m = ISO.exec(text.trim());
  if (m) {
    const [, year, month, day, hh, mm, ss = '00', frac = '', zone = 'Z'] = m;
    const daysInMonth = new Date(Date.UTC(Number(year), Number(month), 0)).getUTCDate();
    const offset = zone.toUpperCase() === 'Z' ? 'Z' : `${zone.slice(0, 3)}:${zone.slice(-2)}`;
    const ms = Date.parse(`${year}-${month}-${day}T${hh}:${mm}:${ss}${frac}${offset}`);
    if (Number(day) >= 1 && Number(day) <= daysInMonth && Number.isFinite(ms)) return ms;
  }
  throw new UsageError(`${what}: "${text}" is not an ISO 8601 time such as 2026-12-04T19:00:00Z`);
}

// Formatting a time per entry is on the build's hot path: days are cached and
// the clock part is put together from a table.
const TWO = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, '0'));
const days = new Map<number, string>();

function dayText(day: number): string {
  let text = days.get(day);
  if (text === undefined) {
    text = new Date(day * DAY_MS).toISOString().slice(0, 10);
    if (days.size > 10_000) days.clear();
    days.set(day, text);
  }
  return text;
}

/** `YYYY-mm-dd HH:MM:SS` (UTC), the feed's lastseen format. */
export function formatSecond(ms: number): string {
  return formatWith(ms, ' ');
}

function formatWith(ms: number, separator: string): string {
  const s = Math.floor(ms / 1000);
  const day = Math.floor(s / 86_400);
  let rest = s - day * 86_400;
  const hh = Math.floor(rest / 3600);
  rest -= hh * 3600;
  const mm = Math.floor(rest / 60);
  return `${dayText(day)}${separator}${TWO[hh]}:${TWO[mm]}:${TWO[rest - mm * 60]}`;
}

/** `YYYY-mm-dd HH:MM` (UTC), as the header states the window. */
export function formatMinute(ms: number): string {
  return formatSecond(ms).slice(0, 16);
}

const THREE = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));

/** ISO 8601 UTC with milliseconds (as Date's toISOString writes it), as events and the JSON form carry times. */
export function formatIso(ms: number): string {
  return `${formatWith(ms, 'T')}.${THREE[ms - Math.floor(ms / 1000) * 1000]}Z`;
}
