/**
 * `@at <ISO 8601 time>`: a one-shot schedule (issue 15, SPEC §11). The time is read once, at load,
 * into the Unix second it names, so the planner compares integers only.
 */
import { daysFromCivil, daysInMonth, fillCivil, newWallTime, SECONDS_PER_DAY } from './calendar.js';
import type { Zone } from './zone.js';

/** A time as written: its wall clock (seconds as if UTC) and its offset, if it has one. */
export interface AtTime {
  readonly wallSeconds: number;
  /** `Z` is 0, `+02:00` is 7200; undefined: the task's zone decides. */
  readonly offsetSeconds?: number;
}

export type AtTimeResult = { readonly ok: true; readonly time: AtTime } | { readonly ok: false; readonly offset: number; readonly message: string };

export const AT_EXAMPLE = '@at 2026-12-24T18:00';

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIME = /^(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?$/;
/** How the time after a date and a space starts: `@at 2026-12-24 18:00` (two tokens, README: choices). */
export const TIME_TOKEN = /^\d{2}:\d{2}/;

/**
 * Reads `2026-12-24T18:00[:00][Z|±hh[:mm]]`, `2026-12-24 18:00:00` (date and time as two texts) or
 * a date alone (its midnight). `offset` in an error is a character offset into `text` (or past its
 * end into `timeText`, for the two-text form).
 */
export function parseAtTime(text: string, timeText?: string): AtTimeResult {
  const separator = text.search(/[Tt]/);
  const dateText = separator < 0 ? text : text.slice(0, separator);
  const clockText = timeText ?? (separator < 0 ? undefined : text.slice(separator + 1));
  const clockAt = timeText === undefined ? separator + 1 : text.length + 1;
  const date = DATE.exec(dateText);
  if (!date) return failure(0, `"${text}" is not a date: write YYYY-MM-DD with a time, e.g. ${AT_EXAMPLE} (or 2026-12-24T18:00Z in UTC)`);
  const [year, month, day] = [Number(date[1]), Number(date[2]), Number(date[3])];
  if (month < 1 || month > 12) return failure(5, `month ${date[2]} does not exist: write 01 to 12`);
  if (day < 1 || day > daysInMonth(year, month)) return failure(8, `${dateText} does not exist: ${monthName(month)} ${year} has ${daysInMonth(year, month)} days`);
  const midnight = daysFromCivil(year, month, day) * SECONDS_PER_DAY;
  if (clockText === undefined) return { ok: true, time: { wallSeconds: midnight } };
  const clock = TIME.exec(clockText);
  if (!clock) return failure(clockAt, `"${clockText}" is not a time of day: write hh:mm or hh:mm:ss, optionally with Z or an offset such as +02:00 (e.g. ${AT_EXAMPLE})`);
  const [hour, minute, second] = [Number(clock[1]), Number(clock[2]), Number(clock[3] ?? 0)];
  if (hour > 23 || minute > 59 || second > 59) return failure(clockAt, `${clockText} is not a time of day: hours go to 23, minutes and seconds to 59 (midnight is 00:00 of the next day)`);
  if (clock[4] !== undefined) return failure(clockAt + 8, `${clockText} has a fraction of a second: schedules run on whole seconds; write ${clockText.slice(0, 8)}`);
  const wallSeconds = midnight + hour * 3600 + minute * 60 + second;
  if (clock[5] !== undefined) return { ok: true, time: { wallSeconds, offsetSeconds: 0 } };
  if (clock[6] === undefined) return { ok: true, time: { wallSeconds } };
  const [offsetHours, offsetMinutes] = [Number(clock[7]), Number(clock[8] ?? 0)];
  if (offsetHours > 23 || offsetMinutes > 59) return failure(clockAt, `the offset in ${clockText} is out of range: write ±hh:mm, e.g. +02:00`);
  const offsetSeconds = (clock[6] === '-' ? -1 : 1) * (offsetHours * 3600 + offsetMinutes * 60);
  return { ok: true, time: { wallSeconds, offsetSeconds } };
}

export type AtSecondResult = { readonly ok: true; readonly second: number } | { readonly ok: false; readonly message: string };

/**
 * The Unix second `time` names: with an offset, that one; else in `zone`. A wall time the zone
 * skips (a DST gap) is an error naming the gap; one it passes twice (a fall back) is the first pass,
 * as fixed-time tasks run in the first pass only (SPEC §3).
 */
export function atSecond(time: AtTime, zone: Zone): AtSecondResult {
  const wall = time.wallSeconds;
  if (time.offsetSeconds !== undefined) return { ok: true, second: wall - time.offsetSeconds };
  // The tz database never changes an offset twice within a day: the offsets a day before and after cover both sides.
  const [before, after] = [zone.offsetSeconds(wall - SECONDS_PER_DAY), zone.offsetSeconds(wall + SECONDS_PER_DAY)];
  const candidates = [wall - before, wall - after].filter((second) => zone.offsetSeconds(second) === wall - second);
  if (candidates.length > 0) return { ok: true, second: Math.min(...candidates) };
  const change = zone.nextTransition(wall - before - SECONDS_PER_DAY, wall - after + SECONDS_PER_DAY);
  const [from, to] = [formatWall(change + before), formatWall(change + after)];
  return {
    ok: false,
    message: `${formatWall(wall)} does not exist in ${zone.name}: its clocks go from ${from} to ${to}; write ${to} or a time with its offset (e.g. ${formatWall(wall)}${formatOffset(before)})`,
  };
}

/** `2026-12-24T18:00:00`, for messages. */
function formatWall(wallSeconds: number): string {
  const w = newWallTime();
  fillCivil(wallSeconds, w);
  const two = (value: number) => String(value).padStart(2, '0');
  return `${w.year}-${two(w.month)}-${two(w.day)}T${two(w.hour)}:${two(w.minute)}:${two(w.second)}`;
}

function formatOffset(seconds: number): string {
  const minutes = Math.abs(seconds) / 60;
  return `${seconds < 0 ? '-' : '+'}${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
}

function monthName(month: number): string {
  return ['', 'January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'][month];
}

function failure(offset: number, message: string): AtTimeResult {
  return { ok: false, offset, message };
}
