/**
 * The run log's writer (SPEC §2, §7), the first subscriber of the run events: each output line as a
 * record (task, run id, stream), the one record every run ends with, the fires that did not run
 * (`fire skipped`, with the reason; skips of `max` counted per minute as in the daemon's log), and what
 * became of each hook and ping (`hook`, SPEC §8). One pino child per task and per run, with their
 * fields bound once (STYLE: pino).
 */
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { RunEvents } from '../events.js';
import { SKIPPED_FIRE_MESSAGE, SkipReport, SkipReports } from './skip-report.js';

/** The run log's record of a hook's or ping's outcome (history reads it). */
export const HOOK_MESSAGE = 'hook';

export interface RunLog {
  /** Writes the skip counts still open (at shutdown, once the last events are delivered). */
  flush(): void;
}

export function writeRunLog(events: RunEvents, runLog: Logger, clock: Clock): RunLog {
  const skips = new SkipReports((reason) => new SkipReport(clock, runLog, SKIPPED_FIRE_MESSAGE, { reason }));
  const byTask = new Map<string, Logger>();
  const byRun = new Map<string, Logger>();
  const taskLogger = (task: string): Logger => {
    let logger = byTask.get(task);
    if (logger === undefined) byTask.set(task, (logger = runLog.child({ task })));
    return logger;
  };
  const runLogger = (task: string, run: string): Logger => {
    let logger = byRun.get(run);
    if (logger === undefined) byRun.set(run, (logger = taskLogger(task).child({ run })));
    return logger;
  };
  events.on('output', 'run log', ({ task, run, stream, line }) => runLogger(task.id, run).info({ stream, line }));
  events.on('run-finished', 'run log', ({ task, record, retryInMs }) => {
    // The task's logger with the run id first in the fields writes what the run's own logger would: a run
    // that printed nothing gets no child logger made for its one record (issue 16).
    const { task: _task, ...fields } = record; // bound on the logger already; `run` comes first in the record
    taskLogger(task.id)[record.exitCode === 0 ? 'info' : 'warn'](retryInMs === null ? fields : { ...fields, retryInMs }, 'run finished');
    byRun.delete(record.run);
  });
  events.on('fire-skipped', 'run log', ({ task, scheduledAt, reason, running, starting, at }) => {
    const report = skips.for(reason);
    if (report !== undefined) report.skipped(task.id, scheduledAt, { running, starting, max: task.max }, at);
    else runLog.warn({ task: task.id, scheduledAt, reason }, SKIPPED_FIRE_MESSAGE);
  });
  // SPEC §8: what became of each hook and ping, beside the run it is of (history shows them with it).
  events.on('hook-outcome', 'run log', ({ task, run, hook, ping, result, suppressed }) => {
    const fields = { run, hook, result, ...(ping === null ? {} : { ping }), ...(suppressed > 0 ? { suppressed } : {}) };
    taskLogger(task.id)[result === 'sent' || result === 'suppressed' ? 'info' : 'warn'](fields, HOOK_MESSAGE);
  });
  return { flush: () => skips.flush() };
}
