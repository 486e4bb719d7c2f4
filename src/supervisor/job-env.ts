/**
 * SPEC §2: a run's environment. What every run of a task definition shares (the daemon's inherited
 * variables and the task's env lines) is built once per definition, a Task object, which a reload
 * replaces; a run adds only its GOTORCH_* variables. Building the whole object and its NAME=value
 * strings for every run was a visible part of the daemon's CPU per start (issue 16). A `user=` job's
 * environment is built per run, as /etc/passwd is read at its spawn (user.ts).
 */
import type { Task } from '../tasks/types.js';
import { switchedUserEnvironment } from './user.js';

/** The variables every run sets (SPEC §2). */
const RUN_VARIABLES = ['GOTORCH_TASK', 'GOTORCH_RUN_ID', 'GOTORCH_SCHEDULED_AT', 'GOTORCH_ATTEMPT'] as const;

type RunVariables = Readonly<Record<(typeof RUN_VARIABLES)[number], string>>;

const pair = ([name, value]: [string, string]): string => `${name}=${value}`;

/** NAME=value strings: a definition's shared ones, then a run's own. */
export interface EnvironmentPairs {
  readonly shared: readonly string[];
  readonly own: readonly string[];
}

const NONE: readonly string[] = Object.freeze([]);

/** What the runs of one definition share: the variables, and the same as NAME=value strings (made when first asked). */
class SharedEnvironment {
  /** A task env line names a run variable: the run's value takes that place in the order (as a spread does). */
  readonly namesRunVariable: boolean;
  private made: readonly string[] | undefined;

  constructor(readonly env: Readonly<Record<string, string>>) {
    this.namesRunVariable = RUN_VARIABLES.some((name) => name in env);
  }

  get pairs(): readonly string[] {
    return (this.made ??= Object.entries(this.env).map(pair));
  }
}

/** One run's complete environment, read as one object or as NAME=value strings. */
export class JobEnvironment {
  private complete: Readonly<Record<string, string>> | undefined;

  constructor(
    private readonly shared: SharedEnvironment,
    private readonly run: RunVariables,
  ) {}

  /** The complete environment as one object (child_process, an HTTP task, a hook): built when first read. */
  get all(): Readonly<Record<string, string>> {
    return (this.complete ??= { ...this.shared.env, ...this.run });
  }

  /**
   * The same as NAME=value strings, in the same order: `shared`, the same array for every run of the
   * definition (the native spawner copies it to C once), then the run's `own`.
   */
  pairs(): EnvironmentPairs {
    if (this.shared.namesRunVariable) return { shared: NONE, own: Object.entries(this.all).map(pair) };
    const run = this.run;
    return { shared: this.shared.pairs, own: [`GOTORCH_TASK=${run.GOTORCH_TASK}`, `GOTORCH_RUN_ID=${run.GOTORCH_RUN_ID}`, `GOTORCH_SCHEDULED_AT=${run.GOTORCH_SCHEDULED_AT}`, `GOTORCH_ATTEMPT=${run.GOTORCH_ATTEMPT}`] };
  }

  get(name: string): string | undefined {
    return (RUN_VARIABLES as readonly string[]).includes(name) ? this.run[name as keyof RunVariables] : this.shared.env[name];
  }
}

/** A complete environment given as one object (a request built without job-env), nothing shared. */
export function givenEnvironment(env: Readonly<Record<string, string>>): Pick<JobEnvironment, 'pairs' | 'get'> {
  return { pairs: () => ({ shared: NONE, own: Object.entries(env).map(pair) }), get: (name) => env[name] };
}

/** The environments of a daemon's jobs, over `base` (the daemon's own, without gotorch's control variables). */
export class JobEnvironments {
  private readonly byTask = new WeakMap<Task, SharedEnvironment>();

  constructor(private readonly base: Readonly<Record<string, string>>) {}

  /** SPEC §2: the job's environment (a `user=` job's starts clean: user.ts). Values are never logged. */
  of(task: Task, runId: string, scheduledAt: number, attempt: number): JobEnvironment {
    const run = { GOTORCH_TASK: task.id, GOTORCH_RUN_ID: runId, GOTORCH_SCHEDULED_AT: String(scheduledAt), GOTORCH_ATTEMPT: String(attempt) };
    return new JobEnvironment(this.sharedOf(task), run);
  }

  private sharedOf(task: Task): SharedEnvironment {
    const user = task.options.user;
    if (user !== undefined) return new SharedEnvironment({ ...switchedUserEnvironment(user, task.shell, this.base), ...task.env });
    let known = this.byTask.get(task);
    if (known === undefined) this.byTask.set(task, (known = new SharedEnvironment({ ...this.base, ...task.env })));
    return known;
  }
}

/** SPEC §2: one run's complete environment as one object (a hook's base: src/alerts). */
export function jobEnv(base: Readonly<Record<string, string>>, task: Task, runId: string, scheduledAt: number, attempt: number): Readonly<Record<string, string>> {
  return new JobEnvironments(base).of(task, runId, scheduledAt, attempt).all;
}
