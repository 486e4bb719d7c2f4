/** SPEC §5: a reload is a diff by identity. What counts as "changed" is every field a user wrote. */
import type { Sliced } from '../sliced.js';
import type { Task } from '../tasks/types.js';

export interface TaskDiff {
  readonly added: readonly Task[];
  readonly changed: readonly Task[];
  readonly removed: readonly Task[];
  readonly unchanged: readonly Task[];
}

/** Same own keys and values; no allocation (a reload compares every task). */
function sameRecord<T extends object>(a: T, b: T): boolean {
  if (a === b) return true;
  let keys = 0;
  for (const key in a) {
    if (a[key] !== b[key] && !sameHook(a[key], b[key])) return false;
    keys++;
  }
  for (const _key in b) keys--;
  return keys === 0;
}

/** Option values are strings and numbers but for hooks (SPEC §8), flat records parsed anew on each reload. */
function sameHook(a: unknown, b: unknown): boolean {
  return typeof a === 'object' && typeof b === 'object' && a !== null && b !== null && sameRecord(a, b);
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((item, index) => item === b[index]);
}

/** Equal definitions; where a line stands in the file does not matter. */
export function sameDefinition(a: Task, b: Task): boolean {
  return (
    a.scheduleText === b.scheduleText &&
    a.zone === b.zone &&
    sameList(a.hosts, b.hosts) &&
    a.max === b.max &&
    a.type === b.type &&
    a.command === b.command &&
    a.shell === b.shell &&
    sameRecord(a.env, b.env) &&
    sameRecord(a.options, b.options)
  );
}

/** Tasks compared between two pauses of diffTasks (SPEC §3: a reload never blocks a tick). */
const DIFF_SLICE = 1000;

/** A generator that pauses every DIFF_SLICE tasks, so a caller can yield to the event loop in between. */
export function* diffTasks(before: readonly Task[], after: readonly Task[]): Sliced<TaskDiff> {
  const previous = new Map(before.map((task) => [task.id, task]));
  const added: Task[] = [];
  const changed: Task[] = [];
  const unchanged: Task[] = [];
  for (let index = 0; index < after.length; index++) {
    if (index > 0 && index % DIFF_SLICE === 0) yield;
    const task = after[index];
    const old = previous.get(task.id);
    if (old === undefined) added.push(task);
    else (sameDefinition(old, task) ? unchanged : changed).push(task);
    previous.delete(task.id);
  }
  return { added, changed, removed: [...previous.values()], unchanged };
}

/** `added 2, changed 1, removed 1, unchanged 40` (SPEC §4 reload). */
export function describeDiff(diff: TaskDiff): string {
  return `added ${diff.added.length}, changed ${diff.changed.length}, removed ${diff.removed.length}, unchanged ${diff.unchanged.length}`;
}
