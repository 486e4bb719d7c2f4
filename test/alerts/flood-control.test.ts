/** SPEC §8 flood control on a fake clock (src/alerts/flood-control.ts): one failure hook per task per minute, the rest counted. */
import { describe, expect, it } from 'vitest';
import { FLOOD_WINDOW_MS, FloodControl } from '../../src/alerts/flood-control.js';
import { FakeClock } from '../helpers/fake-clock.js';

function harness() {
  const clock = new FakeClock();
  const start = clock.now();
  const sent: { item: string; suppressed: number; at: number }[] = [];
  const suppressed: string[] = [];
  const flood = new FloodControl<string>(clock, {
    send: (item, count) => sent.push({ item, suppressed: count, at: (clock.now() - start) / 1000 }),
    suppress: (item) => suppressed.push(item),
  });
  return { clock, flood, sent, suppressed };
}

describe('flood control', () => {
  it('a failure every second for 3 minutes: at most 4 hooks, and every failure is sent or counted', () => {
    const { clock, flood, sent, suppressed } = harness();
    for (let second = 0; second < 180; second++) {
      flood.failure('backup', `f${second}`);
      clock.advance(1000);
    }
    clock.advance(FLOOD_WINDOW_MS);
    expect(sent.length).toBeLessThanOrEqual(4);
    expect(sent).toEqual([
      { item: 'f0', suppressed: 0, at: 0 },
      { item: 'f59', suppressed: 58, at: 60 },
      { item: 'f119', suppressed: 59, at: 120 },
      // The trailing hook, when the minute after the last sent one ends: the count is not lost.
      { item: 'f179', suppressed: 59, at: 180 },
    ]);
    // Each failure is sent, or counted into exactly one later hook.
    expect(sent.length + sent.reduce((sum, hook) => sum + hook.suppressed, 0)).toBe(180);
    expect(suppressed).toHaveLength(180 - sent.length);
    expect(new Set([...suppressed, ...sent.map((hook) => hook.item)]).size).toBe(180);
    expect(clock.pending).toBe(0);
  });

  it('a failure after a quiet minute is sent at once, carrying the count of those held', () => {
    const { clock, flood, sent } = harness();
    flood.failure('a', 'first');
    clock.advance(10_000);
    flood.failure('a', 'second');
    // The window's timer has not fired (a stalled loop): the next failure ends the window itself.
    clock.jump(FLOOD_WINDOW_MS);
    flood.failure('a', 'third');
    expect(sent).toEqual([
      { item: 'first', suppressed: 0, at: 0 },
      { item: 'third', suppressed: 1, at: 70 },
    ]);
  });

  it('tasks are limited apart', () => {
    const { flood, sent } = harness();
    flood.failure('a', 'a1');
    flood.failure('b', 'b1');
    flood.failure('a', 'a2');
    expect(sent.map((hook) => hook.item)).toEqual(['a1', 'b1']);
  });

  it('a lone failure leaves no timer behind once its minute passed', () => {
    const { clock, flood, sent } = harness();
    flood.failure('a', 'only');
    clock.advance(FLOOD_WINDOW_MS);
    expect(sent).toHaveLength(1);
    expect(clock.pending).toBe(0);
    flood.failure('a', 'next');
    expect(sent.map((hook) => hook.item)).toEqual(['only', 'next']);
  });

  it('a stop sends what is held at once, with its count, and cancels every timer', () => {
    const { clock, flood, sent } = harness();
    for (const item of ['x1', 'x2', 'x3']) flood.failure('x', item);
    flood.failure('y', 'y1');
    flood.flush();
    expect(sent).toEqual([
      { item: 'x1', suppressed: 0, at: 0 },
      { item: 'y1', suppressed: 0, at: 0 },
      { item: 'x3', suppressed: 1, at: 0 },
    ]);
    expect(clock.pending).toBe(0);
  });
});
