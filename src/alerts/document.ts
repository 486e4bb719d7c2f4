/**
 * SPEC §8's hook document (README: Alerts): what a URL hook is POSTed and a command hook reads on
 * stdin, and the `GOTORCH_*` variables a command hook gets of its fields. Pure: a record in, JSON out.
 */
import type { RunRecord } from '../supervisor/run.js';
import { runResult, type RunResult } from '../supervisor/run-result.js';
import type { Task } from '../tasks/types.js';

export type HookEvent = 'failure' | 'success';

export interface HookDocument {
  readonly event: HookEvent;
  readonly task: string;
  /** `cron` or `daemon`: a daemon task's failure is an instance that exited. */
  readonly type: Task['type'];
  readonly host: string;
  readonly run: string;
  /** The scheduled second, Unix seconds (GOTORCH_SCHEDULED_AT). */
  readonly scheduledAt: number;
  /** Unix ms. */
  readonly startedAt: number;
  readonly endedAt: number;
  readonly durationMs: number;
  readonly attempt: number;
  /** The most attempts this scheduled second can have (`retries=` + 1). */
  readonly attempts: number;
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly timedOut: boolean;
  readonly result: RunResult;
  /** Why it could not start, or null. */
  readonly error: string | null;
  /** The last ≤ 10 kB of its output, stdout and stderr lines interleaved. */
  readonly output: string;
  /** Output before `output` was left out (the tail's bound, or `log_limit`). */
  readonly outputTruncated: boolean;
  /** The task file's digest (as `status` and the metrics show it). */
  readonly digest: string;
  /** Failures not sent since the previous failure hook of the task (flood control). */
  readonly suppressed: number;
  readonly summary: string;
}

/** What a document is made of, before flood control sets its `suppressed` count. */
export interface DocumentParts {
  readonly event: HookEvent;
  readonly task: Task;
  readonly record: RunRecord;
  readonly host: string;
  readonly digest: string;
  readonly output: string;
  readonly outputTruncated: boolean;
}

const plural = (count: number, one: string, many: string): string => `${count} ${count === 1 ? one : many}`;

/** `backup failed: exit 3 (attempt 3 of 3) — and 12 more failures`. */
export function summaryOf(parts: DocumentParts, suppressed: number): string {
  const { task, record, event } = parts;
  const result = runResult(record);
  const attempts = task.options.retries + 1;
  const attempt = attempts > 1 || record.attempt > 1 ? ` (attempt ${record.attempt} of ${Math.max(attempts, record.attempt)})` : '';
  const what = result === 'spawn error' ? `could not start: ${record.error ?? 'spawn error'}` : result === 'timeout' ? `timed out after ${(task.options.timeoutMs ?? record.durationMs) / 1000}s` : result;
  const head =
    event === 'success' ? `${task.id} succeeded${attempt}` : task.type === 'daemon' && result !== 'spawn error' ? `${task.id} (daemon) exited: ${what}` : `${task.id} failed: ${what}${attempt}`;
  return suppressed > 0 ? `${head} — and ${plural(suppressed, 'more failure', 'more failures')}` : head;
}

export function hookDocument(parts: DocumentParts, suppressed: number): HookDocument {
  const { task, record } = parts;
  return {
    event: parts.event,
    task: task.id,
    type: task.type,
    host: parts.host,
    run: record.run,
    scheduledAt: record.scheduledAt,
    startedAt: record.startedAt,
    endedAt: record.startedAt + record.durationMs,
    durationMs: record.durationMs,
    attempt: record.attempt,
    attempts: Math.max(task.options.retries + 1, record.attempt),
    exitCode: record.exitCode,
    signal: record.signal,
    timedOut: record.timedOut,
    result: runResult(record),
    error: record.error,
    output: parts.output,
    outputTruncated: parts.outputTruncated || record.bytesDropped > 0,
    digest: parts.digest,
    suppressed,
    summary: summaryOf(parts, suppressed),
  };
}

/** A command hook's variables: the document's fields but its output (README: Alerts). */
export function documentVariables(document: HookDocument): Record<string, string> {
  const text = (value: string | number | boolean | null): string => (value === null ? '' : String(value));
  return {
    GOTORCH_EVENT: document.event,
    GOTORCH_TASK: document.task,
    GOTORCH_TYPE: document.type,
    GOTORCH_HOST: document.host,
    GOTORCH_RUN_ID: document.run,
    GOTORCH_SCHEDULED_AT: text(document.scheduledAt),
    GOTORCH_STARTED_AT: text(document.startedAt),
    GOTORCH_ENDED_AT: text(document.endedAt),
    GOTORCH_DURATION_MS: text(document.durationMs),
    GOTORCH_ATTEMPT: text(document.attempt),
    GOTORCH_ATTEMPTS: text(document.attempts),
    GOTORCH_EXIT_CODE: text(document.exitCode),
    GOTORCH_SIGNAL: text(document.signal),
    GOTORCH_TIMED_OUT: text(document.timedOut),
    GOTORCH_RESULT: document.result,
    GOTORCH_ERROR: text(document.error),
    GOTORCH_DIGEST: document.digest,
    GOTORCH_SUPPRESSED: text(document.suppressed),
    GOTORCH_SUMMARY: document.summary,
  };
}
