/** One log record per clock event (SPEC §3: every jump is logged once, never a flood). */
import type { Logger } from 'pino';
import type { ClockEvent } from '../planner/planner.js';

export function logClockEvent(log: Logger, event: ClockEvent): void {
  switch (event.kind) {
    case 'late':
      log.warn({ missedSeconds: event.toSecond - event.fromSecond - 1, fromSecond: event.fromSecond, toSecond: event.toSecond }, 'woke late: planned every missed second, each due task once');
      return;
    case 'forward':
      log.warn({ seconds: event.toSecond - event.fromSecond }, 'clock jumped forward: skipped fixed-time tasks run once, others resume without replay');
      return;
    case 'backward':
      log.warn({ seconds: event.toSecond - event.fromSecond }, 'clock jumped backward: fixed-time tasks will not run twice for one wall time');
      return;
    case 'resync':
      log.warn({ seconds: event.toSecond - event.fromSecond }, 'clock jumped more than 3 hours: resynced, no catch-up');
      return;
    case 'dst':
      log.info({ zone: event.zone, shiftSeconds: event.wallShift }, 'time zone changed its offset (DST)');
  }
}
