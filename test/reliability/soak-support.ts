/**
 * The soak test's workload and its own account of what should have fired: seeded task files with
 * second-level schedules, random churn between versions, and an expectation computed from a small
 * matcher of its own (never src/schedule or src/planner, so the daemon is not checked against itself).
 */
import { Gen } from '../fuzz/cases.js';

/** One task of the workload: second and minute fields of its own, `*` in the other four, UTC. */
export interface SoakTask {
  readonly name: string;
  readonly second: string;
  readonly minute: string;
  readonly max: number;
}

export type TaskSet = ReadonlyMap<string, SoakTask>;

/** A task file version and the first second the daemon planned under it (from its reload record). */
export interface Version {
  readonly fromSecond: number;
  readonly tasks: TaskSet;
}

/** Seconds `fromSecond + 1` … `toSecond` planned in one go after a late wake (SPEC §3). */
export interface LateWake {
  readonly fromSecond: number;
  readonly toSecond: number;
}

const MAX_VALUES = [1, 1, 2, 3, 5, 0];

/** Seconds fields: mostly a few fires a minute, spread over the minute; about 1 % every second. */
function secondField(gen: Gen): string {
  const kind = gen.int(100);
  if (kind < 1) return '*';
  if (kind < 20) {
    const step = gen.pick([10, 15, 20, 30, 17, 29, 45]);
    return `${gen.int(step)}/${step}`;
  }
  if (kind < 35) {
    const from = gen.int(40);
    return `${from}-${from + 10 + gen.int(60 - from - 10)}/${3 + gen.int(18)}`;
  }
  if (kind < 60) {
    const count = 1 + gen.int(4);
    return [...new Set(Array.from({ length: count }, () => gen.int(60)))].join(',');
  }
  if (kind < 75) return String(gen.int(60));
  if (kind < 88) return `*/${gen.pick([13, 17, 19, 30, 59])}`;
  const from = gen.int(57);
  return `${from}-${from + 1 + gen.int(3)}`;
}

/** Minute fields: mostly `*`; sometimes every other minute, a half hour, or a list with a range. */
function minuteField(gen: Gen): string {
  const kind = gen.int(10);
  if (kind < 7) return '*';
  if (kind < 8) return '*/2';
  if (kind < 9) return gen.pick(['0-29', '30-59', '1/2']);
  const from = gen.int(50);
  return `${from},${from + 2}-${from + 9},${(from + 30) % 60}`;
}

/** Seeded task sets and the churn between versions, with the reload summary the daemon should log. */
export class Workload {
  private readonly gen: Gen;
  private counter = 0;

  constructor(seed: number) {
    this.gen = new Gen(seed);
  }

  initial(count: number): Map<string, SoakTask> {
    const tasks = new Map<string, SoakTask>();
    for (let index = 0; index < count; index++) this.add(tasks);
    return tasks;
  }

  /** A new version: tasks added, removed, schedules and `max` changed, the order sometimes shuffled. */
  churn(before: TaskSet, target: number): { tasks: Map<string, SoakTask>; summary: string; shuffled: boolean } {
    const gen = this.gen;
    const tasks = new Map(before);
    const removals = gen.int(13) + (tasks.size > target + 10 ? 5 : 0);
    for (let index = 0; index < removals && tasks.size > 0; index++) tasks.delete(gen.pick([...tasks.keys()]));
    const additions = gen.int(13) + (tasks.size < target - 10 ? 5 : 0);
    for (let index = 0; index < additions; index++) this.add(tasks);
    for (let index = gen.int(21); index > 0; index--) {
      const name = gen.pick([...tasks.keys()]);
      tasks.set(name, { ...tasks.get(name)!, second: secondField(gen), minute: gen.chance(0.3) ? minuteField(gen) : tasks.get(name)!.minute });
    }
    for (let index = gen.int(21); index > 0; index--) {
      const name = gen.pick([...tasks.keys()]);
      tasks.set(name, { ...tasks.get(name)!, max: gen.pick(MAX_VALUES) });
    }
    // Where a line stands does not matter to the diff (task-diff.ts): moving lines must change nothing.
    const shuffled = gen.chance(0.2);
    const result = shuffled ? new Map(shuffle(gen, [...tasks])) : tasks;
    return { tasks: result, summary: diffSummary(before, result), shuffled };
  }

  /** Whether this rewrite goes through an editor's atomic save (rename) rather than in place. */
  atomicSave(): boolean {
    return this.gen.chance(0.5);
  }

  private add(tasks: Map<string, SoakTask>): void {
    const name = `t${this.counter++}`;
    tasks.set(name, { name, second: secondField(this.gen), minute: minuteField(this.gen), max: this.gen.pick(MAX_VALUES) });
  }
}

function shuffle<T>(gen: Gen, items: T[]): T[] {
  for (let index = items.length - 1; index > 0; index--) {
    const other = gen.int(index + 1);
    [items[index], items[other]] = [items[other], items[index]];
  }
  return items;
}

/** Fires per second a task set calls for on average. */
export function fireRate(tasks: TaskSet): number {
  let perHour = 0;
  for (const task of tasks.values()) perHour += fieldBitmap(task.second).filter(Boolean).length * fieldBitmap(task.minute).filter(Boolean).length;
  return perHour / 3600;
}

/** What the daemon's reload record should say (SPEC §4 reload), counted by identity. */
export function diffSummary(before: TaskSet, after: TaskSet): string {
  let added = 0;
  let changed = 0;
  let unchanged = 0;
  for (const [name, task] of after) {
    const old = before.get(name);
    if (old === undefined) added++;
    else if (old.second === task.second && old.minute === task.minute && old.max === task.max) unchanged++;
    else changed++;
  }
  const removed = [...before.keys()].filter((name) => !after.has(name)).length;
  return `added ${added}, changed ${changed}, removed ${removed}, unchanged ${unchanged}`;
}

/** The task file: UTC, every job one short append (under PIPE_BUF, O_APPEND: atomic) of `task second`. */
export function taskFileLines(tasks: TaskSet, records: string): string[] {
  return [
    'TZ=UTC',
    ...[...tasks.values()].map(
      (task) => `${task.second} ${task.minute} * * * * * ${task.max} cron name=${task.name} echo "$GOTORCH_TASK $GOTORCH_SCHEDULED_AT" >> ${records}`,
    ),
  ];
}

/** A 0–59 field (`*`, values, ranges, steps on `*`, a value or a range; comma lists) as a bitmap: the test's own matcher. */
export function fieldBitmap(field: string): boolean[] {
  const bits = new Array<boolean>(60).fill(false);
  for (const item of field.split(',')) {
    const [range, stepText] = item.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    let [low, high] = range === '*' ? [0, 59] : range.split('-').map(Number);
    if (high === undefined) high = stepText === undefined ? low : 59;
    if (!(step >= 1 && low >= 0 && high <= 59 && low <= high)) throw new Error(`the soak matcher cannot read "${field}"`);
    for (let value = low; value <= high; value += step) bits[value] = true;
  }
  return bits;
}

interface CompiledTask {
  readonly name: string;
  readonly seconds: boolean[];
  readonly minutes: boolean[];
}

function compile(tasks: TaskSet): CompiledTask[] {
  return [...tasks.values()].map((task) => ({ name: task.name, seconds: fieldBitmap(task.second), minutes: fieldBitmap(task.minute) }));
}

const matches = (task: CompiledTask, second: number): boolean => task.seconds[second % 60] && task.minutes[Math.floor(second / 60) % 60];

/**
 * The `task second` pairs due in `first` … `last` (inclusive) under the versions in force: version k
 * holds from its fromSecond until the next one's (SPEC §5). Seconds planned together after a late wake
 * fire each due task once, for its first due second (SPEC §3); a pair planned before `first` is not counted.
 */
export function expectedFires(versions: readonly Version[], lateWakes: readonly LateWake[], first: number, last: number): Set<string> {
  const compiled = versions.map((version) => ({ from: version.fromSecond, tasks: compile(version.tasks) }));
  const groupEnd = new Map<number, number>();
  for (const wake of lateWakes) groupEnd.set(wake.fromSecond + 1, wake.toSecond);
  const versionAt = (second: number): number => {
    let index = 0;
    while (index + 1 < compiled.length && compiled[index + 1].from <= second) index++;
    return index;
  };
  const expected = new Set<string>();
  // A late wake plans at most 60 seconds together: start early enough to see any group reaching `first`.
  for (let second = first - 61; second <= last; ) {
    const end = groupEnd.get(second) ?? second;
    const version = versionAt(second);
    if (versionAt(end) !== version) throw new Error(`a reload switched schedules inside the late wake ${second}-${end}`);
    for (const task of compiled[version].tasks) {
      for (let at = second; at <= end; at++) {
        if (!matches(task, at)) continue;
        if (at >= first && at <= last) expected.add(`${task.name} ${at}`);
        break;
      }
    }
    second = end + 1;
  }
  return expected;
}

export interface Tally {
  readonly expected: number;
  /** Distinct expected pairs found in the records. */
  readonly seen: number;
  /** Expected pairs with no record and no skip logged. */
  readonly missed: readonly string[];
  /** Expected pairs the daemon logged as skipped for `max` (SPEC §1.3). */
  readonly skipped: readonly string[];
  /** Records beyond the first of a pair, anywhere in the file. */
  readonly duplicated: readonly string[];
  /** Records inside the window that no schedule in force called for. */
  readonly unexpected: readonly string[];
}

/** Counts the record file's `task second` lines against the expectation for seconds `first` … `last`. */
export function tally(expected: ReadonlySet<string>, records: readonly string[], skips: ReadonlySet<string>, first: number, last: number): Tally {
  const counts = new Map<string, number>();
  for (const record of records) counts.set(record, (counts.get(record) ?? 0) + 1);
  const duplicated = [...counts].filter(([, count]) => count > 1).map(([pair, count]) => `${pair} (x${count})`);
  const unexpected = [...counts.keys()].filter((pair) => {
    const second = Number(pair.split(' ')[1]);
    return second >= first && second <= last && !expected.has(pair);
  });
  const absent = [...expected].filter((pair) => !counts.has(pair));
  return {
    expected: expected.size,
    seen: expected.size - absent.length,
    missed: absent.filter((pair) => !skips.has(pair)),
    skipped: absent.filter((pair) => skips.has(pair)),
    duplicated,
    unexpected,
  };
}
