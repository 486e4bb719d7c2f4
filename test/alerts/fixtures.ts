/** Tasks with hooks and pings, and run records, for the alerts tests (the parser's options for them come separately). */
import type { RunRecord } from '../../src/supervisor/run.js';
import type { Task, TaskOptions } from '../../src/tasks/types.js';
import { tasksFrom } from '../helpers/tasks.js';

/** One task from a line, with `options` laid over what the line set. */
export function taskWith(line: string, options: Partial<TaskOptions>): Task {
  const [task] = tasksFrom(line);
  return { ...task, options: { ...task.options, ...options } };
}

export const SECOND = 1_796_000_000;

export function recordOf(task: Task, fields: Partial<RunRecord> = {}): RunRecord {
  return {
    task: task.id,
    run: `${SECOND}-1-0463ee15`,
    trigger: 'schedule',
    attempt: 1,
    jobPid: 4242,
    scheduledAt: SECOND,
    startedAt: SECOND * 1000 + 7,
    lateMs: 7,
    durationMs: 1500,
    exitCode: 0,
    signal: null,
    timedOut: false,
    killed: false,
    replaced: false,
    bytesKept: 10,
    bytesDropped: 0,
    error: null,
    ...fields,
  };
}
