import type { Clock, Timer } from '../../src/clock.js';

/**
 * A clock under the test's control. Timers fire in due order (ties in the order they were set) as
 * time is advanced; `earlyMs` makes every timer of 1 ms or more fire that much before its target, as
 * Node's timers can (shorter ones are polled, like systemClock does).
 */
export class FakeClock implements Clock {
  private timers: { at: number; seq: number; fn: () => void; cancelled: boolean }[] = [];
  private seq = 0;
  /** When each timer fired, in order. */
  readonly firedAt: number[] = [];

  constructor(
    private time = 1_700_000_000_000,
    private readonly earlyMs = 0,
  ) {}

  now(): number {
    return this.time;
  }

  setTimer(atMs: number, fn: () => void): Timer {
    const at = atMs - this.time >= 1 ? atMs - this.earlyMs : Math.max(this.time, atMs);
    const timer = { at, seq: this.seq++, fn, cancelled: false };
    this.timers.push(timer);
    return { cancel: () => void (timer.cancelled = true) };
  }

  /** Pending (not cancelled, not fired) timers. */
  get pending(): number {
    return this.timers.filter((timer) => !timer.cancelled).length;
  }

  advance(ms: number): void {
    this.advanceTo(this.time + ms);
  }

  /** Moves time forward to `target`, firing each timer at its due time, in order. */
  advanceTo(target: number): void {
    for (;;) {
      const due = this.timers.filter((timer) => !timer.cancelled && timer.at <= target).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (due === undefined) break;
      due.cancelled = true;
      this.time = Math.max(this.time, due.at);
      this.firedAt.push(this.time);
      due.fn();
    }
    this.time = target;
  }

  /** Sets the wall clock without moving timers (a clock step by an administrator or NTP). */
  jump(deltaMs: number): void {
    this.time += deltaMs;
  }

  /** Fires the timers pending now, as real timers would once their relative delay elapsed. */
  runTimers(): void {
    const pending = this.timers.filter((timer) => !timer.cancelled);
    this.timers = [];
    for (const timer of pending) timer.fn();
  }
}
