/** `/healthz` (SPEC §9) on a clock the test moves: 200 while ticks come, 503 when they stop, and after a stall. */
import { describe, expect, it } from 'vitest';
import { HEALTHY_TICK_GAP_MS, SchedulerHealth } from '../../src/metrics/scheduler-health.js';

function health() {
  let now = 1000;
  const checked = new SchedulerHealth(() => now);
  return { checked, at: (ms: number) => (now = ms) };
}

describe('SchedulerHealth', () => {
  it('is unhealthy before the first tick, healthy while ticks come, unhealthy once the last is 3 s old', () => {
    const { checked, at } = health();
    expect(checked.check()).toEqual({ healthy: false, text: 'starting: the scheduler has not ticked yet' });
    for (let second = 1; second <= 5; second++) {
      at(second * 1000);
      checked.ticked();
      expect(checked.check().healthy).toBe(true);
    }
    at(5000 + HEALTHY_TICK_GAP_MS - 1);
    expect(checked.check()).toEqual({ healthy: true, text: 'ok: the last tick was 3.0 s ago' });
    at(5000 + HEALTHY_TICK_GAP_MS);
    expect(checked.check()).toEqual({ healthy: false, text: 'stalled: the last tick was 3.0 s ago' });
  });

  it('after a stall, the tick that ends it does not make it healthy at once: the probe that waited through it sees 503', () => {
    const { checked, at } = health();
    at(1000);
    checked.ticked();
    // Stopped for 3.5 s: the overdue tick runs first, then the request that waited.
    at(4500);
    checked.ticked();
    expect(checked.check()).toEqual({ healthy: false, text: 'stalled: no tick for 3.5 s, until 0.0 s ago' });
    at(5000);
    checked.ticked();
    expect(checked.check().healthy).toBe(false);
    at(4500 + HEALTHY_TICK_GAP_MS);
    checked.ticked();
    expect(checked.check().healthy).toBe(true);
    // A gap just under the limit is no stall.
    at(4500 + HEALTHY_TICK_GAP_MS * 2 - 1);
    checked.ticked();
    expect(checked.check().healthy).toBe(true);
  });
});
