import { describe, expect, it } from 'vitest';
import { Ticker } from '../../src/daemon/ticker.js';
import { PREPARE_LEAD_MS, type WakeTimer } from '../../src/daemon/wake-timer.js';
import { FakeClock } from '../helpers/fake-clock.js';

describe('ticker (SPEC §3: aligned wake, early-timer guard)', () => {
  it('wakes at each second boundary, not on a free-running interval', () => {
    const clock = new FakeClock(1_000_000_300);
    const seconds: number[] = [];
    const ticker = new Ticker(clock, (second) => seconds.push(second));
    ticker.start();
    clock.advanceTo(1_000_003_000);
    expect(seconds).toEqual([1_000_001, 1_000_002, 1_000_003]);
    // Armed 1 ms before each boundary, then polled up to it: two wakes a second, none in between.
    expect(clock.firedAt).toEqual([1_000_000_999, 1_000_001_000, 1_000_001_999, 1_000_002_000, 1_000_002_999, 1_000_003_000]);
  });

  it('a timer that fires early is re-armed: the second is decided once, at its boundary', () => {
    const clock = new FakeClock(1_000_000_300, 0.7);
    const seconds: number[] = [];
    const ticker = new Ticker(clock, (second, now) => seconds.push(second + (now >= second * 1000 ? 0 : 0.5)));
    ticker.start();
    clock.advanceTo(1_000_002_000);
    expect(seconds).toEqual([1_000_001, 1_000_002]);
  });

  it('a clock found a second or more behind the target is a backward jump, handled at once', () => {
    const clock = new FakeClock(1_000_000_300);
    const seconds: number[] = [];
    const ticker = new Ticker(clock, (second) => seconds.push(second));
    ticker.start();
    clock.advanceTo(1_000_001_000);
    clock.jump(-1800_000);
    clock.runTimers();
    expect(seconds).toEqual([1_000_001, 1_000_001 - 1800]);
  });

  it('on a wake timer each second is handed over PREPARE_LEAD_MS before it begins, and its starts are held to the boundary', () => {
    const clock = new FakeClock(1_000_000_300);
    // The native wake timer on the fake clock: exact, as a timerfd is; holdUntil moves time as a sleep would.
    const holds: number[] = [];
    const wakeTimer: WakeTimer = {
      setTimer: (atMs, fn) => clock.setTimer(atMs, fn),
      holdUntil: (epochMs) => {
        holds.push(epochMs);
        if (epochMs > clock.now()) clock.advanceTo(Math.min(epochMs, clock.now() + PREPARE_LEAD_MS + 1));
      },
      close: () => undefined,
    };
    const seen: [number, number][] = [];
    const ticker = new Ticker(clock, (second, now) => seen.push([second, now]), wakeTimer);
    expect(ticker.earlyMs).toBe(PREPARE_LEAD_MS);
    ticker.start();
    clock.advanceTo(1_000_003_000);
    expect(seen).toEqual([1_000_001, 1_000_002, 1_000_003].map((second) => [second, second * 1000 - PREPARE_LEAD_MS]));
    // One wake a second, none polled.
    expect(clock.firedAt).toEqual([1_000_000_998, 1_000_001_998, 1_000_002_998]);
    // The starts of each second are held to its boundary by the supervisor (test/supervisor), not here.
    ticker.stop();
  });

  it('on a wake timer a clock stepped back while it waited re-arms for the lead, and a late wake takes the second it finds', () => {
    const clock = new FakeClock(1_000_000_300);
    const wakeTimer: WakeTimer = { setTimer: (atMs, fn) => clock.setTimer(atMs, fn), holdUntil: () => undefined, close: () => undefined };
    const seconds: number[] = [];
    const ticker = new Ticker(clock, (second) => seconds.push(second), wakeTimer);
    ticker.start();
    clock.advanceTo(1_000_000_997);
    clock.jump(-500); // stepped back half a second: the wake finds its boundary 503 ms away
    clock.runTimers();
    expect(seconds).toEqual([]);
    clock.advanceTo(1_000_000_998);
    expect(seconds).toEqual([1_000_001]);
    clock.jump(1500); // the loop was held: the wake aimed at ...1998 comes at ...2498
    clock.runTimers();
    expect(seconds).toEqual([1_000_001, 1_000_002]);
    clock.advanceTo(1_000_002_998);
    expect(seconds).toEqual([1_000_001, 1_000_002, 1_000_003]);
    ticker.stop();
  });

  it('stopAfterNextSecond (a handover): stops right after the next second is handed over, not before or after it', async () => {
    const clock = new FakeClock(1_000_000_300);
    const seconds: number[] = [];
    const ticker = new Ticker(clock, (second) => seconds.push(second));
    ticker.start();
    let stopped = false;
    const done = ticker.stopAfterNextSecond().then(() => (stopped = true));
    clock.advanceTo(1_000_000_900);
    await Promise.resolve();
    expect(stopped).toBe(false);
    clock.advanceTo(1_000_005_000);
    await done;
    expect(seconds).toEqual([1_000_001]);
    // A stop meanwhile (the daemon ends) resolves a waiting call too; a stopped ticker at once.
    const again = new Ticker(clock, (second) => seconds.push(second));
    again.start();
    const waiting = again.stopAfterNextSecond();
    again.stop();
    await waiting;
    await again.stopAfterNextSecond();
    expect(seconds).toEqual([1_000_001]);
  });
});
