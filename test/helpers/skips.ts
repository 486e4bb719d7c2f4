/**
 * Fires the daemon skipped for `max` (SPEC §1.3), from its log: the first skip of a task is a record of
 * its own (with the time it was decided), later ones within a minute are counted into one record that
 * lists their seconds (src/daemon/skip-report.ts).
 */
import { SKIP_MESSAGE } from '../../src/daemon/skip-report.js';

export interface SkippedFire {
  readonly task: string;
  readonly scheduledAt: number;
  readonly max: number;
  /** When the daemon logged it (ms), right after deciding; unknown for a fire counted into a later record. */
  readonly time?: number;
}

export function skippedFires(records: readonly Record<string, unknown>[]): SkippedFire[] {
  return records
    .filter((record) => record.msg === SKIP_MESSAGE)
    .flatMap((record) => {
      const task = String(record.task);
      const max = Number(record.max);
      if (Array.isArray(record.seconds)) return (record.seconds as number[]).map((scheduledAt) => ({ task, scheduledAt, max }));
      return [{ task, scheduledAt: Number(record.scheduledAt), max, time: Number(record.time) }];
    });
}
