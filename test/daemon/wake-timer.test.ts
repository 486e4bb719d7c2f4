import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FAKETIME_LIBRARY } from '../reliability/clock-support.js';
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

  it.skipIf(FAKETIME_LIBRARY === undefined && process.env.CI === undefined)('holdUntil holds under libfaketime with a shifted clock (an absolute monotonic deadline returned at once there)', () => {
    const script = `
      const { loadAddonFile } = await import(${JSON.stringify(path.resolve('dist/src/supervisor/native-addon.js'))});
      const { addon } = loadAddonFile();
      const held = [];
      for (let i = 0; i < 5; i++) {
        const at = Date.now() + 2; // 1-2 ms ahead: Date.now() counts whole ms
        addon.holdUntil(at, 3);
        held.push(Date.now() - at); // the (shifted) wall clock after the hold
      }
      console.log(JSON.stringify(held));`;
    for (const shift of ['+0.4s', '-0.4s']) {
      const output = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
        env: { ...process.env, LD_PRELOAD: FAKETIME_LIBRARY, FAKETIME: shift, FAKETIME_DONT_FAKE_MONOTONIC: '1' },
        encoding: 'utf8',
      });
      const held = JSON.parse(output) as number[];
      expect(Math.min(...held), `clock shifted ${shift}: ms from the instant after each hold`).toBeGreaterThanOrEqual(0);
    }
  });
});
