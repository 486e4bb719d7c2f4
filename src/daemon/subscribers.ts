/**
 * The daemon's subscribers of the run events (README: Run events): the run log, the daemon's log and
 * the per-task results `status` and metrics read. One place wires them; the producers know none.
 */
import type { Clock } from '../clock.js';
import { RunEvents } from '../events.js';
import { writeDaemonLog } from './daemon-log.js';
import type { Loggers } from './logging.js';
import { writeRunLog } from './run-log.js';
import { subscriberFailures } from './subscriber-failures.js';
import { TaskResults } from './task-results.js';

export interface Subscribers {
  readonly events: RunEvents;
  readonly results: TaskResults;
  /** At a stop: delivers every event still queued, then writes the skip counts still open. */
  flush(): Promise<void>;
}

export function subscribe(loggers: Loggers, clock: Clock): Subscribers {
  const events = new RunEvents(subscriberFailures(loggers.log));
  const runLog = writeRunLog(events, loggers.runLog, clock);
  const daemonLog = writeDaemonLog(events, loggers.log, clock);
  const results = new TaskResults(events);
  return {
    events,
    results,
    async flush() {
      await events.drained();
      daemonLog.flush();
      runLog.flush();
    },
  };
}
