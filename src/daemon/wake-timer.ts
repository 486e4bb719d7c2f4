/**
 * The ticker's wake-up on the native addon's timerfd (issue 16): armed for a wall-clock instant to the
 * nanosecond, where Node's timers count whole milliseconds and fire up to 1 ms after their time (the
 * C floor of the benchmark sleeps to the boundary with clock_nanosleep: this is the same wake). One
 * timer at a time, as the ticker uses it; without the addon the ticker runs on Node's timers.
 */
import type { Timer } from '../clock.js';
import type { NativeAddon } from '../supervisor/native-addon.js';

export interface WakeTimer {
  /** Calls `fn` once at `atMs` (ms since the epoch, fractions honoured), replacing a pending one. */
  setTimer(atMs: number, fn: () => void): Timer;
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
    close() {
      if (handle !== undefined) addon.closeTimer(handle);
      handle = undefined;
      pending = undefined;
    },
  };
}
