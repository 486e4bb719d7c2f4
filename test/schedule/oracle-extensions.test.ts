/**
 * Cross-check of the L / W / # extensions. croner 9 is the oracle for L, nL and n#k; it has no W, so
 * nW and LW are checked against a small Date-based reference of Quartz's rule written here.
 * Seeded: set ORACLE_SEED to reproduce or vary a run; failures print seed and case.
 */
import { Cron } from 'croner';
import { expect, it } from 'vitest';
import { nextFires } from '../../src/schedule/next-fire.js';
import { Zone } from '../../src/schedule/zone.js';
import { compareFires, compileCron, exclude, ExpressionGenerator, FIRES, newTally, ORACLE_ZONES, oracleDayRuleDiffers, seededRandom } from './oracle-support.js';

const SEED = Number(process.env.ORACLE_SEED ?? 20_261_025);
const CRONER_UTC_CASES = 3000;
/** croner converts every step through Intl in a named zone (about 4 ms a case): fewer cases there. */
const CRONER_CASES_PER_DST_ZONE = 400;
const NEAREST_WEEKDAY_CASES = 1500;
const EIGHT_YEARS = 8 * 365 * 86_400;

/** Day fields with at least one of L, nL, n#k; croner spells nL as n#L and replaces `?` by today, so no `?`. */
function extensionDayFields(generate: ExpressionGenerator): [dayOfMonth: string, dayOfWeek: string] {
  const dayName = () => (generate.random() < 0.3 ? generate.pick(['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat']) : String(generate.int(0, 7)));
  const weekItems = () =>
    Array.from({ length: generate.int(1, 3) }, () => {
      const roll = generate.random();
      if (roll < 0.45) return `${dayName()}#${generate.int(1, 5)}`;
      if (roll < 0.8) return `${dayName()}L`;
      return generate.item(5, 0, 6, false, false);
    });
  const roll = generate.random();
  if (roll < 0.3) return [generate.random() < 0.5 ? 'L' : `L,${generate.item(3, 1, 28, false, false)}`, generate.pick(['*', weekItems().join(','), generate.field(5, false)])];
  if (roll < 0.6) return ['*', weekItems().join(',')];
  return [generate.field(3).replace('?', '*'), weekItems().join(',')];
}

function cronerFires(fields: readonly string[], zoneName: string, start: number): number[] {
  const pattern = [...fields.slice(0, 5), fields[5].replace(/([0-9a-z]+)L/gi, '$1#L')].join(' ');
  // utcOffset keeps croner off Intl in UTC; a fresh options object each time, as croner mutates it.
  const job = new Cron(pattern, zoneName === 'UTC' ? { utcOffset: 0 } : { timezone: zoneName });
  return job.nextRuns(FIRES, new Date(start * 1000)).map((date) => date.getTime() / 1000);
}

it(`agrees with croner on L, nL and n#k in four zones (seed ${SEED})`, () => {
  const generate = new ExpressionGenerator(seededRandom(SEED));
  const tally = newTally();
  const failures: string[] = [];
  const cases = [...Array<string>(CRONER_UTC_CASES).fill('UTC'), ...ORACLE_ZONES.slice(1).flatMap((zone) => Array<string>(CRONER_CASES_PER_DST_ZONE).fill(zone))];
  for (const zoneName of cases) {
    const zone = Zone.for(zoneName);
    const [dayOfMonth, dayOfWeek] = extensionDayFields(generate);
    // croner's day-of-week a/n stops at 6, not at 7 (SPEC): no a/n in its fields.
    const fields = [generate.field(0), generate.field(1), generate.field(2), dayOfMonth, generate.field(4), dayOfWeek];
    const expression = fields.join(' ');
    const start = generate.start(zone);
    tally.cases++;
    const schedule = compileCron(fields);
    // Difference 1 (day rule): croner ORs `*/2` with a listed day; SPEC ANDs (match.test.ts rows).
    if (oracleDayRuleDiffers(schedule, dayOfMonth, dayOfWeek, ['*'])) {
      exclude(tally, 'day rule: a day field starts with * but is not exactly *');
      continue;
    }
    const ours = nextFires(schedule, zone, start, FIRES);
    const oracle = cronerFires(fields, zoneName, start);
    const limit = Math.min(ours.length === FIRES ? ours[FIRES - 1] : start + EIGHT_YEARS, oracle.length === FIRES ? oracle[FIRES - 1] : Infinity);
    // Difference 2 (DST, SPEC §3): croner fires skipped times late and repeated times in the second pass.
    const failure = compareFires({ schedule, zone, start, limit, ours, oracle }, tally);
    if (failure && failures.length < 5) failures.push(`seed ${SEED}: "${expression}" in ${zoneName} after ${new Date(start * 1000).toISOString()}\n${failure}`);
  }
  console.log(`croner oracle (seed ${SEED}): ${JSON.stringify(tally)}`);
  expect(failures).toEqual([]);
  expect(tally.compared).toBeGreaterThanOrEqual(0.9 * cases.length);
});

/** Quartz's nW (croner 10's getNearestWeekday) for a day n that the month has, by Date only. */
function nearestWeekday(year: number, month: number, n: number, daysInMonth: number): number {
  const weekday = new Date(Date.UTC(year, month - 1, n)).getUTCDay();
  if (weekday === 6) return n === 1 ? 3 : n - 1;
  if (weekday === 0) return n === daysInMonth ? n - 2 : n + 1;
  return n;
}

/** Reference fires for `s m h <day-of-month> <month> *` with single s, m, h, walking days in UTC. */
function referenceFires(time: readonly number[], days: { plain: number[]; nearest: number[]; last: boolean; lastWeekday: boolean }, months: readonly number[], start: number): number[] {
  const fires: number[] = [];
  const [second, minute, hour] = time;
  for (let day = Math.floor(start / 86_400); fires.length < FIRES && day * 86_400 <= start + EIGHT_YEARS; day++) {
    const date = new Date(day * 86_400_000);
    const [year, month, dayOfMonth] = [date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate()];
    const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
    if (!months.includes(month)) continue;
    const matches =
      days.plain.includes(dayOfMonth) ||
      (days.last && dayOfMonth === daysInMonth) ||
      (days.lastWeekday && dayOfMonth === nearestWeekday(year, month, daysInMonth, daysInMonth)) ||
      days.nearest.some((n) => n <= daysInMonth && nearestWeekday(year, month, n, daysInMonth) === dayOfMonth);
    const fire = day * 86_400 + hour * 3600 + minute * 60 + second;
    if (matches && fire > start) fires.push(fire);
  }
  return fires;
}

it(`agrees with a Date-based reference on nW and LW (seed ${SEED})`, () => {
  const generate = new ExpressionGenerator(seededRandom(SEED + 1));
  const tally = newTally();
  const failures: string[] = [];
  const zone = Zone.for('UTC');
  for (let index = 0; index < NEAREST_WEEKDAY_CASES; index++) {
    const time = [generate.int(0, 59), generate.int(0, 59), generate.int(0, 23)];
    const days = { plain: [] as number[], nearest: [] as number[], last: false, lastWeekday: false };
    const items = Array.from({ length: generate.int(1, 3) }, () => {
      const roll = generate.random();
      if (roll < 0.55) return `${days.nearest[days.nearest.push(generate.pick([1, 2, 15, 28, 29, 30, 31, generate.int(1, 31)])) - 1]}W`;
      if (roll < 0.75) return (days.lastWeekday = true) && 'LW';
      if (roll < 0.85) return (days.last = true) && 'L';
      return String(days.plain[days.plain.push(generate.int(1, 31)) - 1]);
    });
    const month = generate.pick(['*', String(generate.int(1, 12)), '2', '2,4,6,9,11']);
    const months = month === '*' ? [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12] : month.split(',').map(Number);
    const fields = [...time.map(String), items.join(','), month, generate.pick(['*', '?'])];
    const start = generate.start(zone);
    tally.cases++;
    const ours = nextFires(compileCron(fields), zone, start, FIRES);
    const oracle = referenceFires(time, days, months, start);
    // The reference walks eight years at most, so it is complete only that far.
    const limit = Math.min(ours.length === FIRES ? ours[FIRES - 1] : start + EIGHT_YEARS, oracle.length === FIRES ? oracle[FIRES - 1] : start + EIGHT_YEARS);
    const failure = compareFires({ schedule: compileCron(fields), zone, start, limit, ours, oracle }, tally);
    if (failure && failures.length < 5) failures.push(`seed ${SEED + 1}: "${fields.join(' ')}" after ${new Date(start * 1000).toISOString()}\n${failure}`);
  }
  console.log(`nW/LW reference (seed ${SEED + 1}): ${JSON.stringify(tally)}`);
  expect(failures).toEqual([]);
  expect(tally.compared).toBeGreaterThanOrEqual(0.95 * NEAREST_WEEKDAY_CASES);
});
