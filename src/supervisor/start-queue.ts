/**
 * Starts waiting to be spawned. They are spawned back to back in one `setImmediate` turn for up to
 * BATCH_BUDGET_MS, then the queue yields: exits, output, the control socket and timers (the planner's
 * tick included) get their turn before the next batch. Spawning a burst from exit callbacks with no
 * yield starves every timer; yielding after every spawn makes the last job of a burst wait for the exit
 * handling of all the earlier ones.
 *
 * Work that can wait for the starts (a run's end: its record, its events, its slot) is deferred while
 * starts wait (issue 16): a burst's last job no longer waits for the ends of the first ones, which the
 * exits of short jobs delivered between batches. Deferred work runs once no start waits, in batches of
 * the same budget, and never later than DEFER_LIMIT_MS, so a queue that never empties (a daemon that
 * cannot keep up) still ends its runs and frees their slots.
 */
import { performance } from 'node:perf_hooks';

/**
 * Longest a batch of spawns may hold the event loop; one spawn takes 1-2 ms here. Measured under 500
 * starts/s (test/reliability/load.test.ts): against one spawn per turn, 10 ms batches cut the daemon's
 * CPU from 50 to 41 % of a core and start lateness p50 by 10 %, while `status` p99 rose from 11 to 30 ms.
 */
export const BATCH_BUDGET_MS = 10;

/** The longest deferred work waits for the starts. */
export const DEFER_LIMIT_MS = 100;

export class StartQueue<T> {
  private items: T[] = [];
  private head = 0;
  private scheduled = false;
  private deferred: { readonly at: number; readonly work: () => void }[] = [];

  constructor(
    private readonly start: (item: T) => void,
    private readonly now: () => number = () => performance.now(),
  ) {}

  get size(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
    this.schedule();
  }

  /** Runs `work` now when no start waits, else once none does (at the latest after DEFER_LIMIT_MS). */
  whenIdle(work: () => void): void {
    if (this.size === 0 && this.deferred.length === 0) return work();
    this.deferred.push({ at: this.now(), work });
    this.schedule();
  }

  /** Removes and returns every waiting item (deferred work still runs). */
  clear(): T[] {
    const dropped = this.items.slice(this.head);
    this.items = [];
    this.head = 0;
    return dropped;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.drain());
  }

  private drain(): void {
    this.scheduled = false;
    const began = this.now();
    const spent = (): boolean => this.now() - began >= BATCH_BUDGET_MS;
    while (this.size > 0 && !spent()) {
      const item = this.items[this.head++];
      if (this.head === this.items.length) this.clear();
      this.start(item);
    }
    // Deferred work: all of it once no start waits, else only what waited too long; within what the
    // starts left of this turn's budget, and at least one item, so it always advances.
    const overdue = began - DEFER_LIMIT_MS;
    let ran = 0;
    while (this.deferred.length > ran && (this.size === 0 || this.deferred[ran].at <= overdue) && (ran === 0 || !spent())) this.deferred[ran++].work();
    if (ran > 0) this.deferred = this.deferred.slice(ran);
    if (this.size > 0 || this.deferred.length > 0) this.schedule();
  }
}
