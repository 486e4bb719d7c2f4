/** Human-readable times and tables for the CLI. */
import { LOCAL_ZONE, Zone } from '../schedule/zone.js';
import { newWallTime } from '../schedule/calendar.js';
import type { Task } from '../tasks/types.js';

const pad = (value: number, width = 2): string => String(value).padStart(width, '0');

/** `2026-11-20 23:15:05 +01:00` (or `…05.123 +01:00` with milliseconds): a wall time with its UTC offset. */
function instantText(wall: { year: number; month: number; day: number; hour: number; minute: number; second: number }, offsetSeconds: number, millis?: number): string {
  const sign = offsetSeconds < 0 ? '-' : '+';
  const minutes = Math.abs(offsetSeconds) / 60;
  return (
    `${wall.year}-${pad(wall.month)}-${pad(wall.day)} ${pad(wall.hour)}:${pad(wall.minute)}:${pad(wall.second)}${millis === undefined ? '' : `.${pad(millis, 3)}`} ` +
    `${sign}${pad(Math.floor(minutes / 60))}:${pad(minutes % 60)}`
  );
}

/** `2026-11-20 23:15:05 +01:00`: the wall time in `zoneName` with its UTC offset. */
export function formatInstant(unixSecond: number, zoneName: string): string {
  const wall = newWallTime();
  Zone.for(zoneName).fillWallTime(unixSecond, wall);
  return instantText(wall, wall.wallSeconds - unixSecond);
}

/**
 * The same in the machine's zone, from Date: history and logs print run log times with it, and
 * Zone's first use (Intl) would add tens of milliseconds to a command that starts for one answer.
 */
export function formatLocalInstant(ms: number, withMillis = false): string {
  const date = new Date(ms);
  const wall = { year: date.getFullYear(), month: date.getMonth() + 1, day: date.getDate(), hour: date.getHours(), minute: date.getMinutes(), second: date.getSeconds() };
  return instantText(wall, -date.getTimezoneOffset() * 60, withMillis ? date.getMilliseconds() : undefined);
}

/**
 * A task's zone as written (`Asia/Kolkata`, where ICU's canonical name is `Asia/Calcutta`); a task
 * with no `tz=` or `TZ=` shows the machine's zone by name.
 */
export function zoneAsWritten(zone: string): string {
  return zone === LOCAL_ZONE ? Zone.for(zone).name : zone;
}

/** A jitter offset as check shows it (SPEC §8): `+37s`; empty for a task without `jitter=`. */
export function formatJitter(task: Task, offsetS: number): string {
  return task.options.jitterS === 0 ? '' : `+${offsetS}s`;
}

/** Left-aligned columns separated by two spaces; the last column is not padded. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, index) => (widths[index] = Math.max(widths[index] ?? 0, cell.length)));
  return rows.map((row) => row.map((cell, index) => (index === row.length - 1 ? cell : cell.padEnd(widths[index]))).join('  ')).join('\n');
}
