import type { Clock, Timer } from '../../src/planner/clock.js';

/**
 * A clock under the test's control. Timers are due by the clock's own elapsed time; `earlyMs` makes
 * every timer fire that much before its target, as Node's timers can.
 */
export class FakeClock implements Clock {
  private timers: { at: number; fn: () => void; cancelled: boolean }[] = [];
  readonly firedAt: number[] = [];

  constructor(
    private time: number,
    private readonly earlyMs = 0,
  ) {}

  now(): number {
    return this.time;
  }

  setTimer(atMs: number, fn: () => void): Timer {
    // Like systemClock: a delay under 1 ms is polled (setImmediate), so only longer timers fire early.
    const at = atMs - this.time >= 1 ? atMs - this.earlyMs : Math.max(this.time, atMs);
    const timer = { at, fn, cancelled: false };
    this.timers.push(timer);
    return { cancel: () => (timer.cancelled = true) };
  }

  /** Moves time forward, firing each timer at its due time, in order. */
  advanceTo(target: number): void {
    for (;;) {
      this.timers = this.timers.filter((timer) => !timer.cancelled);
      const next = this.timers.reduce<(typeof this.timers)[number] | undefined>((best, timer) => (!best || timer.at < best.at ? timer : best), undefined);
      if (!next || next.at > target) break;
      this.time = Math.max(this.time, next.at);
      this.timers.splice(this.timers.indexOf(next), 1);
      this.firedAt.push(this.time);
      next.fn();
    }
    this.time = target;
  }

  /** Sets the wall clock without moving timers (a clock step by an administrator or NTP). */
  jump(deltaMs: number): void {
    this.time += deltaMs;
  }

  /** Fires the timers pending now, as a real timer would after its relative delay elapsed. */
  runTimers(): void {
    const pending = this.timers.filter((timer) => !timer.cancelled);
    this.timers = [];
    for (const timer of pending) timer.fn();
  }
}
