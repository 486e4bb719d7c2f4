/**
 * The state file (SPEC §6): which jobs are running, so that a daemon started after a crash re-adopts
 * them (and `max` holds across it), and the last second planned, so a restart neither repeats nor
 * (within 60 s) misses a second. Written atomically (an exclusive temporary file + rename), mode 0600.
 */
import { readOwnFile, writeFileAtomicAsync } from './file-safety.js';
import type { PreviousDaemon, SavedJob } from '../supervisor/adoption.js';
import { procTable } from '../supervisor/process-table.js';
import type { Run } from '../supervisor/run.js';
import { LOCAL_ZONE } from '../schedule/zone.js';
import type { JitterOf } from '../planner/jitter.js';
import type { Task } from '../tasks/types.js';
import { OPTION_DEFAULTS } from '../tasks/options.js';

/** The file's content: the previous daemon's jobs (`clean`, `instance`, `jobs`: supervisor/adoption.ts) and more. */
export interface SavedState extends PreviousDaemon {
  readonly pid: number;
  /** The last second planned: exact after a clean stop; during a run it may lag. */
  readonly lastSecond: number;
  /**
   * Written on a clean stop: each cron task that daemon scheduled, by identity, with its schedule. A
   * restart replays a missed second only for a task with the same identity and schedule (SPEC §3).
   */
  readonly schedules?: Readonly<Record<string, string>>;
}

/** What makes two definitions of a task fire at the same seconds: its schedule, its zone and its jitter offset (SPEC §8). */
export function scheduleKey(task: Task, jitterOffset: number): string {
  // Without jitter the key is what state files had before jitter existed.
  return jitterOffset === 0 ? `${task.scheduleText} ${task.zone}` : `${task.scheduleText} ${task.zone} +${jitterOffset}s`;
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
    options: { ...OPTION_DEFAULTS, graceMs: job.graceMs, logLimit: 0 },
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
  /** The jobs of the last write: a save that would only move `lastSecond` is skipped (issue 16). */
  private savedJobs: string | undefined;

  constructor(
    private readonly file: string,
    /** The supervisor's run id suffix, saved so that a daemon started after a crash finds unsaved jobs. */
    private readonly instance: string,
  ) {}

  markDirty(): void {
    this.dirty = true;
  }

  /** Saves when something changed since the last save; writes never overlap. */
  /** Resolves when the writes begun so far are done (a handover's old daemon writes no more after it). */
  written(): Promise<void> {
    return this.writing.catch(() => undefined);
  }

  saveIfDirty(lastSecond: number, runs: readonly Run[]): Promise<void> {
    return this.save(lastSecond, runs, false);
  }

  /** The last save of a daemon that stopped cleanly: no jobs, the exact last second, the schedules. */
  saveClean(lastSecond: number, tasks: readonly Task[], jitterOf: JitterOf): Promise<void> {
    const schedules: Record<string, string> = {};
    for (const task of tasks) if (task.type === 'cron') schedules[task.id] = scheduleKey(task, jitterOf(task));
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
        processStart = procTable.stat(run.pid)?.startTime;
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
        trigger: run.trigger,
        attempt: run.attempt,
        ...(run.carried?.handovers ? { handovers: run.carried.handovers } : {}),
      });
    }
    // Only a clean stop's lastSecond is read back (previous-daemon.ts: the replay), so while the daemon
    // runs a save whose jobs are those on disk is skipped: short jobs (started and ended between two
    // ticks) cost no write at all.
    const jobsText = JSON.stringify(jobs);
    if (!clean && jobsText === this.savedJobs) return this.writing;
    this.savedJobs = clean ? undefined : jobsText;
    const content = JSON.stringify({ pid: process.pid, lastSecond, clean, instance: this.instance, jobs, schedules } satisfies SavedState);
    // A failed write (a full disk) is reported to this save's caller; the next save tries again.
    this.writing = this.writing
      .catch(() => undefined)
      .then(() => writeFileAtomicAsync(this.file, content))
      .catch((error: unknown) => {
        this.savedJobs = undefined;
        throw error;
      });
    return this.writing;
  }
}
