/**
 * The run log's writer (SPEC §2, §7), the first subscriber of the run events: each output line as a
 * record (task, run id, stream), the one record every run ends with, and the fires that did not run
 * (`fire skipped`, with the reason; skips of `max` counted per minute as in the daemon's log). One
 * pino child per task and per run, with their fields bound once (STYLE: pino).
 */
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { RunEvents } from '../events.js';
import { SKIPPED_FIRE_MESSAGE, SkipReport, SkipReports } from './skip-report.js';

export interface RunLog {
  /** Writes the skip counts still open (at shutdown, once the last events are delivered). */
  flush(): void;
}

export function writeRunLog(events: RunEvents, runLog: Logger, clock: Clock): RunLog {
  const skips = new SkipReports((reason) => new SkipReport(clock, runLog, SKIPPED_FIRE_MESSAGE, { reason }));
  const byTask = new Map<string, Logger>();
  const byRun = new Map<string, Logger>();
  const runLogger = (task: string, run: string): Logger => {
    let logger = byRun.get(run);
    if (logger === undefined) {
      let taskLogger = byTask.get(task);
      if (taskLogger === undefined) byTask.set(task, (taskLogger = runLog.child({ task })));
      byRun.set(run, (logger = taskLogger.child({ run })));
    }
    return logger;
  };
  events.on('output', 'run log', ({ task, run, stream, line }) => runLogger(task.id, run).info({ stream, line }));
  events.on('run-finished', 'run log', ({ task, record, retryInMs }) => {
    const { task: _task, run, ...fields } = record; // both are bound on the logger already
    runLogger(task.id, run)[record.exitCode === 0 ? 'info' : 'warn'](retryInMs === null ? fields : { ...fields, retryInMs }, 'run finished');
    byRun.delete(run);
  });
  events.on('fire-skipped', 'run log', ({ task, scheduledAt, reason, running, starting, at }) => {
    const report = skips.for(reason);
    if (report !== undefined) report.skipped(task.id, scheduledAt, { running, starting, max: task.max }, at);
    else runLog.warn({ task: task.id, scheduledAt, reason }, SKIPPED_FIRE_MESSAGE);
  });
  return { flush: () => skips.flush() };
}
