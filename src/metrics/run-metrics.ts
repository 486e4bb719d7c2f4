/**
 * SPEC §9 `/metrics`: a subscriber of the run events (STYLE: events, not calls; SPEC §8's hook
 * outcomes among them) plus what it reads of the daemon (tasks loaded and applicable, the task file's
 * digest, last successes). Series are labelled by task name only, never the command, and exist for
 * tasks that have something to say (a run, a skip, a hook) since the daemon started. They follow the
 * applicable tasks: a task a reload keeps keeps its series, a task it removes loses them (and its runs
 * still finishing are not counted).
 *
 * A scrape must not delay a tick by more than 20 ms (SPEC §9), and prom-client renders a family in one
 * synchronous call: the per-task families are rendered shard by shard (task-shard.ts), yielding to the
 * event loop whenever RENDER_SLICE_MS have passed.
 */
import { performance } from 'node:perf_hooks';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Clock } from '../clock.js';
import type { AppliedSchedule } from '../daemon/reloads.js';
import type { TaskResults } from '../daemon/task-results.js';
import type { RunEvents } from '../events.js';
import { nextTaskFires } from '../planner/jitter.js';
import { runResult } from '../supervisor/run-result.js';
import type { Task } from '../tasks/types.js';
import { SHARD_TASKS, TaskShard, type TaskState } from './task-shard.js';

/** Longest the render holds the event loop before the tick (and everything else) gets a turn. */
export const RENDER_SLICE_MS = 2;

/** Ticks wake within a few ms of the second; 20 ms is SPEC §9's bound for a scrape's delay. */
export const TICK_LATENESS_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1];
export const START_LATENESS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60];

/** What the metrics read of the daemon, never change. */
export interface DaemonView {
  /** The schedule in force: reloads and host identity changes swap it. */
  readonly schedule: () => Pick<AppliedSchedule, 'loaded' | 'applicable' | 'jitterOf'>;
  readonly results: Pick<TaskResults, 'get'>;
  readonly clock: Pick<Clock, 'now'>;
  /** SPEC §10 with `--etcd`: is the host lease alive (gotorch_fleet_up); absent without a fleet. */
  readonly fleetUp?: () => boolean;
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A family's sample lines without its `# HELP` and `# TYPE` lines (the first shard states them). */
function samplesOf(family: string): string {
  const second = family.indexOf('\n', family.indexOf('\n') + 1);
  return second < 0 ? '' : family.slice(second + 1);
}

/** The daemon-wide families and prom-client's process metrics, in one registry. */
function daemonFamilies(schedule: DaemonView['schedule'], fleetUp: DaemonView['fleetUp']) {
  const registry = new Registry();
  // prom-client samples the event loop every 10 ms by default: 100 wakeups a second cost an idle daemon 0.4 % of a core.
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 100 });
  // Gauges prom-client names like counters, which `promtool check metrics` rejects; the gauges by type beside them stay.
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) registry.removeSingleMetric(name);
  const tickLateness = new Histogram({ name: 'gotorch_tick_lateness_seconds', help: 'How late the scheduler woke after each second began.', buckets: TICK_LATENESS_BUCKETS, registers: [registry] });
  const startLateness = new Histogram({ name: 'gotorch_start_lateness_seconds', help: 'Spawn time of scheduled jobs minus their scheduled second (catch-ups included).', buckets: START_LATENESS_BUCKETS, registers: [registry] });
  const reloads = new Counter({ name: 'gotorch_reloads_total', help: 'Task file reloads by result (applied, rejected).', labelNames: ['result'], registers: [registry] });
  for (const result of ['applied', 'rejected']) reloads.inc({ result }, 0);
  new Gauge({ name: 'gotorch_tasks_loaded', help: 'Tasks in the task file and its includes.', registers: [registry], collect() { this.set(schedule().loaded.tasks.length); } });
  new Gauge({ name: 'gotorch_tasks_applicable', help: 'Tasks that apply to this host.', registers: [registry], collect() { this.set(schedule().applicable.length); } });
  new Gauge({
    name: 'gotorch_task_file_info',
    help: 'The digest of the task file in force (and its includes), as a label: a fleet whose hosts differ shows more than one.',
    labelNames: ['digest'],
    registers: [registry],
    collect() {
      this.reset();
      const { digest } = schedule().loaded;
      if (digest !== '') this.set({ digest }, 1);
    },
  });
  if (fleetUp) new Gauge({ name: 'gotorch_fleet_up', help: "1 while this host holds a live lease in the fleet's etcd (SPEC §10), else 0.", registers: [registry], collect() { this.set(fleetUp() ? 1 : 0); } });
  return { registry, tickLateness, startLateness, reloads };
}

export class RunMetrics {
  private readonly registry: Registry;
  private readonly shards: TaskShard[] = [];
  private readonly states = new Map<string, TaskState>();
  /** The applicable list the series were last matched against, and its tasks by name. */
  private applicable: readonly Task[] = [];
  private byName = new Map<string, Task>();
  private readonly tickLateness: Histogram;
  private rendering: Promise<Buffer> | undefined;

  constructor(
    private readonly view: DaemonView,
    events: RunEvents,
  ) {
    const { registry, tickLateness, startLateness, reloads } = daemonFamilies(view.schedule, view.fleetUp);
    this.registry = registry;
    this.tickLateness = tickLateness;
    this.shards.push(this.newShard());

    events.on('run-started', 'metrics', ({ task, role, trigger, adopted, startedAt, scheduledAt }) => {
      // A daemon instance or `gotorch run` is "scheduled" at the second it was asked for: no lateness to speak of.
      if (!adopted && role === 'job' && (trigger === 'schedule' || trigger === 'catch-up')) startLateness.observe((startedAt - scheduledAt * 1000) / 1000);
      const state = this.stateOf(task.id);
      if (state === undefined) return;
      state.shard.running.set({ task: state.name }, ++state.running);
      if (trigger === 'retry') state.shard.retries.inc({ task: state.name });
    });
    events.on('run-finished', 'metrics', ({ task, record }) => {
      const state = this.stateOf(task.id);
      if (state === undefined) return;
      // Not below 0: the run may have started before the task's series (re)appeared.
      state.running = Math.max(0, state.running - 1);
      state.shard.running.set({ task: state.name }, state.running);
      state.shard.finished(state, runResult(record), record);
    });
    events.on('fire-skipped', 'metrics', ({ task, reason }) => {
      const state = this.stateOf(task.id);
      if (state === undefined) return;
      state.reasons.add(reason);
      state.shard.skipped.inc({ task: state.name, reason });
    });
    events.on('daemon-exited', 'metrics', ({ task, restartInMs }) => {
      const state = this.stateOf(task.id);
      if (state !== undefined && restartInMs !== null) state.shard.restarts.inc({ task: state.name });
    });
    events.on('hook-outcome', 'metrics', ({ task, hook, result }) => {
      const state = this.stateOf(task.id);
      if (state !== undefined) state.shard.hookOutcome(state, hook, result);
    });
    events.on('reload-applied', 'metrics', () => {
      reloads.inc({ result: 'applied' });
      this.follow();
    });
    events.on('reload-rejected', 'metrics', () => reloads.inc({ result: 'rejected' }));
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The daemon's tick-lateness hook: every tick, as it happens. */
  observeTick(lateMs: number): void {
    this.tickLateness.observe(lateMs / 1000);
  }

  /** The Prometheus text; scrapes that overlap share one rendering. */
  render(): Promise<Buffer> {
    this.rendering ??= this.renderInSlices().finally(() => (this.rendering = undefined));
    return this.rendering;
  }

  /**
   * One family of one registry at a time, each turned into bytes at once: no step handles more than a
   * shard's text (a 10 MB string would take milliseconds to flatten and encode in one go).
   */
  private async renderInSlices(): Promise<Buffer> {
    this.follow();
    const chunks: Buffer[] = [];
    let sliceStart = performance.now();
    const add = async (registry: Registry, family: string, withHeader: boolean): Promise<void> => {
      if (performance.now() - sliceStart >= RENDER_SLICE_MS) {
        await turn();
        sliceStart = performance.now();
      }
      const text = await registry.getSingleMetricAsString(family);
      const lines = withHeader ? text : samplesOf(text);
      if (lines !== '') chunks.push(Buffer.from(`${lines}\n`));
    };
    for (const metric of this.registry.getMetricsAsArray()) await add(this.registry, metric.name, true);
    for (const family of this.shards[0].families) {
      for (const [index, shard] of this.shards.entries()) await add(shard.registry, family, index === 0);
    }
    return Buffer.concat(chunks);
  }

  /** The task's series, made at its first event; undefined for a task not (or no longer) applicable. */
  private stateOf(name: string): TaskState | undefined {
    this.follow();
    const task = this.byName.get(name);
    if (task === undefined) return undefined;
    let state = this.states.get(name);
    if (state === undefined) {
      const shard = this.shards.find((candidate) => candidate.tasks.size < SHARD_TASKS) ?? this.shards[this.shards.push(this.newShard()) - 1];
      state = { name, task, shard, running: 0, results: new Set(), reasons: new Set(), hooks: new Map() };
      this.states.set(name, state);
      shard.add(state);
    }
    return state;
  }

  /** Matches the series against the applicable tasks once they changed (a reload, a new host identity). */
  private follow(): void {
    const { applicable } = this.view.schedule();
    if (applicable === this.applicable) return;
    this.applicable = applicable;
    this.byName = new Map(applicable.map((task) => [task.id, task]));
    for (const [name, state] of this.states) {
      const task = this.byName.get(name);
      if (task !== undefined) state.task = task;
      else {
        state.shard.remove(state);
        this.states.delete(name);
      }
    }
  }

  private newShard(): TaskShard {
    return new TaskShard({
      lastSuccessAt: (name) => this.view.results.get(name)?.lastSuccessAt ?? null,
      nextRunAt: (state) => {
        const now = Math.floor(this.view.clock.now() / 1000);
        // SPEC §8: the shifted fire; a new host name (a new identity) moves the offset of the same definition.
        const offset = this.view.schedule().jitterOf(state.task);
        // A next fire stays the next until it passes: computed again only then, or for a changed definition or offset.
        if (state.next === undefined || state.next.of !== state.task || state.next.offset !== offset || (state.next.at !== null && state.next.at <= now)) {
          state.next = { of: state.task, offset, at: nextTaskFires(state.task, offset, now, 1)[0] ?? null };
        }
        return state.next.at;
      },
    });
  }
}
