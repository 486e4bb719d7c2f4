/**
 * The state file (SPEC §6): which jobs are running, so that a daemon started after a crash re-adopts
 * them (and `max` holds across it), and the last second planned, so a restart neither repeats nor
 * (within 60 s) misses a second. Written atomically (an exclusive temporary file + rename), mode 0600.
 */
import { readFileSync } from 'node:fs';
import { readOwnFile, writeFileAtomicAsync } from './file-safety.js';
import { environValue, processesByRun, processStartTime, processStat } from '../supervisor/spawner.js';
import type { Run } from '../supervisor/run.js';
import type { AdoptedJob } from '../supervisor/supervisor.js';
import { LOCAL_ZONE } from '../schedule/zone.js';
import { OPTION_DEFAULTS } from '../tasks/options.js';
import type { Task, TaskType } from '../tasks/types.js';

export interface SavedJob extends AdoptedJob {
  readonly task: string;
  readonly type: TaskType;
  readonly graceMs: number;
}

export interface SavedState {
  readonly pid: number;
  readonly lastSecond: number;
  /** Written by a daemon that stopped cleanly: `lastSecond` is exact then (during a run it may lag). */
  readonly clean: boolean;
  /** What every run id of that daemon ends with; saved before its first start (older files lack it). */
  readonly instance?: string;
  readonly jobs: readonly SavedJob[];
  /**
   * Written on a clean stop: each cron task that daemon scheduled, by identity, with its schedule. A
   * restart replays a missed second only for a task with the same identity and schedule (SPEC §3).
   */
  readonly schedules?: Readonly<Record<string, string>>;
}

/** What makes two definitions of a task fire at the same seconds: its schedule and its zone. */
export function scheduleKey(task: Task): string {
  return `${task.scheduleText} ${task.zone}`;
}

/** The state file, if it is a regular file of this user (never read through a symlink). */
export function readState(file: string): SavedState | undefined {
  const content = readOwnFile(file);
  if (content === undefined) return undefined;
  try {
    const state = JSON.parse(content) as SavedState;
    return Array.isArray(state.jobs) && Number.isInteger(state.lastSecond) ? state : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The saved jobs whose pid is still the same process (its start time matches: never a recycled pid)
 * and is that run's job: its own environment carries the run id saved for it (SPEC §12), so a state
 * file naming some other process can never make the daemon adopt, and later kill, it.
 */
export function survivingJobs(state: SavedState): SavedJob[] {
  return state.jobs.filter(
    (job) =>
      Number.isInteger(job.pid) &&
      job.pid > 1 &&
      typeof job.run === 'string' &&
      processStartTime(job.pid) === job.processStart &&
      environValue(processEnviron(job.pid), 'GOTORCH_RUN_ID') === job.run,
  );
}

/** A live process's environment as it was started (NUL-separated); empty when unreadable. */
function processEnviron(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'latin1');
  } catch {
    return '';
  }
}

/**
 * Jobs of a crashed daemon missing from its state file (started after its last save): found in /proc by
 * their run id, which ends with that daemon's instance; `tasks` tells their type and grace.
 */
export function unsavedJobs(state: SavedState, tasks: ReadonlyMap<string, Task>): SavedJob[] {
  if (state.clean || typeof state.instance !== 'string' || !/^[0-9a-f]+$/.test(state.instance)) return [];
  const saved = new Set(state.jobs.map((job) => job.run));
  const found: SavedJob[] = [];
  for (const [run, pids] of processesByRun()) {
    if (!run.endsWith(`-${state.instance}`) || saved.has(run)) continue;
    // The run's process group leader is the job; without it the run ended (what remains escaped it).
    const leader = pids.map((pid) => ({ pid, stat: processStat(pid) })).find((candidate) => candidate.stat?.group === candidate.pid);
    const env = leader === undefined ? undefined : jobVariables(leader.pid);
    if (leader?.stat === undefined || env === undefined) continue;
    const task = tasks.get(env.task);
    const type = task?.type ?? 'cron';
    found.push({
      task: env.task,
      type,
      graceMs: task?.options.graceMs ?? OPTION_DEFAULTS.graceMs,
      run,
      pid: leader.pid,
      processStart: leader.stat.startTime,
      role: type === 'daemon' ? 'daemon' : 'job',
      scheduledAt: env.scheduledAt,
      startedAt: startedAtMs(leader.stat.startTime),
    });
  }
  return found;
}

/** GOTORCH_TASK and GOTORCH_SCHEDULED_AT as the job was started with them (SPEC §2). */
function jobVariables(pid: number): { task: string; scheduledAt: number } | undefined {
  const environ = processEnviron(pid);
  const task = environValue(environ, 'GOTORCH_TASK');
  const scheduledAt = Number(environValue(environ, 'GOTORCH_SCHEDULED_AT'));
  return task === undefined || !Number.isInteger(scheduledAt) ? undefined : { task, scheduledAt };
}

/** A start time in clock ticks since boot (USER_HZ, 100 on Linux) as ms since the epoch, from /proc/uptime. */
function startedAtMs(startTicks: string): number {
  try {
    const uptimeSeconds = Number.parseFloat(readFileSync('/proc/uptime', 'utf8'));
    return Math.round(Date.now() - uptimeSeconds * 1000 + Number(startTicks) * 10);
  } catch {
    return Date.now();
  }
}

/** A stand-in for a task no longer in the file whose adopted job must still be tracked and stoppable. */
export function removedTaskStandIn(job: SavedJob): Task {
  return {
    id: job.task,
    location: { file: '(previous daemon)', line: 0, column: 0 },
    scheduleText: '',
    schedule: { kind: 'reboot' },
    zone: LOCAL_ZONE,
    hosts: ['*'],
    max: 0,
    type: job.type,
    options: { graceMs: job.graceMs, logLimit: 0 },
    command: '',
    shell: '/bin/sh',
    env: {},
  };
}

export class StateFile {
  /** Start times by pid, read once per run. */
  private readonly starts = new WeakMap<Run, string>();
  private writing: Promise<void> = Promise.resolve();
  private dirty = true;

  constructor(
    private readonly file: string,
    /** The supervisor's run id suffix, saved so that a daemon started after a crash finds unsaved jobs. */
    private readonly instance: string,
  ) {}

  markDirty(): void {
    this.dirty = true;
  }

  /** Saves when something changed since the last save; writes never overlap. */
  saveIfDirty(lastSecond: number, runs: readonly Run[]): Promise<void> {
    return this.save(lastSecond, runs, false);
  }

  /** The last save of a daemon that stopped cleanly: no jobs, the exact last second, the schedules. */
  saveClean(lastSecond: number, tasks: readonly Task[]): Promise<void> {
    const schedules: Record<string, string> = {};
    for (const task of tasks) if (task.type === 'cron') schedules[task.id] = scheduleKey(task);
    return this.save(lastSecond, [], true, schedules);
  }

  private save(lastSecond: number, runs: readonly Run[], clean: boolean, schedules?: Record<string, string>): Promise<void> {
    if (!this.dirty && !clean) return this.writing;
    this.dirty = false;
    const jobs: SavedJob[] = [];
    for (const run of runs) {
      if (run.pid === undefined) continue;
      let processStart = this.starts.get(run);
      if (processStart === undefined) {
        processStart = processStartTime(run.pid);
        if (processStart === undefined) continue;
        this.starts.set(run, processStart);
      }
      jobs.push({
        task: run.task.id,
        type: run.task.type,
        graceMs: run.task.options.graceMs,
        run: run.id,
        pid: run.pid,
        processStart,
        role: run.role,
        scheduledAt: run.scheduledAt,
        startedAt: run.startedAt,
      });
    }
    const content = JSON.stringify({ pid: process.pid, lastSecond, clean, instance: this.instance, jobs, schedules } satisfies SavedState);
    this.writing = this.writing.then(() => writeFileAtomicAsync(this.file, content));
    return this.writing;
  }
}
