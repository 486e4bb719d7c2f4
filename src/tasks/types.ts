import type { Schedule } from '../schedule/types.js';

export type TaskType = 'cron' | 'daemon';

/** Where a task came from, for `file:line:column` messages. */
export interface SourceLocation {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

/** SPEC §8: where a hook goes: a POST of the JSON document, or a shell command given it on stdin. */
export type Hook = { readonly kind: 'url'; readonly url: string } | { readonly kind: 'command'; readonly command: string };

/** SPEC §8 `overlap=`: what a cron fire does when `max` instances run. */
export type OverlapPolicy = 'skip' | 'queue' | 'replace';

/** SPEC §11: how an HTTP task's request is made (tasks/http-options.ts). */
export interface HttpOptions {
  /** `method=`, upper case; GET by default. */
  readonly method: string;
  readonly body?: string;
  /** `header=Name:value`, in the order written (repeatable). */
  readonly headers: readonly (readonly [string, string])[];
  /** `expect=`: statuses besides 2xx that count as a success. */
  readonly expect: readonly number[];
}

/** Resolved, frozen options of one task (SPEC §1.5, §8); defaults live in tasks/options.ts only. */
export interface TaskOptions {
  readonly name?: string;
  readonly timeoutMs?: number;
  readonly graceMs: number;
  readonly tz?: string;
  readonly cwd?: string;
  readonly user?: string;
  readonly logLimit: number;
  /** `on_failure=`, else the `ON_FAILURE=` line in force. */
  readonly onFailure?: Hook;
  /** `on_success=`, else the `ON_SUCCESS=` line in force. */
  readonly onSuccess?: Hook;
  /** The healthchecks ping URL: `ping=`, else `<PING= prefix>/<task name>`. */
  readonly ping?: string;
  /** Attempts after the first for one scheduled second (cron tasks). */
  readonly retries: number;
  /** The first retry's delay; each later one doubles, capped at RETRY_DELAY_CAP_MS. */
  readonly retryDelayMs: number;
  readonly overlap: OverlapPolicy;
  /** The window (whole seconds) a fire is delayed in, by an offset fixed per task and host; 0 = none. */
  readonly jitterS: number;
  /** SPEC §10 `singleton=yes`: one live host of the fleet runs it (needs --etcd; without it, never runs). */
  readonly singleton: boolean;
  /** Set on an HTTP task (its command is an http:// or https:// URL, SPEC §11), and only there. */
  readonly http?: HttpOptions;
}

/** One line of tasks.conf, parsed and compiled. Plain data: the planner and supervisor read it. */
export interface Task {
  /** Identity: `name=` or a name derived from the command (SPEC §1.7). */
  readonly id: string;
  readonly location: SourceLocation;
  /** The schedule as written, e.g. `*\/5 * * * * *` or `@every 90s`. */
  readonly scheduleText: string;
  readonly schedule: Schedule;
  /** The IANA zone this task's schedule is read in: `tz=`, else the `TZ=` line in force, else local. */
  readonly zone: string;
  /** The hosts column as written, split on commas. */
  readonly hosts: readonly string[];
  readonly max: number;
  readonly type: TaskType;
  readonly options: TaskOptions;
  readonly command: string;
  readonly shell: string;
  /** Environment lines in force for this task (not the daemon's own environment). */
  readonly env: Readonly<Record<string, string>>;
}
