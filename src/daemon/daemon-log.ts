/**
 * What the daemon's log says of the run events (gotorch.log): fires skipped (SPEC §1.3, counted per
 * minute: skip-report.ts), retries (SPEC §8), jobs adopted from a previous daemon, daemon instances
 * that exited (SPEC §1.4, every exit with its code), reloads applied or rejected (SPEC §5), and every
 * hook's and ping's outcome (SPEC §8).
 */
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { RunEvents } from '../events.js';
import { SKIP_MESSAGES, SkipReport, SkipReports } from './skip-report.js';

export interface DaemonLog {
  /** Logs the skip counts still open (at shutdown, once the last events are delivered). */
  flush(): void;
}

export function writeDaemonLog(events: RunEvents, log: Logger, clock: Clock): DaemonLog {
  const skips = new SkipReports((reason) => new SkipReport(clock, log, SKIP_MESSAGES[reason as keyof typeof SKIP_MESSAGES]));
  events.on('fire-skipped', 'daemon log', ({ task, scheduledAt, reason, running, starting, at }) => {
    const report = skips.for(reason);
    if (report !== undefined) report.skipped(task.id, scheduledAt, { running, starting, max: task.max }, at);
    else log.warn({ task: task.id, scheduledAt }, `skipped: ${reason}`);
  });
  events.on('run-finished', 'daemon log', ({ task, record, retryInMs }) => {
    if (retryInMs === null) return;
    const { run, attempt, exitCode, signal, timedOut, error } = record;
    log.info({ task: task.id, run, attempt, exitCode, signal, timedOut, error, retryInMs }, `run failed: attempt ${attempt + 1} of ${task.options.retries + 1} in ${Math.round(retryInMs / 1000)} s`);
  });
  events.on('retry-dropped', 'daemon log', ({ task, record, reason }) => {
    log.info({ task: task.id, run: record.run, attempt: record.attempt + 1, reason }, `retry not started: ${reason}`);
  });
  events.on('run-started', 'daemon log', ({ task, run, pid, adopted }) => {
    if (adopted) log.info({ task: task.id, run, pid }, 'adopted a job still running from a previous daemon');
  });
  events.on('daemon-exited', 'daemon log', ({ task, record, expected, restartInMs }) => {
    const fields = { task: task.id, run: record.run, jobPid: record.jobPid, exitCode: record.exitCode, signal: record.signal };
    if (expected) log.info(fields, 'daemon instance stopped');
    else log.warn({ ...fields, error: record.error, upMs: record.durationMs, restartInMs }, 'daemon exited');
  });
  events.on('reload-applied', 'daemon log', ({ trigger, summary, tasks, applicable, fromSecond }) => {
    log.info({ trigger, summary, tasks, applicable, fromSecond }, 'task file reloaded');
  });
  events.on('reload-rejected', 'daemon log', ({ trigger, errors }) => log.error({ trigger, errors }, 'task file rejected: the previous schedule keeps running'));
  // SPEC §8 "every hook's outcome is logged": where it went (a URL's origin only: the rest may hold a key) and how it went.
  events.on('hook-outcome', 'daemon log', ({ task, run, hook, via, result, ping, target, status, exitCode, tries, ms, error, output, suppressed }) => {
    const all = { task: task.id, run, hook, via, result, ping, target, status, exitCode, tries, ms, error, output, suppressed };
    const fields = Object.fromEntries(Object.entries(all).filter(([, value]) => value !== null));
    if (result === 'sent') log.info(fields, 'hook sent');
    // Not a record a failure (a task failing every second would write one a second): the next hook sent carries the count.
    else if (result === 'suppressed') log.debug(fields, 'hook suppressed: counted into the next failure hook');
    else log.warn(fields, result === 'dropped' ? 'hook dropped' : 'hook failed');
  });
  return { flush: () => skips.flush() };
}
