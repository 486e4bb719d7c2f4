import { describe, expect, it } from 'vitest';
import { compileSchedule } from '../../src/schedule/compile.js';
import { dayMatches, everyDue, matchesWall } from '../../src/schedule/match.js';
import type { CronSchedule, WallTime } from '../../src/schedule/types.js';
import { Zone } from '../../src/schedule/zone.js';

function cron(text: string): CronSchedule {
  const result = compileSchedule(text.split(' '));
  if (!result.ok || result.schedule.kind !== 'cron') throw new Error(`${text} does not compile to a cron schedule`);
  return result.schedule;
}

function wallAt(isoUtc: string): WallTime {
  const wall = {} as WallTime;
  Zone.for('UTC').fillWallTime(Date.parse(`${isoUtc}Z`) / 1000, wall);
  return wall;
}

// Dates are 2026 unless said otherwise; weekday in the comment.
const dayRows: { section: string; expr: string; date: string; expect: boolean }[] = [
  // SPEC §1.1 Vixie day rule: OR when neither day field is starred, AND when either is
  { section: 'OR', expr: '0 0 0 1 * 1', date: '2026-03-02', expect: true }, // Monday
  { section: 'OR', expr: '0 0 0 1 * 1', date: '2026-03-01', expect: true }, // Sunday the 1st
  { section: 'OR', expr: '0 0 0 1 * 1', date: '2026-03-03', expect: false },
  { section: 'AND */n', expr: '0 0 0 */10 * 1', date: '2026-03-02', expect: false }, // Monday, but not 1/11/21/31
  { section: 'AND */n', expr: '0 0 0 */10 * 1', date: '2026-03-11', expect: false }, // Wednesday the 11th
  { section: 'AND */n', expr: '0 0 0 */10 * 1', date: '2026-05-11', expect: true }, // Monday the 11th
  { section: 'AND ?', expr: '0 0 0 ? * 1', date: '2026-03-02', expect: true },
  { section: 'AND ?', expr: '0 0 0 ? * 1', date: '2026-03-03', expect: false },
  { section: 'AND ?', expr: '0 0 0 1 * ?', date: '2026-03-01', expect: true },
  { section: 'AND ?', expr: '0 0 0 1 * ?', date: '2026-03-02', expect: false },
  { section: '7 is Sunday', expr: '0 0 0 ? * 7', date: '2026-03-01', expect: true },
  // L: the last day of the month, leap years included
  { section: 'L', expr: '0 0 0 L * *', date: '2024-02-29', expect: true },
  { section: 'L', expr: '0 0 0 L * *', date: '2024-02-28', expect: false },
  { section: 'L', expr: '0 0 0 L * *', date: '2023-02-28', expect: true },
  { section: 'L', expr: '0 0 0 L * *', date: '2100-02-28', expect: true }, // 2100 is not a leap year
  { section: 'L', expr: '0 0 0 L * *', date: '2026-04-30', expect: true },
  { section: 'L', expr: '0 0 0 L * *', date: '2026-04-29', expect: false },
  { section: 'L OR dow', expr: '0 0 0 L * 5', date: '2026-04-03', expect: true }, // a Friday
  // LW: the last Monday-Friday of the month
  { section: 'LW', expr: '0 0 0 LW * *', date: '2026-02-27', expect: true }, // Feb 28 is a Saturday
  { section: 'LW', expr: '0 0 0 LW * *', date: '2026-02-28', expect: false },
  { section: 'LW', expr: '0 0 0 LW * *', date: '2026-05-29', expect: true }, // May 31 is a Sunday
  { section: 'LW', expr: '0 0 0 LW * *', date: '2026-05-31', expect: false },
  { section: 'LW', expr: '0 0 0 LW * *', date: '2024-02-29', expect: true }, // a Thursday
  { section: 'LW', expr: '0 0 0 LW * *', date: '2026-03-31', expect: true }, // a Tuesday
  // nW: nearest weekday to day n, never leaving the month
  { section: 'nW', expr: '0 0 0 1W * *', date: '2026-08-03', expect: true }, // Aug 1 is a Saturday: Monday the 3rd
  { section: 'nW', expr: '0 0 0 1W * *', date: '2026-07-31', expect: false }, // not the Friday before, in July
  { section: 'nW', expr: '0 0 0 1W * *', date: '2026-08-01', expect: false },
  { section: 'nW', expr: '0 0 0 1W * *', date: '2026-03-02', expect: true }, // Mar 1 is a Sunday: Monday the 2nd
  { section: 'nW', expr: '0 0 0 15W * *', date: '2026-03-16', expect: true }, // Mar 15 is a Sunday
  { section: 'nW', expr: '0 0 0 15W * *', date: '2026-08-14', expect: true }, // Aug 15 is a Saturday
  { section: 'nW', expr: '0 0 0 15W * *', date: '2026-08-17', expect: false },
  { section: 'nW', expr: '0 0 0 15W * *', date: '2026-04-15', expect: true }, // a Wednesday
  { section: 'nW', expr: '0 0 0 31W * *', date: '2026-05-29', expect: true }, // May 31 is a Sunday and the last day: Friday
  { section: 'nW', expr: '0 0 0 31W * *', date: '2026-06-01', expect: false },
  { section: 'nW', expr: '0 0 0 31W * *', date: '2026-04-30', expect: false }, // April has no 31st: no match
  { section: 'nW', expr: '0 0 0 30W * *', date: '2024-02-29', expect: false },
  { section: 'nW', expr: '0 0 0 29W * *', date: '2024-02-29', expect: true },
  { section: 'nW', expr: '0 0 0 30W * *', date: '2026-05-29', expect: true }, // May 30 is a Saturday
  { section: 'nW OR dow', expr: '0 0 0 15W * 0', date: '2026-03-15', expect: true }, // Sunday matches the OR
  // nL: the last given weekday of the month
  { section: 'nL', expr: '0 0 0 ? * 5L', date: '2026-02-27', expect: true },
  { section: 'nL', expr: '0 0 0 ? * 5L', date: '2026-02-20', expect: false },
  { section: 'nL', expr: '0 0 0 ? * 7L', date: '2026-05-31', expect: true },
  { section: 'nL', expr: '0 0 0 ? * 0L', date: '2026-05-24', expect: false },
  // n#k: the k-th given weekday
  { section: 'n#k', expr: '0 0 0 ? * 5#2', date: '2026-01-09', expect: true },
  { section: 'n#k', expr: '0 0 0 ? * 5#2', date: '2026-01-16', expect: false },
  { section: 'n#k', expr: '0 0 0 ? * 1#5', date: '2026-03-30', expect: true },
  { section: 'n#k', expr: '0 0 0 ? * 1#5', date: '2026-02-23', expect: false }, // the 4th and last Monday
  { section: 'n#k', expr: '0 0 0 ? * 1#1,1#3', date: '2026-06-15', expect: true },
  { section: 'n#k', expr: '0 0 0 ? * 1#1,1#3', date: '2026-06-08', expect: false },
  { section: 'n#k AND day', expr: '0 0 0 */2 * 1#2', date: '2026-06-08', expect: false }, // starred day-of-month ANDs: day 8 is even
];

describe('dayMatches', () => {
  it.each(dayRows)('$section: $expr on $date', ({ expr, date, expect: expected }) => {
    expect(dayMatches(cron(expr), wallAt(`${date}T12:00:00`))).toBe(expected);
  });

  it('ANDs a starred */n day-of-week with a listed day-of-month', () => {
    const s = cron('0 0 0 15 * */3'); // */3 = Sunday, Wednesday, Saturday
    expect(dayMatches(s, wallAt('2026-04-15T00:00:00'))).toBe(true); // Wednesday the 15th
    expect(dayMatches(s, wallAt('2026-03-15T00:00:00'))).toBe(true); // Sunday the 15th
    expect(dayMatches(s, wallAt('2026-05-15T00:00:00'))).toBe(false); // Friday the 15th
    expect(dayMatches(s, wallAt('2026-03-18T00:00:00'))).toBe(false); // Wednesday, not the 15th
  });
});

describe('matchesWall', () => {
  const rows: { expr: string; at: string; expect: boolean }[] = [
    { expr: '*/5 * * * * *', at: '2026-03-01T10:20:35', expect: true },
    { expr: '*/5 * * * * *', at: '2026-03-01T10:20:36', expect: false },
    { expr: '0 30 9-17 * * mon-fri', at: '2026-03-02T09:30:00', expect: true },
    { expr: '0 30 9-17 * * mon-fri', at: '2026-03-01T09:30:00', expect: false },
    { expr: '0 30 9-17 * * mon-fri', at: '2026-03-02T18:30:00', expect: false },
    { expr: '0 0 0 1 jan *', at: '2027-01-01T00:00:00', expect: true },
    { expr: '0 0 0 1 jan *', at: '2027-02-01T00:00:00', expect: false },
    { expr: '59 59 23 L 12 *', at: '2026-12-31T23:59:59', expect: true },
  ];
  it.each(rows)('$expr at $at', ({ expr, at, expect: expected }) => {
    expect(matchesWall(cron(expr), wallAt(at))).toBe(expected);
  });
});

describe('everyDue', () => {
  it('is due on multiples of the period in Unix time', () => {
    const every90 = { kind: 'every', seconds: 90 } as const;
    expect([0, 90, 180, 1_800_000_000].map((second) => everyDue(every90, second))).toEqual([true, true, true, true]);
    expect([1, 89, 91, 1_800_000_001].map((second) => everyDue(every90, second))).toEqual([false, false, false, false]);
  });
});
