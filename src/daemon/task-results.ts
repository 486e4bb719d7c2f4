/**
 * SPEC §7 `status`: per task, the last successful run and the failures since it, kept by a subscriber
 * of the run events (for status, metrics and hooks alike). A task's results outlive a reload that keeps
 * it; a daemon restart starts them afresh (the run log has the history: `gotorch history`).
 */
import type { RunEvents } from '../events.js';
import type { RunRecord } from '../supervisor/run.js';
import { isFailure, runResult, type RunResult } from '../supervisor/run-result.js';

export interface TaskResult {
  /** When the last successful run ended (ms), or null. */
  readonly lastSuccessAt: number | null;
  /** Failed runs since the last success (all of them if none succeeded). */
  readonly failuresSinceSuccess: number;
  readonly lastResult: RunResult;
  /** The last run's record: `status` shows it beside the results, from one source, never half updated. */
  readonly lastRecord: FinishedRecord;
}

export type FinishedRecord = Pick<RunRecord, 'startedAt' | 'durationMs' | 'exitCode' | 'signal' | 'timedOut' | 'killed' | 'error' | 'jobPid'>;

export class TaskResults {
  private readonly byTask = new Map<string, TaskResult>();

  constructor(events: RunEvents) {
    events.on('run-finished', 'task results', ({ task, record }) => this.add(task.id, record));
  }

  get(task: string): TaskResult | undefined {
    return this.byTask.get(task);
  }

  /** Records in the order the runs ended (oldest first). */
  add(task: string, record: FinishedRecord): void {
    const result = runResult(record);
    const previous = this.byTask.get(task);
    const failures = previous?.failuresSinceSuccess ?? 0;
    if (result === 'ok') this.byTask.set(task, { lastSuccessAt: record.startedAt + record.durationMs, failuresSinceSuccess: 0, lastResult: result, lastRecord: record });
    else this.byTask.set(task, { lastSuccessAt: previous?.lastSuccessAt ?? null, failuresSinceSuccess: failures + (isFailure(result) ? 1 : 0), lastResult: result, lastRecord: record });
  }
}
