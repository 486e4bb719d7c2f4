/** SPEC §5: a reload is a diff by identity. What counts as "changed" is every field a user wrote. */
import type { Task } from '../tasks/types.js';

export interface TaskDiff {
  readonly added: readonly Task[];
  readonly changed: readonly Task[];
  readonly removed: readonly Task[];
  readonly unchanged: readonly Task[];
}

function sameRecord<T extends object>(a: T, b: T): boolean {
  if (a === b) return true;
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => a[key as keyof T] === b[key as keyof T]);
}

/** Equal definitions; where a line stands in the file does not matter. */
export function sameDefinition(a: Task, b: Task): boolean {
  return (
    a.scheduleText === b.scheduleText &&
    a.zone === b.zone &&
    a.hosts.join(',') === b.hosts.join(',') &&
    a.max === b.max &&
    a.type === b.type &&
    a.command === b.command &&
    a.shell === b.shell &&
    sameRecord(a.env, b.env) &&
    sameRecord(a.options, b.options)
  );
}

export function diffTasks(before: readonly Task[], after: readonly Task[]): TaskDiff {
  const previous = new Map(before.map((task) => [task.id, task]));
  const added: Task[] = [];
  const changed: Task[] = [];
  const unchanged: Task[] = [];
  for (const task of after) {
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
