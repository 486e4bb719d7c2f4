import type { Advance, Planner } from '../../src/planner/planner.js';

/** The fires of one advance as `id@second`. */
export const fired = (advance: Advance): string[] => advance.fires.map((fire) => `${fire.task.id}@${fire.second}`);

/** Advances one second at a time from the planner's last second to `to`, collecting `id@second`. */
export function run(planner: Planner, to: number): string[] {
  const result: string[] = [];
  for (let second = planner.lastSecond + 1; second <= to; second++) result.push(...fired(planner.advance(second)));
  return result;
}
