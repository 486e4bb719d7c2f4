/**
 * Wakes at each wall-clock second boundary (SPEC §3: never a free-running 1000 ms interval), reads the
 * clock once, and hands the second to the planner. A timer that fires early is re-armed for the boundary
 * it aimed at; one that finds the clock a second or more behind its target saw a backward jump.
 *
 * On the native wake timer the second is handed over PREPARE_LEAD_MS before it begins (wake-timer.ts):
 * what it starts waits for the boundary in the wake timer's holdUntil, so no job starts early.
 */
/** Node's timers fire up to ~1 ms late: aim this much early and poll the rest (costs < 0.1 % CPU). */
const LEAD_MS = 1;

import type { Clock, Timer } from '../clock.js';
import { PREPARE_LEAD_MS, type WakeTimer } from './wake-timer.js';

export type SecondHandler = (second: number, nowMs: number) => void;

export class Ticker {
  private timer: Timer | undefined;
  private stopped = true;
  /** Set by stopAfterNextSecond: resolved when the ticker stops. */
  private afterSecond: (() => void) | undefined;

  /** How early the timer is aimed: Node's timers to poll the rest; the wake timer to plan ahead. */
  private readonly leadMs: number;
  /** How early a second may be handed over (0: never before it begins). */
  readonly earlyMs: number;

  constructor(
    private readonly clock: Clock,
    private readonly onSecond: SecondHandler,
    /** Wakes before the boundary itself (wake-timer.ts); Node's timers through `clock` otherwise. */
    private readonly wakeTimer?: WakeTimer,
  ) {
    this.leadMs = wakeTimer === undefined ? LEAD_MS : PREPARE_LEAD_MS;
    this.earlyMs = wakeTimer === undefined ? 0 : PREPARE_LEAD_MS;
  }

  start(): void {
    this.stopped = false;
    this.arm((Math.floor(this.clock.now() / 1000) + 1) * 1000, this.leadMs);
  }

  stop(): void {
    this.stopped = true;
    const waiting = this.afterSecond;
    this.afterSecond = undefined;
    waiting?.();
    this.timer?.cancel();
    this.timer = undefined;
    this.wakeTimer?.close();
  }

  /** Stops right after the next second is handed to the planner (at once if stopped): a handover then begins as a second does. */
  stopAfterNextSecond(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => (this.afterSecond = resolve));
  }

  private arm(target: number, leadMs: number): void {
    if (this.stopped) return;
    this.timer = (this.wakeTimer ?? this.clock).setTimer(target - leadMs, () => this.wake(target));
  }

  private wake(target: number): void {
    const now = this.clock.now();
    const early = target - now;
    if (early > this.earlyMs && early < 1000) {
      this.arm(target, this.earlyMs);
      return;
    }
    const second = early > 0 && early < 1000 ? target / 1000 : Math.floor(now / 1000);
    this.onSecond(second, now);
    if (this.afterSecond !== undefined) this.stop();
    else this.arm((second + 1) * 1000, this.leadMs);
  }
}
