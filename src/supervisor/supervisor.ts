import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { RunEvents, SkipReason } from '../events.js';
import type { Task, TaskType } from '../tasks/types.js';
import { DaemonKeeper } from './daemon-keeper.js';
import { jobEnv, Run, type RunRecord, type RunRole, type RunTrigger } from './run.js';
import type { AdoptedJob } from './adoption.js';
import type { ChildHandle, Spawner } from './spawner.js';
import { StartQueue } from './start-queue.js';
import { newEntry, type TaskEntry } from './task-entry.js';

export interface SupervisorOptions {
  readonly clock: Clock;
  readonly spawner: Spawner;
  /** What the supervisor does (kills, stops, dropped starts), for the daemon's log. */
  readonly log: Logger;
  /** What happened to fires and runs (src/events.ts): the run log and the daemon's log are subscribers. */
  readonly events: RunEvents;
  /** The daemon's own environment, the base of every job's (SPEC §2). */
  readonly baseEnv: Readonly<Record<string, string>>;
  /** Called when a run starts or ends (the daemon saves its state file then). */
  readonly onRunsChanged?: () => void;
  /** Hex every run id of this supervisor ends with (default: random): finds its jobs in /proc after a crash. */
  readonly instance?: string;
}

export type FireResult = 'queued' | 'skipped';

export interface RunningInstance {
  readonly run: string;
  readonly pid: number | null;
  readonly role: RunRole;
  readonly scheduledAt: number;
  readonly startedAt: number;
  /** Being stopped (TERM sent or about to be). */
  readonly stopping: boolean;
}

export interface TaskStatus {
  readonly id: string;
  readonly type: TaskType;
  /** False for a task removed by a reload whose runs are still tracked (SPEC §5). */
  readonly current: boolean;
  readonly running: readonly RunningInstance[];
  readonly queued: number;
  readonly lastExit: RunRecord | null;
  /** Daemon tasks only: the delay the next unexpected exit waits, and a pending restart (ms). */
  readonly backoff: { readonly nextDelayMs: number; readonly restartAt: number | null } | null;
}

/** One run to start: what, for which second, why. */
interface StartSpec {
  readonly task: Task;
  readonly scheduledAt: number;
  readonly role: RunRole;
  readonly trigger: RunTrigger;
  readonly attempt: number;
}

interface PendingStart extends StartSpec {
  readonly entry: TaskEntry;
}

/** Starts, tracks, times out and stops jobs; keeps daemon tasks alive (SPEC §1.3, §1.4, §2, §5). */
export class Supervisor {
  private readonly entries = new Map<string, TaskEntry>();
  private readonly live = new Set<Run>();
  private readonly queue = new StartQueue<PendingStart>((start) => this.spawn(start));
  private readonly daemons: DaemonKeeper;
  private runCounter = 0;
  private closing = false;
  private readonly instance: string;

  constructor(private readonly options: SupervisorOptions) {
    this.instance = options.instance ?? randomBytes(4).toString('hex');
    this.daemons = new DaemonKeeper({
      clock: options.clock,
      log: options.log,
      events: options.events,
      queueStart: (entry) => this.enqueue({ entry, task: entry.task, scheduledAt: this.nowSeconds(), role: 'daemon', trigger: 'schedule', attempt: 1 }),
      isClosing: () => this.closing,
    });
  }

  /** SPEC §1.3: a cron fire; skipped (and logged) when `max` instances already run or wait. */
  fire(task: Task, scheduledAt: number, trigger: RunTrigger = 'schedule'): FireResult {
    const second = Math.floor(scheduledAt); // SPEC §2: GOTORCH_SCHEDULED_AT is an integer
    if (this.closing) return this.skip(task, second, 'shutting down', 0, 0);
    const entry = this.entryFor(task);
    const running = entry.runs.size;
    if (task.max > 0 && running + entry.queued >= task.max) return this.skip(task, second, 'max', running, entry.queued);
    this.enqueue({ entry, task, scheduledAt: second, role: 'job', trigger, attempt: 1 });
    return 'queued';
  }

  private skip(task: Task, scheduledAt: number, reason: SkipReason, running: number, starting: number): FireResult {
    this.options.events.publish({ type: 'fire-skipped', task, scheduledAt, reason, running, starting, at: this.options.clock.now() });
    return 'skipped';
  }

  /** SPEC §4 `run <name>`: one instance now, respecting `max`. */
  runNow(task: Task): FireResult {
    return this.fire(task, this.nowSeconds(), 'manual');
  }

  /** SPEC §1.4: called by the tick every second; keeps `max` instances while the window is open. */
  keepDaemons(task: Task, windowOpen: boolean): void {
    if (this.closing) return;
    this.daemons.keep(this.entryFor(task), windowOpen);
  }

  /** SPEC §5: a reload's task list, diffed by identity. */
  setTasks(tasks: readonly Task[]): void {
    const next = new Set<string>();
    // Entries exist only for tasks that ran (they are made at the first start): a reload of a large
    // file touches the few that did, not every line.
    for (const task of tasks) {
      next.add(task.id);
      const entry = this.entries.get(task.id);
      if (entry === undefined) continue;
      const previous = entry.task;
      entry.task = task;
      entry.current = true;
      this.daemons.redefine(entry, previous);
    }
    for (const entry of [...this.entries.values()]) {
      if (next.has(entry.task.id) || !entry.current) continue;
      entry.current = false;
      this.daemons.stopInstances(entry, 'task removed');
      this.forgetIfIdle(entry);
    }
  }

  /**
   * SPEC §6: tracks a job a previous daemon started. It counts against `max`, shows in `status`, and
   * `stop` or `kill` signal its group. `task` may no longer be in the file: then it is tracked until it ends.
   */
  adopt(task: Task, job: AdoptedJob, current: boolean): void {
    const entry = this.entryFor(task);
    if (!current && entry.runs.size === 0) entry.current = false;
    const spec = { task, scheduledAt: job.scheduledAt, role: job.role, trigger: job.trigger ?? 'schedule', attempt: job.attempt ?? 1 };
    this.startRun(entry, spec, { id: job.run, startedAt: job.startedAt, spawn: () => this.options.spawner.adopt(job) });
  }

  /** Every run alive now, adopted ones included. */
  liveRuns(): readonly Run[] {
    return [...this.live];
  }

  /** SPEC §4 `kill <name>`: TERM, then KILL after grace, every running instance; resolves once all exited. */
  async killTask(id: string): Promise<number> {
    const entry = this.entries.get(id);
    if (entry === undefined) return 0;
    const runs = [...entry.runs];
    this.options.log.info({ task: id, pids: runs.map((run) => run.pid) }, 'kill requested');
    await Promise.all(runs.map((run) => run.terminate()));
    return runs.length;
  }

  /** For `status`: per task the running instances, last exit and back-off state. */
  snapshot(): TaskStatus[] {
    return [...this.entries.values()].map((entry) => ({
      id: entry.task.id,
      type: entry.task.type,
      current: entry.current,
      running: [...entry.runs].map((run) => ({
        run: run.id,
        pid: run.pid ?? null,
        role: run.role,
        scheduledAt: run.scheduledAt,
        startedAt: run.startedAt,
        stopping: run.stopping,
      })),
      queued: entry.queued,
      lastExit: entry.lastExit,
      backoff:
        entry.task.type === 'daemon' ? { nextDelayMs: entry.backoff.nextDelayMs, restartAt: entry.restartAt } : null,
    }));
  }

  /** SPEC §4 `stop`: no more starts, TERM every process group, KILL after each task's grace. */
  async stopAll(): Promise<void> {
    this.close();
    const runs = [...this.live];
    for (const run of runs) run.stopping = true;
    await Promise.all(runs.map((run) => run.terminate()));
  }

  /** SPEC §4 `quit`: no more starts, stop daemon instances, let running cron jobs finish. */
  async drain(): Promise<void> {
    this.close();
    await Promise.all([...this.live].map((run) => run.finished));
  }

  /** A start that failed: no more starts, and every run is left running, unwatched, for the next daemon. */
  release(): void {
    this.closing = true;
    this.queue.clear();
    for (const run of this.live) run.release();
  }

  /** No more starts: queued ones are dropped, daemon instances stopped, restart timers cancelled. */
  private close(): void {
    this.closing = true;
    for (const entry of this.entries.values()) this.daemons.stopInstances(entry, 'shutting down');
    const dropped = this.queue.clear();
    for (const start of dropped) start.entry.queued--;
    if (dropped.length > 0) {
      const tasks = [...new Set(dropped.map((start) => start.task.id))];
      this.options.log.warn({ tasks, count: dropped.length }, 'shutting down: queued starts dropped');
    }
  }

  private nowSeconds(): number {
    return Math.floor(this.options.clock.now() / 1000);
  }

  private entryFor(task: Task): TaskEntry {
    let entry = this.entries.get(task.id);
    if (entry === undefined) {
      entry = newEntry(task);
      entry.current = true;
      this.entries.set(task.id, entry);
    }
    return entry;
  }

  private enqueue(start: PendingStart): void {
    start.entry.queued++;
    this.queue.push(start);
  }

  private spawn({ entry, ...spec }: PendingStart): void {
    entry.queued--;
    if (spec.role === 'job') {
      this.startRun(entry, spec);
      return;
    }
    // A daemon start spawns the definition current now, if the keeper still wants it.
    if (this.daemons.wanted(entry)) this.startRun(entry, { ...spec, task: entry.task });
    this.daemons.startSettled(entry);
    this.forgetIfIdle(entry);
  }

  private startRun(entry: TaskEntry, spec: StartSpec, adopted?: { id: string; startedAt: number; spawn: () => ChildHandle }): void {
    const { task, scheduledAt } = spec;
    const runId = adopted?.id ?? `${scheduledAt}-${++this.runCounter}-${this.instance}`;
    const run = new Run({
      ...spec,
      runId,
      env: jobEnv(this.options.baseEnv, task, runId, scheduledAt),
      clock: this.options.clock,
      spawn: adopted?.spawn ?? ((request) => this.options.spawner.spawn(request)),
      events: this.options.events,
      onExit: (exited, record) => this.exited(entry, exited, record),
      startedAt: adopted?.startedAt,
    });
    entry.runs.add(run);
    this.live.add(run);
    this.options.onRunsChanged?.();
  }

  private exited(entry: TaskEntry, run: Run, record: RunRecord): void {
    entry.runs.delete(run);
    this.live.delete(run);
    this.options.onRunsChanged?.();
    entry.lastExit = record;
    if (run.role === 'daemon') this.daemons.exited(entry, run, record);
    this.forgetIfIdle(entry);
  }

  /** A removed task is tracked until its last run exits. */
  private forgetIfIdle(entry: TaskEntry): void {
    if (!entry.current && entry.runs.size === 0 && entry.queued === 0) this.entries.delete(entry.task.id);
  }
}
