/**
 * SPEC §8 flood control: at most one failure hook per task per window (a minute). A failure inside the
 * window is held; a later one takes its place (the one it replaces is counted as suppressed). The next
 * hook sent says how many were not: a failure after the window, or, when failures stopped while one
 * is held, the held one itself when the window ends, so a count is never lost.
 */
import type { Clock, Timer } from '../clock.js';

export const FLOOD_WINDOW_MS = 60_000;

export interface FloodHandlers<T> {
  /** Send `item` now; `suppressed` failures of its task were not sent since the previous one. */
  send(item: T, suppressed: number): void;
  /** `item` will not be sent: a later failure of its task carries it in its count. */
  suppress(item: T): void;
}

interface TaskFlood<T> {
  sentAt: number;
  /** The latest failure not sent, and how many are held (it included). */
  held: { item: T; count: number } | null;
  /** At the window's end: sends the held failure, or forgets the task. */
  timer: Timer;
}

export class FloodControl<T> {
  private readonly tasks = new Map<string, TaskFlood<T>>();

  constructor(
    private readonly clock: Clock,
    private readonly handlers: FloodHandlers<T>,
    private readonly windowMs = FLOOD_WINDOW_MS,
  ) {}

  failure(task: string, item: T): void {
    const flood = this.tasks.get(task);
    if (flood === undefined) {
      this.sendNow(task, item, 0);
      return;
    }
    if (flood.held !== null) this.handlers.suppress(flood.held.item);
    // The window's timer is due (a late timer, a stalled loop): its end has come.
    if (this.clock.now() - flood.sentAt >= this.windowMs) {
      flood.timer.cancel();
      this.sendNow(task, item, flood.held?.count ?? 0);
      return;
    }
    flood.held = { item, count: (flood.held?.count ?? 0) + 1 };
  }

  /** At a stop: every held failure is sent now, with its count; nothing waits for a window any more. */
  flush(): void {
    for (const [task, flood] of this.tasks) {
      flood.timer.cancel();
      this.tasks.delete(task);
      if (flood.held !== null) this.handlers.send(flood.held.item, flood.held.count - 1);
    }
  }

  private sendNow(task: string, item: T, suppressed: number): void {
    const sentAt = this.clock.now();
    const flood: TaskFlood<T> = { sentAt, held: null, timer: this.clock.setTimer(sentAt + this.windowMs, () => this.windowEnded(task, flood)) };
    this.tasks.set(task, flood);
    this.handlers.send(item, suppressed);
  }

  private windowEnded(task: string, flood: TaskFlood<T>): void {
    if (this.tasks.get(task) !== flood) return;
    this.tasks.delete(task);
    if (flood.held !== null) this.sendNow(task, flood.held.item, flood.held.count - 1);
  }
}
