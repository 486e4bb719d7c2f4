import type { WallTime } from './types.js';

/** Integer calendar arithmetic on "wall seconds" (seconds since 1970-01-01 00:00 as if the wall clock were UTC). */

export const SECONDS_PER_DAY = 86_400;

const DAYS_IN_MONTH = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function isLeapYear(year: number): boolean {
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
}

export function daysInMonth(year: number, month: number): number {
  return month === 2 && isLeapYear(year) ? 29 : DAYS_IN_MONTH[month];
}

/** Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

/** Fills every field of `out` from wall seconds (Hinnant's civil_from_days): integer work only. */
export function fillCivil(wallSeconds: number, out: WallTime): void {
  const days = Math.floor(wallSeconds / SECONDS_PER_DAY);
  const secondOfDay = wallSeconds - days * SECONDS_PER_DAY;
  const shifted = days + 719_468;
  const era = Math.floor(shifted / 146_097);
  const dayOfEra = shifted - era * 146_097;
  const yearOfEra = Math.floor(
    (dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36_524) - Math.floor(dayOfEra / 146_096)) / 365,
  );
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const monthIndex = Math.floor((5 * dayOfYear + 2) / 153);
  const month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9;
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
  out.year = year;
  out.month = month;
  out.day = dayOfYear - Math.floor((153 * monthIndex + 2) / 5) + 1;
  out.hour = Math.floor(secondOfDay / 3600);
  out.minute = Math.floor(secondOfDay / 60) % 60;
  out.second = secondOfDay % 60;
  // 1970-01-01 was a Thursday (4).
  out.dayOfWeek = (((days + 4) % 7) + 7) % 7;
  out.daysInMonth = daysInMonth(year, month);
  out.wallSeconds = wallSeconds;
}

export function newWallTime(): WallTime {
  return { year: 1970, month: 1, day: 1, hour: 0, minute: 0, second: 0, dayOfWeek: 4, daysInMonth: 31, wallSeconds: 0 };
}
