import type { Timer } from '../clock.js';
import type { Task } from '../tasks/types.js';
import { type Backoff, initialBackoff } from './backoff.js';
import type { TaskRetries } from './retries.js';
import type { Run, RunRecord, RunTrigger } from './run.js';

/** SPEC §8 overlap=queue / replace: the one fire of a task waiting for a slot. */
export interface WaitingFire {
  readonly scheduledAt: number;
  readonly trigger: RunTrigger;
  readonly jitterS: number;
  /** The run id the fire was given (a singleton's claim names it, SPEC §10), if any. */
  readonly runId?: string;
}

/** What the supervisor tracks per task identity, including tasks removed while their jobs still run. */
export interface TaskEntry {
  /** The latest definition seen for this identity. */
  task: Task;
  /** In the latest task list: removed tasks stay tracked until their last run exits (SPEC §5). */
  current: boolean;
  readonly runs: Set<Run>;
  /** Starts accepted but not spawned yet; they count against `max`. */
  queued: number;
  /** Failed attempts waiting to be retried (SPEC §8); they keep their place against `max`. */
  readonly retries: TaskRetries;
  /** A fire waiting for a slot (overlap=queue or replace); it does not count against `max`. */
  waiting: WaitingFire | null;
  lastExit: RunRecord | null;
  /** Daemon tasks (SPEC §1.4): the schedule window as of the last tick. */
  windowOpen: boolean;
  backoff: Backoff;
  /** When a backed-off restart is due (ms), or null. */
  restartAt: number | null;
  restartTimer: Timer | null;
}

export function newEntry(task: Task, retries: TaskRetries): TaskEntry {
  return {
    task,
    current: false,
    runs: new Set(),
    queued: 0,
    retries,
    waiting: null,
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

/** The places taken against `max`: runs alive (being stopped included), starts not yet spawned, retries waiting. */
export function heldPlaces(entry: TaskEntry): number {
  return entry.runs.size + entry.queued + entry.retries.size;
}
