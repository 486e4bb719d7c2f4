/**
 * SPEC §6, §12: which jobs of a previous daemon a new one takes over. A saved job is adopted only while
 * it is still the same process (its start time matches: never a recycled pid) and is that run's job
 * (its own environment carries the saved run id: a state file naming some other process can never
 * make the daemon adopt, and later kill, it). After a crash, jobs started after the last state save
 * are found by their run id, which ends with the crashed daemon's instance token.
 */
import { OPTION_DEFAULTS } from '../tasks/options.js';
import type { Task, TaskType } from '../tasks/types.js';
import type { ProcessTable } from './process-table.js';
import type { RunRole, RunTrigger } from './run.js';

/** A run of a previous daemon still alive at start, as its state file recorded it. */
export interface AdoptedJob {
  readonly run: string;
  readonly pid: number;
  readonly processStart: string;
  readonly role: RunRole;
  readonly scheduledAt: number;
  readonly startedAt: number;
  /** Saved since run records carry them; older state files lack them (then: schedule, 1). */
  readonly trigger?: RunTrigger;
  readonly attempt?: number;
}

export interface SavedJob extends AdoptedJob {
  readonly task: string;
  readonly type: TaskType;
  readonly graceMs: number;
  /** Issue 17: handovers the run lived through (absent: none), so a crash after one still says so. */
  readonly handovers?: number;
}

/** What a previous daemon left about its jobs (daemon/state.ts keeps the file format). */
export interface PreviousDaemon {
  /** It stopped cleanly: its job list is exact and no job outlived it unsaved. */
  readonly clean: boolean;
  /** What every run id of that daemon ends with. */
  readonly instance?: string;
  readonly jobs: readonly SavedJob[];
}

export interface Adoptable {
  /** Saved jobs still running as the same processes. */
  readonly surviving: readonly SavedJob[];
  /** Jobs started after the last save, found by run id (crash only). */
  readonly unsaved: readonly SavedJob[];
  /** Saved jobs that ended meanwhile (or were never that run's process). */
  readonly gone: number;
}

/** `tasks` (by identity) tells the type and grace of a job the state file missed. */
export function adoptableJobs(previous: PreviousDaemon, table: ProcessTable, tasks: ReadonlyMap<string, Task>): Adoptable {
  const surviving = previous.jobs.filter(
    (job) =>
      Number.isInteger(job.pid) &&
      job.pid > 1 &&
      typeof job.run === 'string' &&
      table.stat(job.pid)?.startTime === job.processStart &&
      table.environ(job.pid, 'GOTORCH_RUN_ID') === job.run,
  );
  return { surviving, unsaved: unsavedJobs(previous, table, tasks), gone: previous.jobs.length - surviving.length };
}

function unsavedJobs(previous: PreviousDaemon, table: ProcessTable, tasks: ReadonlyMap<string, Task>): SavedJob[] {
  if (previous.clean || typeof previous.instance !== 'string' || !/^[0-9a-f]+$/.test(previous.instance)) return [];
  const saved = new Set(previous.jobs.map((job) => job.run));
  const found: SavedJob[] = [];
  for (const [run, pids] of table.byRun()) {
    if (!run.endsWith(`-${previous.instance}`) || saved.has(run)) continue;
    // The run's process group leader is the job; without it the run ended (what remains escaped it).
    const leader = pids.map((pid) => ({ pid, stat: table.stat(pid) })).find((candidate) => candidate.stat?.group === candidate.pid);
    if (leader?.stat === undefined) continue;
    const taskId = table.environ(leader.pid, 'GOTORCH_TASK');
    const scheduledAt = Number(table.environ(leader.pid, 'GOTORCH_SCHEDULED_AT'));
    if (taskId === undefined || !Number.isInteger(scheduledAt)) continue;
    const task = tasks.get(taskId);
    const type = task?.type ?? 'cron';
    found.push({
      task: taskId,
      type,
      graceMs: task?.options.graceMs ?? OPTION_DEFAULTS.graceMs,
      run,
      pid: leader.pid,
      processStart: leader.stat.startTime,
      role: type === 'daemon' ? 'daemon' : 'job',
      scheduledAt,
      startedAt: table.startedAtMs(leader.stat.startTime),
    });
  }
  return found;
}
