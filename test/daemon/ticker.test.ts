import { describe, expect, it } from 'vitest';
import { Ticker } from '../../src/daemon/ticker.js';
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
});
