import { daysFromCivil, fillCivil, newWallTime, SECONDS_PER_DAY } from './calendar.js';
import { dayMatches } from './match.js';
import type { CronSchedule, Schedule, WallTime } from './types.js';
import type { Zone } from './zone.js';

/** A schedule that has not fired for this long is taken as impossible (`0 0 0 31 2 *`); 2096→2104 fits. */
export const SEARCH_LIMIT_SECONDS = 8 * 366 * SECONDS_PER_DAY;
/** SPEC §3: clock jumps (and DST changes) up to 3 h get cronie's catch-up; the planner uses this too. */
export const CATCH_UP_LIMIT_SECONDS = 3 * 3600;

/**
 * The next `count` Unix seconds strictly after `afterUnixSec` at which the daemon starts a task with
 * this schedule, in `zone` (for `check --next` and `status`). Fewer when the schedule stops firing.
 */
export function nextFires(schedule: Schedule, zone: Zone, afterUnixSec: number, count: number): number[] {
  if (schedule.kind === 'reboot') return [];
  if (schedule.kind === 'at') return schedule.second > afterUnixSec && count > 0 ? [schedule.second] : [];
  if (schedule.kind === 'every') {
    const first = (Math.floor(afterUnixSec / schedule.seconds) + 1) * schedule.seconds;
    return Array.from({ length: Math.max(0, count) }, (_, index) => first + index * schedule.seconds);
  }
  return nextCronFires(schedule, zone, afterUnixSec, count);
}

/**
 * Walks the zone's offset periods: inside one the wall clock runs in step with Unix time, so a
 * match is wall - offset. At a DST change it applies the planner's policy (SPEC §3, cronie's):
 * - gap (clock forward): fixed-time tasks whose wall time was skipped fire once at the first real
 *   second after it; wildcard tasks skip the wall times that did not exist;
 * - overlap (clock back): wildcard tasks fire in both passes, fixed-time tasks only in the first.
 */
function nextCronFires(s: CronSchedule, zone: Zone, afterUnixSec: number, count: number): number[] {
  const fires: number[] = [];
  const wall = newWallTime();
  let next = afterUnixSec + 1;
  let giveUpAt = next + SEARCH_LIMIT_SECONDS;
  // A change just before `next` still matters: `next` may be inside the second pass of an overlap.
  let periodStart = zone.previousTransition(next, next - SECONDS_PER_DAY);
  while (fires.length < count && next <= giveUpAt) {
    const offset = zone.offsetSeconds(next);
    const last = Math.min(zone.nextTransition(next, giveUpAt) - 1, giveUpAt);
    const shift = periodStart === -Infinity ? 0 : offset - zone.offsetSeconds(periodStart - 1);
    if (next === periodStart && shift > 0 && s.fixedTime) {
      const skippedFrom = periodStart + offset - Math.min(shift, CATCH_UP_LIMIT_SECONDS);
      if (firstMatchingWall(s, skippedFrom, periodStart + offset - 1, wall) !== undefined) {
        fires.push(next);
        next += 1;
        giveUpAt = next + SEARCH_LIMIT_SECONDS;
        continue;
      }
    }
    const match = firstMatchingWall(s, next + offset, last + offset, wall);
    if (match === undefined) {
      next = last + 1;
      periodStart = next;
      continue;
    }
    const fire = match - offset;
    next = fire + 1;
    // The second pass of an overlap lasts as long as the clock went back.
    if (s.fixedTime && shift < 0 && fire < periodStart - shift) continue;
    fires.push(fire);
    giveUpAt = next + SEARCH_LIMIT_SECONDS;
  }
  return fires;
}

/**
 * The first wall second in [from, to] that `s` matches, or undefined. Skips whole months and days
 * that cannot match, then walks the hour, minute and second bitmaps: never second by second.
 */
function firstMatchingWall(s: CronSchedule, from: number, to: number, w: WallTime): number | undefined {
  let candidate = from;
  while (candidate <= to) {
    fillCivil(candidate, w);
    const dayStart = candidate - (w.hour * 3600 + w.minute * 60 + w.second);
    if (s.month[w.month] !== 1) {
      candidate = daysFromCivil(w.month === 12 ? w.year + 1 : w.year, (w.month % 12) + 1, 1) * SECONDS_PER_DAY;
      continue;
    }
    const hour = dayMatches(s, w) ? nextSetAtOrAfter(s.hour, w.hour) : -1;
    if (hour < 0) {
      candidate = dayStart + SECONDS_PER_DAY;
      continue;
    }
    const minute = hour === w.hour ? nextSetAtOrAfter(s.minute, w.minute) : nextSetAtOrAfter(s.minute, 0);
    if (minute < 0) {
      candidate = dayStart + (hour + 1) * 3600;
      continue;
    }
    const second = hour === w.hour && minute === w.minute ? nextSetAtOrAfter(s.second, w.second) : nextSetAtOrAfter(s.second, 0);
    if (second < 0) {
      candidate = dayStart + hour * 3600 + (minute + 1) * 60;
      continue;
    }
    const found = dayStart + hour * 3600 + minute * 60 + second;
    return found <= to ? found : undefined;
  }
  return undefined;
}

function nextSetAtOrAfter(bitmap: Uint8Array, from: number): number {
  for (let index = from; index < bitmap.length; index++) if (bitmap[index] === 1) return index;
  return -1;
}
