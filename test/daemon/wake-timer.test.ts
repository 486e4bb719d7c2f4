import { afterEach, describe, expect, it } from 'vitest';
import { loadAddonFile } from '../../src/supervisor/native-addon.js';
import { nativeWakeTimer, PREPARE_LEAD_MS, type WakeTimer } from '../../src/daemon/wake-timer.js';

/** The real addon's timerfd and sleep (built by `npm ci`; CI builds it). */
function wakeTimer(): WakeTimer {
  const loaded = loadAddonFile();
  if ('reason' in loaded) throw new Error(loaded.reason);
  return nativeWakeTimer(loaded.addon);
}

describe('the native wake timer (issue 16)', () => {
  let timer: WakeTimer | undefined;
  afterEach(() => timer?.close());

  it('calls back at the instant it is armed for, never before; a cancelled one never', async () => {
    timer = wakeTimer();
    const at = Date.now() + 40.5;
    const cancelled = timer.setTimer(at - 10, () => expect.unreachable('a replaced timer fired'));
    cancelled.cancel();
    const firedAt = await new Promise<number>((resolve) => timer?.setTimer(at, () => resolve(Date.now())));
    expect(firedAt).toBeGreaterThanOrEqual(Math.floor(at));
  });

  it('holdUntil sleeps to an instant just ahead, returns at once for one passed, and never sleeps past the lead', () => {
    timer = wakeTimer();
    const ahead = Date.now() + 1.5;
    timer.holdUntil(ahead);
    expect(Date.now()).toBeGreaterThanOrEqual(Math.floor(ahead));
    const began = performance.now();
    timer.holdUntil(Date.now() - 1000);
    expect(performance.now() - began).toBeLessThan(1);
    // An instant far ahead (a clock stepped back while planning): held for the lead and a little, no more.
    const start = performance.now();
    timer.holdUntil(Date.now() + 60_000);
    const held = performance.now() - start;
    expect(held).toBeGreaterThanOrEqual(PREPARE_LEAD_MS);
    expect(held).toBeLessThan(PREPARE_LEAD_MS + 1 + 50); // 50 ms: a loaded machine's scheduling
  });
});
