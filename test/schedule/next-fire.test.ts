import { describe, expect, it } from 'vitest';
import { compileSchedule } from '../../src/schedule/compile.js';
import { nextFires } from '../../src/schedule/next-fire.js';
import type { Schedule } from '../../src/schedule/types.js';
import { Zone } from '../../src/schedule/zone.js';
import { cpuTimer } from '../helpers/cpu-time.js';

const at = (iso: string): number => Date.parse(iso) / 1000;
const iso = (unixSec: number): string => new Date(unixSec * 1000).toISOString().replace('.000Z', 'Z');

function schedule(text: string): Schedule {
  const result = compileSchedule(text.split(' '));
  if (!result.ok) throw new Error(`${text}: ${JSON.stringify(result.errors)}`);
  return result.schedule;
}

function fires(text: string, zone: string, after: string, count: number): string[] {
  return nextFires(schedule(text), Zone.for(zone), at(after), count).map(iso);
}

type Row = { name: string; expr: string; zone: string; after: string; count: number; expect: string[] };

// SPEC §3 DST policy (cronie's, per zone). Berlin 2026: 02:00 CET → 03:00 CEST at 2026-03-29T01:00Z,
// 03:00 CEST → 02:00 CET at 2026-10-25T01:00Z.
const berlinRows: Row[] = [
  { name: 'gap: fixed 02:30 fires once at the transition', expr: '0 30 2 * * *', zone: 'Europe/Berlin', after: '2026-03-28T12:00:00Z', count: 2, expect: ['2026-03-29T01:00:00Z', '2026-03-30T00:30:00Z'] },
  { name: 'gap: fixed 02:00:00 (first skipped second)', expr: '0 0 2 * * *', zone: 'Europe/Berlin', after: '2026-03-28T12:00:00Z', count: 2, expect: ['2026-03-29T01:00:00Z', '2026-03-30T00:00:00Z'] },
  { name: 'gap: fixed 02:59:59 (last skipped second)', expr: '59 59 2 * * *', zone: 'Europe/Berlin', after: '2026-03-28T12:00:00Z', count: 1, expect: ['2026-03-29T01:00:00Z'] },
  { name: 'gap: fixed 03:00 fires once, not twice', expr: '0 0 3 * * *', zone: 'Europe/Berlin', after: '2026-03-28T12:00:00Z', count: 2, expect: ['2026-03-29T01:00:00Z', '2026-03-30T01:00:00Z'] },
  { name: 'gap: wildcard minute list skips the missing hour', expr: '0 0,30 2 * * *', zone: 'Europe/Berlin', after: '2026-03-28T12:00:00Z', count: 2, expect: ['2026-03-30T00:00:00Z', '2026-03-30T00:30:00Z'] },
  { name: 'gap: wildcard resumes at the new time', expr: '0 */20 * * * *', zone: 'Europe/Berlin', after: '2026-03-29T00:30:00Z', count: 3, expect: ['2026-03-29T00:40:00Z', '2026-03-29T01:00:00Z', '2026-03-29T01:20:00Z'] },
  { name: 'gap: catch-up is strictly after `after`', expr: '0 30 2 * * *', zone: 'Europe/Berlin', after: '2026-03-29T00:59:59Z', count: 1, expect: ['2026-03-29T01:00:00Z'] },
  { name: 'gap: no catch-up once past the transition', expr: '0 30 2 * * *', zone: 'Europe/Berlin', after: '2026-03-29T01:00:00Z', count: 1, expect: ['2026-03-30T00:30:00Z'] },
  { name: 'gap: fixed with a date, then next year in summer time', expr: '0 30 2 29 3 *', zone: 'Europe/Berlin', after: '2026-01-01T00:00:00Z', count: 2, expect: ['2026-03-29T01:00:00Z', '2027-03-29T00:30:00Z'] },
  { name: 'overlap: fixed 02:30 only in the first pass', expr: '0 30 2 * * *', zone: 'Europe/Berlin', after: '2026-10-24T12:00:00Z', count: 2, expect: ['2026-10-25T00:30:00Z', '2026-10-26T01:30:00Z'] },
  { name: 'overlap: fixed 02:00:00 only in the first pass', expr: '0 0 2 * * *', zone: 'Europe/Berlin', after: '2026-10-24T12:00:00Z', count: 2, expect: ['2026-10-25T00:00:00Z', '2026-10-26T01:00:00Z'] },
  { name: 'overlap: wildcard fires in both passes', expr: '0 */30 2 * * *', zone: 'Europe/Berlin', after: '2026-10-24T12:00:00Z', count: 5, expect: ['2026-10-25T00:00:00Z', '2026-10-25T00:30:00Z', '2026-10-25T01:00:00Z', '2026-10-25T01:30:00Z', '2026-10-26T01:00:00Z'] },
  { name: 'overlap: starting inside the second pass, fixed waits a day', expr: '0 30 2 * * *', zone: 'Europe/Berlin', after: '2026-10-25T01:10:00Z', count: 1, expect: ['2026-10-26T01:30:00Z'] },
  { name: 'overlap: starting inside the second pass, wildcard fires', expr: '0 30 2,3 * * *', zone: 'Europe/Berlin', after: '2026-10-25T01:10:00Z', count: 2, expect: ['2026-10-25T01:30:00Z', '2026-10-25T02:30:00Z'] },
];

// New York 2026: 02:00 EST → 03:00 EDT at 2026-03-08T07:00Z, 02:00 EDT → 01:00 EST at 2026-11-01T06:00Z.
const newYorkRows: Row[] = [
  { name: 'gap: fixed 02:30', expr: '0 30 2 * * *', zone: 'America/New_York', after: '2026-03-07T12:00:00Z', count: 2, expect: ['2026-03-08T07:00:00Z', '2026-03-09T06:30:00Z'] },
  { name: 'overlap: fixed 01:30 in the first pass', expr: '0 30 1 * * *', zone: 'America/New_York', after: '2026-10-31T12:00:00Z', count: 2, expect: ['2026-11-01T05:30:00Z', '2026-11-02T06:30:00Z'] },
  { name: 'overlap: wildcard in both passes', expr: '0 0/30 1 * * *', zone: 'America/New_York', after: '2026-10-31T12:00:00Z', count: 5, expect: ['2026-11-01T05:00:00Z', '2026-11-01T05:30:00Z', '2026-11-01T06:00:00Z', '2026-11-01T06:30:00Z', '2026-11-02T06:00:00Z'] },
];

// Lord Howe 2026 shifts by 30 minutes: 02:00 (+11) → 01:30 (+10:30) at 2026-04-04T15:00Z,
// 02:00 (+10:30) → 02:30 (+11) at 2026-10-03T15:30Z.
const lordHoweRows: Row[] = [
  { name: 'overlap: fixed 01:45 only in the first pass', expr: '0 45 1 * * *', zone: 'Australia/Lord_Howe', after: '2026-04-04T00:00:00Z', count: 2, expect: ['2026-04-04T14:45:00Z', '2026-04-05T15:15:00Z'] },
  {
    name: 'overlap: wildcard repeats the half hour',
    expr: '0 */10 1 * * *',
    zone: 'Australia/Lord_Howe',
    after: '2026-04-04T14:25:00Z',
    count: 7,
    expect: ['2026-04-04T14:30:00Z', '2026-04-04T14:40:00Z', '2026-04-04T14:50:00Z', '2026-04-04T15:00:00Z', '2026-04-04T15:10:00Z', '2026-04-04T15:20:00Z', '2026-04-05T14:30:00Z'],
  },
  { name: 'gap: fixed 02:15 fires at 02:30', expr: '0 15 2 * * *', zone: 'Australia/Lord_Howe', after: '2026-10-03T00:00:00Z', count: 2, expect: ['2026-10-03T15:30:00Z', '2026-10-04T15:15:00Z'] },
  { name: 'gap: fixed 02:00:00 is skipped too', expr: '0 0 2 * * *', zone: 'Australia/Lord_Howe', after: '2026-10-03T00:00:00Z', count: 1, expect: ['2026-10-03T15:30:00Z'] },
  { name: 'gap: fixed 02:45 exists, no catch-up', expr: '0 45 2 * * *', zone: 'Australia/Lord_Howe', after: '2026-10-03T00:00:00Z', count: 1, expect: ['2026-10-03T15:45:00Z'] },
  { name: 'gap: wildcard skips 02:00-02:29', expr: '0 */10 2 * * *', zone: 'Australia/Lord_Howe', after: '2026-10-03T15:00:00Z', count: 4, expect: ['2026-10-03T15:30:00Z', '2026-10-03T15:40:00Z', '2026-10-03T15:50:00Z', '2026-10-04T15:00:00Z'] },
];

// Samoa skipped 2011-12-30 (-10 → +14 at 2011-12-30T10:00Z): like the planner, only the last 3 h of a
// longer gap are replayed for fixed-time tasks.
const longGapRows: Row[] = [
  { name: 'fixed 12:00 on the skipped day is not replayed', expr: '0 0 12 * * *', zone: 'Pacific/Apia', after: '2011-12-29T00:00:00Z', count: 2, expect: ['2011-12-29T22:00:00Z', '2011-12-30T22:00:00Z'] },
  { name: 'fixed 22:00 in the last 3 h is replayed', expr: '0 0 22 * * *', zone: 'Pacific/Apia', after: '2011-12-29T12:00:00Z', count: 3, expect: ['2011-12-30T08:00:00Z', '2011-12-30T10:00:00Z', '2011-12-31T08:00:00Z'] },
];

// SPEC §1.1 L, W and # at month edges, leap and non-leap Februaries.
const dayExtensionRows: Row[] = [
  { name: 'L in February', expr: '0 0 12 L 2 *', zone: 'UTC', after: '2026-01-01T00:00:00Z', count: 3, expect: ['2026-02-28T12:00:00Z', '2027-02-28T12:00:00Z', '2028-02-29T12:00:00Z'] },
  { name: 'LW in February', expr: '0 0 12 LW 2 *', zone: 'UTC', after: '2026-01-01T00:00:00Z', count: 3, expect: ['2026-02-27T12:00:00Z', '2027-02-26T12:00:00Z', '2028-02-29T12:00:00Z'] },
  { name: '1W on a Saturday is Monday the 3rd', expr: '0 0 12 1W * *', zone: 'UTC', after: '2026-07-15T00:00:00Z', count: 2, expect: ['2026-08-03T12:00:00Z', '2026-09-01T12:00:00Z'] },
  { name: '31W skips months without a 31st', expr: '0 0 12 31W * *', zone: 'UTC', after: '2026-04-01T00:00:00Z', count: 2, expect: ['2026-05-29T12:00:00Z', '2026-07-31T12:00:00Z'] },
  // Feb 29, 2032 is a Sunday that ends the month: the Friday before.
  { name: '29W only in leap Februaries', expr: '0 0 12 29W 2 *', zone: 'UTC', after: '2026-01-01T00:00:00Z', count: 2, expect: ['2028-02-29T12:00:00Z', '2032-02-27T12:00:00Z'] },
  { name: 'last Friday', expr: '0 0 12 ? * 5L', zone: 'UTC', after: '2026-01-01T00:00:00Z', count: 3, expect: ['2026-01-30T12:00:00Z', '2026-02-27T12:00:00Z', '2026-03-27T12:00:00Z'] },
  { name: 'fifth Monday of February', expr: '0 0 12 ? 2 1#5', zone: 'UTC', after: '2040-01-01T00:00:00Z', count: 1, expect: ['2044-02-29T12:00:00Z'] },
  { name: 'second Friday, in Berlin', expr: '0 0 9 ? * fri#2', zone: 'Europe/Berlin', after: '2026-01-01T00:00:00Z', count: 2, expect: ['2026-01-09T08:00:00Z', '2026-02-13T08:00:00Z'] },
];

// Sparse, impossible, and non-cron schedules.
const otherRows: Row[] = [
  { name: 'strictly after', expr: '0 0 0 * * *', zone: 'UTC', after: '2026-01-01T00:00:00Z', count: 1, expect: ['2026-01-02T00:00:00Z'] },
  { name: 'Feb 29 every four years', expr: '0 0 0 29 2 *', zone: 'UTC', after: '2026-01-01T00:00:00Z', count: 4, expect: ['2028-02-29T00:00:00Z', '2032-02-29T00:00:00Z', '2036-02-29T00:00:00Z', '2040-02-29T00:00:00Z'] },
  { name: 'Feb 29 across 2100 (eight years)', expr: '0 0 0 29 2 *', zone: 'UTC', after: '2096-03-01T00:00:00Z', count: 1, expect: ['2104-02-29T00:00:00Z'] },
  { name: 'Feb 29 or a Monday (OR)', expr: '0 0 0 29 2 mon', zone: 'UTC', after: '2028-02-20T00:00:00Z', count: 4, expect: ['2028-02-21T00:00:00Z', '2028-02-28T00:00:00Z', '2028-02-29T00:00:00Z', '2029-02-05T00:00:00Z'] },
  { name: 'Feb 30 never happens', expr: '0 0 0 30 2 *', zone: 'UTC', after: '2026-01-01T00:00:00Z', count: 3, expect: [] },
  { name: 'Feb 31 never happens', expr: '0 0 0 31 2 *', zone: 'Australia/Lord_Howe', after: '2026-01-01T00:00:00Z', count: 3, expect: [] },
  { name: '31st of 30-day months never happens', expr: '0 0 0 31 4,6,9,11 *', zone: 'Europe/Berlin', after: '2026-01-01T00:00:00Z', count: 3, expect: [] },
  { name: '@every 90s: next multiples of 90', expr: '@every 90s', zone: 'UTC', after: '1970-01-01T00:01:40Z', count: 3, expect: ['1970-01-01T00:03:00Z', '1970-01-01T00:04:30Z', '1970-01-01T00:06:00Z'] },
  { name: '@every is strictly after a multiple', expr: '@every 90s', zone: 'UTC', after: '1970-01-01T00:03:00Z', count: 1, expect: ['1970-01-01T00:04:30Z'] },
  { name: '@every ignores the zone', expr: '@every 7m', zone: 'Australia/Lord_Howe', after: '1970-01-01T00:00:00Z', count: 2, expect: ['1970-01-01T00:07:00Z', '1970-01-01T00:14:00Z'] },
  { name: '@reboot has no next time', expr: '@reboot', zone: 'UTC', after: '2026-01-01T00:00:00Z', count: 3, expect: [] },
];

describe('nextFires', () => {
  describe.each([
    ['Berlin 2026', berlinRows],
    ['New York 2026', newYorkRows],
    ['Lord Howe 2026', lordHoweRows],
    ['Samoa 2011', longGapRows],
    ['L, W and # edges', dayExtensionRows],
    ['sparse, impossible, @every, @reboot', otherRows],
  ])('%s', (_, rows) => {
    it.each(rows)('$name: $expr', ({ expr, zone, after, count, expect: expected }) => {
      expect(fires(expr, zone, after, count)).toEqual(expected);
    });
  });

  it('finds twenty @yearly fires in Berlin', () => {
    const expected = Array.from({ length: 20 }, (_, index) => `${2026 + index}-12-31T23:00:00Z`);
    expect(fires('@yearly', 'Europe/Berlin', '2026-06-01T00:00:00Z', 20)).toEqual(expected);
  });

  it('returns nothing for a count of 0', () => {
    expect(fires('* * * * * *', 'UTC', '2026-01-01T00:00:00Z', 0)).toEqual([]);
  });

  it('gives up on impossible schedules quickly instead of walking seconds', () => {
    const elapsed = cpuTimer(); // CPU time: a loaded machine's other processes are not this search's cost
    for (const zone of ['UTC', 'Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe']) {
      expect(fires('* * * 31 2 *', zone, '2030-01-01T00:00:00Z', 1)).toEqual([]);
      expect(fires('0 0 0 29 2 *', zone, '2030-01-01T00:00:00Z', 20)).toHaveLength(20);
    }
    // About 0.5 s of CPU here alone (filling 80 years of each zone's offsets); walking seconds would take hours.
    expect(elapsed()).toBeLessThan(5000);
  });
});
