/**
 * The tasks of one time zone (and jitter offset), indexed so that a tick touches only tasks that can
 * fire in that second: tasks with at most 60 (minute, second) pairs per hour sit in one of 3,600
 * second-of-hour slots, the rest in one of 60 second-of-minute slots; `@every` tasks are grouped by
 * period. Each slot keeps its task indices beside a 24-bit hour mask, so the usual "not this hour"
 * costs one typed-array read. Only slots with tasks exist: a group of a few jittered tasks costs a few
 * slots, not 3,660.
 */
import { dayMatches } from '../schedule/match.js';
import type { CronSchedule, WallTime } from '../schedule/types.js';
import type { Task } from '../tasks/types.js';

const SLOT_PAIRS_LIMIT = 60;

interface Slot {
  readonly tasks: Int32Array;
  readonly hours: Int32Array;
}

const EMPTY_SLOT: Slot = { tasks: new Int32Array(0), hours: new Int32Array(0) };
type Slots = ReadonlyMap<number, Slot>;

/** The values set in a bitmap, computed once per bitmap: the compiler shares bitmaps between tasks. */
const setValues = new WeakMap<Uint8Array, readonly number[]>();
function valuesOf(bits: Uint8Array): readonly number[] {
  let values = setValues.get(bits);
  if (values === undefined) {
    values = [];
    for (let value = 0; value < bits.length; value++) if (bits[value] === 1) (values as number[]).push(value);
    setValues.set(bits, values);
  }
  return values;
}

function hourMask(schedule: CronSchedule): number {
  let mask = 0;
  for (const hour of valuesOf(schedule.hour)) mask |= 1 << hour;
  return mask;
}

function toSlots(lists: ReadonlyMap<number, number[]>, tasks: readonly Task[]): Slots {
  const slots = new Map<number, Slot>();
  for (const [at, list] of lists) slots.set(at, { tasks: Int32Array.from(list), hours: Int32Array.from(list, (index) => hourMask(tasks[index].schedule as CronSchedule)) });
  return slots;
}

function addTo(lists: Map<number, number[]>, at: number, index: number): void {
  const list = lists.get(at);
  if (list === undefined) lists.set(at, [index]);
  else list.push(index);
}

/** Collects a zone's tasks into slot lists, a slice at a time (a reload must not block a tick). */
export class ZoneIndexBuilder {
  private readonly hourLists = new Map<number, number[]>();
  private readonly minuteLists = new Map<number, number[]>();
  private readonly every = new Map<number, number[]>();

  constructor(private readonly tasks: readonly Task[]) {}

  add(index: number): void {
    const schedule = this.tasks[index].schedule;
    if (schedule.kind === 'every') addTo(this.every, schedule.seconds, index);
    if (schedule.kind !== 'cron') return;
    const seconds = valuesOf(schedule.second);
    const minutes = valuesOf(schedule.minute);
    if (seconds.length * minutes.length <= SLOT_PAIRS_LIMIT) {
      for (const minute of minutes) for (const second of seconds) addTo(this.hourLists, minute * 60 + second, index);
    } else {
      for (const second of seconds) addTo(this.minuteLists, second, index);
    }
  }

  build(): ZoneIndex {
    return new ZoneIndex(this.tasks, toSlots(this.hourLists, this.tasks), toSlots(this.minuteLists, this.tasks), [...this.every].map(([period, list]) => ({ period, tasks: list })));
  }
}

export class ZoneIndex {
  constructor(
    private readonly tasks: readonly Task[],
    private readonly hourSlots: Slots,
    private readonly minuteSlots: Slots,
    private readonly every: readonly { readonly period: number; readonly tasks: readonly number[] }[],
  ) {}

  /** Whether a task may be due at this wall second (and, for `@every`, Unix second): cheaper than the calendar. */
  mayBeDue(wallSeconds: number, unixSecond: number): boolean {
    const secondOfHour = ((wallSeconds % 3600) + 3600) % 3600;
    if (this.hourSlots.has(secondOfHour) || this.minuteSlots.has(secondOfHour % 60)) return true;
    for (const group of this.every) if (unixSecond % group.period === 0) return true;
    return false;
  }

  /**
   * Appends to `out` every task whose schedule matches this wall second (and, for `@every`, this
   * Unix second). With `fixedOnly`, only fixed-time tasks (for the seconds a forward jump skipped).
   */
  collectDue(wall: WallTime, unixSecond: number, out: number[], fixedOnly = false): void {
    const bit = 1 << wall.hour;
    const slot = this.hourSlots.get(wall.minute * 60 + wall.second) ?? EMPTY_SLOT;
    for (let at = 0; at < slot.tasks.length; at++) {
      if ((slot.hours[at] & bit) === 0) continue;
      const schedule = this.tasks[slot.tasks[at]].schedule as CronSchedule;
      if ((!fixedOnly || schedule.fixedTime) && matchesDay(schedule, wall)) out.push(slot.tasks[at]);
    }
    if (fixedOnly) return;
    const wide = this.minuteSlots.get(wall.second) ?? EMPTY_SLOT;
    for (let at = 0; at < wide.tasks.length; at++) {
      if ((wide.hours[at] & bit) === 0) continue;
      const schedule = this.tasks[wide.tasks[at]].schedule as CronSchedule;
      if (schedule.minute[wall.minute] === 1 && matchesDay(schedule, wall)) out.push(wide.tasks[at]);
    }
    for (const group of this.every) if (unixSecond % group.period === 0) out.push(...group.tasks);
  }
}

/** Month and day fields; the caller has matched second, minute and hour. */
function matchesDay(schedule: CronSchedule, wall: WallTime): boolean {
  return schedule.month[wall.month] === 1 && dayMatches(schedule, wall);
}
