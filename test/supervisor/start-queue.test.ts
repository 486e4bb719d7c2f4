import { describe, expect, it } from 'vitest';
import { BATCH_BUDGET_MS, StartQueue } from '../../src/supervisor/start-queue.js';

const turn = () => new Promise((resolve) => setImmediate(resolve));

/** A queue whose every start costs `costMs` on its own clock. */
function queue(costMs: number) {
  let now = 0;
  const started: number[] = [];
  const q = new StartQueue<number>(
    (item) => {
      started.push(item);
      now += costMs;
    },
    () => now,
  );
  return { q, started };
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
});
