/**
 * The daemon's subscribers of the run events (README: Run events): the run log, the daemon's log, the
 * per-task results `status` and metrics read, and the hooks and pings (SPEC §8, src/alerts/). One
 * place wires them; the producers know none.
 */
import { Alerts } from '../alerts/alerts.js';
import type { Clock } from '../clock.js';
import { RunEvents } from '../events.js';
import { writeDaemonLog } from './daemon-log.js';
import type { Loggers } from './logging.js';
import { writeRunLog } from './run-log.js';
import { subscriberFailures } from './subscriber-failures.js';
import { TaskResults } from './task-results.js';

/** What the hooks need of the daemon. */
export interface AlertContext {
  /** This host's name in hook documents. */
  readonly host: string;
  /** The task file's digest in force (the first load publishes no reload-applied). */
  readonly digest: () => string;
  /** The environment jobs inherit: a command hook's base. */
  readonly baseEnv: Readonly<Record<string, string>>;
}

export interface Subscribers {
  readonly events: RunEvents;
  readonly results: TaskResults;
  /**
   * At a stop: delivers every event still queued, sends the failure hooks flood control holds and
   * waits for hooks in flight (10 s at most), then writes their outcomes and the skip counts still open.
   */
  flush(): Promise<void>;
}

export function subscribe(loggers: Loggers, clock: Clock, context: AlertContext): Subscribers {
  const events = new RunEvents(subscriberFailures(loggers.log));
  const runLog = writeRunLog(events, loggers.runLog, clock);
  const daemonLog = writeDaemonLog(events, loggers.log, clock);
  const results = new TaskResults(events);
  const alerts = new Alerts({ events, clock, ...context });
  return {
    events,
    results,
    async flush() {
      await events.drained();
      await alerts.flush();
      await events.drained();
      daemonLog.flush();
      runLog.flush();
    },
  };
}
