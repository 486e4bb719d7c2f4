/**
 * Cross-check of nextFires against cron-parser 5 (STYLE: an independent oracle over many generated
 * expressions). Seeded: set ORACLE_SEED to reproduce or vary a run; failures print seed and case.
 */
import { CronExpressionParser } from 'cron-parser';
import { expect, it } from 'vitest';
import { nextFires } from '../../src/schedule/next-fire.js';
import { Zone } from '../../src/schedule/zone.js';
import {
  compareFires,
  compileCron,
  exclude,
  ExpressionGenerator,
  FIRES,
  newTally,
  ORACLE_ZONES,
  oracleDayRuleDiffers,
  seededRandom,
} from './oracle-support.js';

const SEED = Number(process.env.ORACLE_SEED ?? 20_260_329);
const WANTED = 10_000;
const EIGHT_YEARS = 8 * 365 * 86_400;
const TWO_HOURS = 7200;

/** cron-parser's fires up to `endDate`; `gaveUp` when it hit its loop limit instead. */
function cronParserFires(expression: string, zone: string, start: number, endDate: number): { fires: number[]; gaveUp: boolean } {
  const iterator = CronExpressionParser.parse(expression, { currentDate: new Date(start * 1000), endDate: new Date(endDate * 1000), tz: zone });
  const fires: number[] = [];
  while (fires.length < FIRES) {
    try {
      fires.push(iterator.next().getTime() / 1000);
    } catch (error) {
      return { fires, gaveUp: !(error as Error).message.includes('time span') };
    }
  }
  return { fires, gaveUp: false };
}

/** The first change in (from, until] that turns the clock back by 30 minutes (Lord Howe's), or Infinity. */
function halfHourFallBack(zone: Zone, from: number, until: number): number {
  for (let at = zone.nextTransition(from, until); at !== Infinity; at = zone.nextTransition(at, until)) {
    if (zone.offsetSeconds(at) - zone.offsetSeconds(at - 1) === -1800) return at;
  }
  return Infinity;
}

// A cross-check, not a time bound: 10,000 expressions through cron-parser take 10-15 s of CPU here, twice
// that with a `yes` on the other core, so the harness timeout leaves room for a loaded machine.
it(`agrees with cron-parser on ${WANTED} generated expressions in four zones (seed ${SEED})`, { timeout: 120_000 }, () => {
  const generate = new ExpressionGenerator(seededRandom(SEED));
  const tally = newTally();
  const failures: string[] = [];
  while (tally.compared < WANTED && tally.cases < 2 * WANTED) {
    const zoneName = ORACLE_ZONES[tally.cases % ORACLE_ZONES.length];
    const zone = Zone.for(zoneName);
    const fields = Array.from({ length: 6 }, (_, field) => generate.field(field));
    const expression = fields.join(' ');
    let start = generate.start(zone);
    tally.cases++;
    const schedule = compileCron(fields);
    // Difference 1 (day rule): cron-parser ORs `*/2` with a listed day; SPEC ANDs (match.test.ts rows).
    if (oracleDayRuleDiffers(schedule, fields[3], fields[5], ['*', '?'])) {
      exclude(tally, 'day rule: a day field starts with * but is not exactly * or ?');
      continue;
    }
    // Difference 2: cron-parser loops until its limit at Lord Howe's 30-minute fall-back; stop before it.
    const fallBack = halfHourFallBack(zone, start - TWO_HOURS, start + EIGHT_YEARS);
    if (start >= fallBack - TWO_HOURS) start = fallBack + TWO_HOURS;
    const endDate = Math.min(start + EIGHT_YEARS, halfHourFallBack(zone, start, start + EIGHT_YEARS) - TWO_HOURS);
    let oracle: { fires: number[]; gaveUp: boolean };
    try {
      oracle = cronParserFires(expression, zoneName, start, endDate);
    } catch (error) {
      // Difference 3: cron-parser rejects lists whose items overlap (`1-5,3`) and days that never occur
      // (`31 2`); SPEC accepts both (nextFires finds none for the latter, see next-fire.test.ts).
      const { message } = error as Error;
      if (message.includes('duplicate values')) exclude(tally, 'cron-parser rejects overlapping list items');
      else if (message.includes('Invalid explicit day of month')) exclude(tally, 'cron-parser rejects a day of month that never occurs');
      else throw error;
      continue;
    }
    if (oracle.gaveUp && oracle.fires.length === 0) {
      exclude(tally, 'cron-parser hit its loop limit before a first fire');
      continue;
    }
    const ours = nextFires(schedule, zone, start, FIRES);
    let limit = oracle.fires.length === FIRES || oracle.gaveUp ? oracle.fires[oracle.fires.length - 1] : endDate;
    if (ours.length === FIRES) limit = Math.min(limit, ours[FIRES - 1]);
    // Difference 4 (DST, SPEC §3): around changes whose wall hours the schedule matches, see next-fire.test.ts.
    const failure = compareFires({ schedule, zone, start, limit, ours, oracle: oracle.fires }, tally);
    if (failure && failures.length < 5) failures.push(`seed ${SEED} case ${tally.cases}: "${expression}" in ${zoneName} after ${new Date(start * 1000).toISOString()}\n${failure}`);
  }
  console.log(`cron-parser oracle (seed ${SEED}): ${JSON.stringify(tally)}`);
  expect(failures).toEqual([]);
  expect(tally.compared).toBeGreaterThanOrEqual(WANTED);
});
