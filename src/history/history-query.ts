/** `history`'s options as given on the command line (SPEC §7), checked here beside the feature that owns them. */
import { parseDuration } from '../schedule/duration.js';

export const DEFAULT_LIMIT = 20;

export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

/** Decimal digits only: Number() would also take 0x10, 1e2, " 5" and "". */
export function parseLimit(text: string): Parsed<number> {
  const limit = /^\d{1,9}$/.test(text) ? Number(text) : NaN;
  if (!(limit >= 1)) return { ok: false, message: `--limit "${text}" must be a whole number of rows, 1 or more, in decimal digits (e.g. --limit 50)` };
  return { ok: true, value: limit };
}

// 2026-12-01, 2026-12-01T09:00, 2026-12-01 09:00:30.5, with Z or an offset; without one, local time.
const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[T ]([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d)(?:\.\d{1,3})?)?(Z|[+-](?:[01]\d|2[0-3]):?[0-5]\d)?)?$/;

/** `--since`: a duration back from `now` (`90s`, `2h`, `1d`) or an ISO time; the instant it names (ms). */
export function parseSince(text: string, now: number): Parsed<number> {
  const duration = parseDuration(text, '90s, 2h, 1d');
  if (duration.ok) return { ok: true, value: now - duration.ms };
  const time = isoTime(text);
  if (time !== undefined) return { ok: true, value: time };
  return {
    ok: false,
    message: `--since "${text}" is neither a duration (${duration.message}) nor an ISO time (e.g. 2026-12-01T09:00 in local time, or 2026-12-01T09:00Z)`,
  };
}

function isoTime(text: string): number | undefined {
  const match = ISO_TIME.exec(text);
  if (!match) return undefined;
  const [, year, month, day, hour] = match;
  // Date.parse rolls 2026-02-30 over into March: a day its month lacks is no time at all.
  if (new Date(Date.UTC(Number(year), Number(month) - 1, Number(day))).getUTCDate() !== Number(day) || Number(month) < 1 || Number(month) > 12) return undefined;
  // A date alone means its local midnight (Date.parse would take it as UTC's).
  const ms = Date.parse(hour === undefined ? `${text}T00:00` : text.replace(' ', 'T'));
  return Number.isNaN(ms) ? undefined : ms;
}
