/**
 * What a daemon takes over from the one before it (SPEC §3, §6): the second to resume planning from,
 * the jobs still running, and which tasks a replay after a clean stop may fire.
 */
import type { Logger } from 'pino';
import type { JitterOf } from '../planner/jitter.js';
import { LATE_WAKE_LIMIT } from '../planner/planner.js';
import { adoptableJobs } from '../supervisor/adoption.js';
import { procTable } from '../supervisor/process-table.js';
import type { Supervisor } from '../supervisor/supervisor.js';
import type { Task } from '../tasks/types.js';
import { removedTaskStandIn, scheduleKey, type SavedState } from './state.js';

/** A clean stop recorded the exact last second: a restart within the late-wake limit resumes from it. */
export function resumeSecond(saved: SavedState | undefined, now: number): number {
  return saved?.clean && now - saved.lastSecond >= 0 && now - saved.lastSecond <= LATE_WAKE_LIMIT ? saved.lastSecond : now;
}

/**
 * A replay fires only what the stopped daemon would have run: the same identity with the same schedule
 * and jitter offset, so the replayed seconds are the shifted seconds it would have fired at.
 */
export function replayFilter(saved: SavedState, jitterOf: JitterOf): (task: Task) => boolean {
  const schedules = saved.schedules ?? {};
  return (task) => schedules[task.id] === scheduleKey(task, jitterOf(task));
}

/** SPEC §6: jobs of the previous daemon that are still the same processes are tracked again. */
export function adoptPrevious(saved: SavedState, applicable: readonly Task[], supervisor: Supervisor, log: Logger): void {
  const byId = new Map(applicable.map((task) => [task.id, task]));
  const { surviving, unsaved, gone } = adoptableJobs(saved, procTable, byId);
  if (unsaved.length > 0) log.info({ jobs: unsaved.length }, 'found jobs the previous daemon started after its last state save');
  for (const job of [...surviving, ...unsaved]) {
    const task = byId.get(job.task);
    supervisor.adopt(task ?? removedTaskStandIn(job), job, task !== undefined);
  }
  if (gone > 0) log.info({ gone }, 'jobs of the previous daemon that ended meanwhile');
}
