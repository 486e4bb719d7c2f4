/**
 * The tasks of one time zone, indexed so that a tick touches only tasks that can fire in that second:
 * tasks with at most 60 (minute, second) pairs per hour sit in one of 3,600 second-of-hour slots,
 * the rest in one of 60 second-of-minute slots; `@every` tasks are grouped by period.
 */
import { dayMatches } from '../schedule/match.js';
import type { CronSchedule, WallTime } from '../schedule/types.js';
import type { Task } from '../tasks/types.js';

const SLOT_PAIRS_LIMIT = 60;

function count(bits: Uint8Array): number {
  let total = 0;
  for (let index = 0; index < bits.length; index++) total += bits[index];
  return total;
}

export class ZoneIndex {
  readonly hourSlots: number[][] = Array.from({ length: 3600 }, () => []);
  readonly minuteSlots: number[][] = Array.from({ length: 60 }, () => []);
  readonly every = new Map<number, number[]>();
  /** Fixed-time tasks (SPEC §3: second, minute and hour single values), for catch-up after a forward jump. */
  readonly fixed: number[] = [];

  constructor(readonly tasks: readonly Task[], indices: readonly number[]) {
    for (const index of indices) this.add(index);
  }

  private add(index: number): void {
    const schedule = this.tasks[index].schedule;
    if (schedule.kind === 'every') {
      const group = this.every.get(schedule.seconds) ?? [];
      group.push(index);
      this.every.set(schedule.seconds, group);
      return;
    }
    if (schedule.kind !== 'cron') return;
    if (schedule.fixedTime) this.fixed.push(index);
    if (count(schedule.second) * count(schedule.minute) <= SLOT_PAIRS_LIMIT) {
      for (let minute = 0; minute < 60; minute++) {
        if (!schedule.minute[minute]) continue;
        for (let second = 0; second < 60; second++) if (schedule.second[second]) this.hourSlots[minute * 60 + second].push(index);
      }
    } else {
      for (let second = 0; second < 60; second++) if (schedule.second[second]) this.minuteSlots[second].push(index);
    }
  }

  /** Calls `due` for each task whose schedule matches this wall second (and unix second, for `@every`). */
  forEachDue(wall: WallTime, unixSecond: number, due: (index: number) => void): void {
    for (const index of this.hourSlots[wall.minute * 60 + wall.second]) {
      if (matchesDay(this.tasks[index].schedule as CronSchedule, wall)) due(index);
    }
    for (const index of this.minuteSlots[wall.second]) {
      const schedule = this.tasks[index].schedule as CronSchedule;
      if (schedule.minute[wall.minute] && matchesDay(schedule, wall)) due(index);
    }
    for (const [period, indices] of this.every) {
      if (unixSecond % period === 0) for (const index of indices) due(index);
    }
  }

  /** Fixed-time tasks that match this wall second (used for the seconds a forward jump skipped). */
  forEachFixedDue(wall: WallTime, due: (index: number) => void): void {
    for (const index of this.hourSlots[wall.minute * 60 + wall.second]) {
      const schedule = this.tasks[index].schedule as CronSchedule;
      if (schedule.fixedTime && matchesDay(schedule, wall)) due(index);
    }
  }
}

/** Hour, month and day fields; the caller has matched minute and second through the slot. */
function matchesDay(schedule: CronSchedule, wall: WallTime): boolean {
  return schedule.hour[wall.hour] === 1 && schedule.month[wall.month] === 1 && dayMatches(schedule, wall);
}
