/**
 * What a daemon takes over from the one before it (SPEC §3, §6): the second to resume planning from,
 * the jobs still running, and which tasks a replay after a clean stop may fire.
 */
import { openSync } from 'node:fs';
import type { Logger } from 'pino';
import type { JitterOf } from '../planner/jitter.js';
import { LATE_WAKE_LIMIT } from '../planner/planner.js';
import { adoptableJobs } from '../supervisor/adoption.js';
import { heldHandle } from '../supervisor/held-handle.js';
import type { HeldRun, HeldRunFacts, KeeperLink } from '../supervisor/keeper-link.js';
import type { CarriedRun, Run } from '../supervisor/run.js';
import { signalName } from '../supervisor/native-spawner.js';
import { procTable } from '../supervisor/process-table.js';
import type { Supervisor } from '../supervisor/supervisor.js';
import type { Task } from '../tasks/types.js';
import { removedTaskStandIn, scheduleKey, type SavedState } from './state.js';

/** A clean stop recorded the exact last second: a restart within the late-wake limit resumes from it. */
export function resumeSecond(saved: SavedState | undefined, now: number): number {
  return saved?.clean && now - saved.lastSecond >= 0 && now - saved.lastSecond <= LATE_WAKE_LIMIT ? saved.lastSecond : now;
}

/**
 * A replay fires only what the stopped daemon would have run: the same identity with the same schedule
 * and jitter offset, so the replayed seconds are the shifted seconds it would have fired at.
 */
export function replayFilter(saved: SavedState, jitterOf: JitterOf): (task: Task) => boolean {
  const schedules = saved.schedules ?? {};
  return (task) => schedules[task.id] === scheduleKey(task, jitterOf(task));
}

/** SPEC §6: jobs of the previous daemon that are still the same processes are tracked again (those the keeper held are already). */
export function adoptPrevious(saved: SavedState, applicable: readonly Task[], supervisor: Supervisor, log: Logger, taken: ReadonlySet<string> = new Set()): void {
  const byId = new Map(applicable.map((task) => [task.id, task]));
  const adoptable = adoptableJobs({ ...saved, jobs: saved.jobs.filter((job) => !taken.has(job.run)) }, procTable, byId);
  const [surviving, unsaved] = [adoptable.surviving, adoptable.unsaved.filter((job) => !taken.has(job.run))];
  const { gone } = adoptable;
  if (unsaved.length > 0) log.info({ jobs: unsaved.length }, 'found jobs the previous daemon started after its last state save');
  for (const job of [...surviving, ...unsaved]) {
    const task = byId.get(job.task);
    supervisor.adopt(task ?? removedTaskStandIn(job), job, task !== undefined);
  }
  if (gone > 0) log.info({ gone }, 'jobs of the previous daemon that ended meanwhile');
}

/**
 * Issue 17, after a crash: every job the keeper holds is this daemon's now, with what the keeper spooled
 * while no daemon ran, the rest of its output, and its real exit status. Returns the run ids taken.
 */
export async function adoptHeld(keeper: KeeperLink, fds: ReadonlyMap<number, number>, applicable: readonly Task[], supervisor: Supervisor, log: Logger, saved?: SavedState): Promise<Set<string>> {
  const byId = new Map(applicable.map((task) => [task.id, task]));
  const handovers = new Map((saved?.jobs ?? []).map((job) => [job.run, Number.isInteger(job.handovers) ? (job.handovers as number) : 0]));
  const taken = new Set<string>();
  let ended = 0;
  for (const held of await keeper.list(signalName)) {
    if (!hasFacts(held)) continue;
    taken.add(held.id);
    if (held.outcome !== null) ended++;
    adoptHeldRun(keeper, fds, held, byId, supervisor, log, { bytesKept: 0, bytesDropped: held.dropped, handovers: handovers.get(held.id) ?? 0, recovered: true });
  }
  if (taken.size > 0) log.info({ jobs: taken.size, endedMeanwhile: ended }, 'took over the jobs the keeper held while no daemon ran');
  return taken;
}

/** A held entry whose HOLD told what run it is (all of this daemon's do). */
export const hasFacts = (held: HeldRun): held is HeldRun & { readonly facts: HeldRunFacts } => held.facts !== undefined;

/** Issue 17: one job the keeper holds, adopted as `carried` says (after a crash or a handover); its run. */
export function adoptHeldRun(keeper: KeeperLink, inherited: ReadonlyMap<number, number>, held: HeldRun & { readonly facts: HeldRunFacts }, byId: ReadonlyMap<string, Task>, supervisor: Supervisor, log: Logger, carried: CarriedRun): Run {
  const { facts } = held;
  const fds = { stdout: ownCopy(held.fds.stdout, inherited, keeper.pid), stderr: ownCopy(held.fds.stderr, inherited, keeper.pid) };
  if (fds.stdout < 0 && held.fds.stdout >= 0) log.warn({ run: held.id }, 'the keeper\'s socket of a run cannot be reopened here (it was held after this daemon started): its output from now on is not read');
  const job = { run: held.id, pid: held.pid, processStart: '', role: facts.role, scheduledAt: facts.scheduledAt, startedAt: facts.startedAt, trigger: facts.trigger, attempt: facts.attempt };
  const task = byId.get(facts.task);
  const standIn = task ?? removedTaskStandIn({ ...job, task: facts.task, type: facts.role === 'daemon' ? 'daemon' : 'cron', graceMs: facts.graceMs });
  return supervisor.adopt(standIn, job, task !== undefined, { handle: heldHandle(held, keeper, fds), carried, jitterS: facts.jitterS });
}

/** This daemon's copy of a keeper fd: inherited at its start (moved), else reopened through /proc (a pipe held after it started). */
function ownCopy(fd: number, inherited: ReadonlyMap<number, number>, keeperPid: number): number {
  if (fd < 0) return -1;
  const moved = inherited.get(fd);
  if (moved !== undefined) return moved;
  try {
    return openSync(`/proc/${keeperPid}/fd/${fd}`, 0o4000); // O_RDONLY | O_NONBLOCK
  } catch {
    return -1; // a socket (child_process's stdio): only inheritance passes one on
  }
}
