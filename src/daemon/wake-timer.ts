/**
 * The ticker's wake-up on the native addon's timerfd (issue 16): armed for a wall-clock instant to the
 * nanosecond, where Node's timers count whole milliseconds and fire up to 1 ms after their time (the
 * C floor of the benchmark sleeps to the boundary with clock_nanosleep: this is the same wake). One
 * timer at a time, as the ticker uses it; without the addon the ticker runs on Node's timers.
 */
import type { Timer } from '../clock.js';
import type { NativeAddon } from '../supervisor/native-addon.js';

/**
 * How long before a second its tick runs on this timer: the tick's work (planning, deciding, building
 * each run's environment: 0.5-0.7 ms measured, most of it on code gone cold in the idle second) is done
 * by the boundary, and the starts wait for it in holdUntil, so a job starts at its second as the C floor
 * of the benchmark does (issue 16).
 */
export const PREPARE_LEAD_MS = 2;

export interface WakeTimer {
  /** Calls `fn` once at `atMs` (ms since the epoch, fractions honoured), replacing a pending one. */
  setTimer(atMs: number, fn: () => void): Timer;
  /** Blocks until the wall clock reaches `epochMs`, at most PREPARE_LEAD_MS and a little: at once if it passed. */
  holdUntil(epochMs: number): void;
  /** Releases the timerfd; a later setTimer opens another. */
  close(): void;
}

export function nativeWakeTimer(addon: NativeAddon): WakeTimer {
  let handle: object | undefined;
  let pending: (() => void) | undefined;
  const fire = (): void => {
    const due = pending;
    pending = undefined;
    due?.();
  };
  return {
    setTimer(atMs, fn) {
      handle ??= addon.createTimer(fire);
      pending = fn;
      addon.armTimer(handle, atMs);
      const armed = handle;
      return {
        cancel: () => {
          if (pending !== fn || handle !== armed) return;
          pending = undefined;
          addon.armTimer(armed, Number.NaN);
        },
      };
    },
    holdUntil(epochMs) {
      addon.holdUntil(epochMs, PREPARE_LEAD_MS + 1);
    },
    close() {
      if (handle !== undefined) addon.closeTimer(handle);
      handle = undefined;
      pending = undefined;
    },
  };
}
