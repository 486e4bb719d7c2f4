import type { Timer } from '../clock.js';
import type { Task } from '../tasks/types.js';
import { type Backoff, initialBackoff } from './backoff.js';
import type { Run, RunRecord } from './run.js';

/** What the supervisor tracks per task identity, including tasks removed while their jobs still run. */
export interface TaskEntry {
  /** The latest definition seen for this identity. */
  task: Task;
  /** In the latest task list: removed tasks stay tracked until their last run exits (SPEC §5). */
  current: boolean;
  readonly runs: Set<Run>;
  /** Starts accepted but not spawned yet; they count against `max`. */
  queued: number;
  lastExit: RunRecord | null;
  /** Daemon tasks (SPEC §1.4): the schedule window as of the last tick. */
  windowOpen: boolean;
  backoff: Backoff;
  /** When a backed-off restart is due (ms), or null. */
  restartAt: number | null;
  restartTimer: Timer | null;
}

export function newEntry(task: Task): TaskEntry {
  return {
    task,
    current: false,
    runs: new Set(),
    queued: 0,
    lastExit: null,
    windowOpen: false,
    backoff: initialBackoff,
    restartAt: null,
    restartTimer: null,
  };
}

/** Daemon instances that count towards `max`: not being stopped, not replaced by a newer definition. */
export function activeInstances(entry: TaskEntry): Run[] {
  return [...entry.runs].filter((run) => run.role === 'daemon' && !run.stopping && !run.retiring);
}
