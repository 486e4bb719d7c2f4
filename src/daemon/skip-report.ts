/**
 * SPEC §1.3 "a fire that would exceed max is skipped and logged", without the flood (supercronic#86:
 * a task held at `max` warned every second and filled disks). The first skip of a task is logged at
 * once; later ones are counted for SKIP_REPORT_MS and logged as one record with their count and
 * seconds, so a task held at `max` writes one record a minute and every skipped second stays on record.
 */
import type { Logger } from 'pino';
import type { Clock, Timer } from '../clock.js';
import type { SkipReason } from '../events.js';

export const SKIP_REPORT_MS = 60_000;
/** The daemon log's warning. */
export const SKIP_MESSAGE = 'skipped: max instances reached';
/** The daemon log's warning for each reason that can repeat (SPEC §8 overlap=). */
export const SKIP_MESSAGES: Readonly<Record<'max' | 'queue full' | 'superseded' | 'fleet unavailable', string>> = {
  max: SKIP_MESSAGE,
  'fleet unavailable': 'skipped: singleton fire not claimed, etcd unavailable (SPEC §10)',
  'queue full': 'skipped: a fire already waits for a slot (overlap=queue)',
  superseded: 'skipped: a newer fire took its place (overlap=replace)',
};
/** The run log's record of the same fires: the history of what did not run (SPEC §7). */
export const SKIPPED_FIRE_MESSAGE = 'fire skipped';

/** What held the fire back: instances running and starts accepted but not yet spawned. */
export interface SkipFacts {
  readonly running: number;
  readonly starting: number;
  readonly max: number;
}

interface Window {
  readonly seconds: number[];
  facts: SkipFacts;
  timer: Timer;
}

export class SkipReport {
  private readonly windows = new Map<string, Window>();

  constructor(
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly message: string,
    /** Fields every record of this report carries (the run log's: the reason). */
    private readonly fields: Readonly<Record<string, unknown>> = {},
  ) {}

  /** `at`: when the skip was decided (ms); its window is counted from then, however late this hears of it. */
  skipped(task: string, scheduledAt: number, facts: SkipFacts, at: number): void {
    const window = this.windows.get(task);
    if (window !== undefined) {
      window.seconds.push(scheduledAt);
      window.facts = facts;
      return;
    }
    this.log.warn({ task, scheduledAt, ...this.fields, ...facts }, this.message);
    this.open(task, at);
  }

  /** Logs every count still open (shutdown): no skip goes unrecorded. */
  flush(): void {
    for (const [task, window] of this.windows) {
      window.timer.cancel();
      this.report(task, window);
    }
    this.windows.clear();
  }

  private open(task: string, at: number): void {
    const timer = this.clock.setTimer(at + SKIP_REPORT_MS, () => {
      const window = this.windows.get(task);
      this.windows.delete(task);
      // Still skipping: the next minute is counted too, so a task held at max logs once a minute.
      if (window !== undefined && this.report(task, window)) this.open(task, at + SKIP_REPORT_MS);
    });
    this.windows.set(task, { seconds: [], facts: { running: 0, starting: 0, max: 0 }, timer });
  }

  private report(task: string, { seconds, facts }: Window): boolean {
    if (seconds.length === 0) return false;
    this.log.warn({ task, scheduledAt: seconds[0], ...this.fields, skipped: seconds.length, seconds, ...facts }, this.message);
    return true;
  }
}

/**
 * One report per reason that can repeat every second (`max`, overlap=queue's `queue full`,
 * overlap=replace's `superseded`, a singleton's `fleet unavailable`); one-off reasons (a stop, a removed task) are logged as they come.
 */
export class SkipReports {
  private readonly reports = new Map<SkipReason, SkipReport>();

  constructor(private readonly make: (reason: SkipReason) => SkipReport) {}

  /** The report counting skips of this reason, or undefined for a one-off reason. */
  for(reason: SkipReason): SkipReport | undefined {
    if (reason === 'shutting down' || reason === 'task removed') return undefined;
    let report = this.reports.get(reason);
    if (report === undefined) this.reports.set(reason, (report = this.make(reason)));
    return report;
  }

  flush(): void {
    for (const report of this.reports.values()) report.flush();
  }
}
