/**
 * The state file (SPEC §6): which jobs are running, so that a daemon started after a crash re-adopts
 * them (and `max` holds across it), and the last second planned, so a restart neither repeats nor
 * (within 60 s) misses a second. Written atomically (temporary file + rename), mode 0600.
 */
import { readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { processStartTime } from '../supervisor/spawner.js';
import type { Run } from '../supervisor/run.js';
import type { AdoptedJob } from '../supervisor/supervisor.js';
import { LOCAL_ZONE } from '../schedule/zone.js';
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
  readonly jobs: readonly SavedJob[];
}

export function readState(file: string): SavedState | undefined {
  try {
    const state = JSON.parse(readFileSync(file, 'utf8')) as SavedState;
    return Array.isArray(state.jobs) && Number.isInteger(state.lastSecond) ? state : undefined;
  } catch {
    return undefined;
  }
}

/** The saved jobs whose pid is still the same process (its start time matches): never a recycled pid. */
export function survivingJobs(state: SavedState): SavedJob[] {
  return state.jobs.filter((job) => Number.isInteger(job.pid) && job.pid > 1 && processStartTime(job.pid) === job.processStart);
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

  constructor(private readonly file: string) {}

  markDirty(): void {
    this.dirty = true;
  }

  /** Saves when something changed since the last save; writes never overlap. */
  saveIfDirty(lastSecond: number, runs: readonly Run[], clean = false): Promise<void> {
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
    const content = JSON.stringify({ pid: process.pid, lastSecond, clean, jobs } satisfies SavedState);
    this.writing = this.writing.then(async () => {
      const temporary = `${this.file}.tmp`;
      await writeFile(temporary, content, { mode: 0o600 });
      await rename(temporary, this.file);
    });
    return this.writing;
  }
}
