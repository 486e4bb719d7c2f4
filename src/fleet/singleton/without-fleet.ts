/**
 * SPEC §10 without `--etcd`: a singleton task is never run, rather than run alone on every host that
 * matches it (README: Singleton tasks). Said at load (the daemon's log) and by `check`, once per task.
 */
import type { TaskFileError } from '../../tasks/errors.js';
import type { Task } from '../../tasks/types.js';

export const WITHOUT_FLEET = 'singleton=yes needs a fleet (start --etcd, or GOTORCH_ETCD): without one this task never runs, on any host';

export function singletonWarnings(tasks: readonly Task[]): TaskFileError[] {
  return tasks.filter((task) => task.options.singleton).map(({ location }) => ({ ...location, message: WITHOUT_FLEET }));
}
