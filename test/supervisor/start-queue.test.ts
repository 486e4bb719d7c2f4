import { describe, expect, it } from 'vitest';
import { BATCH_BUDGET_MS, DEFER_LIMIT_MS, StartQueue } from '../../src/supervisor/start-queue.js';

const turn = () => new Promise((resolve) => setImmediate(resolve));

/** A queue whose every start costs `costMs` on its own clock; `order` lists starts and deferred work as they ran. */
function queue(costMs: number) {
  let now = 0;
  const started: number[] = [];
  const order: string[] = [];
  const q = new StartQueue<number>(
    (item) => {
      started.push(item);
      order.push(`start ${item}`);
      now += costMs;
    },
    () => now,
  );
  return { q, started, order };
}

describe('StartQueue', () => {
  it('starts nothing inside push: the first batch runs on the next turn', async () => {
    const { q, started } = queue(1);
    q.push(1);
    expect(started).toEqual([]);
    await turn();
    expect(started).toEqual([1]);
  });

  it('spawns back to back until the batch budget is spent, then yields a turn', async () => {
    const { q, started } = queue(3);
    for (let i = 0; i < 20; i++) q.push(i);
    const perBatch = Math.ceil(BATCH_BUDGET_MS / 3);
    await turn();
    expect(started).toHaveLength(perBatch);
    await turn();
    expect(started).toHaveLength(2 * perBatch);
    for (let i = 0; i < 20; i++) await turn();
    expect(started).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it('always starts at least one per turn, however slow a start is', async () => {
    const { q, started } = queue(BATCH_BUDGET_MS * 10);
    q.push(1);
    q.push(2);
    await turn();
    expect(started).toEqual([1]);
    await turn();
    expect(started).toEqual([1, 2]);
  });

  it('clear() returns what was still waiting, in order', async () => {
    const { q, started } = queue(BATCH_BUDGET_MS);
    for (let i = 0; i < 5; i++) q.push(i);
    await turn();
    expect(q.clear()).toEqual([1, 2, 3, 4]);
    await turn();
    expect(started).toEqual([0]);
    expect(q.size).toBe(0);
  });

  it('whenIdle runs work at once when no start waits', () => {
    const { q, order } = queue(1);
    q.whenIdle(() => order.push('end'));
    expect(order).toEqual(['end']);
  });

  it('whenIdle defers work (a run end) until every waiting start has started, over several batches', async () => {
    const { q, order } = queue(3);
    for (let i = 0; i < 10; i++) q.push(i);
    q.whenIdle(() => order.push('end a'));
    q.whenIdle(() => order.push('end b'));
    for (let i = 0; i < 10; i++) await turn();
    expect(order).toEqual([...Array.from({ length: 10 }, (_, i) => `start ${i}`), 'end a', 'end b']);
  });

  it('deferred work runs after DEFER_LIMIT_MS even while starts keep coming', async () => {
    const { q, order } = queue(BATCH_BUDGET_MS);
    q.push(0);
    q.whenIdle(() => order.push('end'));
    // One start a turn (each takes the whole budget), and a new one queued each turn: never empty.
    for (let turns = 1; turns <= DEFER_LIMIT_MS / BATCH_BUDGET_MS + 2; turns++) {
      q.push(turns);
      await turn();
    }
    expect(order).toContain('end');
    expect(q.size).toBeGreaterThan(0);
    // It waited for the limit: about DEFER_LIMIT_MS of starts ran before it.
    expect(order.indexOf('end')).toBeGreaterThanOrEqual(DEFER_LIMIT_MS / BATCH_BUDGET_MS);
  });
});
