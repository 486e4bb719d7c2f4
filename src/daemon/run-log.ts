/**
 * The run log's writer (SPEC §2), the first subscriber of the run events: each output line as a
 * record (task, run id, stream), and the one record every run ends with. One pino child per task and
 * per run, with their fields bound once (STYLE: pino).
 */
import type { Logger } from 'pino';
import type { RunEvents } from '../events.js';

export function writeRunLog(events: RunEvents, runLog: Logger): void {
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
  events.on('run-finished', 'run log', ({ task, record }) => {
    const { task: _task, run, ...fields } = record; // both are bound on the logger already
    runLogger(task.id, run)[record.exitCode === 0 ? 'info' : 'warn'](fields, 'run finished');
    byRun.delete(run);
  });
}
