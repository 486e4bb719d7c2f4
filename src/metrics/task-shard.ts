/**
 * SPEC §9's per-task series, in shards of at most SHARD_TASKS tasks: each shard is a prom-client
 * registry with its own copy of every per-task family. prom-client renders a family's series in one
 * synchronous call (10,000 tasks take hundreds of ms), so the metrics render one shard's family at a
 * time with the event loop free in between (run-metrics.ts). A task keeps its shard while it exists.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { shellStatus, type RunResult } from '../supervisor/run-result.js';
import type { Task } from '../tasks/types.js';

/** Tasks per shard: one shard's largest family (the histogram) renders in a few ms. */
export const SHARD_TASKS = 25;

/** Cron jobs run for seconds to an hour (supercronic's buckets reach 10 s to 1 h; 1 s and 5 s added for quick jobs). */
export const RUN_DURATION_BUCKETS = [1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

/** What the metrics know of one task that has series. */
export interface TaskState {
  readonly name: string;
  /** The definition in force (a reload that changes a task keeps its series). */
  task: Task;
  readonly shard: TaskShard;
  running: number;
  /** The label values its counters have, to remove them with the task. */
  readonly results: Set<RunResult>;
  readonly reasons: Set<string>;
  /** `hook` and `result` label pairs of its hooks counter. */
  readonly hooks: Map<string, { readonly hook: string; readonly result: string }>;
  /** The next fire, cached until it passes or the definition (or its jitter offset) changes. */
  next?: { readonly of: Task; readonly offset: number; readonly at: number | null };
}

/** Read when a shard is rendered (prom-client's collect). */
export interface ScrapeTimeValues {
  /** Unix seconds of the task's next fire, or null when it has none. */
  nextRunAt(state: TaskState): number | null;
  /** When its last successful run ended (ms), or null. */
  lastSuccessAt(name: string): number | null;
}

export class TaskShard {
  readonly registry = new Registry();
  readonly tasks = new Map<string, TaskState>();
  readonly runs = new Counter({ name: 'gotorch_runs_total', help: 'Finished runs by result (ok, exit N, signal SIG, timeout, killed, spawn error, unknown).', labelNames: ['task', 'result'], registers: [this.registry] });
  readonly skipped = new Counter({ name: 'gotorch_fires_skipped_total', help: 'Fires that did not start, by reason (max, shutting down).', labelNames: ['task', 'reason'], registers: [this.registry] });
  readonly retries = new Counter({ name: 'gotorch_retries_total', help: 'Runs started as a retry of a failed attempt.', labelNames: ['task'], registers: [this.registry] });
  readonly running = new Gauge({ name: 'gotorch_running_instances', help: 'Instances of the task running now.', labelNames: ['task'], registers: [this.registry] });
  readonly lastExit = new Gauge({ name: 'gotorch_last_exit_code', help: 'Exit code of the last finished run: 128+N for signal N, -1 when it could not start.', labelNames: ['task'], registers: [this.registry] });
  readonly restarts = new Counter({ name: 'gotorch_daemon_restarts_total', help: 'Daemon-type instances that exited unexpectedly and were restarted.', labelNames: ['task'], registers: [this.registry] });
  readonly hooks = new Counter({ name: 'gotorch_hooks_total', help: 'Hook and ping outcomes by hook (on_failure, on_success, ping) and result (sent, failed, suppressed, dropped).', labelNames: ['task', 'hook', 'result'], registers: [this.registry] });
  readonly duration = new Histogram({ name: 'gotorch_run_duration_seconds', help: 'Duration of finished runs.', labelNames: ['task'], buckets: RUN_DURATION_BUCKETS, registers: [this.registry] });

  constructor(values: ScrapeTimeValues) {
    this.gaugeAtScrape('gotorch_last_success_timestamp_seconds', 'When the last successful run ended (Unix seconds).', (state) => {
      const at = values.lastSuccessAt(state.name);
      return at === null ? null : at / 1000;
    });
    this.gaugeAtScrape('gotorch_next_run_timestamp_seconds', 'When the task fires next (Unix seconds; for a daemon task, its next window second).', (state) => values.nextRunAt(state));
  }

  /** A gauge set for every task of the shard when the shard is rendered; a task without a value has no series. */
  private gaugeAtScrape(name: string, help: string, valueOf: (state: TaskState) => number | null): void {
    const { tasks } = this;
    new Gauge({
      name,
      help,
      labelNames: ['task'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const state of tasks.values()) {
          const value = valueOf(state);
          if (value !== null) this.set({ task: state.name }, value);
        }
      },
    });
  }

  /** Family names in the order they are rendered. */
  get families(): string[] {
    return this.registry.getMetricsAsArray().map((metric) => metric.name);
  }

  /** A task's first series: its counters at 0, so the first increment shows in rate() and increase(). */
  add(state: TaskState): void {
    const labels = { task: state.name };
    this.tasks.set(state.name, state);
    this.runs.inc({ ...labels, result: 'ok' }, 0);
    state.results.add('ok');
    this.retries.inc(labels, 0);
    this.running.set(labels, 0);
    if (state.task.type === 'daemon') this.restarts.inc(labels, 0);
    const { onFailure, onSuccess, ping } = state.task.options;
    for (const [hook, set] of [['on_failure', onFailure], ['on_success', onSuccess], ['ping', ping]] as const) {
      if (set !== undefined) for (const result of ['sent', 'failed']) this.hookOutcome(state, hook, result, 0);
    }
  }

  /** SPEC §8: one outcome of a hook or ping (`by` 0: the series at 0, so its first outcome shows in increase()). */
  hookOutcome(state: TaskState, hook: string, result: string, by = 1): void {
    state.hooks.set(`${hook} ${result}`, { hook, result });
    this.hooks.inc({ task: state.name, hook, result }, by);
  }

  finished(state: TaskState, result: RunResult, record: { exitCode: number | null; signal: string | null; jobPid: number | null; durationMs: number }): void {
    const labels = { task: state.name };
    state.results.add(result);
    this.runs.inc({ ...labels, result });
    const code = shellStatus(record);
    if (code !== null) this.lastExit.set(labels, code);
    this.duration.observe(labels, record.durationMs / 1000);
  }

  /** A task no longer applicable: every series of it goes. */
  remove(state: TaskState): void {
    const labels = { task: state.name };
    for (const result of state.results) this.runs.remove({ ...labels, result });
    for (const reason of state.reasons) this.skipped.remove({ ...labels, reason });
    for (const pair of state.hooks.values()) this.hooks.remove({ ...labels, ...pair });
    for (const metric of [this.retries, this.running, this.lastExit, this.restarts, this.duration]) metric.remove(labels);
    this.tasks.delete(state.name);
  }
}
