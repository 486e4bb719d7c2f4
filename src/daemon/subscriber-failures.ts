/** A run-event subscriber that throws is a logged result, never a crash, and never a flood: one record a minute per subscriber. */
import type { Logger } from 'pino';
import type { RunEvent } from '../events.js';

const REPORT_EVERY_MS = 60_000;

export function subscriberFailures(log: Logger): (subscriber: string, event: RunEvent, error: unknown) => void {
  const last = new Map<string, { at: number; more: number }>();
  return (subscriber, event, error) => {
    const now = Date.now();
    const seen = last.get(subscriber);
    if (seen !== undefined && now - seen.at < REPORT_EVERY_MS) {
      seen.more++;
      return;
    }
    try {
      log.error({ subscriber, event: event.type, err: error, failuresSinceLast: seen?.more ?? 0 }, 'a run-event subscriber failed; the event went on to the others');
    } catch {
      // the log itself is the one failing: nothing more to say
    }
    last.set(subscriber, { at: now, more: 0 });
  };
}
