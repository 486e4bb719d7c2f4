/** The run-event seam (src/events.ts): queued, in order, never inside publish(), a throwing or slow subscriber contained. */
import { describe, expect, it } from 'vitest';
import { DELIVERY_BUDGET_MS, RunEvents, type ReloadRejected } from '../src/events.js';

const rejected = (trigger: string): ReloadRejected => ({ type: 'reload-rejected', trigger, errors: [] });

describe('RunEvents', () => {
  it('delivers after publish returns, in publish order, to every subscriber of the type', async () => {
    const events = new RunEvents();
    const seen: string[] = [];
    events.on('reload-rejected', 'a', (event) => seen.push(`a:${event.trigger}`));
    events.on('reload-rejected', 'b', (event) => seen.push(`b:${event.trigger}`));
    events.on('reload-applied', 'c', () => seen.push('c'));
    events.publish(rejected('1'));
    events.publish(rejected('2'));
    expect(seen).toEqual([]);
    await events.drained();
    expect(seen).toEqual(['a:1', 'b:1', 'a:2', 'b:2']);
  });

  it('a subscriber that throws is reported by name; the others and later events still get theirs', async () => {
    const failures: string[] = [];
    const events = new RunEvents((subscriber, event, error) => failures.push(`${subscriber} ${event.type} ${(error as Error).message}`));
    const seen: string[] = [];
    events.on('reload-rejected', 'broken', () => {
      throw new Error('boom');
    });
    events.on('reload-rejected', 'fine', (event) => seen.push(event.trigger));
    expect(() => events.publish(rejected('x'))).not.toThrow();
    events.publish(rejected('y'));
    await events.drained();
    expect(seen).toEqual(['x', 'y']);
    expect(failures).toEqual(['broken reload-rejected boom', 'broken reload-rejected boom']);
  });

  it('a slow subscriber yields to timers after the delivery budget, then goes on', async () => {
    const events = new RunEvents();
    const order: string[] = [];
    events.on('reload-rejected', 'slow', (event) => {
      // A timer (a tick) that falls due while the first event is being delivered.
      if (event.trigger === '0') setTimeout(() => order.push('timer'), 0);
      const until = performance.now() + DELIVERY_BUDGET_MS;
      while (performance.now() < until); // a subscriber that holds the loop for the whole budget
      order.push(event.trigger);
    });
    for (let index = 0; index < 4; index++) events.publish(rejected(String(index)));
    await events.drained();
    // Delivery yielded after the first event: the timer ran before the second, not after all four.
    expect(order).toEqual(['0', 'timer', '1', '2', '3']);
  });

  it('an unsubscribed listener hears nothing more; events without subscribers are not queued', async () => {
    const events = new RunEvents();
    const seen: string[] = [];
    const off = events.on('reload-rejected', 'once', (event) => seen.push(event.trigger));
    events.publish(rejected('before'));
    await events.drained();
    off();
    events.publish(rejected('after'));
    await events.drained();
    expect(seen).toEqual(['before']);
  });
});
