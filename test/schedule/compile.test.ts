import { describe, expect, it } from 'vitest';
import { compileSchedule } from '../../src/schedule/compile.js';
import type { CronSchedule, Schedule } from '../../src/schedule/types.js';

const setValues = (bitmap: Uint8Array): number[] => [...bitmap.keys()].filter((index) => bitmap[index] === 1);
const ALL_SECONDS = Array.from({ length: 60 }, (_, index) => index);
const ALL_DAYS_OF_WEEK = [0, 1, 2, 3, 4, 5, 6];

/** The schedule as plain values so that rows can name only the parts they check. */
function view(schedule: Schedule): Record<string, unknown> {
  if (schedule.kind !== 'cron') return { ...schedule };
  const s: CronSchedule = schedule;
  return {
    kind: s.kind,
    second: setValues(s.second),
    minute: setValues(s.minute),
    hour: setValues(s.hour),
    dayOfMonth: setValues(s.dayOfMonth),
    month: setValues(s.month),
    dayOfWeek: setValues(s.dayOfWeek),
    domStar: s.domStar,
    dowStar: s.dowStar,
    lastDay: s.lastDay,
    lastWeekday: s.lastWeekday,
    nearestWeekday: setValues(s.nearestWeekday),
    lastDayOfWeek: setValues(s.lastDayOfWeek),
    nthDayOfWeek: [...s.nthDayOfWeek],
    hasDayExtensions: s.hasDayExtensions,
    fixedTime: s.fixedTime,
  };
}

function compile(text: string) {
  return compileSchedule(text === '' ? [] : text.split(' '));
}

const validRows: { section: string; tokens: string; expect: Record<string, unknown> }[] = [
  // SPEC §1.1 fields: *, values, ranges, steps, lists
  { section: 'fields', tokens: '* * * * * *', expect: { second: ALL_SECONDS, hour: [...Array(24).keys()], dayOfWeek: ALL_DAYS_OF_WEEK, fixedTime: false } },
  { section: 'fields', tokens: '0 30 2 * * *', expect: { second: [0], minute: [30], hour: [2], fixedTime: true, hasDayExtensions: false } },
  { section: 'fields', tokens: '0 0,30 2 * * *', expect: { minute: [0, 30], fixedTime: false } },
  { section: 'fields', tokens: '0 0 */6 * * *', expect: { hour: [0, 6, 12, 18], fixedTime: false } },
  { section: 'fields', tokens: '7-7 0 0 * * *', expect: { second: [7], fixedTime: true } },
  { section: 'fields', tokens: '*/15 * * * * *', expect: { second: [0, 15, 30, 45] } },
  { section: 'fields', tokens: '10-20/5 * * * * *', expect: { second: [10, 15, 20] } },
  { section: 'fields', tokens: '50/4 * * * * *', expect: { second: [50, 54, 58] } },
  { section: 'fields', tokens: '1,5,10-12 * * * * *', expect: { second: [1, 5, 10, 11, 12] } },
  { section: 'fields', tokens: '0,0-10/5,5 * * * * *', expect: { second: [0, 5, 10] } },
  { section: 'fields', tokens: '0 0 0 */10 * *', expect: { dayOfMonth: [1, 11, 21, 31] } },
  { section: 'fields', tokens: '0 0 0 31 2 *', expect: { dayOfMonth: [31], month: [2] } },
  { section: 'fields', tokens: '0 0 0 * */5 *', expect: { month: [1, 6, 11] } },
  // SPEC §1.1 names, case-insensitive, also in ranges and with steps
  { section: 'names', tokens: '0 0 0 * jan-mar/2 *', expect: { month: [1, 3] } },
  { section: 'names', tokens: '0 0 0 * JAN,Dec *', expect: { month: [1, 12] } },
  { section: 'names', tokens: '0 0 0 * jun-8 *', expect: { month: [6, 7, 8] } },
  { section: 'names', tokens: '0 0 0 * * mon-fri', expect: { dayOfWeek: [1, 2, 3, 4, 5] } },
  { section: 'names', tokens: '0 0 0 * * SAT,sun', expect: { dayOfWeek: [0, 6] } },
  { section: 'names', tokens: '0 0 0 * * fri-sun', expect: { dayOfWeek: [0, 5, 6] } },
  // SPEC §1.1 day-of-week 7 is Sunday
  { section: '7 is Sunday', tokens: '0 0 0 * * 7', expect: { dayOfWeek: [0] } },
  { section: '7 is Sunday', tokens: '0 0 0 * * 5-7', expect: { dayOfWeek: [0, 5, 6] } },
  { section: '7 is Sunday', tokens: '0 0 0 * * 1/2', expect: { dayOfWeek: [0, 1, 3, 5] } },
  { section: '7 is Sunday', tokens: '0 0 0 * * */2', expect: { dayOfWeek: [0, 2, 4, 6] } },
  { section: '7 is Sunday', tokens: '0 0 0 * * 0-7', expect: { dayOfWeek: ALL_DAYS_OF_WEEK, dowStar: false } },
  // SPEC §1.1 day rule: a day field starting with * or ? is "starred"; ? is * in the day fields
  { section: 'day rule', tokens: '0 0 0 ? * MON', expect: { domStar: true, dowStar: false, dayOfMonth: [...Array(32).keys()].slice(1) } },
  { section: 'day rule', tokens: '0 0 0 1 * ?', expect: { domStar: false, dowStar: true, dayOfWeek: ALL_DAYS_OF_WEEK } },
  { section: 'day rule', tokens: '0 0 0 */2 * 1', expect: { domStar: true, dowStar: false } },
  { section: 'day rule', tokens: '0 0 0 1-7 * 1', expect: { domStar: false, dowStar: false } },
  { section: 'day rule', tokens: '0 0 0 1 * */2', expect: { domStar: false, dowStar: true } },
  // SPEC §1.1 extensions: L, LW, nW in day-of-month; nL, n#k in day-of-week; mixed into lists
  { section: 'extensions', tokens: '0 0 0 L * *', expect: { lastDay: true, dayOfMonth: [], domStar: false, hasDayExtensions: true } },
  { section: 'extensions', tokens: '0 0 0 lw * *', expect: { lastWeekday: true, lastDay: false, hasDayExtensions: true } },
  { section: 'extensions', tokens: '0 0 0 15W,1w * *', expect: { nearestWeekday: [1, 15], dayOfMonth: [] } },
  { section: 'extensions', tokens: '0 0 0 L,1,15W,20-22 * *', expect: { lastDay: true, dayOfMonth: [1, 20, 21, 22], nearestWeekday: [15] } },
  { section: 'extensions', tokens: '0 0 0 ? * 5L', expect: { lastDayOfWeek: [5], dayOfWeek: [], hasDayExtensions: true } },
  { section: 'extensions', tokens: '0 0 0 ? * 7L,FRIL,1', expect: { lastDayOfWeek: [0, 5], dayOfWeek: [1] } },
  { section: 'extensions', tokens: '0 0 0 ? * 5#2,fri#4,1#1,mon', expect: { nthDayOfWeek: [0, 1, 0, 0, 0, 0b1010, 0], dayOfWeek: [1] } },
  { section: 'extensions', tokens: '0 0 0 ? * 7#5', expect: { nthDayOfWeek: [0b10000, 0, 0, 0, 0, 0, 0] } },
  // SPEC §1.1 macros: six fields at second 0, names case-insensitive
  { section: 'macros', tokens: '@yearly', expect: { second: [0], minute: [0], hour: [0], dayOfMonth: [1], month: [1], dayOfWeek: ALL_DAYS_OF_WEEK, fixedTime: true } },
  { section: 'macros', tokens: '@ANNUALLY', expect: { dayOfMonth: [1], month: [1] } },
  { section: 'macros', tokens: '@monthly', expect: { dayOfMonth: [1], month: [...Array(13).keys()].slice(1) } },
  { section: 'macros', tokens: '@weekly', expect: { dayOfWeek: [0], domStar: true, dowStar: false } },
  { section: 'macros', tokens: '@daily', expect: { hour: [0], dayOfWeek: ALL_DAYS_OF_WEEK, fixedTime: true } },
  { section: 'macros', tokens: '@Midnight', expect: { hour: [0], minute: [0], second: [0] } },
  { section: 'macros', tokens: '@hourly', expect: { minute: [0], hour: [...Array(24).keys()], fixedTime: false } },
  { section: 'macros', tokens: '@minutely', expect: { second: [0], minute: ALL_SECONDS } },
  { section: 'macros', tokens: '@every 90s', expect: { kind: 'every', seconds: 90 } },
  { section: 'macros', tokens: '@EVERY 1h30m', expect: { kind: 'every', seconds: 5400 } },
  { section: 'macros', tokens: '@every 7m', expect: { kind: 'every', seconds: 420 } },
  { section: 'macros', tokens: '@every 2000ms', expect: { kind: 'every', seconds: 2 } },
  { section: 'macros', tokens: '@every 1s', expect: { kind: 'every', seconds: 1 } },
  { section: 'macros', tokens: '@every 2928d', expect: { kind: 'every', seconds: 2928 * 86_400 } },
  { section: 'macros', tokens: '@reboot', expect: { kind: 'reboot' } },
  { section: 'macros', tokens: '@Reboot', expect: { kind: 'reboot' } },
];

const errorRows: { section: string; tokens: string; field: number; offset: number; message: string }[] = [
  // SPEC §1.1 exactly six fields, never guessed
  { section: 'count', tokens: '* * * * *', field: 0, offset: 0, message: 'expected 6 schedule fields (second minute hour day-of-month month day-of-week), found 5' },
  { section: 'count', tokens: '*/5 * * * *', field: 0, offset: 0, message: 'put the second first, e.g. "0 */5 * * * *"' },
  { section: 'count', tokens: '* * * * * * *', field: 0, offset: 0, message: 'found 7' },
  { section: 'count', tokens: '', field: 0, offset: 0, message: 'found 0' },
  // SPEC §1.1 values are range-checked
  { section: 'range', tokens: '61 * * * * *', field: 0, offset: 0, message: 'second 61 is out of range 0-59' },
  { section: 'range', tokens: '* 60 * * * *', field: 1, offset: 0, message: 'minute 60 is out of range 0-59' },
  { section: 'range', tokens: '* * 24 * * *', field: 2, offset: 0, message: 'hour 24 is out of range 0-23' },
  { section: 'range', tokens: '* * * 0 * *', field: 3, offset: 0, message: 'day-of-month 0 is out of range 1-31' },
  { section: 'range', tokens: '* * * 1-32 * *', field: 3, offset: 2, message: 'day-of-month 32 is out of range 1-31' },
  { section: 'range', tokens: '* * * * 13 *', field: 4, offset: 0, message: 'month 13 is out of range 1-12' },
  { section: 'range', tokens: '* * * * * 8', field: 5, offset: 0, message: 'day-of-week 8 is out of range 0-7' },
  { section: 'range', tokens: '1,2,99 * * * * *', field: 0, offset: 4, message: 'second 99 is out of range 0-59' },
  { section: 'range', tokens: '* * 5/3,25/2 * * *', field: 2, offset: 4, message: 'hour 25 is out of range 0-23' },
  // SPEC §1.1 steps: zero or non-numeric are errors
  { section: 'step', tokens: '*/0 * * * * *', field: 0, offset: 2, message: 'step must be 1 or more: write */1 or *' },
  { section: 'step', tokens: '* 1-5/0 * * * *', field: 1, offset: 4, message: 'write 1-5/1 or 1-5' },
  { section: 'step', tokens: '*/x * * * * *', field: 0, offset: 2, message: 'step "x" is not a number: write e.g. */5' },
  { section: 'step', tokens: '*/ * * * * *', field: 0, offset: 2, message: 'missing step after /' },
  { section: 'step', tokens: '*/5/2 * * * * *', field: 0, offset: 2, message: 'step "5/2" is not a number' },
  { section: 'step', tokens: '*/90 * * * * *', field: 0, offset: 2, message: 'step 90 is more than the 60 values of second (0-59); for every 90s write @every 90s' },
  { section: 'step', tokens: '* * * * */13 *', field: 4, offset: 2, message: 'step 13 is more than the 12 values of month (1-12)' },
  // SPEC §1.1 inverted ranges
  { section: 'inverted', tokens: '10-5 * * * * *', field: 0, offset: 0, message: 'range 10-5 is inverted: write 5-10 (or 10-59,0-5 to wrap)' },
  { section: 'inverted', tokens: '* * 22-2 * * *', field: 2, offset: 0, message: 'write 2-22 (or 22-23,0-2 to wrap)' },
  { section: 'inverted', tokens: '* * * * * fri-mon', field: 5, offset: 0, message: 'range fri-mon is inverted: write mon-fri (or fri-sun,sun-mon to wrap)' },
  { section: 'inverted', tokens: '* * * * nov-feb *', field: 4, offset: 0, message: 'write feb-nov (or nov-dec,jan-feb to wrap)' },
  { section: 'inverted', tokens: '0,30-10 * * * * *', field: 0, offset: 2, message: 'range 30-10 is inverted' },
  // SPEC §1.1 names: unknown names, names where none are allowed
  { section: 'names', tokens: '* * * * jna *', field: 4, offset: 0, message: 'unknown month "jna": use jan-dec or 1-12' },
  { section: 'names', tokens: '* * * * * mnd', field: 5, offset: 0, message: 'unknown day-of-week "mnd": use sun-sat or 0-7' },
  { section: 'names', tokens: '* * * * jan-foo *', field: 4, offset: 4, message: 'unknown month "foo"' },
  { section: 'names', tokens: 'abc * * * * *', field: 0, offset: 0, message: 'second "abc" is not a number: write a number 0-59' },
  { section: 'names', tokens: '* mon * * * *', field: 1, offset: 0, message: 'minute "mon" is not a number' },
  { section: 'names', tokens: '* * * * * -1', field: 5, offset: 0, message: '-1 is not a range: write start-end, e.g. 0-7' },
  // SPEC §1.1 lists: empty items and trailing commas
  { section: 'lists', tokens: '1,,2 * * * * *', field: 0, offset: 2, message: 'empty list item: remove the extra comma' },
  { section: 'lists', tokens: '1,2, * * * * *', field: 0, offset: 3, message: 'trailing comma: remove it or add a value after it' },
  { section: 'lists', tokens: ',1 * * * * *', field: 0, offset: 0, message: 'empty list item' },
  { section: 'lists', tokens: '1-2-3 * * * * *', field: 0, offset: 0, message: '1-2-3 is not a range: write start-end, e.g. 0-59' },
  { section: 'lists', tokens: '*-5 * * * * *', field: 0, offset: 0, message: '* stands alone or before a step (*/5): for a range write e.g. 0-59' },
  // SPEC §1.1 ? only in the day fields
  { section: '?', tokens: '? * * * * *', field: 0, offset: 0, message: '? is only allowed in day-of-month and day-of-week: write *' },
  { section: '?', tokens: '* * * * ?/2 *', field: 4, offset: 0, message: '? is only allowed in day-of-month and day-of-week' },
  // SPEC §1.1 extensions in the wrong place or malformed
  { section: 'extensions', tokens: 'L * * * * *', field: 0, offset: 0, message: 'L is only allowed in day-of-month and as nL in day-of-week' },
  { section: 'extensions', tokens: '* * 5L * * *', field: 2, offset: 0, message: 'L is only allowed in day-of-month and as nL in day-of-week' },
  { section: 'extensions', tokens: '* * * * L *', field: 4, offset: 0, message: 'L is only allowed in day-of-month' },
  { section: 'extensions', tokens: '* * * * * L', field: 5, offset: 0, message: 'L alone is not allowed in day-of-week: write nL (5L is the last Friday)' },
  { section: 'extensions', tokens: '* * * 5L * *', field: 3, offset: 0, message: '5L is day-of-week syntax (the last weekday n): in day-of-month write L or LW' },
  { section: 'extensions', tokens: '* * * L-5 * *', field: 3, offset: 0, message: 'L cannot be part of a range or step: write it as its own list item' },
  { section: 'extensions', tokens: '* * * 1,15W/2 * *', field: 3, offset: 2, message: '15W cannot be part of a range or step' },
  { section: 'extensions', tokens: '* * * W * *', field: 3, offset: 0, message: 'W needs a day: write 15W (the weekday nearest the 15th) or LW' },
  { section: 'extensions', tokens: '* * * 32W * *', field: 3, offset: 0, message: 'day-of-month 32 is out of range 1-31' },
  { section: 'extensions', tokens: '* * * 1,0W * *', field: 3, offset: 2, message: 'day-of-month 0 is out of range 1-31' },
  { section: 'extensions', tokens: '* * * * * 15W', field: 5, offset: 0, message: 'W is only allowed in day-of-month, as nW or LW' },
  { section: 'extensions', tokens: '15W * * * * *', field: 0, offset: 0, message: 'W is only allowed in day-of-month' },
  { section: 'extensions', tokens: '* * * 5#2 * *', field: 3, offset: 0, message: '# is only allowed in day-of-week, as n#k (5#2 is the second Friday)' },
  { section: 'extensions', tokens: '* * * * * 5#6', field: 5, offset: 2, message: 'occurrence "6" in 5#6 must be 1-5' },
  { section: 'extensions', tokens: '* * * * * mon,5#0', field: 5, offset: 6, message: 'occurrence "0" in 5#0 must be 1-5' },
  { section: 'extensions', tokens: '* * * * * 5#', field: 5, offset: 2, message: 'occurrence "" in 5# must be 1-5' },
  { section: 'extensions', tokens: '* * * * * 8#1', field: 5, offset: 0, message: 'day-of-week 8 is out of range 0-7' },
  { section: 'extensions', tokens: '* * * * * xyz#1', field: 5, offset: 0, message: 'unknown day-of-week "xyz"' },
  { section: 'extensions', tokens: '* * * * * 9L', field: 5, offset: 0, message: 'day-of-week 9 is out of range 0-7' },
  { section: 'extensions', tokens: '* * * * * 1-5#2', field: 5, offset: 2, message: '5#2 cannot be part of a range or step' },
  { section: 'extensions', tokens: '* * * * * 5L/2', field: 5, offset: 0, message: '5L cannot be part of a range or step' },
  // SPEC §1.1 macros
  { section: 'macros', tokens: '@dialy', field: 0, offset: 0, message: 'unknown macro "@dialy": did you mean @daily?' },
  { section: 'macros', tokens: '@hourley', field: 0, offset: 0, message: 'did you mean @hourly?' },
  { section: 'macros', tokens: '@fortnightly', field: 0, offset: 0, message: 'use one of @yearly, @annually, @monthly' },
  { section: 'macros', tokens: '@daily 0', field: 1, offset: 0, message: '@daily replaces all six fields: remove "0"' },
  { section: 'macros', tokens: '@every', field: 0, offset: 0, message: '@every needs a duration: write e.g. @every 90s' },
  { section: 'macros', tokens: '@every 1h 30m', field: 2, offset: 0, message: '@every takes one duration without spaces (e.g. @every 1h30m)' },
  { section: 'macros', tokens: '@every 1500ms', field: 1, offset: 0, message: '@every 1500ms is not a whole number of seconds: write @every 1s or @every 2s' },
  { section: 'macros', tokens: '@every 500ms', field: 1, offset: 0, message: '@every 500ms is shorter than a second: schedules run on whole seconds; write @every 1s' },
  { section: 'macros', tokens: '@every 0s', field: 1, offset: 0, message: 'shorter than a second' },
  { section: 'macros', tokens: '@every 90', field: 1, offset: 2, message: 'duration "90" has no unit: write 90s' },
  { section: 'macros', tokens: '@every 5x', field: 1, offset: 0, message: 'bad duration "5x": write a number and a unit, e.g. 90s, 10m, 2h, 1d' },
  { section: 'macros', tokens: '@every 1.5s', field: 1, offset: 0, message: '@every 1.5s is not a whole number of seconds: write @every 1s or @every 2s' },
  { section: 'macros', tokens: '@every 0.5s', field: 1, offset: 0, message: '@every 0.5s is shorter than a second: schedules run on whole seconds; write @every 1s' },
  { section: 'macros', tokens: '@every 1.5m', field: 1, offset: 0, message: '@every 1.5m is not a whole number: write @every 90s' },
  { section: 'macros', tokens: '@every 2.25s', field: 1, offset: 0, message: 'write @every 2s or @every 3s' },
  { section: 'macros', tokens: '@every 999999999999s', field: 1, offset: 0, message: '@every 999999999999s is longer than 2928d (8 years, as far as check looks ahead): for a task this rare use six fields, e.g. 0 0 0 1 1 *' },
  { section: 'macros', tokens: '@every 2929d', field: 1, offset: 0, message: 'is longer than 2928d' },
];

describe('compileSchedule: valid schedules', () => {
  it.each(validRows)('$section: $tokens', ({ tokens, expect: expected }) => {
    const result = compile(tokens);
    if (!result.ok) expect.fail(`expected ${tokens} to compile: ${JSON.stringify(result.errors)}`);
    expect(view(result.schedule)).toMatchObject(expected);
  });
});

describe('compileSchedule: errors say what is wrong and what to write', () => {
  it('has at least 40 error rows', () => expect(errorRows.length).toBeGreaterThanOrEqual(40));

  it.each(errorRows)('$section: $tokens', ({ tokens, field, offset, message }) => {
    const result = compile(tokens);
    if (result.ok) expect.fail(`expected ${tokens} to be rejected`);
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0]).toMatchObject({ field, offset });
    expect(result.errors[0].message).toContain(message);
  });

  it('every duration an @every error suggests is one @every accepts', () => {
    const suggested = errorRows
      .filter((row) => row.tokens.toLowerCase().startsWith('@every'))
      .flatMap((row) => {
        const result = compile(row.tokens);
        const message = result.ok ? '' : result.errors[0].message;
        const written = [...message.matchAll(/(?:write|or) @every (\d\w*)/g)].map((match) => match[1]);
        const examples = /e\.g\. ([\w, ]+)$/.exec(message)?.[1].split(', ') ?? [];
        return [...written, ...examples];
      });
    expect(suggested.length).toBeGreaterThan(8);
    for (const duration of suggested) expect(compile(`@every ${duration}`).ok, `@every ${duration}`).toBe(true);
  });

  it('reports every error in every field, not just the first', () => {
    const result = compile('61 60,61 24 32 13 8');
    if (result.ok) expect.fail('expected errors');
    expect(result.errors.map(({ field, offset }) => [field, offset])).toEqual([[0, 0], [1, 0], [1, 3], [2, 0], [3, 0], [4, 0], [5, 0]]);
  });

  it('reports a bad range start and end separately', () => {
    const result = compile('70-80 * * * * *');
    if (result.ok) expect.fail('expected errors');
    expect(result.errors.map((error) => [error.offset, error.message])).toEqual([
      [0, 'second 70 is out of range 0-59'],
      [3, 'second 80 is out of range 0-59'],
    ]);
  });
});
