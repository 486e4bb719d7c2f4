/**
 * SPEC §8 `retries=` / `retry_delay=`: a failed attempt is started again for the same scheduled
 * second after a delay that doubles from `retry_delay` up to RETRY_DELAY_CAP_MS. A retry waiting for
 * its delay keeps the failed run's place against `max` (the next scheduled fire cannot take it, so a
 * retry never overlaps it unless `max` allows), and it is dropped — said as `retry-dropped`, so the
 * failure hook still fires for the last attempt — when the daemon stops, the task is removed or
 * killed, or overlap=replace takes its place. No retry survives a stop (nothing is saved).
 */
import type { Clock, Timer } from '../clock.js';
import type { RetryDropped, RunEvents } from '../events.js';
import { RETRY_DELAY_CAP_MS } from '../tasks/options.js';
import type { Task } from '../tasks/types.js';
import type { RunRecord } from './run.js';
import { isFailure, runResult } from './run-result.js';

/** A retry waiting for its delay. */
export interface PendingRetry {
  /** The failed attempt it repeats. */
  readonly record: RunRecord;
  /** When it is due (ms). */
  readonly at: number;
  readonly timer: Timer;
}

/** The delay before attempt `record.attempt + 1`, or null when the record is a success or the last attempt. */
export function retryDelayMs(task: Task, record: RunRecord): number | null {
  if (record.attempt > task.options.retries || !isFailure(runResult(record))) return null;
  return Math.min(task.options.retryDelayMs * 2 ** (record.attempt - 1), RETRY_DELAY_CAP_MS);
}

export interface RetryHost {
  readonly clock: Clock;
  readonly events: RunEvents;
  /** Starts the retry of `record` (attempt + 1) now; called once its delay has passed. */
  start(task: Task, record: RunRecord): void;
}

/** The retries of one task waiting for their delay, oldest first. */
export class TaskRetries {
  private readonly pending: PendingRetry[] = [];

  constructor(private readonly host: RetryHost) {}

  get size(): number {
    return this.pending.length;
  }

  /** For `status`: the attempt each waiting retry starts and when. */
  list(): { readonly attempt: number; readonly at: number }[] {
    return this.pending.map(({ record, at }) => ({ attempt: record.attempt + 1, at }));
  }

  /** Issue 17: the waiting retries as a handover passes them on (their timers are cancelled: this daemon is done). */
  handOver(): { readonly record: RunRecord; readonly at: number }[] {
    const pending = this.pending.splice(0);
    for (const retry of pending) retry.timer.cancel();
    return pending.map(({ record, at }) => ({ record, at }));
  }

  /** Schedules the retry of a failed attempt; `task()` is read when it is due (a reload may change it). */
  schedule(task: () => Task, record: RunRecord, delayMs: number): void {
    this.scheduleAt(task, record, this.host.clock.now() + delayMs);
  }

  /** The retry of `record` at `at` (ms): issue 17, also one a previous daemon passed on. */
  scheduleAt(task: () => Task, record: RunRecord, at: number): void {
    const retry: PendingRetry = {
      record,
      at,
      timer: this.host.clock.setTimer(at, () => {
        this.remove(retry);
        this.host.start(task(), record);
      }),
    };
    this.pending.push(retry);
  }

  /** Drops the oldest waiting retry (overlap=replace takes its place); false when none waits. */
  dropOldest(task: Task, reason: RetryDropped['reason']): boolean {
    const oldest = this.pending[0];
    if (oldest === undefined) return false;
    this.drop(task, oldest, reason);
    return true;
  }

  /** Drops every waiting retry; with `quietly` (a failed start leaves everything to the next daemon) says nothing. */
  dropAll(task: Task, reason: RetryDropped['reason'], quietly = false): void {
    for (const retry of [...this.pending]) {
      if (quietly) {
        retry.timer.cancel();
        this.remove(retry);
      } else this.drop(task, retry, reason);
    }
  }

  private drop(task: Task, retry: PendingRetry, reason: RetryDropped['reason']): void {
    retry.timer.cancel();
    this.remove(retry);
    this.host.events.publish({ type: 'retry-dropped', task, record: retry.record, reason });
  }

  private remove(retry: PendingRetry): void {
    const index = this.pending.indexOf(retry);
    if (index >= 0) this.pending.splice(index, 1);
  }
}
