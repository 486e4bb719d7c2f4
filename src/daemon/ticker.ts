/**
 * Wakes at each wall-clock second boundary (SPEC §3: never a free-running 1000 ms interval), reads the
 * clock once, and hands the second to the planner. A timer that fires early is re-armed for the boundary
 * it aimed at; one that finds the clock a second or more behind its target saw a backward jump.
 */
/** Node's timers fire up to ~1 ms late: aim this much early and poll the rest (costs < 0.1 % CPU). */
const LEAD_MS = 1;

import type { Clock, Timer } from '../clock.js';
import type { WakeTimer } from './wake-timer.js';

export type SecondHandler = (second: number, nowMs: number) => void;

export class Ticker {
  private timer: Timer | undefined;
  private stopped = true;

  /** How early Node's timers are aimed; none with a precise wake timer. */
  private readonly leadMs: number;

  constructor(
    private readonly clock: Clock,
    private readonly onSecond: SecondHandler,
    /** Wakes at the boundary itself (wake-timer.ts); Node's timers through `clock` otherwise. */
    private readonly wakeTimer?: WakeTimer,
  ) {
    this.leadMs = wakeTimer === undefined ? LEAD_MS : 0;
  }

  start(): void {
    this.stopped = false;
    this.arm((Math.floor(this.clock.now() / 1000) + 1) * 1000, this.leadMs);
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = undefined;
    this.wakeTimer?.close();
  }

  private arm(target: number, leadMs: number): void {
    if (this.stopped) return;
    this.timer = (this.wakeTimer ?? this.clock).setTimer(target - leadMs, () => this.wake(target));
  }

  private wake(target: number): void {
    const now = this.clock.now();
    if (now < target && target - now < 1000) {
      this.arm(target, 0);
      return;
    }
    const second = Math.floor(now / 1000);
    this.onSecond(second, now);
    this.arm((second + 1) * 1000, this.leadMs);
  }
}
