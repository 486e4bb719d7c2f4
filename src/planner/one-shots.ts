/**
 * `@at` tasks (SPEC §11) for the planner: sorted by the second each fires at (jitter included), so a
 * tick finds the due ones with one binary search, whatever their number.
 */
import type { Task } from '../tasks/types.js';

export class OneShots {
  private readonly seconds: Float64Array;
  private readonly tasks: readonly Task[];

  constructor(entries: readonly { readonly task: Task; readonly second: number }[]) {
    const sorted = [...entries].sort((a, b) => a.second - b.second);
    this.seconds = Float64Array.from(sorted, (entry) => entry.second);
    this.tasks = sorted.map((entry) => entry.task);
  }

  /**
   * Adds to `due` each task planned for a second in (after, until] and not yet fired for it (`fired`,
   * by identity: a step back over it does not fire it again). It is due for its own second, or for
   * `fireAt` when given (the second a forward jump was seen).
   */
  collect(after: number, until: number, fireAt: number | undefined, fired: Map<string, number>, due: Map<Task, number>, replayOnly?: (task: Task) => boolean): void {
    for (let at = this.firstAfter(after); at < this.seconds.length && this.seconds[at] <= until; at++) {
      const task = this.tasks[at];
      const planned = this.seconds[at];
      if (fired.get(task.id) === planned || (replayOnly !== undefined && !replayOnly(task))) continue;
      fired.set(task.id, planned);
      due.set(task, fireAt ?? planned);
    }
  }

  private firstAfter(second: number): number {
    let [low, high] = [0, this.seconds.length];
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.seconds[middle] <= second) low = middle + 1;
      else high = middle;
    }
    return low;
  }
}
