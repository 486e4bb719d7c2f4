import type { CronSchedule, EverySchedule, WallTime } from './types.js';

const SUNDAY = 0;
const MONDAY = 1;
const FRIDAY = 5;
const SATURDAY = 6;

/** Whether `s` fires at wall time `w`. Hot path: array reads and integer arithmetic only. */
export function matchesWall(s: CronSchedule, w: WallTime): boolean {
  return (
    s.second[w.second] === 1 && s.minute[w.minute] === 1 && s.hour[w.hour] === 1 && s.month[w.month] === 1 && dayMatches(s, w)
  );
}

/** SPEC §1.1 day rule (Vixie): if either day field starts with `*` or `?` both must match, else either. */
export function dayMatches(s: CronSchedule, w: WallTime): boolean {
  const dayOfMonth = s.dayOfMonth[w.day] === 1 || (s.hasDayExtensions && monthDayExtensionMatches(s, w));
  const dayOfWeek = s.dayOfWeek[w.dayOfWeek] === 1 || (s.hasDayExtensions && weekDayExtensionMatches(s, w));
  return s.domStar || s.dowStar ? dayOfMonth && dayOfWeek : dayOfMonth || dayOfWeek;
}

/** SPEC §1.1 `@every`: due when the Unix time is a multiple of the period, so all hosts agree. */
export function everyDue(s: EverySchedule, unixSec: number): boolean {
  return unixSec % s.seconds === 0;
}

function monthDayExtensionMatches(s: CronSchedule, w: WallTime): boolean {
  return (
    (s.lastDay && w.day === w.daysInMonth) ||
    (s.lastWeekday && w.day === lastWeekdayOfMonth(w)) ||
    nearestWeekdayMatches(s.nearestWeekday, w)
  );
}

/** `nL`: no later day of the month has this weekday; `n#k`: the k-th of its weekday in the month. */
function weekDayExtensionMatches(s: CronSchedule, w: WallTime): boolean {
  if (s.lastDayOfWeek[w.dayOfWeek] === 1 && w.day + 7 > w.daysInMonth) return true;
  return (s.nthDayOfWeek[w.dayOfWeek] & (1 << Math.floor((w.day - 1) / 7))) !== 0;
}

function lastWeekdayOfMonth(w: WallTime): number {
  const lastDayOfWeek = (w.dayOfWeek + w.daysInMonth - w.day) % 7;
  if (lastDayOfWeek === SATURDAY) return w.daysInMonth - 1;
  if (lastDayOfWeek === SUNDAY) return w.daysInMonth - 2;
  return w.daysInMonth;
}

/** Quartz's `nW` (croner's too), never leaving the month; a month without day n (31W in April) has no match, like a plain 31. */
function nearestWeekdayMatches(nearestWeekday: Uint8Array, w: WallTime): boolean {
  const { day, dayOfWeek, daysInMonth } = w;
  if (dayOfWeek === SATURDAY || dayOfWeek === SUNDAY) return false;
  if (nearestWeekday[day] === 1) return true;
  if (dayOfWeek === FRIDAY) {
    return (day + 1 <= daysInMonth && nearestWeekday[day + 1] === 1) || (day + 2 === daysInMonth && nearestWeekday[day + 2] === 1);
  }
  if (dayOfWeek === MONDAY) return (day > 1 && nearestWeekday[day - 1] === 1) || (day === 3 && nearestWeekday[1] === 1);
  return false;
}
