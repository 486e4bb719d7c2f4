import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { RunEvents, SkipReason } from '../events.js';
import type { Task, TaskType } from '../tasks/types.js';
import { DaemonKeeper } from './daemon-keeper.js';
import { retryDelayMs, TaskRetries, type RetryHost } from './retries.js';
import { JobEnvironments } from './job-env.js';
import type { KeeperLink } from './keeper-link.js';
import { Run, type CarriedRun, type HandedOverRun, type RunRecord, type RunRole, type RunTrigger } from './run.js';
import type { AdoptedJob } from './adoption.js';
import type { ChildHandle, Spawner } from './spawner.js';
import { StartQueue } from './start-queue.js';
import type { Backoff } from './backoff.js';
import { heldPlaces, newEntry, type TaskEntry, type WaitingFire } from './task-entry.js';

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
  /**
   * Blocks until a wall-clock instant (ms), briefly: a second planned just before it began starts its
   * runs at the boundary (src/daemon/wake-timer.ts). Without it a run starts when its turn comes.
   */
  readonly holdUntil?: (epochMs: number) => void;
  /** Issue 17: the job keeper the daemon runs under, told each job's pipes at its start and forgotten at its end. */
  readonly keeper?: Pick<KeeperLink, 'hold' | 'drop'>;
}

/** What a fire carries besides its second: SPEC §8 jitter's shift, a run id a singleton's claim named (SPEC §10). */
export interface FireDetails {
  readonly jitterS?: number;
  readonly runId?: string;
}

/** Queued to start; skipped (and said why); or waiting for a slot (SPEC §8 overlap=queue / replace). */
export type FireResult = 'queued' | 'skipped' | 'waiting';

export interface RunningInstance {
  readonly run: string;
  readonly pid: number | null;
  readonly role: RunRole;
  readonly scheduledAt: number;
  readonly startedAt: number;
  /** Being stopped (TERM sent or about to be). */
  readonly stopping: boolean;
  /** Output bytes in the run log so far (issue 17: carried across a handover). */
  readonly bytesLogged: number;
  /** Issue 17: taken over from a previous daemon (after a crash, a handover, or from the state file alone), else null. */
  readonly adopted: 'crash' | 'handover' | 'state file' | null;
}

export interface TaskStatus {
  readonly id: string;
  readonly type: TaskType;
  /** False for a task removed by a reload whose runs are still tracked (SPEC §5). */
  readonly current: boolean;
  readonly running: readonly RunningInstance[];
  readonly queued: number;
  /** SPEC §8: failed attempts waiting for their retry, and the fire waiting for a slot (its second). */
  readonly retries: readonly { readonly attempt: number; readonly at: number }[];
  readonly waiting: number | null;
  readonly lastExit: RunRecord | null;
  /** Daemon tasks only: the delay the next unexpected exit waits, and a pending restart (ms). */
  readonly backoff: { readonly nextDelayMs: number; readonly restartAt: number | null } | null;
}

/** Issue 17: what a task's entry passes to the next daemon at a handover. */
export interface HandedOverTask {
  readonly id: string;
  readonly backoff: Backoff;
  readonly restartAt: number | null;
  readonly retries: readonly { readonly record: RunRecord; readonly at: number }[];
  readonly waiting: WaitingFire | null;
  readonly lastExit: RunRecord | null;
  /** Starts accepted but not yet spawned, in order (a daemon-task start is planned again by the next tick). */
  readonly queued?: readonly QueuedStart[];
}

/** A start as a handover passes it on (the task by identity). */
type QueuedStart = Omit<StartSpec, 'task'> & { readonly task: string };

/** One run to start: what, for which second, why. */
interface StartSpec {
  readonly task: Task;
  readonly scheduledAt: number;
  readonly role: RunRole;
  readonly trigger: RunTrigger;
  readonly attempt: number;
  /** SPEC §8 jitter: the seconds `scheduledAt` was shifted by on this host (0 without jitter). */
  readonly jitterS: number;
  /** Given by the caller (a singleton fire's claim names its run, SPEC §10); else made at the start. */
  readonly runId?: string;
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
  private readonly retryHost: RetryHost;
  private readonly environments: JobEnvironments;

  constructor(private readonly options: SupervisorOptions) {
    this.instance = options.instance ?? randomBytes(4).toString('hex');
    this.environments = new JobEnvironments(options.baseEnv);
    this.retryHost = { clock: options.clock, events: options.events, start: (task, record) => this.startRetry(task, record) };
    this.daemons = new DaemonKeeper({
      clock: options.clock,
      log: options.log,
      events: options.events,
      queueStart: (entry, second) => this.enqueue({ entry, task: entry.task, scheduledAt: second ?? this.nowSeconds(), role: 'daemon', trigger: 'schedule', attempt: 1, jitterS: 0 }),
      isClosing: () => this.closing,
    });
  }

  /**
   * SPEC §1.3: a cron fire. When `max` places are taken (runs, starts not yet spawned, retries
   * waiting), SPEC §8 overlap= decides: skip it (logged), let it wait for a slot, or replace the
   * oldest run.
   */
  fire(task: Task, scheduledAt: number, trigger: RunTrigger = 'schedule', { jitterS = 0, runId }: FireDetails = {}): FireResult {
    const second = Math.floor(scheduledAt); // SPEC §2: GOTORCH_SCHEDULED_AT is an integer
    if (this.closing) return this.skip(task, second, 'shutting down', 0, 0);
    const entry = this.entryFor(task);
    if (task.max === 0 || heldPlaces(entry) < task.max) {
      this.enqueue({ entry, task, scheduledAt: second, role: 'job', trigger, attempt: 1, jitterS, runId });
      return 'queued';
    }
    const [running, starting] = [entry.runs.size, entry.queued + entry.retries.size];
    const overlap = task.options.overlap;
    if (overlap === 'skip' || (overlap === 'queue' && entry.waiting !== null)) return this.skip(task, second, overlap === 'skip' ? 'max' : 'queue full', running, starting);
    if (overlap === 'replace') {
      // The newest fire waits; one already waiting (its run already asked to make room) gives way.
      if (entry.waiting !== null) this.skip(task, entry.waiting.scheduledAt, 'superseded', running, starting);
      else this.makeRoom(entry);
    }
    entry.waiting = { scheduledAt: second, trigger, jitterS, runId };
    this.startWaiting(entry);
    return entry.waiting === null ? 'queued' : 'waiting';
  }

  /** overlap=replace: TERM (then KILL after grace) the oldest run not yet stopping, else drop the oldest retry. */
  private makeRoom(entry: TaskEntry): void {
    const oldest = [...entry.runs].find((run) => !run.stopping); // runs are kept in start order
    if (oldest === undefined) {
      entry.retries.dropOldest(entry.task, 'replaced');
      return;
    }
    this.options.log.info({ task: entry.task.id, run: oldest.id, jobPid: oldest.pid }, 'replacing the oldest run with a newer fire (overlap=replace)');
    oldest.stopping = true;
    oldest.replaced = true;
    void oldest.terminate();
  }

  /** The fire waiting for a slot starts once one is free (marked late by its scheduled second). */
  private startWaiting(entry: TaskEntry): void {
    const waiting = entry.waiting;
    if (waiting === null || this.closing || (entry.task.max > 0 && heldPlaces(entry) >= entry.task.max)) return;
    entry.waiting = null;
    this.enqueue({ entry, task: entry.task, scheduledAt: waiting.scheduledAt, role: 'job', trigger: waiting.trigger, attempt: 1, jitterS: waiting.jitterS, runId: waiting.runId });
  }

  /** Drops the waiting fire (said as skipped) and the waiting retries: the task is removed or the daemon stops. */
  private dropWaiting(entry: TaskEntry, reason: 'task removed' | 'shutting down', quietly = false): void {
    this.dropWaitingFire(entry, reason, quietly);
    entry.retries.dropAll(entry.task, reason, quietly);
  }

  private dropWaitingFire(entry: TaskEntry, reason: 'task removed' | 'shutting down', quietly = false): void {
    if (entry.waiting !== null && !quietly) this.skip(entry.task, entry.waiting.scheduledAt, reason, entry.runs.size, entry.queued);
    entry.waiting = null;
  }

  private skip(task: Task, scheduledAt: number, reason: SkipReason, running: number, starting: number): FireResult {
    this.options.events.publish({ type: 'fire-skipped', task, scheduledAt, reason, running, starting, at: this.options.clock.now() });
    return 'skipped';
  }

  /** A run id for a fire of `scheduledAt` (GOTORCH_RUN_ID): unique, ending with this supervisor's instance. */
  newRunId(scheduledAt: number): string {
    return `${scheduledAt}-${++this.runCounter}-${this.instance}`;
  }

  /** SPEC §4 `run <name>`: one instance now, respecting `max`. */
  runNow(task: Task): FireResult {
    return this.fire(task, this.nowSeconds(), 'manual');
  }

  /** SPEC §1.4: called by the tick every second (`second`: the one it plans); keeps `max` instances while the window is open. */
  keepDaemons(task: Task, windowOpen: boolean, second?: number): void {
    if (this.closing) return;
    this.daemons.keep(this.entryFor(task), windowOpen, second);
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
      // A task kept by the reload keeps its waiting retries; no longer a cron task, it keeps nothing waiting.
      if (task.type !== 'cron') this.dropWaiting(entry, 'task removed');
      else if (task.options.overlap === 'skip') this.dropWaitingFire(entry, 'task removed');
      this.startWaiting(entry); // a raised max frees a slot
    }
    for (const entry of [...this.entries.values()]) {
      if (next.has(entry.task.id) || !entry.current) continue;
      entry.current = false;
      this.daemons.stopInstances(entry, 'task removed');
      this.dropWaiting(entry, 'task removed');
      this.forgetIfIdle(entry);
    }
  }

  /**
   * SPEC §6: tracks a job a previous daemon started. It counts against `max`, shows in `status`, and
   * `stop` or `kill` signal its group. `task` may no longer be in the file: then it is tracked until it ends.
   */
  adopt(task: Task, job: AdoptedJob, current: boolean, taken?: { handle: ChildHandle; carried: CarriedRun; jitterS: number }): Run {
    const entry = this.entryFor(task);
    if (!current && entry.runs.size === 0) entry.current = false;
    const spec = { task, scheduledAt: job.scheduledAt, role: job.role, trigger: job.trigger ?? 'schedule', attempt: job.attempt ?? 1, jitterS: taken?.jitterS ?? 0 };
    return this.startRun(entry, spec, { id: job.run, startedAt: job.startedAt, spawn: () => taken?.handle ?? this.options.spawner.adopt(job), carried: taken?.carried });
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
    entry.retries.dropAll(entry.task, 'killed');
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
        bytesLogged: run.bytes.kept,
        adopted: run.adoptedFrom,
      })),
      queued: entry.queued,
      retries: entry.retries.list(),
      waiting: entry.waiting?.scheduledAt ?? null,
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

  /**
   * Issue 17, a handover: no more starts here; every run stops being read and timed (the jobs run on) and
   * every task's state (daemon back-off, pending restart, waiting retries and fire, last exit) is passed on.
   */
  handOver(): { runs: HandedOverRun[]; tasks: HandedOverTask[] } {
    this.closing = true;
    // Starts accepted but not spawned yet (a burst's tail) are the next daemon's to spawn.
    const queued = new Map<TaskEntry, QueuedStart[]>();
    for (const { entry, task, ...start } of this.queue.clear()) {
      entry.queued--;
      queued.set(entry, [...(queued.get(entry) ?? []), { ...start, task: task.id }]);
    }
    const tasks = [...this.entries.values()].map((entry) => {
      entry.restartTimer?.cancel();
      return { id: entry.task.id, backoff: entry.backoff, restartAt: entry.restartAt, retries: entry.retries.handOver(), waiting: entry.waiting, lastExit: entry.lastExit, queued: queued.get(entry) ?? [] };
    });
    return { runs: [...this.live].map((run) => run.handOver()), tasks };
  }

  /** Issue 17: the task states a previous daemon handed over, for the tasks this daemon runs. */
  restoreTasks(states: readonly HandedOverTask[], tasks: ReadonlyMap<string, Task>): void {
    for (const state of states) {
      const task = tasks.get(state.id);
      if (task === undefined) continue;
      const entry = this.entryFor(task);
      entry.backoff = state.backoff;
      entry.lastExit = state.lastExit;
      if (task.type === 'cron') {
        entry.waiting = state.waiting;
        for (const retry of state.retries) entry.retries.scheduleAt(() => entry.task, retry.record, retry.at);
      }
      if (task.type === 'daemon' && state.restartAt !== null) this.daemons.restartAt(entry, state.restartAt);
      for (const start of state.queued ?? []) if (start.role === 'job') this.enqueue({ ...start, entry, task });
      this.startWaiting(entry);
    }
  }

  /** A start that failed: no more starts, and every run is left running, unwatched, for the next daemon. */
  release(): void {
    this.closing = true;
    this.queue.clear();
    for (const entry of this.entries.values()) this.dropWaiting(entry, 'shutting down', true);
    for (const run of this.live) run.release();
  }

  /** No more starts: queued ones are dropped, daemon instances stopped, restart timers cancelled. */
  private close(): void {
    this.closing = true;
    for (const entry of this.entries.values()) {
      this.daemons.stopInstances(entry, 'shutting down');
      this.dropWaiting(entry, 'shutting down');
    }
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
      entry = newEntry(task, new TaskRetries(this.retryHost));
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

  private startRun(entry: TaskEntry, spec: StartSpec, adopted?: { id: string; startedAt: number; spawn: () => ChildHandle; carried?: CarriedRun }): Run {
    const { task, scheduledAt } = spec;
    const runId = adopted?.id ?? spec.runId ?? this.newRunId(scheduledAt);
    const env = this.environments.of(task, runId, scheduledAt, spec.attempt);
    // No run starts before its second: one planned ahead waits here for the boundary (at most a few ms).
    if (adopted === undefined) this.options.holdUntil?.(scheduledAt * 1000);
    const run = new Run({
      ...spec,
      runId,
      env,
      clock: this.options.clock,
      spawn: adopted?.spawn ?? ((request) => this.options.spawner.spawn(request)),
      events: this.options.events,
      retryAfter: (record) => this.retryAfter(entry, spec.role, record),
      onExit: (exited, record, retryInMs) => this.exited(entry, exited, record, retryInMs),
      startedAt: adopted?.startedAt,
      carried: adopted?.carried,
      afterStarts: (work) => this.queue.whenIdle(work),
    });
    // Issue 17: the keeper holds its own read ends from now on, so the job outlives this daemon with its output.
    const fds = run.outputFds;
    if (adopted === undefined && run.pid !== undefined && fds !== undefined) {
      const { role, trigger, attempt, jitterS, startedAt } = run;
      this.options.keeper?.hold(run.id, run.pid, fds, { task: task.id, role, trigger, attempt, scheduledAt, jitterS, startedAt, graceMs: task.options.graceMs });
    }
    entry.runs.add(run);
    this.live.add(run);
    this.options.onRunsChanged?.();
    return run;
  }

  /** SPEC §8: a failed job attempt of a current task is retried, unless the daemon is stopping. */
  private retryAfter(entry: TaskEntry, role: RunRole, record: RunRecord): number | null {
    if (role !== 'job' || this.closing || !entry.current || entry.task.type !== 'cron') return null;
    return retryDelayMs(entry.task, record);
  }

  private exited(entry: TaskEntry, run: Run, record: RunRecord, retryInMs: number | null): void {
    if (run.pid !== undefined) this.options.keeper?.drop(run.id);
    entry.runs.delete(run);
    this.live.delete(run);
    this.options.onRunsChanged?.();
    entry.lastExit = record;
    // The retry takes the place the failed run held, before a waiting fire can.
    if (retryInMs !== null) entry.retries.schedule(() => entry.task, record, retryInMs);
    if (run.role === 'daemon') this.daemons.exited(entry, run, record);
    this.startWaiting(entry);
    this.forgetIfIdle(entry);
  }

  /** A retry's delay has passed: it starts (its place was kept against `max`). */
  private startRetry(task: Task, record: RunRecord): void {
    const entry = this.entries.get(task.id);
    if (entry === undefined || this.closing) return;
    this.enqueue({ entry, task, scheduledAt: record.scheduledAt, role: 'job', trigger: 'retry', attempt: record.attempt + 1, jitterS: record.jitterS });
  }

  /** A removed task is tracked until its last run exits. */
  private forgetIfIdle(entry: TaskEntry): void {
    if (!entry.current && entry.runs.size === 0 && entry.queued === 0 && entry.retries.size === 0) this.entries.delete(entry.task.id);
  }
}
